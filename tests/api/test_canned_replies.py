"""REST API v1, saved replies: list, create, read, change, delete, and render for a ticket;
bad input gets the API's JSON errors."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from helpdesk.extensions import db
from helpdesk.models import AuditEvent, CannedReply
from helpdesk.services.canned_replies import create_reply
from helpdesk.services.permissions import SYSTEM
from tests.api.helpers import API, assert_error, user_with_token
from tests.conftest import csrf_token, login
from tests.factories import make_customer, make_ticket, make_user

URL = f"{API}/canned-replies"


@pytest.fixture
def agent(app):
    return user_with_token("agent", name="김지민")


@pytest.fixture
def admin(app):
    return user_with_token("admin")


def test_an_agent_keeps_a_personal_reply_through_its_whole_life(client, agent):
    user, headers = agent
    created = client.post(
        URL,
        headers=headers,
        json={
            "title": "배송 안내",
            "body": "{{customer.first_name}}님, 오늘 출고됩니다.",
            "shortcut": "/배송",
        },
    )
    assert created.status_code == 201, created.get_json()
    reply = created.get_json()
    assert created.headers["Location"].endswith(f"{URL}/{reply['id']}")
    assert {k: reply[k] for k in ("title", "shortcut", "shared", "owner_id", "editable")} == {
        "title": "배송 안내",
        "shortcut": "배송",
        "shared": False,
        "owner_id": user.id,
        "editable": True,
    }
    assert reply["usage_count"] == 0 and reply["created_by_id"] == user.id

    assert client.get(f"{URL}/{reply['id']}", headers=headers).get_json() == reply
    listed = client.get(URL, headers=headers, query_string={"q": "출고"}).get_json()
    assert [r["id"] for r in listed] == [reply["id"]]
    assert client.get(URL, headers=headers, query_string={"q": "환불"}).get_json() == []

    changed = client.patch(
        f"{URL}/{reply['id']}", headers=headers, json={"title": "배송 출발 안내", "shortcut": None}
    )
    assert changed.status_code == 200
    assert (changed.get_json()["title"], changed.get_json()["shortcut"]) == ("배송 출발 안내", None)

    ticket = make_ticket(make_customer(name="이수진"))
    rendered = client.post(
        f"{URL}/{reply['id']}/render", headers=headers, json={"ticket_id": ticket.id}
    )
    assert rendered.status_code == 200
    assert rendered.get_json() == {"body": "이수진님, 오늘 출고됩니다."}
    assert client.get(f"{URL}/{reply['id']}", headers=headers).get_json()["usage_count"] == 1

    deleted = client.delete(f"{URL}/{reply['id']}", headers=headers)
    assert deleted.status_code == 204
    assert_error(client.get(f"{URL}/{reply['id']}", headers=headers), 404, "not_found")
    db.session.expire_all()
    actions = db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.action.like("canned_reply.%"))
    ).all()
    assert sorted(actions) == [
        "canned_reply.created",
        "canned_reply.deleted",
        "canned_reply.updated",
        "canned_reply.used",
    ]


def test_admins_write_shared_replies_agents_only_use_them(client, agent, admin):
    _, agent_headers = agent
    shared = client.post(
        URL,
        headers=admin[1],
        json={"title": "Closing", "body": "Anything else, {{customer.name}}?", "shared": True},
    )
    assert shared.status_code == 201 and shared.get_json()["shared"] is True
    reply_id = shared.get_json()["id"]

    seen = client.get(f"{URL}/{reply_id}", headers=agent_headers).get_json()
    assert (seen["shared"], seen["owner_id"], seen["editable"]) == (True, None, False)
    assert_error(
        client.patch(f"{URL}/{reply_id}", headers=agent_headers, json={"title": "Mine now"}),
        403,
        "forbidden",
    )
    assert_error(client.delete(f"{URL}/{reply_id}", headers=agent_headers), 403, "forbidden")
    assert_error(
        client.post(
            URL, headers=agent_headers, json={"title": "Team", "body": "x", "shared": True}
        ),
        403,
        "forbidden",
    )
    db.session.expire_all()
    assert db.session.get(CannedReply, reply_id).title == "Closing"
    assert client.delete(f"{URL}/{reply_id}", headers=admin[1]).status_code == 204


@pytest.mark.parametrize("role", ["sales", "marketing"])
def test_sales_and_marketing_are_refused(client, role):
    _, headers = user_with_token(role)
    reply = create_reply(SYSTEM, title="Team", body="Text", shared=True)
    assert_error(client.get(URL, headers=headers), 403, "forbidden")
    assert_error(client.get(f"{URL}/{reply.id}", headers=headers), 403, "forbidden")
    assert_error(
        client.post(URL, headers=headers, json={"title": "Mine", "body": "Text"}), 403, "forbidden"
    )
    render = client.post(
        f"{URL}/{reply.id}/render", headers=headers, json={"ticket_id": make_ticket().id}
    )
    assert_error(render, 403, "forbidden")


def test_no_credentials_no_replies(client, app):
    assert_error(client.get(URL), 401, "unauthorized")


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        ({"body": "No title"}, 422, "invalid", "title"),
        ({"title": "  ", "body": "Text"}, 422, "invalid", "title"),
        ({"title": "x" * 121, "body": "Text"}, 422, "invalid", "title"),
        ({"title": "Long", "body": "x" * 20_001}, 422, "invalid", "body"),
        ({"title": "Bad", "body": "Text", "shortcut": "no spaces"}, 422, "invalid", "shortcut"),
        ({"title": "Extra", "body": "Text", "owner_id": 1}, 422, "invalid", "owner_id"),
        ({"title": 7, "body": "Text"}, 422, "invalid", "title"),
    ],
)
def test_bad_input_gets_a_json_error_naming_the_field(client, agent, body, status, code, field):
    response = client.post(URL, headers=agent[1], json=body)
    error = assert_error(response, status, code, field)
    assert error["message"]


def test_conflicts_and_missing_things(client, agent):
    _, headers = agent
    first = client.post(URL, headers=headers, json={"title": "A", "body": "a", "shortcut": "hi"})
    assert first.status_code == 201
    taken = client.post(URL, headers=headers, json={"title": "B", "body": "b", "shortcut": "HI"})
    error = assert_error(taken, 409, "conflict", "shortcut")
    assert "/hi" in error["message"]

    reply_id = first.get_json()["id"]
    assert_error(
        client.post(f"{URL}/{reply_id}/render", headers=headers, json={}), 422, None, "ticket_id"
    )
    missing = client.post(f"{URL}/{reply_id}/render", headers=headers, json={"ticket_id": 99999})
    assert "99999" in assert_error(missing, 404, "not_found")["message"]
    not_json = client.post(
        f"{URL}/{reply_id}/render",
        headers={**headers, "Content-Type": "application/json"},
        data="{not json",
    )
    assert_error(not_json, 400, "bad_request")
    assert_error(client.patch(f"{URL}/99999", headers=headers, json={"title": "x"}), 404)
    assert_error(client.get(URL, headers=headers, query_string={"limit": 0}), 422, None, "limit")
    assert_error(
        client.patch(f"{URL}/{reply_id}", headers=headers, json={"shared": True}),
        422,
        None,
        "shared",
    )


def test_errors_speak_the_callers_language(client):
    _, headers = user_with_token("agent", locale="ko")
    reply = create_reply(SYSTEM, title="Team", body="Text", shared=True)
    missing = client.post(f"{URL}/{reply.id}/render", headers=headers, json={"ticket_id": 424242})
    assert assert_error(missing, 404, "not_found")["message"] == (
        "ID가 424242인 티켓을 찾을 수 없습니다."
    )


def test_session_callers_need_the_csrf_token_to_render(client, app):
    """The composer calls the API with the agent's session: writes must carry the CSRF token."""
    agent = make_user()
    login(client, agent.email)
    ticket = make_ticket(make_customer(name="Daniel Park"))
    reply = create_reply(SYSTEM, title="Hi", body="Hi {{customer.first_name}}", shared=True)
    path = f"{URL}/{reply.id}/render"
    assert_error(client.post(path, json={"ticket_id": ticket.id}), 403, "csrf_failed")
    token = csrf_token(client, f"/tickets/{ticket.number}")
    response = client.post(path, json={"ticket_id": ticket.id}, headers={"X-CSRFToken": token})
    assert response.status_code == 200 and response.get_json() == {"body": "Hi Daniel"}
    assert [r["id"] for r in client.get(URL).get_json()] == [reply.id]  # reads need no token
