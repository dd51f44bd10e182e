"""Saved replies in a real browser: an agent types "/" and a Korean shortcut with the IME,
picks the reply with Enter, sees it filled in for the customer, and sends it; the panel beside
the knowledge base inserts one at the caret."""

from __future__ import annotations

from playwright.sync_api import expect

from helpdesk.extensions import db
from helpdesk.models import CannedReply
from helpdesk.services.canned_replies import create_reply
from helpdesk.services.permissions import SYSTEM
from tests.browser.test_collision import conversation
from tests.browser.test_staff_pages import sign_in
from tests.factories import actor, make_customer, make_ticket, make_user


def _compose(ime, *steps: str) -> None:
    """Type one Hangul syllable the way an IME does: each step is shown, the last committed."""
    for text in steps:
        ime.send("Input.imeSetComposition", {"text": text, "selectionStart": 1, "selectionEnd": 1})
    ime.send("Input.insertText", {"text": steps[-1]})


def test_an_agent_inserts_a_saved_reply_by_its_shortcut_and_sends_it(
    app, browser, live_server, screenshot
):
    agent = make_user(name="김지민", locale="ko")
    ticket = make_ticket(
        make_customer(name="이수진"), subject="환불 문의", body_text="환불 되나요?"
    )
    refund = create_reply(
        SYSTEM,
        title="환불 접수 안내",
        body="{{customer.first_name}} 고객님, #{{ticket.number}} 건의 환불이 접수되었습니다.\n"
        "{{agent.name}} 드림",
        shortcut="환불",
        shared=True,
    )
    create_reply(
        SYSTEM, title="배송 지연 사과", body="늦어져 죄송합니다.", shortcut="배송", shared=True
    )
    create_reply(actor(agent), title="Thanks", body="Thank you, {{customer.name}}!", shortcut="ty")
    expected = f"이수진 고객님, #{ticket.number} 건의 환불이 접수되었습니다.\n김지민 드림"

    context = browser.new_context(locale="ko-KR", viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    sign_in(page, live_server, agent.email)
    page.goto(f"{live_server.url}/tickets/{ticket.number}")
    body = page.locator("textarea[name=body]")
    options = page.locator("#canned-list li")
    body.focus()

    # "/" alone offers every reply; arrows move, Escape closes and leaves the text alone.
    page.keyboard.type("/")
    expect(options).to_have_count(3)
    expect(options.nth(0)).to_have_class("canned-result active")
    page.keyboard.press("ArrowDown")
    expect(options.nth(1)).to_have_class("canned-result active")
    page.keyboard.press("Escape")
    expect(page.locator("#canned-list")).to_be_hidden()
    expect(body).to_have_value("/")

    # "/환불" through the IME. While "부" is still being composed (it may become "불") the
    # refund reply stays in the list.
    ime = context.new_cdp_session(page)
    _compose(ime, "ㅎ", "화", "환")
    ime.send("Input.imeSetComposition", {"text": "ㅂ", "selectionStart": 1, "selectionEnd": 1})
    ime.send("Input.imeSetComposition", {"text": "부", "selectionStart": 1, "selectionEnd": 1})
    expect(options).to_have_count(1)
    expect(options.first).to_contain_text("환불 접수 안내")
    expect(options.first).to_contain_text("/환불")
    screenshot(page, "composer-saved-reply-list")
    ime.send("Input.imeSetComposition", {"text": "불", "selectionStart": 1, "selectionEnd": 1})
    ime.send("Input.insertText", {"text": "불"})
    expect(body).to_have_value("/환불")
    expect(options).to_have_count(1)

    page.keyboard.press("Enter")  # picks: never a line break, never sends
    expect(body).to_have_value(expected)
    expect(page.locator("#canned-list")).to_be_hidden()
    assert len(conversation(ticket.id)) == 1
    screenshot(page, "composer-saved-reply")

    page.click("button[name=kind][value=reply]")
    page.locator("article.message.public", has_text="환불이 접수되었습니다").wait_for(timeout=5000)
    sent = conversation(ticket.id)[-1]
    # A form posts line breaks as CRLF (HTML's rule); the message keeps them as \n.
    assert (sent.body_text, sent.direction, sent.is_public) == (
        expected,
        "out",
        True,
    )
    assert db.session.get(CannedReply, refund.id).usage_count == 1

    # Typed in one go and Enter at once, before the list could arrive: still the reply.
    body.focus()
    page.keyboard.type("/ty")
    page.keyboard.press("Enter")
    expect(body).to_have_value("Thank you, 이수진!")
    context.close()


def test_the_saved_replies_panel_inserts_at_the_caret(app, browser, live_server, screenshot):
    agent = make_user(name="Alex Morgan", locale="en")
    ticket = make_ticket(make_customer(name="Daniel Park"), subject="Login")
    create_reply(
        SYSTEM,
        title="Password reset steps",
        body="choose *Forgot password*, {{customer.first_name}}.",
        shortcut="reset",
        shared=True,
    )
    create_reply(SYSTEM, title="Closing", body="Anything else?", shared=True)

    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    sign_in(page, live_server, agent.email)
    page.goto(f"{live_server.url}/tickets/{ticket.number}")
    body = page.locator("textarea[name=body]")
    body.fill("Hi! To sign in again: . Thanks")
    body.evaluate("el => el.setSelectionRange(22, 22)")  # after "again: "

    page.click("#canned-toggle")
    expect(page.locator("#canned-results li")).to_have_count(2)
    page.locator("#canned-q").fill("FORGOT")  # the text, in any case
    expect(page.locator("#canned-results li")).to_have_count(1)
    screenshot(page, "composer-saved-replies-panel")
    page.locator("#canned-q").press("Enter")  # inserts; never sends
    expect(body).to_have_value("Hi! To sign in again: choose *Forgot password*, Daniel.. Thanks")
    assert len(conversation(ticket.id)) == 1

    page.locator("#canned-q").fill("nothing like this")
    expect(page.locator("#canned-status")).to_have_text("No saved reply matches.")
    page.locator("#canned-q").press("Escape")
    expect(page.locator("#canned-panel")).to_be_hidden()

    page.click("a[href='/canned-replies']")  # the staff navigation
    expect(page.locator("#shared-replies")).to_contain_text("Password reset steps")
    screenshot(page, "saved-replies-page")
    context.close()
