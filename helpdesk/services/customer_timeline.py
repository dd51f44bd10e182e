"""One timeline of everything that happened with a customer, newest first: messages on every
ticket and channel (calls and chats included), internal notes, staff notes on the profile,
business events pushed in from outside (orders, contracts) and SLA breaches.

Each kind of entry is its own keyset stream, read newest first on its own index:

- messages: the customer's tickets (``ix_tickets_customer_updated``), then each ticket's
  messages (``ix_messages_ticket``), sorted by time;
- profile notes: ``ix_customer_notes_customer`` (customer_id, created_at, id);
- business events: ``ix_customer_events_customer`` (customer_id, occurred_at, id);
- SLA breaches: the customer's tickets, then ``ix_sla_targets_ticket``.

A page asks every stream the filter wants for ``limit + 1`` rows older than the cursor, merges
them in Python and keeps ``limit``. The total order is ``(time, kind rank, id)`` descending and
the cursor is that key of the last entry shown, so entries sharing a timestamp are neither
lost nor repeated between pages.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar, cast

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, bindparam, select, tuple_
from sqlalchemy.orm import InstrumentedAttribute

from ..models import CustomerEvent, CustomerNote, Message, MessageKind, SlaTarget, Ticket
from ..models.base import UTCDateTime
from .customers import get_customer
from .errors import Invalid
from .permissions import Actor, Permission, can, require
from .transaction import current_session

# Entry kinds and their rank in the order of entries sharing one timestamp.
MESSAGE, NOTE, EVENT, SLA_BREACH = "message", "note", "event", "sla_breach"
RANK = {SLA_BREACH: 0, EVENT: 1, NOTE: 2, MESSAGE: 3}

# Filters: which streams (and which messages) each one shows.
TIMELINE_KINDS = ("all", "messages", "public", "notes", "calls", "chats", "events", "sla")
_STREAMS = {
    "all": (MESSAGE, NOTE, EVENT, SLA_BREACH),
    "messages": (MESSAGE,),
    "public": (MESSAGE,),
    "notes": (MESSAGE, NOTE),  # internal notes on tickets and notes on the profile
    "calls": (MESSAGE,),
    "chats": (MESSAGE,),
    "events": (EVENT,),
    "sla": (SLA_BREACH,),
}
MAX_LIMIT = 100


@dataclass
class TimelineEntry:
    """One entry; exactly the field of its ``kind`` is set (``message`` also has its ticket,
    ``sla_breach`` the breached target and its ticket)."""

    kind: str
    at: datetime
    id: int
    message: Message | None = None
    note: CustomerNote | None = None
    event: CustomerEvent | None = None
    sla_target: SlaTarget | None = None
    ticket_number: int | None = None
    ticket_subject: str | None = None
    ticket_status: str | None = None

    @property
    def key(self) -> tuple[datetime, int, int]:
        return (self.at, RANK[self.kind], self.id)


Cursor = tuple[datetime, str, int]


def encode_cursor(entry: TimelineEntry) -> str:
    raw = json.dumps([entry.at.isoformat(), entry.kind, entry.id])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _invalid_cursor() -> Invalid:
    return Invalid(_l("The cursor is invalid."), fields={"cursor": ["invalid"]})


def decode_cursor(cursor: str) -> Cursor | int:
    """``(time, kind, id)``, or a message id from a cursor of the messages-only timeline of
    earlier versions (still accepted, so a client mid-walk can finish)."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if raw.isdigit():
            legacy = int(raw)
            if not 0 < legacy < 2**63:
                raise ValueError("out of range")
            return legacy
        moment, kind, entry_id = json.loads(raw)
        when = datetime.fromisoformat(moment)
        if when.utcoffset() is None or kind not in RANK or not 0 < int(entry_id) < 2**63:
            raise ValueError("bad cursor")
        return when, kind, int(entry_id)
    except (ValueError, TypeError, UnicodeDecodeError, binascii.Error) as exc:
        raise _invalid_cursor() from exc


_Stmt = TypeVar("_Stmt")


def _older(
    query: _Stmt,
    kind: str,
    at: InstrumentedAttribute[datetime],
    id_: InstrumentedAttribute[int],
    cursor: Cursor | None,
) -> _Stmt:
    """Rows of stream ``kind`` after ``cursor`` in timeline order, newest first."""
    stmt = cast(Select[Any], query)
    if cursor is not None:
        when, cursor_kind, cursor_id = cursor
        if RANK[kind] < RANK[cursor_kind]:
            stmt = stmt.where(at <= when)
        elif RANK[kind] > RANK[cursor_kind]:
            stmt = stmt.where(at < when)
        else:
            bound = tuple_(bindparam("when", when, type_=UTCDateTime()), bindparam("id", cursor_id))
            stmt = stmt.where(tuple_(at, id_) < bound)
    return cast(_Stmt, stmt.order_by(at.desc(), id_.desc()))


