"""Domain events, queued during a transaction and delivered only after it commits.

Services call ``publish(session, event)`` while they write. When the session commits, every
subscriber (the Socket.IO fan-out today; automations and notifications later) receives the
events in order; when it rolls back they are dropped, so a change that did not happen is never
announced. Events are plain records, not Socket.IO payloads, so any consumer can use them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session, SessionTransaction

log = logging.getLogger(__name__)

_PENDING = "dangol_pending_events"


@dataclass(frozen=True)
class DomainEvent:
    name: ClassVar[str] = "event"


@dataclass(frozen=True)
class NotificationCreated(DomainEvent):
    """For one staff member's bell: ``notification`` is the row as the page shows it."""

    name: ClassVar[str] = "notification"
    user_id: int
    notification: dict[str, Any]


@dataclass(frozen=True)
class TicketCreated(DomainEvent):
    name: ClassVar[str] = "ticket.created"
    ticket: dict[str, Any]
    actor_user_id: int | None = None


@dataclass(frozen=True)
class TicketUpdated(DomainEvent):
    """``changes`` maps each changed field to ``[before, after]``."""

    name: ClassVar[str] = "ticket.updated"
    ticket: dict[str, Any]
    changes: dict[str, list[Any]] = field(default_factory=dict)
    actor_user_id: int | None = None


@dataclass(frozen=True)
class MessageAdded(DomainEvent):
    name: ClassVar[str] = "message.added"
    ticket: dict[str, Any]
    message: dict[str, Any]
    actor_user_id: int | None = None

    @property
    def is_public(self) -> bool:
        return bool(self.message["is_public"])


@dataclass(frozen=True)
class TicketMerged(DomainEvent):
    name: ClassVar[str] = "ticket.merged"
    source: dict[str, Any]
    target: dict[str, Any]
    actor_user_id: int | None = None


@dataclass(frozen=True)
class MessageDeliveryChanged(DomainEvent):
    """An outgoing email of a message was queued, sent, or failed (``error``: the server's
    reason); ``status`` is an ``OutboxStatus`` value."""

    name: ClassVar[str] = "message.delivery"
    ticket_id: int
    message_id: int
    status: str
    error: str | None = None


@dataclass(frozen=True)
class CustomerChanged(DomainEvent):
    name: ClassVar[str] = "customer.changed"
    customer: dict[str, Any]
    created: bool = False
    actor_user_id: int | None = None


@dataclass(frozen=True)
class CustomerNoteChanged(DomainEvent):
    """A staff note on a customer's profile was added, edited or deleted (``action``);
    ``note`` is the note as the profile shows it (only ``id`` once deleted)."""

    name: ClassVar[str] = "customer.note"
    customer_id: int
    action: str  # added, edited, deleted
    note: dict[str, Any]
    actor_user_id: int | None = None


@dataclass(frozen=True)
class CustomerEventAdded(DomainEvent):
    """A business event (order, contract, call) pushed in from outside joined a customer's
    timeline; ``event`` is the stored row as the API shows it."""

    name: ClassVar[str] = "customer.event"
    customer_id: int
    event: dict[str, Any]
    actor_user_id: int | None = None


Subscriber = Callable[[DomainEvent], None]
_subscribers: dict[str, Subscriber] = {}
# Hooks that must write with the change itself (the search index queue): called inside the
# transaction, just before it commits, with the events it is about to deliver.
CommitHook = Callable[[Session, list[DomainEvent]], None]
_commit_hooks: dict[str, CommitHook] = {}


def subscribe(key: str, subscriber: Subscriber) -> None:
    """Register (or replace) the subscriber known as ``key``."""
    _subscribers[key] = subscriber


def unsubscribe(key: str) -> None:
    _subscribers.pop(key, None)


def on_commit(key: str, hook: CommitHook) -> None:
    """Register (or replace) a hook that writes in the same transaction as the events' change;
    an exception in it rolls the whole transaction back."""
    _commit_hooks[key] = hook


def publish(session: Session, event: DomainEvent) -> None:
    """Queue ``event`` to be delivered when ``session`` commits."""
    session.info.setdefault(_PENDING, []).append(event)


def pending_count(session: Session) -> int:
    """How many events wait for the commit (a mark for ``discard_pending``)."""
    return len(session.info.get(_PENDING, ()))


def discard_pending(session: Session, mark: int) -> None:
    """Drop the events queued after ``mark``: for a savepoint that was rolled back."""
    pending = session.info.get(_PENDING)
    if pending is not None:
        del pending[mark:]


def _deliver(events: list[DomainEvent]) -> None:
    for domain_event in events:
        for key, subscriber in list(_subscribers.items()):
            try:
                subscriber(domain_event)
            except Exception:  # a broken consumer must never undo or block a committed change
                log.exception("event subscriber %s failed on %s", key, domain_event.name)


# SQLAlchemy dispatches the commit and rollback events for savepoints too. Only the outermost
# commit makes a change visible, so hooks and delivery wait for it; a savepoint rolled back
# drops just the events published inside it (``_SAVEPOINT_MARKS``), not the transaction's.
_SAVEPOINT_MARKS = "dangol_savepoint_marks"


@sa_event.listens_for(Session, "after_transaction_create")
def _savepoint_started(session: Session, transaction: SessionTransaction) -> None:
    if transaction.nested:
        session.info.setdefault(_SAVEPOINT_MARKS, {})[id(transaction)] = pending_count(session)


@sa_event.listens_for(Session, "after_transaction_end")
def _savepoint_ended(session: Session, transaction: SessionTransaction) -> None:
    if transaction.nested:
        session.info.get(_SAVEPOINT_MARKS, {}).pop(id(transaction), None)


@sa_event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return
    events = session.info.get(_PENDING)
    if events:
        for hook in list(_commit_hooks.values()):
            hook(session, events)


@sa_event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return
    events = session.info.pop(_PENDING, None)
    if events:
        _deliver(events)


@sa_event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    savepoint = session.get_nested_transaction()
    if savepoint is not None:
        mark = session.info.get(_SAVEPOINT_MARKS, {}).get(id(savepoint))
        if mark is not None:
            discard_pending(session, mark)
        return
    session.info.pop(_PENDING, None)
