"""Listing tickets for queues and the API: filters, sorting and keyset (cursor) pagination.

Each page is found in two steps. First the ``(sort key, id)`` pairs of the page are read from an
index that matches the filters; with several statuses, one index walk per status is combined
with UNION ALL, because neither SQLite nor a plain B-tree can walk ``status IN (...)`` in
``updated_at`` order. Then the page's rows are loaded by primary key with their customer, group,
assignee and tags. A page therefore costs the same on the first and the ten-thousandth page.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, Select, select, tuple_, union_all

from ..models import Channel, Status, Tag, Ticket, ticket_tags
from .errors import Invalid
from .permissions import Actor, Permission, require
from .ticket_rows import load_ticket_rows
from .transaction import current_session

MAX_LIMIT = 100
SORTS = ("-updated_at", "updated_at", "-created_at", "created_at")


@dataclass
class TicketFilter:
    statuses: list[str] = field(default_factory=list)
    assignee_id: int | None = None
    unassigned: bool = False
    group_id: int | None = None
    customer_id: int | None = None
    organization_id: int | None = None
    tag: str | None = None
    channel: str | None = None
    updated_since: datetime | None = None


@dataclass
class TicketPage:
    """A page of queue rows (plain dicts, see ``ticket_rows``) and the cursor of the next."""

    tickets: list[dict[str, Any]]
    next_cursor: str | None


def _encode_cursor(sort: str, key: object, ticket_id: int) -> str:
    raw = [sort, key.isoformat() if isinstance(key, datetime) else key, ticket_id]
    return base64.urlsafe_b64encode(json.dumps(raw).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str, sort: str) -> tuple[object, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        cursor_sort, key, ticket_id = json.loads(base64.urlsafe_b64decode(padded))
        # Cursors come back from clients: anything we did not write ourselves is refused here,
        # before it can reach the database as an out-of-range or naive value.
        if cursor_sort != sort or type(ticket_id) is not int or not 0 < ticket_id < 2**63:
            raise ValueError("cursor from another sort order or with a bad id")
        if sort.endswith("updated_at"):
            key = datetime.fromisoformat(key)
            if key.tzinfo is None:
                raise ValueError("cursor time without offset")
        elif key != ticket_id:
            raise ValueError("created-order cursor whose key is not its id")
        return key, ticket_id
    except (ValueError, TypeError, binascii.Error, json.JSONDecodeError) as exc:
        raise Invalid(
            _l("The cursor is invalid or belongs to another sort order."),
            fields={"cursor": ["invalid"]},
        ) from exc


def _filters(actor: Actor, flt: TicketFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if actor.kind == "customer":
        conditions.append(Ticket.customer_id == actor.customer_id)
    if flt.assignee_id is not None:
        conditions.append(Ticket.assignee_id == flt.assignee_id)
    if flt.unassigned:
        conditions.append(Ticket.assignee_id.is_(None))
    if flt.group_id is not None:
        conditions.append(Ticket.group_id == flt.group_id)
    if flt.customer_id is not None:
        conditions.append(Ticket.customer_id == flt.customer_id)
    if flt.organization_id is not None:
        conditions.append(Ticket.organization_id == flt.organization_id)
    if flt.channel is not None:
        if flt.channel not in {c.value for c in Channel}:
            raise Invalid(
                _l("Unknown channel: %(channel)s.", channel=flt.channel),
                fields={"channel": ["unknown"]},
            )
        conditions.append(Ticket.channel == flt.channel)
    if flt.tag is not None:
        tagged = (
            select(ticket_tags.c.ticket_id).join(Tag).where(Tag.name == flt.tag.strip().lower())
        )
        conditions.append(Ticket.id.in_(tagged))
    if flt.updated_since is not None:
        conditions.append(Ticket.updated_at >= flt.updated_since)
    return conditions


def list_tickets(
    actor: Actor,
    flt: TicketFilter | None = None,
    *,
    sort: str = "-updated_at",
    cursor: str | None = None,
    limit: int = 25,
) -> TicketPage:
    """One page of tickets that ``actor`` may see, matching ``flt``, in ``sort`` order."""
    if actor.kind != "customer":
        require(actor, Permission.TICKET_READ)
    flt = flt or TicketFilter()
    if sort not in SORTS:
        raise Invalid(
            _l("Unknown sort order: %(sort)s.", sort=sort),
            fields={"sort": [f"one of {list(SORTS)}"]},
        )
    if not 1 <= limit <= MAX_LIMIT:
        raise Invalid(
            _l("limit must be between 1 and %(max)s.", max=MAX_LIMIT),
            fields={"limit": ["out of range"]},
        )
    statuses = sorted(set(flt.statuses))
    unknown = set(statuses) - {s.value for s in Status}
    if unknown:
        raise Invalid(
            _l("Unknown status: %(status)s.", status=", ".join(sorted(unknown))),
            fields={"status": ["unknown status"]},
        )

    descending = sort.startswith("-")
    by_created = sort.endswith("created_at")
    # Ids grow with creation time, so "created" order is id order and needs no extra index.
    key_col = Ticket.id if by_created else Ticket.updated_at
    conditions = _filters(actor, flt)
    if cursor:
        key, last_id = _decode_cursor(cursor, sort)
        if by_created:
            conditions.append(Ticket.id < last_id if descending else Ticket.id > last_id)
        else:
            pair = tuple_(Ticket.updated_at, Ticket.id)
            conditions.append(pair < (key, last_id) if descending else pair > (key, last_id))

    def arm(extra: list[ColumnElement[bool]]) -> Select[Any]:
        order = (
            [key_col.desc(), Ticket.id.desc()] if descending else [key_col.asc(), Ticket.id.asc()]
        )
        if by_created:
            order = order[:1]
        return (
            select(key_col.label("k"), Ticket.id.label("id"))
            .where(*conditions, *extra)
            .order_by(*order)
            .limit(limit + 1)
        )

    session = current_session()
    if len(statuses) > 1:
        # Each arm is wrapped in a subquery: SQLite allows no ORDER BY/LIMIT on compound members.
        arms = [arm([Ticket.status == s]).subquery() for s in statuses]
        merged = union_all(*(select(a.c.k, a.c.id) for a in arms)).subquery()
        order = [merged.c.k.desc(), merged.c.id.desc()] if descending else [merged.c.k, merged.c.id]
        stmt: Select[Any] = select(merged.c.k, merged.c.id).order_by(*order).limit(limit + 1)
    else:
        stmt = arm([Ticket.status == statuses[0]] if statuses else [])
    rows = session.execute(stmt).all()
    has_more = len(rows) > limit
    rows = rows[:limit]
    tickets = load_ticket_rows(session, [row[1] for row in rows])
    next_cursor = _encode_cursor(sort, rows[-1][0], rows[-1][1]) if has_more and rows else None
    return TicketPage(tickets, next_cursor)
