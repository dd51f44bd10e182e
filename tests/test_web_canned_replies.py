"""The saved replies page: an agent adds, edits and deletes personal replies, an admin shares
one with the team, mistakes come back as typed with a message; in English and in Korean."""

from __future__ import annotations

import re
from html import unescape

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from helpdesk.extensions import db
from helpdesk.models import CannedReply
from helpdesk.services.canned_replies import create_reply
from helpdesk.services.permissions import SYSTEM
from tests.conftest import csrf_token, login, post_form
from tests.factories import actor, make_ticket, make_user

PAGE = "/canned-replies"


def _flashes(page: str, kind: str = "error") -> list[str]:
    return [unescape(f) for f in re.findall(rf'class="flash {kind}" role="status">(.*?)</p>', page)]


def _section(page: str, table_id: str) -> str:
    match = re.search(rf'<table class="queue canned-list" id="{table_id}">.*?</table>', page, re.S)
    assert match is not None, f"no table {table_id}"
    return match.group(0)


def _replies() -> list[CannedReply]:
    db.session.rollback()  # read what the requests committed
    return list(db.session.scalars(select(CannedReply).order_by(CannedReply.id)))


def _form(**changes: str) -> dict[str, str]:
    return {
        "title": "Refund policy",
        "shortcut": "/Refund",
        "body": "Hi {{customer.first_name}}",
        **changes,
    }


def test_an_agent_adds_edits_and_deletes_a_personal_reply(app, client):
    agent = make_user("agent", locale="en")
    login(client, agent.email)
    assert f'href="{PAGE}"' in client.get("/tickets").get_data(as_text=True)  # the nav link

    page = client.get(PAGE).get_data(as_text=True)
    assert "Shared with the team" in page and "Only mine" in page
    assert 'name="shared"' not in page  # agents cannot share
    for field in ("title", "shortcut", "body"):
        assert f'name="{field}"' in page

    response = post_form(client, PAGE, _form())
    assert response.status_code == 302 and response.headers["Location"] == PAGE
    [reply] = _replies()
    assert (reply.title, reply.shortcut, reply.owner_id) == ("Refund policy", "refund", agent.id)
    page = client.get(PAGE).get_data(as_text=True)
    assert _flashes(page, "success") == ["Saved reply added."]
    mine = _section(page, "personal-replies")
    assert "Refund policy" in mine and "/refund" in mine
    assert f'/canned-replies/{reply.id}/delete"' in mine
    assert "Refund policy" not in _section(page, "shared-replies")

    editor = client.get(f"{PAGE}/{reply.id}").get_data(as_text=True)
    assert 'value="Refund policy"' in editor and "disabled" not in editor
    response = post_form(
        client, f"{PAGE}/{reply.id}", _form(title="Refunds", shortcut=""), f"{PAGE}/{reply.id}"
    )
    assert response.status_code == 302
    [reply] = _replies()
    assert (reply.title, reply.shortcut) == ("Refunds", None)
    assert _flashes(client.get(PAGE).get_data(as_text=True), "success") == ["Saved reply updated."]

    response = post_form(client, f"{PAGE}/{reply.id}/delete", {}, PAGE)
    assert response.status_code == 302
    assert _replies() == []
    assert _flashes(client.get(PAGE).get_data(as_text=True), "success") == ["Saved reply deleted."]


def test_mistakes_come_back_as_typed_with_the_reason(app, client):
    agent = make_user("agent", locale="en")
    login(client, agent.email)
    create_reply(actor(agent), title="Old", body="x", shortcut="refund")

    response = post_form(client, PAGE, _form(title="   ", body="Kept text"))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert _flashes(page) == ["Give the reply a title."]
    assert re.search(r'name="title" value="\s*"[^>]*aria-invalid="true"', page)
    assert ">Kept text</textarea>" in page

    response = post_form(client, PAGE, _form(shortcut="REFUND"))
    assert response.status_code == 409
    assert _flashes(response.get_data(as_text=True)) == [
        "Another reply already uses the shortcut /refund."
    ]

    response = post_form(client, PAGE, _form(shortcut="two words"))
    assert response.status_code == 422
    assert 'value="two words"' in response.get_data(as_text=True)
    assert len(_replies()) == 1

    [reply] = _replies()
    response = post_form(client, f"{PAGE}/{reply.id}", _form(title="x" * 121), f"{PAGE}/{reply.id}")
    assert response.status_code == 422
    assert _flashes(response.get_data(as_text=True)) == ["A title is at most 120 characters."]
    assert _replies()[0].title == "Old"


