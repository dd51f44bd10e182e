"""What sales, marketing and support see before they talk to a customer: a service summary and
one timeline of everything, newest first (built in ``customer_timeline``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from ..models import OPEN_STATUSES, SlaTarget, Ticket
from .customer_timeline import TIMELINE_KINDS, TimelineEntry, customer_timeline
from .customers import get_customer
from .permissions import Actor, Permission, require
from .transaction import current_session

__all__ = [
    "TIMELINE_KINDS",
    "ServiceSummary",
    "TimelineEntry",
    "customer_timeline",
    "service_summary",
]


@dataclass
class ServiceSummary:
    open_tickets: int
    lifetime_tickets: int
    last_contact_at: datetime | None
    avg_first_response: timedelta | None
    avg_resolution: timedelta | None
    breached_slas: int = 0  # SLA targets of their tickets that were breached, ever


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
