"""What sales, marketing and support see before they talk to a customer: a service summary and
one timeline of every message on every channel, newest first."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from ..models import OPEN_STATUSES, Message, SlaTarget, Ticket
from .customers import get_customer
from .errors import Invalid
from .permissions import Actor, Permission, can, require
from .transaction import current_session

TIMELINE_KINDS = ("all", "public", "notes")


@dataclass
class ServiceSummary:
    open_tickets: int
    lifetime_tickets: int
    last_contact_at: datetime | None
    avg_first_response: timedelta | None
    avg_resolution: timedelta | None
    breached_slas: int = 0  # SLA targets of their tickets that were breached, ever


@dataclass
class TimelineEntry:
    message: Message
    ticket_number: int
    ticket_subject: str
    ticket_status: str


def _average(rows: list[tuple[datetime, datetime]]) -> timedelta | None:
    if not rows:
        return None
    total = sum(((end - start) for start, end in rows), timedelta())
    return total / len(rows)


def service_summary(actor: Actor, customer_id: int) -> ServiceSummary:
    """Open and lifetime tickets, last contact, average first response and resolution times.

    Averages are over the customer's tickets that have the figure (answered, solved); they are
    computed from the ticket rows here rather than in SQL so that SQLite and PostgreSQL agree.
    """
    get_customer(actor, customer_id)
    require(actor, Permission.TICKET_READ)
    session = current_session()
    of_customer = Ticket.customer_id == customer_id
    open_count, total, last_contact = session.execute(
        select(
            func.count().filter(Ticket.status.in_([s.value for s in OPEN_STATUSES])),
            func.count(),
            func.max(Ticket.last_customer_message_at),
        ).where(of_customer, Ticket.merged_into_id.is_(None))
    ).one()
    responses = session.execute(
        select(Ticket.created_at, Ticket.first_response_at).where(
            of_customer, Ticket.first_response_at.is_not(None)
        )
    ).all()
    resolutions = session.execute(
        select(Ticket.created_at, Ticket.solved_at).where(
            of_customer, Ticket.solved_at.is_not(None), Ticket.merged_into_id.is_(None)
        )
    ).all()
    breached = session.scalar(
        select(func.count())
        .select_from(SlaTarget)
        .join(Ticket, Ticket.id == SlaTarget.ticket_id)
        .where(of_customer, SlaTarget.breached_at.is_not(None))
    )
    return ServiceSummary(
        breached_slas=int(breached or 0),
        open_tickets=int(open_count or 0),
        lifetime_tickets=int(total or 0),
        last_contact_at=last_contact,
        avg_first_response=_average([(a, b) for a, b in responses if b is not None]),
        avg_resolution=_average([(a, b) for a, b in resolutions if b is not None]),
    )


def _cursor(message_id: int) -> str:
    return base64.urlsafe_b64encode(str(message_id).encode()).decode().rstrip("=")


def _after(cursor: str) -> int:
    try:
        value = int(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode())
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise Invalid(_l("The cursor is invalid."), fields={"cursor": ["invalid"]}) from exc
    if not 0 < value < 2**63:
        raise Invalid(_l("The cursor is invalid."), fields={"cursor": ["invalid"]})
    return value


def customer_timeline(
    actor: Actor,
    customer_id: int,
    *,
    kind: str = "all",
    cursor: str | None = None,
    limit: int = 30,
) -> tuple[list[TimelineEntry], str | None]:
    """Messages on all the customer's tickets, newest first, and the cursor of the next page.

    ``kind``: ``public`` (what the customer saw or wrote), ``notes`` (internal notes) or ``all``.
    Internal notes are staff-only, like everywhere else.
    """
    get_customer(actor, customer_id)
    require(actor, Permission.TICKET_READ)
    if kind not in TIMELINE_KINDS:
        raise Invalid(
            _l("Unknown timeline filter: %(kind)s.", kind=kind),
            fields={"kind": [f"one of {list(TIMELINE_KINDS)}"]},
        )
    if not 1 <= limit <= 100:
        raise Invalid(_l("limit must be between 1 and %(max)s.", max=100))
    stmt = (
        select(Message, Ticket.number, Ticket.subject, Ticket.status)
        .join(Ticket, Ticket.id == Message.ticket_id)
        .where(Ticket.customer_id == customer_id)
        .order_by(Message.id.desc())
        .limit(limit + 1)
    )
    staff = actor.is_staff and can(actor, Permission.TICKET_READ)
    if kind == "public" or not staff:
        stmt = stmt.where(Message.is_public.is_(True))
    elif kind == "notes":
        stmt = stmt.where(Message.is_public.is_(False))
    if cursor:
        stmt = stmt.where(Message.id < _after(cursor))
    rows = current_session().execute(stmt).all()
    entries = [TimelineEntry(m, number, subject, status) for m, number, subject, status in rows]
    more = len(entries) > limit
    entries = entries[:limit]
    return entries, (_cursor(entries[-1].message.id) if more and entries else None)
