"""An admin sets up SLAs in a real browser: a business calendar, then a policy on it."""

from __future__ import annotations

import re

from playwright.sync_api import expect
from sqlalchemy import select

from helpdesk.extensions import db
from helpdesk.models import SlaCalendar, SlaPolicy
from tests.browser.test_staff_pages import sign_in
from tests.factories import make_group, make_user


def test_admin_sets_up_a_calendar_and_a_policy(app, browser, live_server, screenshot):
    admin = make_user("admin", name="Jiwoo Han", locale="en", timezone="Asia/Seoul")
    make_group("Escalations")
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    sign_in(page, live_server, admin.email)

    page.click("header nav >> text=SLA")
    page.wait_for_url(f"{live_server.url}/admin/sla")
    page.click("text=New calendar")
    page.fill("input[name=name]", "Seoul office")
    page.fill("input[name=timezone]", "Asia/Seoul")
    for day in range(5):
        page.fill(f"input[name=hours-{day}]", "09:00-12:00, 13:00-18:00")
    page.select_option("select[name=holiday_country]", "KR")
    page.fill("textarea[name=extra_holidays]", "2026-12-24\n2026-12-31")
    page.click("#calendar-form button[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/sla")
    calendars = page.locator("#calendars tbody tr")
    expect(calendars).to_have_count(1)
    expect(calendars.first).to_contain_text("Seoul office")
    expect(calendars.first).to_contain_text("Mon–Fri 09:00-12:00, 13:00-18:00")
    expect(calendars.first).to_contain_text("South Korea")

    page.click("text=New policy")
    page.fill("input[name=name]", "Urgent email")
    page.select_option("select[name=calendar_id]", label="Seoul office · Asia/Seoul")
    page.fill("input[name=first_response_minutes]", "60")
    page.fill("input[name=resolution_minutes]", "480")
    page.check("input[name=priorities][value=urgent]")
    page.check("input[name=channels][value=email]")
    page.fill("input[name=tags]", "vip")
    page.check("input[name=breach-raise_priority]")
    page.select_option("select[name=breach-group_id]", label="Escalations")
    page.click("#policy-form button[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/sla")
    expect(page.locator(".flash")).to_have_text("Policy saved.")
    policies = page.locator("#policies tbody tr")
    expect(policies).to_have_count(1)
    row = policies.first
    expect(row).to_contain_text("Urgent email")
    expect(row).to_contain_text("Seoul office")
    expect(row.locator("td.target")).to_have_text(["1h", "—", "8h"])
    expect(row).to_contain_text(re.compile(r"Priority: Urgent\s+Channel: Email"))
    screenshot(page, "sla-admin-en")

    db.session.rollback()
    calendar = db.session.scalar(select(SlaCalendar).where(SlaCalendar.name == "Seoul office"))
    policy = db.session.scalar(select(SlaPolicy).where(SlaPolicy.name == "Urgent email"))
    assert calendar is not None and calendar.hours[0] == ["09:00-12:00", "13:00-18:00"]
    assert policy is not None and policy.calendar_id == calendar.id
    assert policy.conditions == {"priorities": ["urgent"], "channels": ["email"], "tags": ["vip"]}
    assert policy.escalations["breach"]["raise_priority"] is True
    context.close()
