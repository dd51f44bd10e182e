"""Plain-dict snapshots of records, carried by domain events (built inside the transaction)."""

from __future__ import annotations

from typing import Any

from ..models import PRIORITY_NAMES, Customer, Message, Ticket


def ticket_snapshot(ticket: Ticket, *, customer_name: str | None = None) -> dict[str, Any]:
    """What a queue row needs. ``customer_name`` avoids a lazy load when the caller knows it."""
    if customer_name is None and "customer" in ticket.__dict__:
        customer_name = ticket.customer.name
    tags = [t.name for t in ticket.tags] if "tags" in ticket.__dict__ else None
    return {
        "id": ticket.id,
        "number": ticket.number,
        "subject": ticket.subject,
        "status": ticket.status,
        "priority": PRIORITY_NAMES[ticket.priority],
        "channel": ticket.channel,
        "customer_id": ticket.customer_id,
        "customer_name": customer_name,
        "organization_id": ticket.organization_id,
        "group_id": ticket.group_id,
        "assignee_id": ticket.assignee_id,
        "merged_into_id": ticket.merged_into_id,
        "tags": tags,
        "created_at": ticket.created_at.isoformat(),
        "updated_at": ticket.updated_at.isoformat(),
        "version": ticket.version,
    }


def message_snapshot(message: Message) -> dict[str, Any]:
    return {
        "id": message.id,
        "ticket_id": message.ticket_id,
        "direction": message.direction,
        "kind": message.kind,
        "is_public": message.is_public,
        "author_user_id": message.author_user_id,
        "author_customer_id": message.author_customer_id,
        "body_text": message.body_text,
        "body_html": message.body_html,
        "created_at": message.created_at.isoformat(),
    }


def customer_snapshot(customer: Customer) -> dict[str, Any]:
    return {
        "id": customer.id,
        "name": customer.name,
        "organization_id": customer.organization_id,
        "identities": [{"kind": i.kind, "value": i.value} for i in customer.identities],
    }
