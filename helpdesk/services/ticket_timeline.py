"""A ticket's page in time order: its messages and the system events between them.

System events come from the audit trail: field changes (status, priority, group, assignee,
tags, subject), including those made together with a reply, and merges in either direction.
Audit entries that only say "a message was added" are left out: the message itself is shown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..models import AuditEvent, Message
from .audit import ticket_history
from .messages import list_messages
from .permissions import Actor

SHOWN_FIELDS = ("status", "priority", "group_id", "assignee_id", "tags", "subject")
_MERGES = ("ticket.merged_into", "ticket.merged_away")
_SLA_ALERTS = ("sla.warning", "sla.breach")  # the ticker's; ``data`` names the target


@dataclass
class SystemEvent:
    """One line such as "Jimin changed status: new → open" or "merged into #1042"."""

    id: int
    at: datetime
    actor_user_id: int | None
    action: str
    changes: dict[str, list[Any]] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class TimelineItem:
    at: datetime
    message: Message | None = None
    event: SystemEvent | None = None


def _system_event(entry: AuditEvent) -> SystemEvent | None:
    changes = {k: v for k, v in (entry.changes or {}).items() if k in SHOWN_FIELDS}
    if entry.action in _MERGES or entry.action in _SLA_ALERTS:
        kept = changes if entry.action in _SLA_ALERTS else {}
        return SystemEvent(
            entry.id, entry.created_at, entry.actor_user_id, entry.action, kept, entry.data
        )
    if not changes:
        return None
    return SystemEvent(entry.id, entry.created_at, entry.actor_user_id, entry.action, changes)


def ticket_timeline(actor: Actor, ticket_id: int) -> list[TimelineItem]:
    """Messages the actor may read and the ticket's system events, oldest first."""
    items = [TimelineItem(m.created_at, message=m) for m in list_messages(actor, ticket_id)]
    for entry in ticket_history(actor, ticket_id):
        event = _system_event(entry)
        if event is not None:
            items.append(TimelineItem(event.at, event=event))
    # Stable: a reply and the status change it made share a moment; the message comes first.
    items.sort(key=lambda item: (item.at, item.message is None))
    return items
