"""Recording the shared history: one ``AuditEvent`` row per change, inside the same transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import AuditEvent, utcnow
from .permissions import Actor, Permission, require
from .transaction import current_session


def entry_values(
    actor: Actor,
    action: str,
    *,
    ticket_id: int | None = None,
    customer_id: int | None = None,
    changes: dict[str, list[Any]] | None = None,
    data: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The column values of one audit entry (for callers that insert rows directly)."""
    return {
        "action": action,
        "ticket_id": ticket_id,
        "customer_id": customer_id,
        "actor_user_id": actor.user_id,
        "actor_customer_id": actor.customer_id,
        "changes": changes or {},
        "data": data or {},
        "created_at": utcnow(),
    }


def record(
    session: Session,
    actor: Actor,
    action: str,
    *,
    ticket_id: int | None = None,
    customer_id: int | None = None,
    changes: dict[str, list[Any]] | None = None,
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add an audit entry to the session; it is written with the rest of the transaction."""
    entry = AuditEvent(
        **entry_values(
            actor, action, ticket_id=ticket_id, customer_id=customer_id, changes=changes, data=data
        )
    )
    session.add(entry)
    return entry


def ticket_history(actor: Actor, ticket_id: int) -> list[AuditEvent]:
    """The audit trail of one ticket, oldest first."""
    require(actor, Permission.TICKET_READ)
    stmt = select(AuditEvent).where(AuditEvent.ticket_id == ticket_id).order_by(AuditEvent.id)
    return list(current_session().scalars(stmt))
