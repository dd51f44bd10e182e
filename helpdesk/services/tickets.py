"""Creating, changing and merging tickets: the single home of the ticket rules."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

from flask_babel import lazy_gettext as _l
from sqlalchemy import CursorResult, Table, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload, selectinload

from ..events import TicketCreated, TicketMerged, TicketUpdated, publish
from ..models import (
    Channel,
    Counter,
    Customer,
    Direction,
    Group,
    Message,
    Priority,
    Role,
    Status,
    Tag,
    Ticket,
    User,
    utcnow,
)
from . import audit
from .attachments import UploadedFile
from .customers import resolve_customer
from .errors import Conflict, Invalid, NotFound
from .message_store import add_message
from .permissions import Actor, Permission, require
from .snapshots import ticket_snapshot
from .transaction import current_session, transaction

FIRST_TICKET_NUMBER = 1001
MAX_TAGS = 30
UPDATABLE = ("subject", "status", "priority", "group_id", "assignee_id", "tags")
_ASSIGNABLE_ROLES = (Role.ADMIN, Role.AGENT)

TICKET_LOAD = (
    joinedload(Ticket.customer),
    joinedload(Ticket.group),
    joinedload(Ticket.assignee),
    selectinload(Ticket.tags),
)


def parse_priority(value: Any) -> int:
    """Accept ``"high"`` or ``3``; return the stored integer."""
    if isinstance(value, str) and value.upper() in Priority.__members__:
        return int(Priority[value.upper()])
    if isinstance(value, int) and not isinstance(value, bool) and value in set(Priority):
        return int(value)
    raise Invalid(
        _l("Unknown priority: %(priority)s.", priority=value),
        fields={"priority": ["one of low, normal, high, urgent"]},
    )


def normalize_tags(tags: Sequence[str]) -> list[str]:
    """Lower-case, trimmed, de-duplicated tags; Korean tags are kept as written."""
    clean: list[str] = []
    for raw in tags:
        tag = " ".join(str(raw).split()).lower()
        if not tag:
            continue
        if len(tag) > 64:
            raise Invalid(
                _l("The tag '%(tag)s...' is longer than 64 characters.", tag=tag[:20]),
                fields={"tags": ["too long"]},
            )
        if tag not in clean:
            clean.append(tag)
    if len(clean) > MAX_TAGS:
        raise Invalid(
            _l("A ticket can carry at most %(max)s tags.", max=MAX_TAGS),
            fields={"tags": ["too many"]},
        )
    return clean


def _tag_rows(session: Session, names: list[str]) -> list[Tag]:
    if not names:
        return []
    found = {t.name: t for t in session.scalars(select(Tag).where(Tag.name.in_(names)))}
    for name in names:
        if name not in found:
            try:
                with session.begin_nested():
                    tag = Tag(name=name)
                    session.add(tag)
                    session.flush()
            except IntegrityError:  # created concurrently
                tag = session.scalars(select(Tag).where(Tag.name == name)).one()
            found[name] = tag
    return [found[n] for n in sorted(names)]  # the order a fresh load gives (by name)


def _next_number(session: Session) -> int:
    counters = cast(Table, Counter.__table__)
    stmt = (
        update(counters)
        .where(counters.c.name == "ticket")
        .values(value=counters.c.value + 1)
        .returning(counters.c.value)
    )
    # Core, not an ORM update: there is no Counter object in the session to synchronize.
    value = session.connection().execute(stmt).scalar()
    if value is None:  # first ticket ever (or the counter row was removed)
        highest = session.scalar(select(Ticket.number).order_by(Ticket.number.desc()).limit(1))
        value = max(FIRST_TICKET_NUMBER, (highest or 0) + 1)
        session.add(Counter(name="ticket", value=value))
        session.flush()
    return value


def _check_group(session: Session, group_id: int | None) -> Group | None:
    if group_id is None:
        return None
    group = session.get(Group, group_id)
    if group is None:
        raise Invalid(
            _l("Unknown group: %(id)s.", id=group_id), fields={"group_id": ["unknown group"]}
        )
    return group


def _check_assignee(session: Session, assignee_id: int | None) -> User | None:
    if assignee_id is None:
        return None
    user = session.get(User, assignee_id)
    if user is None or not user.is_active:
        raise Invalid(
            _l("Unknown user: %(id)s.", id=assignee_id), fields={"assignee_id": ["unknown user"]}
        )
    if user.role not in _ASSIGNABLE_ROLES:
        raise Invalid(
            _l("Only agents and admins can be assigned tickets."),
            fields={"assignee_id": ["not an agent"]},
        )
    return user


def create_ticket(
    actor: Actor,
    *,
    subject: str,
    body_text: str | None = None,
    body_html: str | None = None,
    channel: str = Channel.API,
    customer_id: int | None = None,
    customer_identity: tuple[str, str] | None = None,
    customer_name: str | None = None,
    priority: Any = Priority.NORMAL,
    group_id: int | None = None,
    assignee_id: int | None = None,
    tags: Sequence[str] = (),
    attachments: Sequence[UploadedFile] = (),
    external_id: str | None = None,
) -> Ticket:
    """Open a ticket whose first message is the customer's request.

    The customer is given by id or by an identity (``("email", "kim@example.kr")``), which is
    resolved to an existing customer or creates one.
    """
    require(actor, Permission.TICKET_CREATE)
    subject = " ".join((subject or "").split())
    if not subject:
        raise Invalid(_l("A subject is required."), fields={"subject": ["required"]})
    if len(subject) > 255:
        raise Invalid(
            _l("The subject is longer than 255 characters."), fields={"subject": ["too long"]}
        )
    if channel not in {c.value for c in Channel}:
        raise Invalid(
            _l("Unknown channel: %(channel)s.", channel=channel),
            fields={"channel": [f"one of {[c.value for c in Channel]}"]},
        )
    if not (body_text or body_html or attachments):
        raise Invalid(_l("The first message needs some text."), fields={"body": ["required"]})
    if (customer_id is None) == (customer_identity is None):
        raise Invalid(
            _l("Give either a customer id or a customer identity."),
            fields={"customer": ["required"]},
        )
    priority_value = parse_priority(priority)
    tag_names = normalize_tags(tags)

    with transaction() as session:
        if customer_identity is not None:
            customer, _ = resolve_customer(actor, *customer_identity, name=customer_name)
        else:
            found = session.get(Customer, customer_id)
            if found is None:
                raise Invalid(
                    _l("Unknown customer: %(id)s.", id=customer_id),
                    fields={"customer_id": ["unknown customer"]},
                )
            customer = found
        group = _check_group(session, group_id)
        assignee = _check_assignee(session, assignee_id)
        now = utcnow()
        ticket = Ticket(
            number=_next_number(session),
            subject=subject,
            status=Status.NEW if assignee is None else Status.OPEN,
            priority=priority_value,
            channel=channel,
            # Relationships set as objects, so the caller gets a fully loaded ticket back.
            customer=customer,
            organization_id=customer.organization_id,
            group=group,
            assignee=assignee,
            created_at=now,
            updated_at=now,
            last_customer_message_at=now,
            message_count=0,
            version=1,
        )
        ticket.tags = _tag_rows(session, tag_names)
        session.add(ticket)
        add_message(
            session,
            ticket,
            direction=Direction.IN,
            is_public=True,
            author_customer_id=customer.id,
            body_text=body_text,
            body_html=body_html,
            attachments=attachments,
            external_id=external_id,
            at=now,
        )
        audit.record(
            session,
            actor,
            "ticket.created",
            ticket=ticket,
            customer_id=customer.id,
            data={"number": ticket.number, "channel": channel, "subject": subject},
        )
        session.flush()  # ticket, message and audit entry together; the event needs the id
        publish(
            session,
            TicketCreated(
                ticket_snapshot(ticket, customer_name=customer.name), actor_user_id=actor.user_id
            ),
        )
    return ticket


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
        audit.record(
            session,
            actor,
            "ticket.updated",
            ticket_id=ticket.id,
            customer_id=ticket.customer_id,
            changes=diff,
        )
        publish(session, TicketUpdated(ticket_snapshot(ticket), diff, actor_user_id=actor.user_id))
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
                Priority(ticket.priority).name.lower(),
                Priority(priority).name.lower(),
            ]
            ticket.priority = priority
    if "group_id" in changes and changes["group_id"] != ticket.group_id:
        _check_group(session, changes["group_id"])
        diff["group_id"] = [ticket.group_id, changes["group_id"]]
        ticket.group_id = changes["group_id"]
    if "assignee_id" in changes and changes["assignee_id"] != ticket.assignee_id:
        _check_assignee(session, changes["assignee_id"])
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
            ticket.tags = _tag_rows(session, names)
    return diff


def assign_ticket(actor: Actor, ticket_id: int, assignee_id: int | None, **kw: Any) -> Ticket:
    return update_ticket(actor, ticket_id, {"assignee_id": assignee_id}, **kw)


def set_status(actor: Actor, ticket_id: int, status: str, **kw: Any) -> Ticket:
    return update_ticket(actor, ticket_id, {"status": status}, **kw)


def set_priority(actor: Actor, ticket_id: int, priority: Any, **kw: Any) -> Ticket:
    return update_ticket(actor, ticket_id, {"priority": priority}, **kw)


def set_group(actor: Actor, ticket_id: int, group_id: int | None, **kw: Any) -> Ticket:
    return update_ticket(actor, ticket_id, {"group_id": group_id}, **kw)


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
        target.tags = _tag_rows(session, normalize_tags(names))
        target.message_count += source.message_count
        source.message_count = 0
        before_status = source.status
        source.status = Status.CLOSED
        source.solved_at = source.solved_at or utcnow()
        source.merged_into_id = target.id
        touch_ticket(source)
        touch_ticket(target)
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