def test_an_admin_shares_a_reply_and_agents_only_use_it(app, client):
    admin, agent = make_user("admin", locale="en"), make_user("agent", locale="en")
    login(client, admin.email)
    assert 'name="shared"' in client.get(PAGE).get_data(as_text=True)
    response = post_form(client, PAGE, {**_form(), "shared": "1"})
    assert response.status_code == 302
    [reply] = _replies()
    assert reply.is_shared and reply.created_by_id == admin.id

    client.post("/logout", data={"csrf_token": csrf_token(client, PAGE)})
    login(client, agent.email)
    page = client.get(PAGE).get_data(as_text=True)
    shared = _section(page, "shared-replies")
    assert "Refund policy" in shared and "/delete" not in shared  # no buttons for agents
    editor = client.get(f"{PAGE}/{reply.id}").get_data(as_text=True)
    assert (
        "disabled" in editor and "Only admins can add, change or delete shared replies." in editor
    )

    refused = post_form(client, f"{PAGE}/{reply.id}", _form(title="Mine now"), f"{PAGE}/{reply.id}")
    assert refused.status_code == 403
    assert _flashes(refused.get_data(as_text=True)) == [
        "Only admins can add, change or delete shared replies."
    ]
    deleted = client.post(
        f"{PAGE}/{reply.id}/delete",
        data={"csrf_token": csrf_token(client, PAGE)},
        headers={"Referer": f"http://localhost{PAGE}"},
    )
    assert deleted.status_code == 302
    assert _flashes(client.get(PAGE).get_data(as_text=True)) == [
        "Only admins can add, change or delete shared replies."
    ]
    assert [r.title for r in _replies()] == ["Refund policy"]


def test_without_the_csrf_token_nothing_is_saved(app, client):
    login(client, make_user("agent").email)
    response = client.post(PAGE, data=_form())
    assert response.status_code == 400
    assert _replies() == []


def test_sales_have_no_saved_replies(app, client):
    login(client, make_user("sales", locale="en").email)
    assert f'href="{PAGE}"' not in client.get("/tickets").get_data(as_text=True)
    assert client.get(PAGE).status_code == 403


def test_the_page_in_korean(app, client):
    agent = make_user("agent", name="김지민", locale="ko")
    create_reply(
        SYSTEM,
        title="환불 안내",
        body="환불은 7일 이내에 가능합니다.",
        shortcut="환불",
        shared=True,
    )
    login(client, agent.email)

    page = client.get(PAGE).get_data(as_text=True)
    assert '<html lang="ko">' in page
    assert ">티켓</a>" in page and ">삭제<" not in _section(page, "shared-replies")
    assert "<th>제목</th>" in page and "<th>작업</th>" in page
    shared = _section(page, "shared-replies")
    assert "환불 안내" in shared and "/환불" in shared

    response = post_form(
        client, PAGE, _form(title="배송 지연 사과", shortcut="/배송", body="죄송합니다.")
    )
    assert response.status_code == 302
    mine = _section(client.get(PAGE).get_data(as_text=True), "personal-replies")
    assert "배송 지연 사과" in mine and "/배송" in mine and ">수정</a>" in mine

    # The service's messages follow the user's language.
    response = post_form(client, PAGE, _form(title="", body="내용"))
    with force_locale("ko"):
        expected = str(_l("Give the reply a title."))
    assert _flashes(response.get_data(as_text=True)) == [expected]
    searched = client.get(PAGE, query_string={"q": "배송"}).get_data(as_text=True)
    assert "배송 지연 사과" in searched and "환불 안내" not in searched


def test_the_ticket_composer_offers_saved_replies_to_those_who_reply(app, client):
    ticket = make_ticket()
    login(client, make_user("agent", locale="en").email)
    page = client.get(f"/tickets/{ticket.number}").get_data(as_text=True)
    assert 'id="canned-toggle"' in page and 'id="canned-list"' in page
    assert 'data-url="/api/v1/canned-replies"' in page and "js/canned.js" in page

    client.post("/logout", data={"csrf_token": csrf_token(client, f"/tickets/{ticket.number}")})
    login(client, make_user("marketing", locale="en").email)
    page = client.get(f"/tickets/{ticket.number}").get_data(as_text=True)
    assert 'id="canned-toggle"' not in page and 'id="canned-panel"' not in page
