"""Customer 360 in a real browser: an agent's reply shows up live on a sales rep's open profile."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.test_staff_pages import sign_in
from tests.factories import make_customer, make_ticket, make_user


def test_an_agents_reply_appears_live_on_the_sales_reps_profile(
    app, browser, live_server, screenshot
):
    agent = make_user(name="김지민", locale="ko")
    sales = make_user("sales", name="Park Seojun", locale="en")
    customer = make_customer(name="이수진")
    ticket = make_ticket(customer, subject="배송 문의", body_text="언제 오나요?")

    rep_context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 800})
    rep = rep_context.new_page()
    sign_in(rep, live_server, sales.email)
    rep.goto(f"{live_server.url}/customers/{customer.id}")
    rep.locator("html[data-customer-room=joined]").wait_for(state="attached")
    expect(rep.locator(".summary [data-summary=open]")).to_have_text("1")

    agent_context = browser.new_context(locale="ko-KR")
    page = agent_context.new_page()
    sign_in(page, live_server, agent.email)
    page.goto(f"{live_server.url}/tickets/{ticket.number}")
    page.fill("textarea[name=body]", "내일 오전에 도착합니다.")
    page.click("button[name=kind][value=reply]")
    page.wait_for_selector("text=답변을 보냈습니다.")

    newest = rep.locator(".timeline article.message").first
    expect(newest).to_contain_text("내일 오전에 도착합니다.", timeout=5000)
    expect(newest).to_contain_text("김지민")
    expect(newest.locator(".on-ticket")).to_have_text(f"#{ticket.number} 배송 문의")
    screenshot(rep, "customer-profile-en")
    rep_context.close()
    agent_context.close()


def test_a_note_tag_and_order_added_by_others_appear_live_on_the_open_profile(
    app, browser, live_server, screenshot
):
    from datetime import UTC, datetime

    from helpdesk.services import customer_events, customer_fields, customer_notes, customers
    from helpdesk.services.permissions import SYSTEM
    from tests.factories import actor

    org = customers.create_organization(SYSTEM, "한빛상사", "hanbit.kr")
    agent = make_user(name="김지민", locale="ko")
    sales = make_user("sales", name="Park Seojun", locale="en")
    customer = make_customer(name="이수진", email="sujin@hanbit.kr")
    make_ticket(customer, subject="배송 문의", body_text="언제 오나요?")
    customer_fields.update_profile(
        SYSTEM, customer.id, {"tier": "gold", "attributes": {"plan": "pro", "seats": 40}}
    )
    assert customer.organization_id == org.id

    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    rep = context.new_page()
    sign_in(rep, live_server, sales.email)
    rep.goto(f"{live_server.url}/customers/{customer.id}")
    rep.locator("html[data-customer-room=joined]").wait_for(state="attached")
    expect(rep.locator(".customer-tags .tag")).to_have_count(0)

    customer_notes.add_note(actor(agent), customer.id, "재계약 논의: 다음 주 화요일 오후 전화")
    customer_fields.update_profile(
        actor(agent), customer.id, {"tags": ["vip", "renewal"], "owner_id": sales.id}
    )
    customer_events.add_event(
        SYSTEM,
        {
            "kind": "order",
            "title": "주문 #2026-1123",
            "occurred_at": datetime.now(UTC).isoformat(),
            "data": {"amount": 129000, "currency": "KRW"},
        },
        customer_id=customer.id,
    )

    newest_note = rep.locator(".timeline article.profile-note").first
    expect(newest_note).to_contain_text("재계약 논의", timeout=5000)
    expect(newest_note).to_contain_text("김지민")
    expect(rep.locator(".customer-notes .customer-note").first).to_contain_text("재계약 논의")
    expect(rep.locator(".customer-tags .tag")).to_have_text(["renewal", "vip"], timeout=5000)
    expect(rep.locator('[data-profile="owner"]')).to_have_text("Park Seojun")
    first_entry = rep.locator(".timeline article.entry").first
    expect(first_entry).to_contain_text("주문 #2026-1123", timeout=5000)
    expect(rep.locator(".customer-events li").first).to_contain_text("주문 #2026-1123")
    screenshot(rep, "customer-profile")
    context.close()


def test_an_sla_breach_appears_live_on_the_open_profile(app, browser, live_server):
    from datetime import UTC, datetime, timedelta

    from helpdesk.services import sla_admin, sla_ticker
    from helpdesk.services.permissions import SYSTEM

    always = sla_admin.save_calendar(SYSTEM, {"name": "24/7", "always_open": True})
    sla_admin.save_policy(
        SYSTEM, {"name": "Fast", "calendar_id": always.id, "first_response_minutes": 5}
    )
    sales = make_user("sales", name="Park Seojun", locale="en")
    customer = make_customer(name="이수진")
    ticket = make_ticket(customer, subject="결제 오류", body_text="결제가 안 됩니다.")

    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    rep = context.new_page()
    sign_in(rep, live_server, sales.email)
    rep.goto(f"{live_server.url}/customers/{customer.id}")
    rep.locator("html[data-customer-room=joined]").wait_for(state="attached")
    expect(rep.locator(".summary [data-summary=breached]")).to_have_text("0")
    expect(rep.locator(".timeline article.sla-breach")).to_have_count(0)

    result = sla_ticker.tick(datetime.now(UTC) + timedelta(minutes=6))  # nobody answered
    assert result.breaches == 1

    breach = rep.locator(".timeline article.sla-breach")
    expect(breach).to_have_count(1, timeout=5000)
    expect(breach).to_contain_text("SLA breached")
    expect(breach.locator(".on-ticket")).to_have_text(f"#{ticket.number} 결제 오류")
    expect(rep.locator(".summary [data-summary=breached]")).to_have_text("1")
    context.close()
