"""Listing tickets for queues and the API: filters, sorting and keyset (cursor) pagination.

Each page is found in two steps. First the ``(sort key, id)`` pairs of the page are read from an
index that matches the filters; with several statuses, one index walk per status is combined
with UNION ALL, because neither SQLite nor a plain B-tree can walk ``status IN (...)`` in
``updated_at`` order. Then the page's rows are read by primary key (``ticket_rows``). A page
therefore costs the same on the first and the ten-thousandth page, at any table size.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    bindparam,
    func,
    literal,
    select,
    tuple_,
    union_all,
)

from ..models import Channel, Status, Tag, Ticket, ticket_tags
from ..models.base import UTCDateTime
from .errors import Invalid
from .permissions import Actor, Permission, require
from .ticket_fields import parse_priority
from .ticket_rows import page_rows_statement, row_to_dict
from .transaction import current_session

MAX_LIMIT = 100
# "sla_due_at" is "breaches next": overdue first, then the nearest due time; tickets without a
# running SLA clock last (their ``sla_due_at`` is ``NO_DEADLINE``).
SORTS = ("-updated_at", "updated_at", "-created_at", "created_at", "sla_due_at")
_TIME_SORTS = ("updated_at", "sla_due_at")


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
    priority: str | None = None  # a name: low, normal, high, urgent
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
        if sort.lstrip("-") in _TIME_SORTS:
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


# The WHERE terms a page may use, each with its bound parameter. A page's statement depends
# only on its *shape* (which terms, which statuses, sort, limit); it is built once per shape
# and reused with new values, so a request pays no statement construction at all.
_t = Ticket.__table__
_TERMS: dict[str, ColumnElement[bool]] = {
    "customer_scope": _t.c.customer_id == bindparam("customer_scope"),
    "assignee_id": _t.c.assignee_id == bindparam("assignee_id"),
    "unassigned": _t.c.assignee_id.is_(None),
    "group_id": _t.c.group_id == bindparam("group_id"),
    "customer_id": _t.c.customer_id == bindparam("customer_id"),
    "organization_id": _t.c.organization_id == bindparam("organization_id"),
    "channel": _t.c.channel == bindparam("channel"),
    "priority": _t.c.priority == bindparam("priority"),
    "tag": _t.c.id.in_(
        select(ticket_tags.c.ticket_id)
        .join(Tag.__table__, Tag.__table__.c.id == ticket_tags.c.tag_id)
        .where(Tag.__table__.c.name == bindparam("tag"))
    ),
    "updated_since": _t.c.updated_at >= bindparam("updated_since", type_=UTCDateTime()),
}


def _statuses(flt: TicketFilter) -> tuple[str, ...]:
    statuses = tuple(sorted(set(flt.statuses)))
    unknown = set(statuses) - {s.value for s in Status}
    if unknown:
        raise Invalid(
            _l("Unknown status: %(status)s.", status=", ".join(sorted(unknown))),
            fields={"status": ["unknown status"]},
        )
    return statuses


def _filter_values(actor: Actor, flt: TicketFilter) -> dict[str, Any]:
    """The filter terms in use and their values (``None`` for terms without a value)."""
    values: dict[str, Any] = {}
    if actor.kind == "customer":
        values["customer_scope"] = actor.customer_id
    if flt.assignee_id is not None:
        values["assignee_id"] = flt.assignee_id
    if flt.unassigned:
        values["unassigned"] = None
    if flt.group_id is not None:
        values["group_id"] = flt.group_id
    if flt.customer_id is not None:
        values["customer_id"] = flt.customer_id
    if flt.organization_id is not None:
        values["organization_id"] = flt.organization_id
    if flt.channel is not None:
        if flt.channel not in {c.value for c in Channel}:
            raise Invalid(
                _l("Unknown channel: %(channel)s.", channel=flt.channel),
                fields={"channel": ["unknown"]},
            )
        values["channel"] = flt.channel
    if flt.priority is not None:
        values["priority"] = parse_priority(flt.priority)
    if flt.tag is not None:
        values["tag"] = flt.tag.strip().lower()
    if flt.updated_since is not None:
        values["updated_since"] = flt.updated_since
    return values


@lru_cache(maxsize=512)
def _page_statement(
    terms: tuple[str, ...], statuses: tuple[str, ...], sort: str, with_cursor: bool, limit: int
) -> Select[Any]:
    """The statement of one page shape: the keyset walk for up to ``limit + 1`` tickets, joined
    to the columns a queue row shows."""
    descending = sort.startswith("-")
    by_created = sort.endswith("created_at")
    # Ids grow with creation time, so "created" order is id order and needs no extra index.
    key_col = _t.c.id if by_created else _t.c[sort.lstrip("-")]
    conditions = [_TERMS[name] for name in terms]
    if with_cursor:
        if by_created:
            last = bindparam("cursor_id", type_=Integer())
            conditions.append(_t.c.id < last if descending else _t.c.id > last)
        else:
            pair = tuple_(key_col, _t.c.id)
            bound = tuple_(bindparam("cursor_key", type_=UTCDateTime()), bindparam("cursor_id"))
            conditions.append(pair < bound if descending else pair > bound)
    if by_created:
        order = [key_col.desc() if descending else key_col.asc()]
    else:
        order = [key_col.desc(), _t.c.id.desc()] if descending else [key_col.asc(), _t.c.id.asc()]

    def arm(extra: list[ColumnElement[bool]]) -> Select[Any]:
        return (
            select(key_col.label("k"), _t.c.id.label("id"))
            .where(*conditions, *extra)
            .order_by(*order)
            .limit(limit + 1)
        )

    if len(statuses) <= 1:
        page = arm([_t.c.status == literal(statuses[0])] if statuses else []).subquery("page")
    else:
        # Each arm is a subquery: SQLite allows no ORDER BY/LIMIT on compound members.
        arms = [arm([_t.c.status == literal(s)]).subquery() for s in statuses]
        merged = union_all(*(select(a.c.k, a.c.id) for a in arms)).subquery()
        outer = [merged.c.k.desc(), merged.c.id.desc()] if descending else [merged.c.k, merged.c.id]
        page = select(merged.c.k, merged.c.id).order_by(*outer).limit(limit + 1).subquery("page")
    return page_rows_statement(page, descending)


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
    statuses = _statuses(flt)
    if sort == "sla_due_at" and not statuses:
        # SLA due times are indexed per status only: walk every status and merge.
        statuses = tuple(sorted(s.value for s in Status))
    params = _filter_values(actor, flt)
    terms = tuple(sorted(params))
    if cursor:
        params["cursor_key"], params["cursor_id"] = _decode_cursor(cursor, sort)
    # Statuses are part of the shape: their values are bound inside the cached statement.
    stmt = _page_statement(terms, statuses, sort, bool(cursor), limit)
    rows = current_session().connection().execute(stmt, params).all()
    has_more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = _encode_cursor(sort, rows[-1][-1], rows[-1][0]) if has_more and rows else None
    return TicketPage([row_to_dict(row) for row in rows], next_cursor)


COUNT_CAP = 1000


@lru_cache(maxsize=256)
def _count_statement(terms: tuple[str, ...], statuses: tuple[str, ...], cap: int) -> Select[Any]:
    """Count matching tickets, but stop at ``cap``: an exact count of a big view costs a scan
    of its index, while a queue only needs to say "1,000+"."""
    conditions = [_TERMS[name] for name in terms]
    arms = [
        select(_t.c.id).where(*conditions, *([_t.c.status == literal(s)] if s else [])).limit(cap)
        for s in (statuses or ("",))
    ]
    if len(arms) == 1:
        capped = arms[0]
    else:  # SQLite allows no LIMIT on compound members: each arm is a subquery
        wrapped = [select(arm.subquery().c.id) for arm in arms]
        capped = select(union_all(*wrapped).subquery()).limit(cap)
    return select(func.count()).select_from(capped.subquery())


def count_tickets(actor: Actor, flt: TicketFilter, *, cap: int = COUNT_CAP) -> int:
    """How many tickets ``actor`` may see match ``flt``, up to ``cap``."""
    if actor.kind != "customer":
        require(actor, Permission.TICKET_READ)
    statuses = _statuses(flt)
    params = _filter_values(actor, flt)
    stmt = _count_statement(tuple(sorted(params)), statuses, cap)
    return int(current_session().connection().execute(stmt, params).scalar_one())
