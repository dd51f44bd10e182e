"""The workspace from the keyboard, and a side panel that follows a colleague's changes live."""

from __future__ import annotations

from playwright.sync_api import expect

from helpdesk.extensions import db
from helpdesk.services import messages, tickets
from helpdesk.services.permissions import SYSTEM
from tests.browser.test_staff_pages import sign_in
from tests.factories import make_ticket, make_user


def test_an_agent_works_the_queue_from_the_keyboard(app, browser, live_server, screenshot):
    agent = make_user(name="Alex Kim")
    oldest, middle, _newest = (make_ticket(subject=f"Question {n}") for n in ("A", "B", "C"))
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 800})
    page = context.new_page()
    sign_in(page, live_server, agent.email)
    page.locator("html[data-live=connected]").wait_for(state="attached")

    page.keyboard.press("j")
    page.keyboard.press("j")  # newest first: the second row is the middle ticket
    assert "Question B" in page.locator("tr.selected").inner_text()
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/tickets/{middle.number}")

    page.keyboard.press("a")  # assign to me
    page.wait_for_selector("text=Ticket updated.")
    db.session.remove()
    assert tickets.get_ticket(SYSTEM, middle.id).assignee_id == agent.id

    # Someone else raises the priority: the select follows without a reload.
    page.locator("html[data-ticket-room=joined]").wait_for(state="attached")
    tickets.set_priority(SYSTEM, middle.id, "urgent")
    expect(page.locator('[data-field="priority-select"]')).to_have_value("urgent", timeout=5000)
    page.locator(".system-event", has_text="Priority: Normal → Urgent").wait_for(timeout=5000)
    screenshot(page, "ticket-side-panel-en")

    # The customer writes back on the ticket now assigned to this agent: a toast and the bell.
    messages.add_customer_message(SYSTEM, middle.id, body_text="Any news?")
    page.locator(".toast.customer_replied", has_text=f"#{middle.number}").wait_for(timeout=5000)
    expect(page.locator("#bell .unread-count")).to_have_text("1")

    page.keyboard.press("j")  # the next ticket in the queue's order
    page.wait_for_url(f"**/tickets/{oldest.number}")
    page.keyboard.press("?")
    assert page.locator("dialog#shortcuts").is_visible()
    page.keyboard.press("Escape")
    page.keyboard.press("u")
    page.wait_for_url("**/tickets")
    first = page.locator("tbody tr[data-ticket-id]").first
    assert first.get_attribute("data-ticket-id") == str(middle.id)  # the last one changed
    context.close()


def test_bulk_selection_survives_live_updates(app, browser, live_server):
    agent = make_user(name="Alex Kim")
    first, second = make_ticket(subject="Bulk one"), make_ticket(subject="Bulk two")
    context = browser.new_context(locale="en-US")
    page = context.new_page()
    sign_in(page, live_server, agent.email)
    page.locator("html[data-live=connected]").wait_for(state="attached")
    page.check(f'input[name="ids"][value="{first.id}"]')
    expect(page.locator("#bulk-count")).to_have_text("1")

    tickets.set_priority(SYSTEM, first.id, "high")  # the row is redrawn and moves to the top
    row = page.locator(f'tr[data-ticket-id="{first.id}"]')
    expect(row.locator(".priority")).to_have_text("High", timeout=5000)
    expect(row.locator('input[name="ids"]')).to_be_checked()

    page.select_option('#bulk select[name="status"]', "pending")
    page.click("#bulk button[type=submit]")
    page.wait_for_selector("text=1 ticket updated.")
    db.session.remove()
    assert tickets.get_ticket(SYSTEM, first.id).status == "pending"
    assert tickets.get_ticket(SYSTEM, second.id).status == "new"
    context.close()


def test_after_a_reconnect_the_queue_catches_up_on_what_it_missed(app, browser, live_server):
    agent = make_user()
    before = make_ticket(subject="Before the outage")
    context = browser.new_context(locale="en-US")
    page = context.new_page()
    sign_in(page, live_server, agent.email)
    page.locator("html[data-live=connected]").wait_for(state="attached")
    open_before = int(page.locator('[data-count="open"]').inner_text())
    page.check(f'input[name="ids"][value="{before.id}"]')  # a tick must survive the resync

    context.set_offline(True)
    page.locator("html[data-live=offline]").wait_for(state="attached", timeout=30000)
    assert page.locator("#live-state").is_visible()
    make_ticket(subject="Created while offline")  # its event is lost for this page

    context.set_offline(False)
    page.locator("tr", has_text="Created while offline").wait_for(timeout=30000)
    expect(page.locator('[data-count="open"]')).to_have_text(str(open_before + 1))
    assert not page.locator("#live-state").is_visible()
    expect(page.locator(f'input[name="ids"][value="{before.id}"]')).to_be_checked()
    expect(page.locator("#bulk-count")).to_have_text("1")
    context.close()
