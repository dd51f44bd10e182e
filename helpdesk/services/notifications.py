"""Staff notifications: assigned to you, mentioned in a note, a customer replied on your ticket.

They are written in the same transaction as the change that causes them and announced to the
user's own Socket.IO room after commit, so the bell never shows something that did not happen.
Nobody is notified of their own action.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ..events import NotificationCreated, publish
from ..models import Notification, NotificationKind, Ticket, User, utcnow
from .permissions import Actor, Permission, require
from .transaction import current_session, transaction

MAX_LISTED = 50


def notify(
    session: Session,
    *,
    user_ids: Iterable[int],
    kind: NotificationKind,
    ticket: Ticket,
    actor_user_id: int | None,
    excerpt: str = "",
) -> None:
    """Add one notification per user (never for the actor) and announce each after commit."""
    data = {"number": ticket.number, "subject": ticket.subject, "excerpt": excerpt[:200]}
    _add(session, user_ids, kind, ticket.id, actor_user_id, data)


def notify_customer_activity(
    session: Session,
    *,
    user_ids: Iterable[int],
    customer_id: int,
    customer_name: str,
    title: str,
    actor_user_id: int | None,
) -> None:
    """Tell the followers of a customer that something happened on them outside a ticket (an
    order, a contract change pushed in from another system)."""
    data = {"customer_id": customer_id, "subject": customer_name, "excerpt": title[:200]}
    _add(session, user_ids, NotificationKind.FOLLOWED, None, actor_user_id, data)


def _add(
    session: Session,
    user_ids: Iterable[int],
    kind: NotificationKind,
    ticket_id: int | None,
    actor_user_id: int | None,
    data: dict[str, object],
) -> None:
    for user_id in sorted(set(user_ids) - {actor_user_id}):
        row = Notification(
            user_id=user_id,
            kind=kind.value,
            ticket_id=ticket_id,
            actor_user_id=actor_user_id,
            data=data,
            created_at=utcnow(),
        )
        session.add(row)
        session.flush()
        publish(session, NotificationCreated(user_id, notification_dict(row)))


def notify_assigned(session: Session, ticket: Ticket, actor_user_id: int | None) -> None:
    """Tell the ticket's assignee it is theirs now (unless they took it themselves)."""
    if ticket.assignee_id is not None:
        notify(
            session,
            user_ids=[ticket.assignee_id],
            kind=NotificationKind.ASSIGNED,
            ticket=ticket,
            actor_user_id=actor_user_id,
        )


def notification_dict(row: Notification) -> dict[str, object]:
    return {
        "id": row.id,
        "kind": row.kind,
        "ticket_id": row.ticket_id,
        "actor_user_id": row.actor_user_id,
        "number": row.data.get("number"),  # None for a customer's activity outside a ticket
        "customer_id": row.data.get("customer_id"),
        "subject": row.data.get("subject"),
        "excerpt": row.data.get("excerpt", ""),
        "created_at": row.created_at.isoformat(),
        "read": row.read_at is not None,
    }


def mentioned_users(session: Session, text: str) -> set[int]:
    """Active staff named in ``text`` as ``@Name`` (as displayed, any case) or ``@email``'s
    local part. Names may contain spaces ("@Alex Kim"), so each name is looked for as a whole.
    A Latin handle must end there (``@kimberly`` does not mention ``kim``); Hangul may run on,
    since Korean attaches honorifics and particles to the name (``@김지민님``, ``@지민씨에게``)."""
    if "@" not in text:
        return set()
    folded = text.casefold()
    found: set[int] = set()
    for user_id, name, email in session.execute(
        select(User.id, User.name, User.email).where(User.is_active.is_(True))
    ):
        local = email.split("@", 1)[0]
        if any(_mentions(folded, handle.casefold()) for handle in (name, local) if handle):
            found.add(user_id)
    return found


def _mentions(folded_text: str, handle: str) -> bool:
    return re.search(rf"@{re.escape(handle)}(?![a-z0-9_.-])", folded_text) is not None


def list_notifications(actor: Actor, *, limit: int = 20) -> tuple[list[dict[str, object]], int]:
    """The actor's newest notifications and how many are unread."""
    require(actor, Permission.TICKET_READ)
    session = current_session()
    rows = session.scalars(
        select(Notification)
        .where(Notification.user_id == actor.user_id)
        .order_by(Notification.id.desc())
        .limit(min(limit, MAX_LISTED))
    )
    return [notification_dict(r) for r in rows], unread_count(actor)


def unread_count(actor: Actor) -> int:
    """How many of the actor's notifications are unread (the bell on every page)."""
    require(actor, Permission.TICKET_READ)
    count = current_session().scalar(
        select(func.count())
        .select_from(Notification)
        .where(Notification.user_id == actor.user_id, Notification.read_at.is_(None))
    )
    return int(count or 0)


def mark_read(actor: Actor, *, ticket_id: int | None = None) -> int:
    """Mark the actor's unread notifications read (those of one ticket, or all)."""
    require(actor, Permission.TICKET_READ)
    with transaction() as session:
        stmt = (
            update(Notification)
            .where(Notification.user_id == actor.user_id, Notification.read_at.is_(None))
            .values(read_at=utcnow())
        )
        if ticket_id is not None:
            stmt = stmt.where(Notification.ticket_id == ticket_id)
        return int(session.execute(stmt).rowcount or 0)  # type: ignore[attr-defined]
