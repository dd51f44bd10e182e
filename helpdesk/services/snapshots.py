"""Plain-dict snapshots of records, carried by domain events (built inside the transaction)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import object_session

from ..models import PRIORITY_NAMES, Customer, Message, Ticket, utcnow
from .sla_countdown import countdown
from .sla_rules import current_rules
from .transaction import current_session


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
        "sla": sla_snapshot(ticket),
    }


def sla_snapshot(ticket: Ticket) -> dict[str, Any]:
    """The ticket's SLA clock, as in the API's ticket shape with ISO dates, plus the badge's
    countdown for live queue rows."""
    clock = ticket.sla
    snapshot = {k: v.isoformat() if isinstance(v, datetime) else v for k, v in clock.items()}
    snapshot["countdown"] = None
    if clock["policy_id"] is not None:
        session = object_session(ticket) or current_session()
        snapshot["countdown"] = countdown(
            current_rules(session),
            ticket.sla_policy_id,
            ticket.sla_due_at,
            ticket.sla_warn_at,
            ticket.sla_paused,
            utcnow(),
        )
    return snapshot


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
