"""Following a customer or a ticket, across teams: a sales rep follows a key account, a lead a
difficult ticket. Followers are told of new messages there (live in the bell, and by email),
never of their own.

The notifications are written by a commit hook on the message events, in the same transaction
as the message: every writer (page, API, email, chat) is covered without knowing about follows.
"""

from __future__ import annotations

from typing import Any, cast

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .. import events
from ..models import Customer, Follow, NotificationKind, Ticket, utcnow
from . import audit, staff_mail
from .errors import Invalid, NotFound
from .notifications import notify, notify_customer_activity
from .permissions import Actor, Permission, require
from .transaction import current_session, transaction


def _target(session: Session, customer_id: int | None, ticket_id: int | None) -> None:
    if (customer_id is None) == (ticket_id is None):
        raise Invalid(_l("Follow either a customer or a ticket."), fields={"target": ["one"]})
    model = Customer if customer_id is not None else Ticket
    if session.get(model, customer_id or ticket_id) is None:
        raise NotFound(_l("Nothing to follow there."))


def follow(actor: Actor, *, customer_id: int | None = None, ticket_id: int | None = None) -> bool:
    """Start following; returns False if the actor already did. Any staff member may follow."""
    require(actor, Permission.TICKET_READ)
    with transaction() as session:
        _target(session, customer_id, ticket_id)
        exists = session.scalar(
            select(Follow.id).where(
                Follow.user_id == actor.user_id,
                Follow.customer_id == customer_id if customer_id else Follow.ticket_id == ticket_id,
            )
        )
        if exists is not None:
            return False
        try:
            with session.begin_nested():
                session.add(
                    Follow(
                        user_id=actor.user_id,
                        customer_id=customer_id,
                        ticket_id=ticket_id,
                        created_at=utcnow(),
                    )
                )
        except IntegrityError:  # a double click raced us: following either way
            return False
        audit.record(
            session,
            actor,
            "follow.started",
            ticket_id=ticket_id,
            customer_id=customer_id,
        )
    return True


def unfollow(actor: Actor, *, customer_id: int | None = None, ticket_id: int | None = None) -> bool:
    """Stop following; returns whether the actor was following."""
    require(actor, Permission.TICKET_READ)
    with transaction() as session:
        target = Follow.customer_id == customer_id if customer_id else Follow.ticket_id == ticket_id
        result = session.execute(delete(Follow).where(Follow.user_id == actor.user_id, target))
        stopped = bool(cast(Any, result).rowcount)
        if stopped:
            audit.record(
                session, actor, "follow.stopped", ticket_id=ticket_id, customer_id=customer_id
            )
        return stopped


def is_following(
    actor: Actor, *, customer_id: int | None = None, ticket_id: int | None = None
) -> bool:
    target = Follow.customer_id == customer_id if customer_id else Follow.ticket_id == ticket_id
    stmt = select(Follow.id).where(Follow.user_id == actor.user_id, target).limit(1)
    return current_session().scalar(stmt) is not None


def followed(actor: Actor) -> list[Follow]:
    """What the actor follows, newest first."""
    require(actor, Permission.TICKET_READ)
    stmt = select(Follow).where(Follow.user_id == actor.user_id).order_by(Follow.id.desc())
    return list(current_session().scalars(stmt))


def _on_messages(session: Session, pending: list[events.DomainEvent]) -> None:
    added = [cast(Any, e) for e in pending if e.name == "message.added"]
    follows = _follows_of(session, added)
    for event in pending:
        if event.name == "customer.event":
            _on_customer_event(session, cast(Any, event))
        if event.name != "message.added":
            continue
        ticket, message = cast(Any, event).ticket, cast(Any, event).message
        followers = follows.get(("ticket", ticket["id"]), set()) | follows.get(
            ("customer", ticket["customer_id"]), set()
        )
        followers.discard(message.get("author_user_id"))
        if not followers:
            continue
        row = session.get(Ticket, ticket["id"])
        if row is None:
            continue
        excerpt = (message.get("body_text") or "")[:200]
        notify(
            session,
            user_ids=followers,
            kind=NotificationKind.FOLLOWED,
            ticket=row,
            actor_user_id=message.get("author_user_id"),
            excerpt=excerpt,
        )
        staff_mail.queue_activity(session, followers, row, excerpt)


def _follows_of(session: Session, added: list[Any]) -> dict[tuple[str, int], set[int]]:
    """The followers of the tickets and customers of ``added`` messages, read once for a
    transaction's messages (a batch of inbound mail has a hundred)."""
    ticket_ids = list({a.ticket["id"] for a in added})
    customer_ids = list({a.ticket["customer_id"] for a in added})
    follows: dict[tuple[str, int], set[int]] = {}
    for start in range(0, max(len(ticket_ids), len(customer_ids)), 500):
        rows = session.execute(
            select(Follow.user_id, Follow.ticket_id, Follow.customer_id).where(
                or_(
                    Follow.ticket_id.in_(ticket_ids[start : start + 500]),
                    Follow.customer_id.in_(customer_ids[start : start + 500]),
                )
            )
        )
        for user_id, ticket_id, customer_id in rows:
            key = ("ticket", ticket_id) if ticket_id is not None else ("customer", customer_id)
            follows.setdefault(cast(tuple[str, int], key), set()).add(user_id)
    return follows


def _on_customer_event(session: Session, added: Any) -> None:
    """A business event (an order, a contract change) on a followed customer: their followers'
    activity feed shows it, as it shows new messages."""
    followers = set(
        session.scalars(select(Follow.user_id).where(Follow.customer_id == added.customer_id))
    )
    followers.discard(added.actor_user_id)
    customer = session.get(Customer, added.customer_id) if followers else None
    if customer is None:
        return
    notify_customer_activity(
        session,
        user_ids=followers,
        customer_id=customer.id,
        customer_name=customer.name,
        title=str(added.event.get("title") or added.event.get("kind") or ""),
        actor_user_id=added.actor_user_id,
    )


events.on_commit("follows", _on_messages)
