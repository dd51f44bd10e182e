"""Portal pages for signed-in customers: asking for a link, opening it, "my tickets", reading
the public conversation and replying, signing out."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from helpdesk.extensions import db
from helpdesk.models import Message, PortalLoginToken
from helpdesk.services import messages, portal_auth, tickets
from helpdesk.services.attachments import UploadedFile
from helpdesk.services.permissions import SYSTEM
from tests.conftest import csrf_token, post_form
from tests.email_helpers import make_channel
from tests.factories import actor, make_customer, make_ticket, make_user

SIGN_IN = "/help/en/account/sign-in"
MY_TICKETS = "/help/en/account/tickets"


@pytest.fixture
def app_overrides() -> dict[str, Any]:
    return {"PORTAL_SIGN_IN_RATE_LIMIT": "3 per minute"}


@pytest.fixture
def channel(app):
    return make_channel()  # links are queued through it; these tests never send them


def _text(response: Any) -> str:
    return unescape(response.get_data(as_text=True))


def _ask(client: FlaskClient, email: str, locale: str = "en") -> Any:
    path = f"/help/{locale}/account/sign-in"
    return post_form(client, path, {"email": email})


def _latest_token() -> str:
    """The token of the newest link, as the sender derives it for the email."""
    db.session.rollback()
    row = db.session.scalars(select(PortalLoginToken).order_by(PortalLoginToken.id.desc())).first()
    assert row is not None
    return portal_auth.derive_token(row.nonce)


def _sign_in(client: FlaskClient, email: str) -> Any:
    assert _ask(client, email).status_code == 302
    path = f"/help/en/account/link/{_latest_token()}"
    return post_form(client, path, {}, token_from=path)


def test_known_and_unknown_addresses_get_the_same_answer(app, client, channel):
    make_customer(email="kim@example.kr")
    home = _text(client.get("/help/en"))
    assert f'href="{SIGN_IN}">Sign in</a>' in home and "My tickets" not in home

    known, unknown = _ask(client, "Kim@Example.kr"), _ask(client, "nobody@example.kr")
    assert known.status_code == unknown.status_code == 302
    assert (
        known.headers["Location"] == unknown.headers["Location"] == "/help/en/account/check-email"
    )
    page = _text(client.get("/help/en/account/check-email"))
    assert "If we know nobody@example.kr, a sign-in link is on its way to it." in page
    db.session.rollback()
    assert [r.email for r in db.session.scalars(select(PortalLoginToken))] == ["kim@example.kr"]


def test_a_bad_address_is_shown_next_to_the_field(app, client, channel):
    page = _ask(client, "not-an-email")
    assert page.status_code == 422
    assert 'id="email-error">Enter a valid email address' in _text(page)


def test_asking_for_links_is_rate_limited_per_network_address(app, client, channel):
    for _ in range(3):
        assert _ask(client, "someone@example.kr").status_code == 302
    limited = _ask(client, "someone@example.kr")
    assert limited.status_code == 429 and "Retry-After" in limited.headers


def test_the_link_links_to_the_public_url_in_the_pages_language(app, client, channel):
    make_customer(email="kim@example.kr")
    app.config["HELPDESK"].public_url = "https://help.example.kr"
    try:
        _ask(client, "kim@example.kr", locale="ko")
    finally:
        app.config["HELPDESK"].public_url = None
    _ask(client, "kim@example.kr", locale="en")
    db.session.rollback()
    rows = db.session.scalars(select(PortalLoginToken).order_by(PortalLoginToken.id)).all()
    assert [(r.locale, r.link_base) for r in rows] == [
        ("ko", "https://help.example.kr/help/ko/account/link"),
        ("en", "http://localhost/help/en/account/link"),
    ]


def test_opening_the_link_asks_for_a_click_and_the_click_signs_in(app, client, channel):
    kim = make_customer(name="Kim Minji", email="kim@example.kr")
    mine = make_ticket(kim, subject="Where is my parcel?")
    make_ticket(make_customer(email="lee@example.kr"), subject="Lee's secret refund")
    _ask(client, "kim@example.kr")
    path = f"/help/en/account/link/{_latest_token()}"

    opened = client.get(path)  # what a mail scanner would fetch
    assert opened.status_code == 200 and opened.headers["Cache-Control"] == "no-store"
    assert '<button type="submit">Sign in</button>' in _text(opened)
    assert client.get(MY_TICKETS).headers["Location"] == SIGN_IN  # not signed in yet

    signed_in = post_form(client, path, {}, token_from=path)
    assert signed_in.headers["Location"] == MY_TICKETS
    page = _text(client.get(MY_TICKETS))
    assert "Where is my parcel?" in page and "Lee's secret refund" not in page
    assert f'href="/help/en/account/tickets/{mine.number}"' in page
    assert '<span class="portal-who">Kim Minji</span>' in page and "Sign out" in page

    again = post_form(client, path, {}, token_from=path)
    assert again.status_code == 410
    assert "This sign-in link has already been used" in _text(again)
    assert "Email me a new link" in _text(again)


def test_a_link_without_csrf_token_signs_nobody_in(app, client, channel):
    make_customer(email="kim@example.kr")
    _ask(client, "kim@example.kr")
    token = _latest_token()
    assert client.post(f"/help/en/account/link/{token}").status_code == 400
    assert portal_auth.check_link(token) is None  # still unused


def test_unknown_and_expired_links_offer_a_new_one(app, client, channel):
    unknown = client.get("/help/ko/account/link/nonsense")
    assert unknown.status_code == 404
    assert 'href="/help/ko/account/sign-in"' in _text(unknown)
    make_customer(email="kim@example.kr")
    _ask(client, "kim@example.kr")
    token = _latest_token()
    db.session.rollback()
    row = db.session.scalars(select(PortalLoginToken)).one()
    row.expires_at = row.created_at
    db.session.commit()
    expired = client.get(f"/help/en/account/link/{token}")
    assert expired.status_code == 410 and "This sign-in link has expired" in _text(expired)
    assert client.get("/help/en/account/link").headers["Location"] == SIGN_IN


def test_the_ticket_page_shows_the_public_conversation_and_takes_a_reply(app, client, channel):
    kim = make_customer(name="Kim", email="kim@example.kr")
    ticket = make_ticket(kim, subject="Parcel", body_text="Where is it?")
    agent = make_user(name="Agent Park")
    messages.add_note(actor(agent), ticket.id, body_text="Internal: refund risk")
    messages.reply_to_ticket(
        actor(agent),
        ticket.id,
        body_text="It arrives tomorrow.",
        attachments=[UploadedFile("label.pdf", "application/pdf", b"%PDF-1")],
    )
    _sign_in(client, "kim@example.kr")
    path = f"/help/en/account/tickets/{ticket.number}"

    page = _text(client.get(path))
    assert "Where is it?" in page and "It arrives tomorrow." in page and "Agent Park" in page
    assert "Internal: refund risk" not in page
    download = re.search(r'href="(/help/en/account/attachments/\d+)">label.pdf', page)
    assert download and client.get(download.group(1)).data == b"%PDF-1"

    empty = post_form(client, path, {"body": "  "})
    assert empty.status_code == 422 and "Write your message first." in _text(empty)
    sent = post_form(client, path, {"body": "Thank you, and the invoice?"})
    assert sent.headers["Location"] == f"{path}#latest"
    assert "Your message was added" in _text(client.get(path))
    db.session.rollback()
    last = db.session.scalars(
        select(Message).where(Message.ticket_id == ticket.id).order_by(Message.id.desc())
    ).first()
    assert last is not None
    assert (last.body_text, last.direction, last.kind, last.author_customer_id) == (
        "Thank you, and the invoice?",
        "in",
        "web",
        kim.id,
    )


def test_other_customers_tickets_and_note_attachments_stay_hidden(app, client, channel):
    kim, lee = make_customer(email="kim@example.kr"), make_customer(email="lee@example.kr")
    theirs = make_ticket(lee, subject="Lee's ticket")
    mine = make_ticket(kim)
    note = messages.add_note(
        actor(make_user()),
        mine.id,
        body_text="see file",
        attachments=[UploadedFile("internal.txt", "text/plain", b"secret")],
    )
    _sign_in(client, "kim@example.kr")
    assert client.get(f"/help/en/account/tickets/{theirs.number}").status_code == 404
    reply = post_form(
        client, f"/help/en/account/tickets/{theirs.number}", {"body": "x"}, token_from=MY_TICKETS
    )
    assert reply.status_code == 404
    assert client.get(f"/help/en/account/attachments/{note.attachments[0].id}").status_code == 404


def test_a_closed_ticket_points_to_a_new_request(app, client, channel):
    kim = make_customer(email="kim@example.kr")
    ticket = make_ticket(kim, subject="Old question")
    tickets.update_ticket(SYSTEM, ticket.id, {"status": "closed"})
    _sign_in(client, "kim@example.kr")
    path = f"/help/en/account/tickets/{ticket.number}"
    page = _text(client.get(path))
    assert "This request is closed. To continue, please open a new request." in page
    assert 'name="body"' not in page
    refused = post_form(client, path, {"body": "one more thing"}, token_from=MY_TICKETS)
    assert refused.status_code == 422
    assert "This request can no longer be answered here." in _text(refused)


def test_the_contact_form_is_prefilled_and_signing_out_needs_a_post(app, client, channel):
    make_customer(name="Kim Minji", email="kim@example.kr")
    _sign_in(client, "kim@example.kr")
    contact = _text(client.get("/help/en/contact"))
    assert 'value="Kim Minji"' in contact and 'value="kim@example.kr"' in contact

    assert client.get("/help/en/account/sign-out").status_code == 405
    assert client.post("/help/en/account/sign-out").status_code == 400  # no CSRF token
    out = client.post(
        "/help/en/account/sign-out", data={"csrf_token": csrf_token(client, MY_TICKETS)}
    )
    assert out.headers["Location"] == "/help/en"
    assert client.get(MY_TICKETS).headers["Location"] == SIGN_IN
    assert 'value="Kim Minji"' not in _text(client.get("/help/en/contact"))


def test_a_session_follows_a_merge_to_the_survivor(app, client, channel):
    from helpdesk.services import customer_merge

    old = make_customer(name="Kim (old)", email="kim.old@example.kr")
    survivor = make_customer(name="Kim", email="kim@example.kr")
    ticket = make_ticket(old, subject="From the old address")
    _sign_in(client, "kim.old@example.kr")
    customer_merge.merge_customers(SYSTEM, old.id, survivor.id)
    page = _text(client.get(MY_TICKETS))
    assert '<span class="portal-who">Kim</span>' in page
    assert "From the old address" in page and f"#{ticket.number}" in page


def test_korean_pages_link_to_their_english_twins(app, client, channel):
    make_customer(email="kim@example.kr")
    page = _text(client.get("/help/ko/account/sign-in"))
    assert 'href="/help/en/account/sign-in"' in page
    assert '<html lang="ko">' in page


def test_a_merged_ticket_points_to_the_one_it_was_merged_into(app, client, channel):
    kim = make_customer(email="kim@example.kr")
    first, second = make_ticket(kim, subject="First"), make_ticket(kim, subject="Second")
    tickets.merge_tickets(SYSTEM, first.id, second.id)
    _sign_in(client, "kim@example.kr")
    page = _text(client.get(f"/help/en/account/tickets/{first.number}"))
    assert f"This request was combined with request #{second.number}." in page
    assert f'href="/help/en/account/tickets/{second.number}"' in page
    assert 'name="body"' not in page


def test_a_reply_from_the_portal_carries_files_within_the_limits(app, client, channel):
    from io import BytesIO

    kim = make_customer(name="Kim", email="kim@example.kr")
    ticket = make_ticket(kim, subject="Broken screen")
    _sign_in(client, "kim@example.kr")
    path = f"/help/en/account/tickets/{ticket.number}"

    app.config["HELPDESK"].attachment_max_bytes = 1_000
    big = post_form(
        client, path, {"body": "photo", "attachments": (BytesIO(b"x" * 2_000), "a.jpg")}
    )
    assert big.status_code == 422 and "the limit is 1000 bytes" in _text(big)
    assert "photo" in _text(big)  # the draft is kept

    sent = post_form(
        client,
        path,
        {"body": "Here is the photo.", "attachments": (BytesIO(b"\xff\xd8jpeg"), "화면.jpg")},
    )
    assert sent.headers["Location"] == f"{path}#latest"
    page = _text(client.get(path))
    download = re.search(r'href="(/help/en/account/attachments/\d+)">화면.jpg', page)
    assert download and client.get(download.group(1)).data == b"\xff\xd8jpeg"
