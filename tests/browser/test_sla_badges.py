"""SLA badges in the queue and on the ticket page, sorted by what breaches next, live."""

from __future__ import annotations

import re
from datetime import timedelta

import time_machine
from playwright.sync_api import expect

from helpdesk.models import utcnow
from helpdesk.services import messages, sla_admin
from helpdesk.services.permissions import SYSTEM
from tests.browser.test_staff_pages import sign_in
from tests.factories import make_ticket, make_user


def _policy() -> None:
    # Around the clock, so that the figures do not depend on when the test runs.
    calendar = sla_admin.save_calendar(SYSTEM, {"name": "24/7", "always_open": True})
    sla_admin.save_policy(
        SYSTEM,
        {
            "name": "Email",
            "calendar_id": calendar.id,
            "conditions": {"channels": ["email"]},
            "first_response_minutes": 60,
            "resolution_minutes": 600,
        },
    )


def _opened(minutes_ago: int, subject: str, channel: str = "email"):
    with time_machine.travel(utcnow() - timedelta(minutes=minutes_ago), tick=False):
        return make_ticket(subject=subject, channel=channel)


def test_the_queue_sorts_by_breaches_next_and_badges_count_down(
    app, browser, live_server, screenshot
):
    _policy()
    agent = make_user(name="Alex Kim")
    fresh = _opened(0, "Fresh question")
    late = _opened(70, "Waiting too long")
    close = _opened(55, "Almost due")
    chat = _opened(5, "Chat without SLA", channel="chat")
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 800})
    page = context.new_page()
    sign_in(page, live_server, agent.email)
    page.goto(f"{live_server.url}/tickets?view=open&sort=sla_due_at")
    page.locator("html[data-live=connected]").wait_for(state="attached")

    rows = page.locator("tbody tr[data-ticket-id]")
    expect(rows).to_have_count(4)
    order = [rows.nth(i).get_attribute("data-ticket-id") for i in range(4)]
    assert order == [str(t.id) for t in (late, close, fresh, chat)]
    badge = page.locator(f'tr[data-ticket-id="{late.id}"] .sla')
    expect(badge).to_have_class(re.compile(r"\bbreached\b"))
    expect(badge).to_have_text(re.compile(r"^1[01]m over$"))
    expect(page.locator(f'tr[data-ticket-id="{close.id}"] .sla')).to_have_class(
        re.compile(r"\bwarning\b")
    )
    expect(page.locator(f'tr[data-ticket-id="{fresh.id}"] .sla')).to_have_text(
        re.compile(r"^(59m|1h 00m)$")
    )
    expect(page.locator(f'tr[data-ticket-id="{chat.id}"] .sla')).to_have_count(0)
    screenshot(page, "queue-sla-en")

    # A colleague answers the fresh ticket: its first response is met, and the badge now
    # counts the resolution target (10 hours), live.
    messages.reply_to_ticket(SYSTEM, fresh.id, body_text="On it.")
    expect(page.locator(f'tr[data-ticket-id="{fresh.id}"] .sla')).to_have_text(
        re.compile(r"^(9h 5\dm|10h 00m)$"), timeout=5000
    )

    page.goto(f"{live_server.url}/tickets/{late.number}")
    panel = page.locator(".sla-panel")
    expect(panel.locator('[data-target-kind="first_response"] .sla')).to_have_class(
        re.compile(r"\bbreached\b")
    )
    expect(panel.locator('[data-target-kind="resolution"] .sla')).to_have_class(
        re.compile(r"\bok\b")
    )
    context.close()