def _messages(
    customer_id: int, flt: str, staff: bool, cursor: Cursor | None, limit: int
) -> list[TimelineEntry]:
    stmt = (
        select(Message, Ticket.number, Ticket.subject, Ticket.status)
        .join(Ticket, Ticket.id == Message.ticket_id)
        .where(Ticket.customer_id == customer_id)
    )
    if flt == "notes":
        if not staff:
            return []
        stmt = stmt.where(Message.is_public.is_(False))
    elif flt == "public" or not staff:
        stmt = stmt.where(Message.is_public.is_(True))
    if flt == "calls":
        stmt = stmt.where(Message.kind == MessageKind.PHONE)
    elif flt == "chats":
        stmt = stmt.where(Message.kind == MessageKind.CHAT)
    stmt = _older(stmt, MESSAGE, Message.created_at, Message.id, cursor).limit(limit + 1)
    return [
        TimelineEntry(
            MESSAGE,
            m.created_at,
            m.id,
            message=m,
            ticket_number=number,
            ticket_subject=subject,
            ticket_status=status,
        )
        for m, number, subject, status in current_session().execute(stmt)
    ]


def _notes(
    customer_id: int, flt: str, staff: bool, cursor: Cursor | None, limit: int
) -> list[TimelineEntry]:
    if not staff:
        return []
    stmt = select(CustomerNote).where(CustomerNote.customer_id == customer_id)
    stmt = _older(stmt, NOTE, CustomerNote.created_at, CustomerNote.id, cursor).limit(limit + 1)
    return [
        TimelineEntry(NOTE, n.created_at, n.id, note=n) for n in current_session().scalars(stmt)
    ]


def _events(
    customer_id: int, flt: str, staff: bool, cursor: Cursor | None, limit: int
) -> list[TimelineEntry]:
    stmt = select(CustomerEvent).where(CustomerEvent.customer_id == customer_id)
    stmt = _older(stmt, EVENT, CustomerEvent.occurred_at, CustomerEvent.id, cursor)
    return [
        TimelineEntry(EVENT, e.occurred_at, e.id, event=e)
        for e in current_session().scalars(stmt.limit(limit + 1))
    ]


def _sla_breaches(
    customer_id: int, flt: str, staff: bool, cursor: Cursor | None, limit: int
) -> list[TimelineEntry]:
    if not staff:
        return []
    stmt = (
        select(SlaTarget, Ticket.number, Ticket.subject, Ticket.status)
        .join(Ticket, Ticket.id == SlaTarget.ticket_id)
        .where(Ticket.customer_id == customer_id, SlaTarget.breached_at.is_not(None))
    )
    breached_at: Any = SlaTarget.breached_at  # Mapped[datetime | None]; never None here
    stmt = _older(stmt, SLA_BREACH, breached_at, SlaTarget.id, cursor).limit(limit + 1)
    return [
        TimelineEntry(
            SLA_BREACH,
            t.breached_at,
            t.id,
            sla_target=t,
            ticket_number=number,
            ticket_subject=subject,
            ticket_status=status,
        )
        for t, number, subject, status in current_session().execute(stmt)
        if t.breached_at is not None
    ]


Stream = Callable[[int, str, bool, Cursor | None, int], list[TimelineEntry]]
_READERS: dict[str, Stream] = {
    MESSAGE: _messages,
    NOTE: _notes,
    EVENT: _events,
    SLA_BREACH: _sla_breaches,
}


def _legacy_cursor(message_id: int) -> Cursor:
    created = current_session().scalar(select(Message.created_at).where(Message.id == message_id))
    if created is None:
        raise _invalid_cursor()
    return (created, MESSAGE, message_id)


def customer_timeline(
    actor: Actor,
    customer_id: int,
    *,
    kind: str = "all",
    cursor: str | None = None,
    limit: int = 30,
) -> tuple[list[TimelineEntry], str | None]:
    """One page of the customer's timeline, newest first, and the cursor of the next page.

    ``kind`` filters: ``all``; ``messages`` (every message); ``public`` (what the customer saw
    or wrote); ``notes`` (internal notes on tickets and notes on the profile); ``calls`` and
    ``chats`` (messages on those channels); ``events`` (business events); ``sla`` (SLA
    breaches). Internal notes, profile notes and SLA breaches are for staff only.
    """
    get_customer(actor, customer_id)
    require(actor, Permission.TICKET_READ)
    if kind not in TIMELINE_KINDS:
        raise Invalid(
            _l("Unknown timeline filter: %(kind)s.", kind=kind),
            fields={"kind": [f"one of {list(TIMELINE_KINDS)}"]},
        )
    if not 1 <= limit <= MAX_LIMIT:
        raise Invalid(
            _l("limit must be between 1 and %(max)s.", max=MAX_LIMIT), fields={"limit": ["range"]}
        )
    after: Cursor | None = None
    if cursor:
        decoded = decode_cursor(cursor)
        after = _legacy_cursor(decoded) if isinstance(decoded, int) else decoded
    staff = actor.is_staff and can(actor, Permission.TICKET_READ)
    found: list[TimelineEntry] = []
    for stream in _STREAMS[kind]:
        found.extend(_READERS[stream](customer_id, kind, staff, after, limit))
    found.sort(key=lambda e: e.key, reverse=True)
    page = found[:limit]
    more = len(found) > limit
    return page, (encode_cursor(page[-1]) if more and page else None)
