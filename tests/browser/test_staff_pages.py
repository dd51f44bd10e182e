"""An agent's day in a real browser: sign in, see the queue change live, answer in Korean."""

from __future__ import annotations

from helpdesk.services import messages, tickets
from helpdesk.services.permissions import SYSTEM
from tests.factories import PASSWORD, actor, make_customer, make_ticket, make_user


def sign_in(page, server, email):
    page.goto(f"{server.url}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{server.url}/tickets")


def test_agent_signs_in_sees_live_queue_and_replies_in_korean(
    app, browser, live_server, screenshot
):
    agent = make_user(name="김지민", locale="ko", timezone="Asia/Seoul")
    sales = make_user("sales", name="박서준")
    customer = make_customer(name="이수진")
    first = make_ticket(
        customer,
        subject="환불 요청드립니다",
        body_text="주문번호 2026-1142 환불 부탁드려요.",
        tags=["환불"],
    )
    messages.add_note(actor(sales), first.id, body_text="VIP 고객입니다. 신속 처리 부탁드려요.")

    context = browser.new_context(locale="ko-KR", viewport={"width": 1280, "height": 800})
    page = context.new_page()
    sign_in(page, live_server, agent.email)
    assert page.locator("table.queue").inner_text().count("환불 요청드립니다") == 1
    assert page.locator("th", has_text="제목").count() == 1  # Korean screen for a Korean agent
    page.locator("html[data-live=connected]").wait_for(state="attached")

    # A ticket arrives from elsewhere (another process, the API, an email): it appears at the top
    # of the queue and the view counts move, without a reload.
    open_count = page.locator('[data-count="open"]').inner_text()
    tickets.create_ticket(
        SYSTEM,
        subject="Cannot log in",
        body_text="Password rejected",
        customer_identity=("email", "daniel@acme.example"),
        channel="email",
    )
    first_row = page.locator("table.queue tbody tr[data-ticket-id]").first
    first_row.filter(has_text="Cannot log in").wait_for(timeout=5000)
    assert "이메일" in first_row.inner_text()  # the live row is rendered in Korean too
    assert page.locator('[data-count="open"]').inner_text() == str(int(open_count) + 1)
    screenshot(page, "queue-ko")

    page.click("text=환불 요청드립니다")
    assert "VIP 고객입니다" in page.locator("article.internal").inner_text()
    page.fill("textarea[name=body]", "안녕하세요, 이수진 고객님. 환불 접수되었습니다.")
    page.click("button[name=kind][value=reply]")
    page.wait_for_selector("text=답변을 보냈습니다.")
    assert "환불 접수되었습니다" in page.locator("article.out.public").inner_text()
    screenshot(page, "ticket-ko")
    assert tickets.get_ticket(SYSTEM, first.id).status == "open"
    context.close()


def test_english_sign_in_page(browser, live_server, screenshot, app):
    context = browser.new_context(locale="en-US")
    page = context.new_page()
    page.goto(f"{live_server.url}/login")
    assert page.locator("h1").inner_text() == "Sign in to Dangol"
    page.fill("input[name=email]", "nobody@dangol.test")
    page.fill("input[name=password]", "wrong-password")
    page.click("button[type=submit]")
    assert "Wrong email or password." in page.locator(".flash.error").inner_text()
    screenshot(page, "login-en")
    context.close()
