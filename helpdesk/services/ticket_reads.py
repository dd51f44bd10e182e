"""Unread markers: which tickets have news for an agent since they last opened them.

A ticket is unread for a staff member when the customer wrote after the member last read it
(``tickets.last_customer_message_at`` later than their ``ticket_reads.read_at``, or no read at
all). Only the customer counts: an agent's own replies, notes and field changes, and those of
colleagues, never make a ticket unread, so the marker means "the customer is waiting on this",
and a bulk change or an assignment does not light up every touched row.

Reads are per-user interface state, not a change to the ticket: they are not audited and send
no event. A queue page looks its rows up by primary key ``(user_id, ticket_id)``, so the markers
cost the same at any table size.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, MutableMapping, Sequence
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from ..models import Ticket, TicketRead, utcnow
from .errors import Forbidden, NotFound
from .permissions import Actor, Permission, require
from .transaction import current_session, transaction

MAX_IDS = 200  # more than any queue page; a bigger request is a mistake or an abuse


def _staff(actor: Actor) -> int:
    require(actor, Permission.TICKET_READ)
    if not actor.is_staff or actor.user_id is None:
        raise Forbidden(_l("Only staff have unread markers."))
    return actor.user_id


def is_unread(last_customer_message_at: datetime | None, read_at: datetime | None) -> bool:
    """The rule, in one place: the customer wrote after the last read (or it was never read)."""
    if last_customer_message_at is None:
        return False
    return read_at is None or last_customer_message_at > read_at


def _upsert(session: Session, user_id: int, ticket_id: int, at: datetime) -> None:
    values = {"user_id": user_id, "ticket_id": ticket_id, "read_at": at}
    if session.get_bind().dialect.name == "postgresql":
        pg = pg_insert(TicketRead).values(values)
        stmt: Any = pg.on_conflict_do_update(
            index_elements=["user_id", "ticket_id"], set_={"read_at": pg.excluded.read_at}
        )
    else:
        lite = sqlite_insert(TicketRead).values(values)
        stmt = lite.on_conflict_do_update(
            index_elements=["user_id", "ticket_id"], set_={"read_at": lite.excluded.read_at}
        )
    session.execute(stmt)


def mark_read(actor: Actor, ticket_id: int) -> bool:
    """Record that ``actor`` has read the ticket now; ``True`` if it was unread before.

    A ticket already read since its last customer message is left alone, so opening a ticket
    again and again costs a primary-key read and no write. Raises ``NotFound`` for an unknown
    ticket and ``Forbidden`` for a caller without unread markers (customers, the system).
    """
    user_id = _staff(actor)
    session = current_session()
    row = session.execute(
        select(Ticket.last_customer_message_at, TicketRead.read_at)
        .outerjoin(
            TicketRead, (TicketRead.ticket_id == Ticket.id) & (TicketRead.user_id == user_id)
        )
        .where(Ticket.id == ticket_id)
    ).first()
    if row is None:
        raise NotFound(_l("Ticket %(id)s not found.", id=ticket_id))
    last_customer, read_at = row
    if read_at is not None and not is_unread(last_customer, read_at):
        return False
    with transaction() as session:
        _upsert(session, user_id, ticket_id, utcnow())
    return is_unread(last_customer, read_at)


def mark_unread(actor: Actor, ticket_ids: Collection[int]) -> int:
    """Forget ``actor``'s reads of these tickets: each shows unread again while it has a
    customer message. Returns how many reads were forgotten."""
    user_id = _staff(actor)
    ids = sorted(set(ticket_ids))[:MAX_IDS]
    if not ids:
        return 0
    with transaction() as session:
        result = session.execute(
            delete(TicketRead).where(TicketRead.user_id == user_id, TicketRead.ticket_id.in_(ids))
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


def read_times(actor: Actor, ticket_ids: Collection[int]) -> dict[int, datetime]:
    """When ``actor`` last read each of these tickets (absent: never). One primary-key lookup
    per id; non-staff callers have no reads."""
    if not actor.is_staff or actor.user_id is None or not ticket_ids:
        return {}
    ids = sorted(set(ticket_ids))[:MAX_IDS]
    stmt = select(TicketRead.ticket_id, TicketRead.read_at).where(
        TicketRead.user_id == actor.user_id, TicketRead.ticket_id.in_(ids)
    )
    return {ticket_id: read_at for ticket_id, read_at in current_session().execute(stmt)}


def annotate_unread(actor: Actor, rows: Sequence[MutableMapping[str, Any]]) -> None:
    """Set ``row["unread"]`` on queue rows (``ticket_rows`` dicts, with
    ``last_customer_message_at``) for ``actor``: one query for the whole page."""
    reads = read_times(actor, [row["id"] for row in rows])
    staff = actor.is_staff
    for row in rows:
        row["unread"] = staff and is_unread(row["last_customer_message_at"], reads.get(row["id"]))


def unread_flags(actor: Actor, ticket_ids: Collection[int]) -> dict[int, bool]:
    """Unread or not, for each of these tickets that exists (the live queue asks for rows that
    arrive by event). Two primary-key lookups per id, never a scan."""
    user_id = _staff(actor)
    ids = sorted(set(ticket_ids))[:MAX_IDS]
    if not ids:
        return {}
    stmt = (
        select(Ticket.id, Ticket.last_customer_message_at, TicketRead.read_at)
        .outerjoin(
            TicketRead, (TicketRead.ticket_id == Ticket.id) & (TicketRead.user_id == user_id)
        )
        .where(Ticket.id.in_(ids))
    )
    return {
        ticket_id: is_unread(last_customer, read_at)
        for ticket_id, last_customer, read_at in current_session().execute(stmt)
    }


def unread_for(actor: Actor, tickets: Mapping[int, datetime | None]) -> dict[int, bool]:
    """Like ``unread_flags`` when the caller already holds each ticket's
    ``last_customer_message_at`` (a loaded ticket): one lookup in ``ticket_reads`` only."""
    reads = read_times(actor, list(tickets))
    return {
        ticket_id: actor.is_staff and is_unread(last, reads.get(ticket_id))
        for ticket_id, last in tickets.items()
    }
