"""Bulk changes from the queue: each ticket edited as if alone; the unchangeable ones skipped."""

from __future__ import annotations

import pytest

from helpdesk.services import tickets
from helpdesk.services.errors import Forbidden, Invalid
from helpdesk.services.permissions import SYSTEM
from helpdesk.services.ticket_bulk import bulk_update
from tests.factories import actor, make_group, make_ticket, make_user


def test_bulk_assigns_and_tags_and_skips_what_cannot_change(app, published):
    agent = make_user()
    billing = make_group("Billing")
    first, second = make_ticket(tags=["vip"]), make_ticket()
    closed = make_ticket()
    tickets.set_status(SYSTEM, closed.id, "closed")
    published.clear()

    result = bulk_update(
        actor(agent),
        [first.id, second.id, closed.id, first.id],
        {"assignee_id": agent.id, "group_id": billing.id, "add_tags": ["환불"]},
    )

    assert result.updated == [first.id, second.id]
    assert list(result.skipped) == [closed.id] and "closed" in result.skipped[closed.id]
    for ticket_id, tags in ((first.id, ["vip", "환불"]), (second.id, ["환불"])):
        ticket = tickets.get_ticket(SYSTEM, ticket_id)
        assert (ticket.assignee_id, ticket.group_id) == (agent.id, billing.id)
        assert sorted(t.name for t in ticket.tags) == tags
    # one live update per ticket, as for a single edit
    assert [e.ticket["id"] for e in published if e.name == "ticket.updated"] == [
        first.id,
        second.id,
    ]


def test_bulk_refuses_a_wrong_change_for_all_and_readers(app):
    ticket = make_ticket()
    with pytest.raises(Invalid):
        bulk_update(SYSTEM, [ticket.id], {"status": "nonsense"})
    with pytest.raises(Invalid):
        bulk_update(SYSTEM, [ticket.id], {"subject": "no"})
    with pytest.raises(Invalid):
        bulk_update(SYSTEM, [], {"status": "open"})
    with pytest.raises(Forbidden):
        bulk_update(actor(make_user("sales")), [ticket.id], {"status": "open"})
    assert tickets.get_ticket(SYSTEM, ticket.id).status == "new"
