"""Writing new tickets' rows: each ticket, its first message, tags and audit entry.

On PostgreSQL the four inserts are one statement (data-modifying CTEs): every statement costs a
round trip to the server, and a ticket create already needs several reads before it can write.
Foreign keys are checked at the end of that statement, when all four rows exist. SQLite, which
runs in-process and has no DML in CTEs, gets the four plain inserts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

from sqlalchemy import ARRAY, Connection, Integer, Table, bindparam, func, insert, select
from sqlalchemy.sql import Select

from ..models import AuditEvent, Message, Ticket, ticket_tags

_tickets = cast(Table, Ticket.__table__)
_messages = cast(Table, Message.__table__)
_audit = cast(Table, AuditEvent.__table__)

_INSERT_TICKET = insert(_tickets).returning(_tickets.c.id)
_INSERT_MESSAGE = insert(_messages).returning(_messages.c.id)
_INSERT_TAG = insert(ticket_tags)
_INSERT_AUDIT = insert(_audit)

# Columns each caller supplies (the ticket's id and the rows' ticket_id come from the insert).
TICKET_COLUMNS = tuple(c.name for c in _tickets.c if c.name != "id")
MESSAGE_COLUMNS = tuple(c.name for c in _messages.c if c.name not in {"id", "ticket_id"})
AUDIT_COLUMNS = tuple(c.name for c in _audit.c if c.name not in {"id", "ticket_id"})


def _params(table: Table, prefix: str, columns: Sequence[str]) -> list[Any]:
    return [bindparam(f"{prefix}{name}", type_=table.c[name].type) for name in columns]


def _one_statement() -> Select[Any]:
    ticket = (
        insert(_tickets)
        .values(dict(zip(TICKET_COLUMNS, _params(_tickets, "t_", TICKET_COLUMNS), strict=True)))
        .returning(_tickets.c.id)
        .cte("new_ticket")
    )
    message = (
        insert(_messages)
        .from_select(
            ["ticket_id", *MESSAGE_COLUMNS],
            select(ticket.c.id, *_params(_messages, "m_", MESSAGE_COLUMNS)),
        )
        .returning(_messages.c.ticket_id, _messages.c.id)
        .cte("new_message")
    )
    tags = insert(ticket_tags).from_select(
        ["ticket_id", "tag_id"],
        select(ticket.c.id, func.unnest(bindparam("tag_ids", type_=ARRAY(Integer)))),
    )
    entry = insert(_audit).from_select(
        ["ticket_id", *AUDIT_COLUMNS],
        select(ticket.c.id, *_params(_audit, "a_", AUDIT_COLUMNS)),
    )
    # PostgreSQL runs every data-modifying CTE exactly once, read or not.
    return select(message.c.ticket_id, message.c.id).add_cte(
        ticket, message, tags.cte("new_tags"), entry.cte("new_audit")
    )


_ONE_STATEMENT = _one_statement()


def insert_ticket_rows(
    connection: Connection,
    ticket: Mapping[str, Any],
    message: Mapping[str, Any],
    tag_ids: Sequence[int],
    audit_entry: Mapping[str, Any],
) -> tuple[int, int]:
    """Insert the rows of a new ticket; return ``(ticket_id, message_id)``."""
    if connection.dialect.name == "postgresql":
        params = {f"t_{k}": ticket[k] for k in TICKET_COLUMNS}
        params.update({f"m_{k}": message[k] for k in MESSAGE_COLUMNS})
        params.update({f"a_{k}": audit_entry[k] for k in AUDIT_COLUMNS})
        params["tag_ids"] = list(tag_ids)
        row = connection.execute(_ONE_STATEMENT, params).one()
        return int(row[0]), int(row[1])
    ticket_id = connection.execute(_INSERT_TICKET, dict(ticket)).scalar_one()
    message_id = connection.execute(
        _INSERT_MESSAGE, {**message, "ticket_id": ticket_id}
    ).scalar_one()
    if tag_ids:
        connection.execute(_INSERT_TAG, [{"ticket_id": ticket_id, "tag_id": t} for t in tag_ids])
    connection.execute(_INSERT_AUDIT, {**audit_entry, "ticket_id": ticket_id})
    return ticket_id, message_id


_INSERT_TICKETS = insert(_tickets).returning(_tickets.c.id, sort_by_parameter_order=True)
_INSERT_MESSAGES = insert(_messages).returning(_messages.c.id, sort_by_parameter_order=True)


def insert_many_ticket_rows(
    connection: Connection,
    tickets: Sequence[Mapping[str, Any]],
    messages: Sequence[Mapping[str, Any]],
    tag_ids: Sequence[Sequence[int]],
    audit_entries: Sequence[Mapping[str, Any]],
) -> list[tuple[int, int]]:
    """Insert the rows of several new tickets (the i-th of each sequence belong together) in
    four statements, whatever their number; return ``(ticket_id, message_id)`` for each."""
    ticket_ids = list(connection.execute(_INSERT_TICKETS, list(tickets)).scalars())
    message_ids = list(
        connection.execute(
            _INSERT_MESSAGES,
            [{**m, "ticket_id": t} for m, t in zip(messages, ticket_ids, strict=True)],
        ).scalars()
    )
    tags = [
        {"ticket_id": t, "tag_id": g}
        for t, ids in zip(ticket_ids, tag_ids, strict=True)
        for g in ids
    ]
    if tags:
        connection.execute(_INSERT_TAG, tags)
    connection.execute(
        _INSERT_AUDIT,
        [{**e, "ticket_id": t} for e, t in zip(audit_entries, ticket_ids, strict=True)],
    )
    return list(zip(ticket_ids, message_ids, strict=True))
