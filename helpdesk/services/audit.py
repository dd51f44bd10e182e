"""Recording the shared history: one ``AuditEvent`` row per change, inside the same transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import AuditEvent, Ticket
from .permissions import Actor, Permission, require
from .transaction import current_session


def record(
    session: Session,
    actor: Actor,
    action: str,
    *,
    ticket_id: int | None = None,
    ticket: Ticket | None = None,
    customer_id: int | None = None,
    changes: dict[str, list[Any]] | None = None,
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add an audit entry to the session (``ticket`` may be a ticket not yet flushed)."""
    entry = AuditEvent(
        action=action,
        ticket_id=ticket_id,
        customer_id=customer_id,
        actor_user_id=actor.user_id,
        actor_customer_id=actor.customer_id,
        changes=changes or {},
        data=data or {},
    )
    if ticket is not None:  # assigning None would clear ticket_id at flush
        entry.ticket = ticket
    session.add(entry)
    return entry


def ticket_history(actor: Actor, ticket_id: int) -> list[AuditEvent]:
    """The audit trail of one ticket, oldest first."""
    require(actor, Permission.TICKET_READ)
    stmt = select(AuditEvent).where(AuditEvent.ticket_id == ticket_id).order_by(AuditEvent.id)
    return list(current_session().scalars(stmt))
