"""The agent workspace in a real browser: unread markers in the live queue, @mentions typed
with the Korean IME, and knowledge-base links from the reply composer."""

from __future__ import annotations

import re
import time
from urllib.parse import quote

from playwright.sync_api import expect
from sqlalchemy import select

from helpdesk.extensions import db
from helpdesk.models import KbTranslation, Message, Notification
from helpdesk.services import kb_articles, messages, ticket_reads
from helpdesk.services.permissions import SYSTEM
from tests.browser.test_collision import conversation
from tests.browser.test_portal import _wait_for_index
from tests.browser.test_staff_pages import sign_in
from tests.factories import actor, make_customer, make_ticket, make_user

UNREAD = re.compile(r"\bunread\b")


def _eventually(condition, timeout: float = 5.0) -> None:
    """Wait for a condition on the database, which the server process writes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        db.session.remove()
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def test_unread_markers_follow_reading_and_the_customers_new_messages(app, browser, live_server):
    jimin = make_user(name="김지민", locale="ko")
    alex = make_user(name="Alex Kim", locale="en")
    ticket = make_ticket(make_customer(name="이수진"), subject="배송이 늦어요")
    other = make_ticket(subject="Login problem")
    ticket_reads.mark_read(actor(alex), ticket.id)  # Alex read it yesterday

    a_context = browser.new_context(locale="ko-KR")
    a = a_context.new_page()
    sign_in(a, live_server, jimin.email)
    row = a.locator(f'tr[data-ticket-id="{ticket.id}"]')
    expect(row).to_have_class(UNREAD)
    expect(row.locator(".unread-dot")).to_be_visible()
    row.locator("td.subject a").click()  # she opens it...
    a.wait_for_url(f"**/tickets/{ticket.number}")
    a.locator("html[data-ticket-room=joined]").wait_for(state="attached")

    b_context = browser.new_context(locale="en-US")
    b = b_context.new_page()
    sign_in(b, live_server, alex.email)
    b.locator("html[data-live=connected]").wait_for(state="attached")
    b_row = b.locator(f'tr[data-ticket-id="{ticket.id}"]')
    expect(b_row).not_to_have_class(UNREAD)
    expect(b_row.locator(".unread-dot")).to_be_hidden()
    expect(b.locator(f'tr[data-ticket-id="{other.id}"]')).to_have_class(UNREAD)

    # The customer writes again: Alex's open queue marks the row unread without a reload,
    # while Jimin, who has the ticket on screen, reads it as it arrives.
    messages.add_customer_message(SYSTEM, ticket.id, body_text="아직 소식이 없나요?")
    expect(b_row).to_have_class(UNREAD, timeout=5000)
    expect(b_row.locator(".unread-dot")).to_be_visible()
    a.locator("article.message", has_text="아직 소식이 없나요?").wait_for(timeout=5000)
    _eventually(lambda: not ticket_reads.unread_flags(actor(jimin), [ticket.id])[ticket.id])

    a.keyboard.press("u")  # back to her queue: read there too
    a.wait_for_url("**/tickets")
    expect(a.locator(f'tr[data-ticket-id="{ticket.id}"]')).not_to_have_class(UNREAD)

    # Alex marks a row he has read as unread again, from the bulk bar.
    b_row.locator("td.subject a").click()
    b.wait_for_url(f"**/tickets/{ticket.number}")
    b.goto(f"{live_server.url}/tickets")
    b.locator("html[data-live=connected]").wait_for(state="attached")
    expect(b_row).not_to_have_class(UNREAD)
    b.check(f'input[name="ids"][value="{ticket.id}"]')
    b.click("#bulk-unread")
    expect(b_row).to_have_class(UNREAD, timeout=5000)
    db.session.remove()
    assert ticket_reads.unread_flags(actor(alex), [ticket.id]) == {ticket.id: True}
    a_context.close()
    b_context.close()


def test_mentioning_a_colleague_with_the_korean_ime(app, browser, live_server):
    alex = make_user(name="Alex Kim", locale="en")
    jisoo = make_user(name="김지수", email="jisoo.kim@dangol.test")
    make_user(name="김민준", email="minjun@dangol.test")
    ticket = make_ticket(subject="결제 오류", body_text="카드 결제가 안 됩니다.")
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    sign_in(page, live_server, alex.email)
    page.goto(f"{live_server.url}/tickets/{ticket.number}")
    body = page.locator("textarea[name=body]")
    mentions = page.locator("#mention-list")
    body.focus()

    page.keyboard.type("@")
    expect(mentions.locator("li")).to_have_count(3)  # every colleague, Alex included
    page.keyboard.press("Escape")
    expect(mentions).to_be_hidden()
    page.keyboard.press("Backspace")

    page.keyboard.type("확인 부탁드려요 @")
    ime = context.new_cdp_session(page)
    ime.send("Input.imeSetComposition", {"text": "ㄱ", "selectionStart": 1, "selectionEnd": 1})
    ime.send("Input.imeSetComposition", {"text": "기", "selectionStart": 1, "selectionEnd": 1})
    ime.send("Input.imeSetComposition", {"text": "김", "selectionStart": 1, "selectionEnd": 1})
    ime.send("Input.insertText", {"text": "김"})
    expect(mentions.locator("li")).to_have_count(2)  # 김지수, 김민준
    # Mid-syllable: "짓" may still become "지수", so the list keeps 김지수 in view.
    ime.send("Input.imeSetComposition", {"text": "ㅈ", "selectionStart": 1, "selectionEnd": 1})
    ime.send("Input.imeSetComposition", {"text": "지", "selectionStart": 1, "selectionEnd": 1})
    ime.send("Input.imeSetComposition", {"text": "짓", "selectionStart": 1, "selectionEnd": 1})
    expect(mentions.locator("li")).to_have_count(1)
    expect(mentions.locator("li.active")).to_contain_text("김지수")
    expect(mentions.locator("li.active")).to_contain_text("@jisoo.kim")
    ime.send("Input.insertText", {"text": "지"})  # the IME commits the syllable
    expect(mentions.locator("li")).to_have_count(1)

    page.keyboard.press("Enter")  # picks: never sends, never a line break
    expect(body).to_have_value("확인 부탁드려요 @jisoo.kim ")
    expect(mentions).to_be_hidden()
    assert len(conversation(ticket.id)) == 1  # nothing was sent

    page.keyboard.type("결제 로그 확인해 주세요")
    page.click("button[name=kind][value=note]")
    page.locator("article.message.internal", has_text="@jisoo.kim").wait_for(timeout=5000)
    db.session.remove()
    notes = db.session.scalars(
        select(Message.body_text).where(Message.ticket_id == ticket.id, ~Message.is_public)
    ).all()
    assert notes == ["확인 부탁드려요 @jisoo.kim 결제 로그 확인해 주세요"]
    notified = db.session.scalars(
        select(Notification).where(Notification.user_id == jisoo.id)
    ).all()
    assert [(n.kind, n.ticket_id) for n in notified] == [("mentioned", ticket.id)]
    context.close()


def test_searching_the_knowledge_base_from_the_reply_composer(
    app, browser, live_server, screenshot
):
    agent = make_user(name="김지민", locale="ko")
    saved = kb_articles.save_article(
        SYSTEM,
        {
            "translations": {
                "ko": {
                    "title": "환불하려면 어떻게 하나요?",
                    "body": "주문 내역에서 **환불 신청**을 누르세요.",
                }
            }
        },
    )
    kb_articles.publish(SYSTEM, saved.id)
    slug = db.session.scalar(select(KbTranslation.slug).where(KbTranslation.article_id == saved.id))
    _wait_for_index(live_server.url, "환불")
    ticket = make_ticket(subject="환불 문의", body_text="환불 받을 수 있나요?")

    context = browser.new_context(locale="ko-KR", viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    sign_in(page, live_server, agent.email)
    page.goto(f"{live_server.url}/tickets/{ticket.number}")
    body = page.locator("textarea[name=body]")
    body.fill("안녕하세요. 안내 문서입니다: ")

    page.click("#kb-toggle")
    page.locator("#kb-q").fill("환불은")  # the particle-suffixed word still finds it
    page.locator("#kb-q").press("Enter")  # searches; never sends the reply
    result = page.locator(".kb-result", has_text="환불하려면 어떻게 하나요?")
    result.wait_for(timeout=5000)
    expect(result.locator("mark").first).to_be_visible()
    screenshot(page, "composer-kb-search")

    result.locator("[data-insert=link]").click()
    url = f"{live_server.url}/help/ko/{quote(slug)}"
    expect(body).to_have_value(f"안녕하세요. 안내 문서입니다: {url}")
    result.locator("[data-insert=text]").click()
    expect(body).to_have_value(
        f"안녕하세요. 안내 문서입니다: {url} 주문 내역에서 **환불 신청**을 누르세요."
    )
    assert len(conversation(ticket.id)) == 1  # nothing was sent
    context.close()
