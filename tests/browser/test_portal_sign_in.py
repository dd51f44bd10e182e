"""A customer signs in to the help center by the link emailed to them (sent by the live
server's worker through a real SMTP server), finds their ticket and replies to it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from email import message_from_bytes, policy

import pytest
import redis
from playwright.sync_api import expect
from sqlalchemy import select

from helpdesk.extensions import db
from helpdesk.models import Message
from helpdesk.services import messages
from tests.browser.conftest import REDIS_URL
from tests.email_helpers import make_channel
from tests.factories import actor, make_customer, make_ticket, make_user
from tests.mailservers import SmtpSink


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with SmtpSink() as server:
        yield server


def test_a_customer_signs_in_by_email_link_and_replies(app, browser, live_server, sink, screenshot):
    # The per-address limit on asking for links counts in the shared Redis across runs.
    store = redis.Redis.from_url(REDIS_URL)
    for key in store.scan_iter("LIMITER*portal.sign_in*"):
        store.delete(key)
    make_channel(smtp_port=sink.port, display_name="단골 고객지원")
    kim = make_customer(name="김민지", email="minji@example.kr")
    ticket = make_ticket(
        kim, subject="배송이 아직 안 왔어요", body_text="주문한 지 일주일이 지났어요."
    )
    make_ticket(make_customer(email="other@example.kr"), subject="다른 고객의 문의")
    agent = make_user(name="상담원 박서준")
    messages.add_note(actor(agent), ticket.id, body_text="내부 메모: 택배사 확인 중")
    messages.reply_to_ticket(actor(agent), ticket.id, body_text="확인해 보니 내일 도착 예정입니다.")

    context = browser.new_context(locale="ko-KR", viewport={"width": 1100, "height": 800})
    page = context.new_page()
    page.goto(f"{live_server.url}/help/ko")
    page.locator(".portal-account a[href$='/account/sign-in']").click()
    page.locator("#sign-in-email").fill("Minji@Example.kr")
    page.locator(".portal-sign-in button[type=submit]").click()
    expect(page.locator(".portal-check-email")).to_contain_text("Minji@Example.kr")

    # The live server's worker sends the link to the SMTP sink.
    (received,) = sink.wait_for_messages(1, timeout_s=30)
    mail = message_from_bytes(received.data, policy=policy.default)
    assert received.rcpt_tos == ("minji@example.kr",)
    link = re.search(r"http://\S+/help/ko/account/link/\S+", mail.get_content())  # type: ignore[attr-defined]
    assert link, mail.get_content()  # type: ignore[attr-defined]

    page.goto(link.group(0))
    page.locator(".portal-link button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/help/ko/account/tickets$"))
    rows = page.locator(".portal-tickets tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("배송이 아직 안 왔어요")
    expect(page.locator(".portal-who")).to_have_text("김민지")
    screenshot(page, "portal-my-tickets")

    rows.first.locator("a").click()
    conversation = page.locator(".portal-conversation")
    expect(conversation).to_contain_text("확인해 보니 내일 도착 예정입니다.")
    expect(conversation).not_to_contain_text("내부 메모")
    page.locator("#reply-body").fill("감사합니다. 내일 기다릴게요!")
    page.locator(".portal-reply button[type=submit]").click()
    expect(page.locator(".portal-message.mine").last).to_contain_text(
        "감사합니다. 내일 기다릴게요!"
    )
    screenshot(page, "portal-ticket-reply")

    db.session.rollback()
    last = db.session.scalars(
        select(Message).where(Message.ticket_id == ticket.id).order_by(Message.id.desc())
    ).first()
    assert last is not None
    assert (last.body_text, last.author_customer_id, last.is_public) == (
        "감사합니다. 내일 기다릴게요!",
        kim.id,
        True,
    )
    context.close()
