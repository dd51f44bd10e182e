"""Events are delivered after commit, in order, and never for a rolled-back change."""

from __future__ import annotations

import pytest

from helpdesk import events
from helpdesk.events import TicketCreated
from helpdesk.services import tickets
from helpdesk.services.errors import Invalid
from helpdesk.services.permissions import SYSTEM
from helpdesk.services.ticket_queries import TicketFilter, list_tickets
from helpdesk.services.transaction import transaction
from tests.factories import make_customer


def test_rolled_back_transaction_publishes_nothing(app, published):
    customer = make_customer()
    published.clear()
    with pytest.raises(Invalid), transaction():
        tickets.create_ticket(SYSTEM, subject="will vanish", body_text="x", customer_id=customer.id)
        raise Invalid("abort the whole unit of work")
    assert published == []
    assert list_tickets(SYSTEM, TicketFilter(customer_id=customer.id)).tickets == []


def test_nested_service_calls_commit_once_and_deliver_in_order(app, published):
    customer = make_customer()
    published.clear()
    seen_during: list[int] = []
    with transaction():
        a = tickets.create_ticket(SYSTEM, subject="a", body_text="x", customer_id=customer.id)
        b = tickets.create_ticket(SYSTEM, subject="b", body_text="x", customer_id=customer.id)
        seen_during.append(len(published))
    assert seen_during == [0]  # nothing is announced before the commit
    assert [e.ticket["id"] for e in published if isinstance(e, TicketCreated)] == [a.id, b.id]


def test_a_failing_subscriber_does_not_break_the_write(app, published):
    def broken(_event):
        raise RuntimeError("subscriber bug")

    events.subscribe("broken", broken)
    try:
        customer = make_customer()
        ticket = tickets.create_ticket(SYSTEM, subject="ok", body_text="x", customer_id=customer.id)
    finally:
        events.unsubscribe("broken")
    assert tickets.get_ticket(SYSTEM, ticket.id).subject == "ok"
    assert any(isinstance(e, TicketCreated) for e in published)


def test_a_savepoint_neither_delivers_early_nor_drops_earlier_events(app, published):
    customer = make_customer()
    published.clear()
    seen_during: list[int] = []
    with transaction() as session:
        kept = tickets.create_ticket(SYSTEM, subject="kept", body_text="x", customer_id=customer.id)
        with session.begin_nested():  # released: its events wait for the real commit
            inner = tickets.create_ticket(
                SYSTEM, subject="inner", body_text="x", customer_id=customer.id
            )
        seen_during.append(len(published))
        with pytest.raises(Invalid), session.begin_nested():  # rolled back: only its events go
            tickets.create_ticket(SYSTEM, subject="undone", body_text="x", customer_id=customer.id)
            raise Invalid("refuse this one")
    assert seen_during == [0]
    created = [e.ticket["subject"] for e in published if isinstance(e, TicketCreated)]
    assert created == ["kept", "inner"]
    assert inner.id != kept.id
