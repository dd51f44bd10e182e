"""Creating, changing and merging tickets: the single home of the ticket rules."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, cast

from flask_babel import lazy_gettext as _l
from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session, joinedload, selectinload

from ..events import TicketMerged, TicketUpdated, publish
from ..models import (
    PRIORITY_NAMES,
    Message,
    Status,
    Ticket,
    utcnow,
)
from . import audit
from .errors import Conflict, Invalid, NotFound
from .notifications import notify_assigned
from .permissions import Actor, Permission, require
from .sla_clock import update_clock
from .snapshots import ticket_snapshot
from .ticket_create import create_ticket as create_ticket  # re-exported: tickets.create_ticket
from .ticket_fields import check_assignee, check_group, normalize_tags, parse_priority, tag_rows
from .transaction import current_session, transaction

FIRST_TICKET_NUMBER = 1001
MAX_TAGS = 30
UPDATABLE = ("subject", "status", "priority", "group_id", "assignee_id", "tags")
# A change of these may put the ticket under another SLA policy.
MATCHED_FIELDS = ("priority", "group_id", "tags")
TICKET_LOAD = (
    joinedload(Ticket.customer),
    joinedload(Ticket.group),
    joinedload(Ticket.assignee),
    selectinload(Ticket.tags),
)


def get_ticket(actor: Actor, ticket_id: int) -> Ticket:
    """A ticket with its customer, group, assignee and tags loaded, if ``actor`` may see it.

    Customers only see their own tickets; anyone else's is reported as not found.
    """
    if actor.kind != "customer":
        require(actor, Permission.TICKET_READ)
    # populate_existing: a caller holding its session across another process's commit still
    # gets the ticket as it is now, not as its identity map remembers it.
    stmt = select(Ticket).options(*TICKET_LOAD).where(Ticket.id == ticket_id)
    ticket = current_session().scalar(stmt.execution_options(populate_existing=True))
    if ticket is None or (actor.kind == "customer" and ticket.customer_id != actor.customer_id):
        raise NotFound(_l("Ticket %(id)s not found.", id=ticket_id))
    return ticket


def get_ticket_by_number(actor: Actor, number: int) -> Ticket:
    ticket_id = current_session().scalar(select(Ticket.id).where(Ticket.number == number))
    if ticket_id is None:
        raise NotFound(_l("Ticket #%(number)s not found.", number=number))
    return get_ticket(actor, ticket_id)


def lock_ticket(session: Session, ticket_id: int) -> Ticket:
    """Load a ticket for change, holding its row lock (PostgreSQL) until commit."""
    stmt = (
        select(Ticket)
        .options(*TICKET_LOAD)
        .where(Ticket.id == ticket_id)
        .with_for_update(of=Ticket)
    )
    ticket = session.scalar(stmt)
    if ticket is None:
        raise NotFound(_l("Ticket %(id)s not found.", id=ticket_id))
    return ticket


def lock_tickets(session: Session, ticket_ids: Iterable[int]) -> dict[int, Ticket]:
    """``lock_ticket`` for several tickets in one query (missing ones are left out). Locked in
    id order, as every batch does, so that two batches never wait for each other in a cycle."""
    ids = sorted(set(ticket_ids))
    found: dict[int, Ticket] = {}
    for start in range(0, len(ids), 500):
        stmt = (
            select(Ticket)
            .options(*TICKET_LOAD)
            .where(Ticket.id.in_(ids[start : start + 500]))
            .order_by(Ticket.id)
            .with_for_update(of=Ticket)
            .execution_options(populate_existing=True)
        )
        found.update((t.id, t) for t in session.scalars(stmt).unique())
    return found


def check_version(ticket: Ticket, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != ticket.version:
        raise Conflict(
            _l(
                "Ticket #%(number)s was changed by someone else (version %(version)s, "
                "you had %(expected)s). Reload it and try again.",
                number=ticket.number,
                version=ticket.version,
                expected=expected_version,
            )
        )


def update_ticket(
    actor: Actor,
    ticket_id: int,
    changes: Mapping[str, Any],
    *,
    expected_version: int | None = None,
) -> Ticket:
    """Change any of subject, status, priority, group, assignee and tags in one step.

    Only the keys present in ``changes`` are touched; ``None`` clears the group or assignee.
    ``expected_version`` turns a concurrent edit by a colleague into a ``Conflict``.
    """
    require(actor, Permission.TICKET_UPDATE)
    unknown = set(changes) - set(UPDATABLE)
    if unknown:
        raise Invalid(
            _l("Cannot change: %(fields)s.", fields=", ".join(sorted(unknown))),
            fields={k: ["not updatable"] for k in unknown},
        )
    with transaction() as session:
        ticket = lock_ticket(session, ticket_id)
        check_version(ticket, expected_version)
        if ticket.merged_into_id is not None:
            raise Conflict(
                _l("Ticket #%(number)s was merged and can no longer change.", number=ticket.number)
            )
        if ticket.status == Status.CLOSED:
            raise Conflict(
                _l("Ticket #%(number)s is closed and can no longer change.", number=ticket.number)
            )
        diff = _apply_changes(session, ticket, changes)
        if not diff:
            return ticket
        touch_ticket(ticket)
        update_clock(
            session,
            ticket,
            ticket.updated_at,
            status_from=diff["status"][0] if "status" in diff else None,
            rematch=not diff.keys().isdisjoint(MATCHED_FIELDS),
        )
        audit.record(
            session,
            actor,
            "ticket.updated",
            ticket_id=ticket.id,
            customer_id=ticket.customer_id,
            changes=diff,
        )
        publish(session, TicketUpdated(ticket_snapshot(ticket), diff, actor_user_id=actor.user_id))
        if "assignee_id" in diff:
            notify_assigned(session, ticket, actor.user_id)
    return ticket


def touch_ticket(ticket: Ticket) -> None:
    ticket.updated_at = utcnow()
    ticket.version += 1


def _apply_changes(
    session: Session, ticket: Ticket, changes: Mapping[str, Any]
) -> dict[str, list[Any]]:
    diff: dict[str, list[Any]] = {}
    if "subject" in changes:
        subject = " ".join(str(changes["subject"] or "").split())
        if not subject or len(subject) > 255:
            raise Invalid(
                _l("The subject must be 1 to 255 characters."), fields={"subject": ["invalid"]}
            )
        if subject != ticket.subject:
            diff["subject"] = [ticket.subject, subject]
            ticket.subject = subject
    if "status" in changes:
        status = changes["status"]
        if status not in {s.value for s in Status}:
            raise Invalid(
                _l("Unknown status: %(status)s.", status=status),
                fields={"status": [f"one of {[s.value for s in Status]}"]},
            )
        if status == Status.NEW and ticket.status != Status.NEW:
            raise Invalid(
                _l("A ticket cannot go back to new."), fields={"status": ["cannot return to new"]}
            )
        if status != ticket.status:
            diff["status"] = [ticket.status, status]
            ticket.status = status
            if status in (Status.SOLVED, Status.CLOSED):
                ticket.solved_at = ticket.solved_at or utcnow()
            else:
                ticket.solved_at = None
    if "priority" in changes:
        priority = parse_priority(changes["priority"])
        if priority != ticket.priority:
            diff["priority"] = [
                PRIORITY_NAMES[ticket.priority],
                PRIORITY_NAMES[priority],
            ]
            ticket.priority = priority
    if "group_id" in changes and changes["group_id"] != ticket.group_id:
        check_group(session, changes["group_id"])
        diff["group_id"] = [ticket.group_id, changes["group_id"]]
        ticket.group_id = changes["group_id"]
    if "assignee_id" in changes and changes["assignee_id"] != ticket.assignee_id:
        check_assignee(session, changes["assignee_id"])
        diff["assignee_id"] = [ticket.assignee_id, changes["assignee_id"]]
        ticket.assignee_id = changes["assignee_id"]
        if (
            ticket.assignee_id is not None
            and ticket.status == Status.NEW
            and "status" not in changes
        ):
            diff["status"] = [ticket.status, Status.OPEN.value]
            ticket.status = Status.OPEN
    if "tags" in changes:
        names = normalize_tags(changes["tags"] or [])
        before = [t.name for t in ticket.tags]
        if sorted(names) != sorted(before):
            diff["tags"] = [sorted(before), sorted(names)]
            ticket.tags = tag_rows(session, names)
    return diff


def set_status(actor: Actor, ticket_id: int, status: str, **kw: Any) -> Ticket:
    return update_ticket(actor, ticket_id, {"status": status}, **kw)


def set_priority(actor: Actor, ticket_id: int, priority: Any, **kw: Any) -> Ticket:
    return update_ticket(actor, ticket_id, {"priority": priority}, **kw)


def merge_tickets(actor: Actor, source_id: int, target_id: int) -> Ticket:
    """Move the source's messages and tags into the target; the source closes, pointing to it."""
    require(actor, Permission.TICKET_UPDATE)
    if source_id == target_id:
        raise Invalid(
            _l("A ticket cannot be merged into itself."), fields={"target_id": ["same ticket"]}
        )
    with transaction() as session:
        # Lock in id order so two opposite merges cannot deadlock.
        first, second = sorted((source_id, target_id))
        locked = {first: lock_ticket(session, first), second: lock_ticket(session, second)}
        source, target = locked[source_id], locked[target_id]
        for ticket in (source, target):
            if ticket.merged_into_id is not None:
                raise Conflict(_l("Ticket #%(number)s is already merged.", number=ticket.number))
        if target.status == Status.CLOSED:
            raise Conflict(
                _l("Ticket #%(number)s is closed; merge into an open ticket.", number=target.number)
            )
        result = session.execute(
            update(Message).where(Message.ticket_id == source.id).values(ticket_id=target.id)
        )
        moved = cast(CursorResult[Any], result).rowcount
        names = [t.name for t in target.tags] + [
            t.name for t in source.tags if t not in target.tags
        ]
        target.tags = tag_rows(session, normalize_tags(names))
        target.message_count += source.message_count
        source.message_count = 0
        before_status = source.status
        source.status = Status.CLOSED
        source.solved_at = source.solved_at or utcnow()
        source.merged_into_id = target.id
        touch_ticket(source)
        touch_ticket(target)
        # The source's clock stops for good; the target may match another policy by its tags.
        update_clock(session, source, source.updated_at, rematch=True)
        update_clock(session, target, target.updated_at, rematch=True)
        data = {
            "source_id": source.id,
            "source_number": source.number,
            "target_id": target.id,
            "target_number": target.number,
            "messages_moved": moved,
        }
        audit.record(
            session,
            actor,
            "ticket.merged_away",
            ticket_id=source.id,
            customer_id=source.customer_id,
            data=data,
            changes={
                "status": [before_status, Status.CLOSED.value],
                "merged_into_id": [None, target.id],
            },
        )
        audit.record(
            session,
            actor,
            "ticket.merged_into",
            ticket_id=target.id,
            customer_id=target.customer_id,
            data=data,
        )
        publish(
            session,
            TicketMerged(
                ticket_snapshot(source), ticket_snapshot(target), actor_user_id=actor.user_id
            ),
        )
    return target
