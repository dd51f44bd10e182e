"""Portal sign-in by emailed link: queued only for known addresses, sent through a real SMTP
server (the test sink), usable once and briefly, stored only as a hash; and what a signed-in
customer may read."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from sqlalchemy import func, select

from helpdesk.extensions import db
from helpdesk.models import AuditEvent, PortalLoginToken, utcnow
from helpdesk.services import (
    customer_merge,
    messages,
    portal_auth,
    portal_auth_mail,
    portal_tickets,
)
from helpdesk.services.errors import NotFound
from helpdesk.services.permissions import SYSTEM, Actor
from helpdesk.services.portal_auth import LinkProblem, LinkRefused
from tests.email_helpers import make_channel
from tests.factories import actor, make_customer, make_ticket, make_user
from tests.mailservers import SmtpSink

BASE = "https://help.example.kr/help/ko/account/link"


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with SmtpSink() as server:
        yield server


@pytest.fixture
def channel(app, sink):
    return make_channel(smtp_port=sink.port, display_name="단골 고객지원")


def _links() -> list[PortalLoginToken]:
    db.session.rollback()
    return list(db.session.scalars(select(PortalLoginToken).order_by(PortalLoginToken.id)))


def _received(sink: SmtpSink, count: int = 1) -> EmailMessage:
    mails = sink.wait_for_messages(count)
    return message_from_bytes(mails[count - 1].data, policy=policy.default)  # type: ignore[return-value]


def _token_from(mail: EmailMessage, base: str = BASE) -> str:
    match = re.search(re.escape(base) + r"/([A-Za-z0-9_-]+)", mail.get_content())
    assert match, mail.get_content()
    return match.group(1)


def _link(sink: SmtpSink, email: str, count: int = 1, locale: str = "ko") -> str:
    """Ask for a link, let the sender deliver it, and read the token from the received mail."""
    assert portal_auth.request_link(email, locale, BASE)
    assert portal_auth_mail.send_due() == 1
    return _token_from(_received(sink, count))


def test_an_unknown_address_queues_nothing_and_says_nothing(channel, sink):
    make_customer(email="kim@example.kr")
    assert portal_auth.request_link("nobody@example.kr", "ko", BASE) is False
    assert portal_auth.request_link("not an address", "ko", BASE) is False
    assert _links() == []
    assert portal_auth_mail.send_due() == 0
    assert sink.messages == []


def test_the_link_goes_out_in_the_customers_language_and_signs_them_in_once(channel, sink):
    kim = make_customer(name="김민지", email="kim@example.kr")
    token = _link(sink, "  KIM@Example.kr ", locale="ko")
    mail = _received(sink)
    assert mail["To"].addresses[0].addr_spec == "kim@example.kr"
    # The Korean catalog is filled in later: either language reads as a sign-in email.
    assert mail["Subject"] in ("고객센터 로그인 링크", "Your sign-in link for the help center")
    assert "김민지" in mail.get_content()
    assert mail["Auto-Submitted"] == "auto-generated"

    assert portal_auth.check_link(token) is None  # looking does not spend it
    signed_in = portal_auth.redeem_link(token)
    assert (signed_in.id, signed_in.email, signed_in.name) == (kim.id, "kim@example.kr", "김민지")
    with pytest.raises(LinkRefused) as refused:
        portal_auth.redeem_link(token)
    assert refused.value.problem == LinkProblem.USED
    assert portal_auth.check_link(token) == LinkProblem.USED
    actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.customer_id == kim.id))
    assert {"customer.portal_link_requested", "customer.portal_signed_in"} <= set(actions)


def test_english_links_are_written_in_english(channel, sink):
    make_customer(name="Alex", email="alex@example.com")
    _link(sink, "alex@example.com", locale="en")
    mail = _received(sink)
    assert mail["Subject"] == "Your sign-in link for the help center"
    assert mail.get_content().startswith("Hello Alex,")


def test_only_a_hash_of_the_token_is_stored(channel, sink):
    make_customer(email="kim@example.kr")
    token = _link(sink, "kim@example.kr")
    (row,) = _links()
    assert row.token_hash == portal_auth.hash_token(token)
    stored = " ".join(str(getattr(row, c.key)) for c in PortalLoginToken.__table__.columns)
    assert token not in stored
    assert row.status == "sent" and row.attempts == 1


def test_a_link_expires(channel, sink):
    make_customer(email="kim@example.kr")
    token = _link(sink, "kim@example.kr")
    later = utcnow() + portal_auth.LINK_LIFETIME + timedelta(seconds=1)
    assert portal_auth.check_link(token, now=later) == LinkProblem.EXPIRED
    with pytest.raises(LinkRefused) as refused:
        portal_auth.redeem_link(token, now=later)
    assert refused.value.problem == LinkProblem.EXPIRED
    assert portal_auth.redeem_link(token).email == "kim@example.kr"  # still in time now


def test_unknown_and_mangled_tokens_are_refused(channel):
    with pytest.raises(LinkRefused) as refused:
        portal_auth.redeem_link("not-a-token")
    assert refused.value.problem == LinkProblem.UNKNOWN
    assert portal_auth.check_link("x" * 500) == LinkProblem.UNKNOWN


def test_a_link_that_expired_before_it_could_be_sent_is_not_sent(channel, sink):
    make_customer(email="kim@example.kr")
    assert portal_auth.request_link("kim@example.kr", "ko", BASE)
    (row,) = _links()  # the worker was down for longer than the link lives
    row.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert portal_auth_mail.send_due() == 1
    (row,) = _links()
    assert row.status == "failed" and "expired" in (row.last_error or "")
    assert sink.messages == []


def test_a_customer_gets_at_most_five_links_an_hour(channel, sink):
    kim = make_customer(email="kim@example.kr")
    start = utcnow()
    results = [portal_auth.request_link("kim@example.kr", "ko", BASE, now=start) for _ in range(6)]
    assert results == [True] * 5 + [False]
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(PortalLoginToken)
            .where(PortalLoginToken.customer_id == kim.id)
        )
        == 5
    )
    an_hour_later = start + timedelta(hours=1, seconds=1)
    assert portal_auth.request_link("kim@example.kr", "ko", BASE, now=an_hour_later)


def test_without_an_email_channel_no_link_is_queued(app):
    make_customer(email="kim@example.kr")
    assert portal_auth.request_link("kim@example.kr", "ko", BASE) is False
    assert _links() == []


def test_two_clicks_at_once_sign_in_exactly_once(app, channel, sink):
    make_customer(email="kim@example.kr")
    token = _link(sink, "kim@example.kr")
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def click() -> None:
        with app.app_context():
            try:
                start.wait(5)
                portal_auth.redeem_link(token)
                outcomes.append("signed in")
            except LinkRefused as exc:
                outcomes.append(exc.problem.value)
            except BaseException as exc:  # reported below
                outcomes.append(repr(exc))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=click) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes) == ["signed in", "used"]


def test_a_merged_customer_signs_in_as_the_survivor(channel, sink):
    old = make_customer(name="Kim (old)", email="kim.old@example.kr")
    survivor = make_customer(name="Kim", email="kim@example.kr")
    before = portal_auth.signed_in_customer("kim.old@example.kr")
    assert before is not None and before.id == old.id
    customer_merge.merge_customers(SYSTEM, old.id, survivor.id)

    after = portal_auth.signed_in_customer("kim.old@example.kr")  # a session from before
    assert after is not None and after.id == survivor.id
    token = _link(sink, "kim.old@example.kr")
    assert portal_auth.redeem_link(token).id == survivor.id


def test_an_address_taken_off_the_customer_ends_its_sessions(channel):
    make_customer(email="kim@example.kr")
    assert portal_auth.signed_in_customer("kim@example.kr") is not None
    assert portal_auth.signed_in_customer("other@example.kr") is None
    assert portal_auth.signed_in_customer(None) is None


def test_a_customer_reads_only_their_own_tickets_and_no_internal_notes(app):
    kim, lee = make_customer(email="kim@example.kr"), make_customer(email="lee@example.kr")
    agent = make_user(name="상담원 박")
    mine = make_ticket(kim, subject="배송 문의", body_text="언제 오나요?")
    theirs = make_ticket(lee, subject="Lee's refund")
    messages.add_note(actor(agent), mine.id, body_text="VIP, 환불 가능성 검토")
    messages.reply_to_ticket(actor(agent), mine.id, body_text="내일 도착합니다.")
    me = Actor.customer(kim.id)

    listed = portal_tickets.my_tickets(me).tickets
    assert [t["number"] for t in listed] == [mine.number]
    found = portal_tickets.conversation(me, mine.number)
    texts = [e.message.body_text for e in found.entries]
    assert texts == ["언제 오나요?", "내일 도착합니다."]
    assert [e.author for e in found.entries] == [kim.name, "상담원 박"]
    assert all(e.message.is_public for e in found.entries)
    with pytest.raises(NotFound):
        portal_tickets.conversation(me, theirs.number)
    with pytest.raises(NotFound):
        messages.list_messages(me, theirs.id)
    with pytest.raises(NotFound):
        messages.add_customer_message(me, theirs.id, body_text="hijack")


def test_a_customer_replies_on_their_ticket_and_it_reopens(app):
    kim = make_customer(email="kim@example.kr")
    ticket = make_ticket(kim, subject="배송 문의")
    agent = make_user()
    messages.reply_to_ticket(actor(agent), ticket.id, body_text="확인했습니다.", status="solved")
    me = Actor.customer(kim.id)
    messages.add_customer_message(me, ticket.id, body_text="아직 안 왔어요.", kind="web")
    found = portal_tickets.conversation(me, ticket.number)
    assert found.entries[-1].message.body_text == "아직 안 왔어요."
    assert found.entries[-1].from_customer
    assert found.ticket.status == "open"
    assert found.can_reply
