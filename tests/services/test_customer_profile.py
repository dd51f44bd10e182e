"""The customer profile: a service summary and one timeline across tickets and channels."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from helpdesk.services import customer_profile, messages
from helpdesk.services.errors import Forbidden, Invalid, NotFound
from helpdesk.services.permissions import SYSTEM, Actor
from tests.factories import actor, make_customer, make_ticket, make_user

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_summary_counts_tickets_and_averages_response_and_resolution(app):
    agent = make_user()
    customer = make_customer(name="이수진")
    with time_machine.travel(T0, tick=False):
        first = make_ticket(customer, channel="email")
    with time_machine.travel(T0 + timedelta(hours=2), tick=False):
        messages.reply_to_ticket(actor(agent), first.id, body_text="확인했습니다", status="solved")
    with time_machine.travel(T0 + timedelta(days=1), tick=False):
        second = make_ticket(customer, channel="chat")
    with time_machine.travel(T0 + timedelta(days=1, hours=4), tick=False):
        messages.reply_to_ticket(actor(agent), second.id, body_text="곧 답변드릴게요")
    make_ticket()  # someone else's

    summary = customer_profile.service_summary(actor(make_user("sales")), customer.id)
    assert (summary.open_tickets, summary.lifetime_tickets) == (1, 2)
    assert summary.avg_first_response == timedelta(hours=3)  # 2 h and 4 h
    assert summary.avg_resolution == timedelta(hours=2)
    assert summary.last_contact_at == T0 + timedelta(days=1)


def test_timeline_runs_across_tickets_newest_first_with_pages_and_filters(app):
    agent, sales = make_user(), make_user("sales")
    customer = make_customer()
    first = make_ticket(customer, body_text="first ticket")
    messages.add_note(actor(sales), first.id, body_text="renewal next month")
    second = make_ticket(customer, channel="chat", body_text="second ticket")
    messages.reply_to_ticket(actor(agent), second.id, body_text="answer")

    entries, cursor = customer_profile.customer_timeline(actor(sales), customer.id, limit=3)
    assert [e.message.body_text for e in entries] == [
        "answer",
        "second ticket",
        "renewal next month",
    ]
    assert entries[0].ticket_number == second.number
    older, end = customer_profile.customer_timeline(
        actor(sales), customer.id, limit=3, cursor=cursor
    )
    assert [e.message.body_text for e in older] == ["first ticket"] and end is None
    notes, _ = customer_profile.customer_timeline(actor(sales), customer.id, kind="notes")
    assert [e.message.body_text for e in notes] == ["renewal next month"]
    public, _ = customer_profile.customer_timeline(actor(sales), customer.id, kind="public")
    assert "renewal next month" not in [e.message.body_text for e in public]


def test_customers_never_see_notes_or_other_profiles(app):
    customer, other = make_customer(), make_customer()
    ticket = make_ticket(customer)
    messages.add_note(actor(make_user()), ticket.id, body_text="internal")
    portal = Actor(kind="customer", customer_id=customer.id)
    with pytest.raises((NotFound, Forbidden)):
        customer_profile.customer_timeline(portal, other.id)
    with pytest.raises(Invalid):
        customer_profile.customer_timeline(SYSTEM, customer.id, kind="secret")
    with pytest.raises(Invalid):
        customer_profile.customer_timeline(SYSTEM, customer.id, cursor="%%%")
