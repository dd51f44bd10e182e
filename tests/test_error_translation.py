"""Service errors reach people in their language: pages, API errors; the CLI stays in English."""

from __future__ import annotations

from click.testing import CliRunner

from helpdesk.cli import main
from helpdesk.services import tickets
from helpdesk.services.errors import Conflict, NotFound
from tests.conftest import csrf_token, login
from tests.factories import actor, make_ticket, make_user, token_for

API = "/api/v1"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_message_is_a_plain_string_rendered_in_the_request_language(app):
    from flask_babel import lazy_gettext as _l

    exc = NotFound(_l("Ticket #%(number)s not found.", number=7))
    # Flask-Babel caches the locale in ``g``: each case gets its own app context, as requests do.
    with app.app_context():  # outside a request: the instance default (English)
        assert exc.message == str(exc) == "Ticket #7 not found."
        assert type(exc.message) is str
    with app.app_context(), app.test_request_context(headers={"Accept-Language": "ko"}):
        assert exc.message == str(exc) == "#7 티켓을 찾을 수 없습니다."
    with app.app_context(), app.test_request_context("/?lang=en"):
        assert exc.message == "Ticket #7 not found."
    assert Conflict("plain text").message == "plain text"  # plain strings still work


def test_korean_agent_sees_a_refused_action_in_korean(app, client):
    sales = make_user("sales", locale="ko")
    ticket = make_ticket()
    login(client, sales.email)
    path = f"/tickets/{ticket.number}"
    refused = client.post(
        f"{path}/messages",
        data={"body": "안녕하세요", "kind": "reply", "csrf_token": csrf_token(client, path)},
        headers={"Referer": f"http://localhost{path}", "Accept-Language": "en"},
        follow_redirects=True,
    )
    page = refused.get_data(as_text=True)
    assert "이 작업을 할 권한이 없습니다" in page
    assert "not allowed" not in page


def test_korean_agent_sees_a_conflict_in_korean(app, client):
    agent = make_user(locale="ko")
    ticket = make_ticket()
    tickets.update_ticket(actor(agent), ticket.id, {"status": "closed"})
    login(client, agent.email)
    path = f"/tickets/{ticket.number}"
    refused = client.post(
        f"{path}/messages",
        data={"body": "또 연락드립니다", "kind": "reply", "csrf_token": csrf_token(client, path)},
        headers={"Referer": f"http://localhost{path}"},
        follow_redirects=True,
    )
    assert f"#{ticket.number} 티켓은 종료되었습니다." in refused.get_data(as_text=True)


def test_korean_agent_gets_a_korean_error_page(app, client):
    login(client, make_user(locale="ko").email)
    response = client.get("/tickets/99999")
    assert response.status_code == 404
    assert "#99999 티켓을 찾을 수 없습니다." in response.get_data(as_text=True)


def test_api_errors_follow_the_token_users_language(app, client):
    korean = make_user(locale="ko")
    english = make_user(locale="en")
    # The user's own setting wins over the browser's Accept-Language, as on pages.
    ko = client.get(
        f"{API}/tickets/999999",
        headers={**bearer(token_for(korean)), "Accept-Language": "en"},
    )
    en = client.get(
        f"{API}/tickets/999999",
        headers={**bearer(token_for(english)), "Accept-Language": "ko"},
    )
    assert ko.status_code == en.status_code == 404
    assert ko.get_json()["error"] == {
        "code": "not_found",
        "message": "ID가 999999인 티켓을 찾을 수 없습니다.",
    }
    assert en.get_json()["error"] == {"code": "not_found", "message": "Ticket 999999 not found."}


def test_api_permission_and_validation_errors_in_korean(app, client):
    sales = make_user("sales", locale="ko")
    ticket = make_ticket()
    headers = bearer(token_for(sales))
    forbidden = client.post(
        f"{API}/tickets/{ticket.id}/replies", json={"body": "hi"}, headers=headers
    )
    assert forbidden.status_code == 403
    error = forbidden.get_json()["error"]
    assert error["code"] == "forbidden"
    assert error["message"].startswith("이 작업을 할 권한이 없습니다")
    agent = make_user(locale="ko")
    itself = client.post(
        f"{API}/tickets/{ticket.id}/merge",
        json={"target_id": ticket.id},
        headers=bearer(token_for(agent)),
    )
    assert itself.status_code == 422
    error = itself.get_json()["error"]
    assert error["message"] == "티켓을 자기 자신에 병합할 수 없습니다."
    assert error["fields"] == {"target_id": ["same ticket"]}  # field codes stay machine-readable


def test_cli_prints_service_errors_in_english(app, database_url, tmp_path):
    env = {
        "HELPDESK_DATABASE_URL": database_url,
        "HELPDESK_INSTANCE_PATH": str(tmp_path / "instance"),
        "HELPDESK_SECRET_KEY": "cli-test",
    }
    make_user(email="taken@dangol.test", locale="ko")
    args = ["user", "create", "--email", "taken@dangol.test", "--name", "X"]
    result = CliRunner().invoke(main, [*args, "--password", "long-enough"], env=env)
    assert result.exit_code == 1
    assert "Error: A user with the email taken@dangol.test already exists." in result.output
    unknown = CliRunner().invoke(main, ["token", "create", "--email", "ghost@dangol.test"], env=env)
    assert unknown.exit_code == 1
    assert "Error: No user with the email ghost@dangol.test." in unknown.output


def test_cli_uses_the_instance_default_language(app, database_url, tmp_path):
    env = {
        "HELPDESK_DATABASE_URL": database_url,
        "HELPDESK_INSTANCE_PATH": str(tmp_path / "instance"),
        "HELPDESK_SECRET_KEY": "cli-test",
        "HELPDESK_DEFAULT_LOCALE": "ko",
    }
    result = CliRunner().invoke(main, ["token", "create", "--email", "ghost@dangol.test"], env=env)
    assert result.exit_code == 1
    assert "Error: 이 이메일을 쓰는 사용자가 없습니다: ghost@dangol.test" in result.output
