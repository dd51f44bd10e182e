"""Two agents on one ticket in two browsers: presence, typing, a crossing reply, Korean IME."""

from __future__ import annotations

from helpdesk.extensions import db
from helpdesk.services import messages
from helpdesk.services.permissions import SYSTEM
from tests.browser.test_staff_pages import sign_in
from tests.factories import make_customer, make_ticket, make_user


def conversation(ticket_id):
    """The stored conversation as it is now (a fresh session: the server commits elsewhere)."""
    db.session.remove()
    return messages.list_messages(SYSTEM, ticket_id)


def test_two_agents_see_each_other_and_never_answer_twice(app, browser, live_server, screenshot):
    jimin = make_user(name="김지민", locale="ko", timezone="Asia/Seoul")
    alex = make_user(name="Alex Kim", locale="en")
    ticket = make_ticket(
        make_customer(name="이수진"), subject="배송이 늦어요", body_text="언제 도착하나요?"
    )
    path = f"{live_server.url}/tickets/{ticket.number}"

    contexts, pages = [], []
    for agent, locale in ((jimin, "ko-KR"), (alex, "en-US")):
        context = browser.new_context(locale=locale, viewport={"width": 1280, "height": 800})
        page = context.new_page()
        sign_in(page, live_server, agent.email)
        page.goto(path)
        contexts.append(context)
        pages.append(page)
    a, b = pages

    # Each sees the other, in their own language.
    b.locator("#presence", has_text="김지민 also viewing").wait_for(timeout=5000)
    a.locator("#presence", has_text="Alex Kim").wait_for(timeout=5000)

    # Jimin starts a draft: Alex sees that she is typing.
    a.fill("textarea[name=body]", "확인 후 안내드리겠습니다.")
    a.dispatch_event("textarea[name=body]", "input")
    b.locator("#presence.typing", has_text="김지민 typing a reply").wait_for(timeout=5000)
    screenshot(b, "ticket-presence-en")

    # Alex answers first. His reply appears on Jimin's page at once, with a warning.
    b.fill("textarea[name=body]", "It ships tomorrow morning.")
    b.click("button[name=kind][value=reply]")
    b.wait_for_selector("text=Reply sent.")
    theirs = a.locator("article.message.public", has_text="It ships tomorrow morning.")
    theirs.wait_for(timeout=5000)
    assert "Alex Kim" in a.locator("#collision").inner_text()
    screenshot(a, "ticket-collision-ko")

    # Sending anyway is held: the draft survives and the page now shows everything.
    a.click("button[name=kind][value=reply]")
    a.locator(".flash.warning[role=status]").wait_for()
    assert a.input_value("textarea[name=body]") == "확인 후 안내드리겠습니다."
    public = [m.body_text for m in conversation(ticket.id) if m.is_public]
    assert public == ["언제 도착하나요?", "It ships tomorrow morning."]

    # Having read it, she rewrites in Korean with the IME: Ctrl+Enter in mid-composition
    # neither sends nor loses the syllable being composed.
    a.fill("textarea[name=body]", "")
    a.focus("textarea[name=body]")
    ime = contexts[0].new_cdp_session(a)
    a.keyboard.insert_text("내일 오전에 출발합니다. 감사합니")
    ime.send("Input.imeSetComposition", {"text": "ㄷ", "selectionStart": 1, "selectionEnd": 1})
    ime.send("Input.imeSetComposition", {"text": "다", "selectionStart": 1, "selectionEnd": 1})
    a.keyboard.press("Control+Enter")
    a.wait_for_timeout(300)
    assert a.input_value("textarea[name=body]") == "내일 오전에 출발합니다. 감사합니다"
    assert len(conversation(ticket.id)) == 2  # nothing was sent
    ime.send("Input.insertText", {"text": "다"})  # the IME commits the syllable
    a.keyboard.press("Control+Enter")
    a.wait_for_selector("text=답변을 보냈습니다.")
    last = conversation(ticket.id)[-1]
    assert last.body_text == "내일 오전에 출발합니다. 감사합니다"
    assert last.author_user_id == jimin.id

    # Jimin leaves: Alex's page forgets her.
    a.close()
    b.locator("#presence").wait_for(state="hidden", timeout=5000)
    for context in contexts:
        context.close()
