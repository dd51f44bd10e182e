"""Queue rows: what a ticket list shows, read as plain values in two queries.

Lists are the hottest read in a help-desk. Building them from full ORM objects with their
relationships and then serializing those cost ~0.35 ms a row on this machine; selecting just
the shown columns with one join and the tags with a second query costs a fraction of that
(see bench/README.md).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from ..models import Customer, Group, Priority, Tag, Ticket, User, ticket_tags

_PRIORITY_NAMES = {p.value: p.name.lower() for p in Priority}

# Built once, on the Core tables: the statement cache then serves every page, and executing
# plain Core skips the ORM's per-query setup (each page is two statements, ~1 ms in all).
_tickets = Ticket.__table__
_customers = Customer.__table__
_groups = Group.__table__
_assignees = User.__table__.alias("assignee")
_ROWS = (
    select(
        _tickets.c.id,
        _tickets.c.number,
        _tickets.c.subject,
        _tickets.c.status,
        _tickets.c.priority,
        _tickets.c.channel,
        _tickets.c.customer_id,
        _customers.c.name,
        _tickets.c.organization_id,
        _tickets.c.group_id,
        _groups.c.name,
        _tickets.c.assignee_id,
        _assignees.c.name,
        _tickets.c.merged_into_id,
        _tickets.c.message_count,
        _tickets.c.version,
        _tickets.c.created_at,
        _tickets.c.updated_at,
        _tickets.c.first_response_at,
        _tickets.c.solved_at,
    )
    .select_from(
        _tickets.join(_customers, _customers.c.id == _tickets.c.customer_id)
        .outerjoin(_groups, _groups.c.id == _tickets.c.group_id)
        .outerjoin(_assignees, _assignees.c.id == _tickets.c.assignee_id)
    )
    .where(_tickets.c.id.in_(bindparam("ids", expanding=True)))
)
_TAGS = (
    select(ticket_tags.c.ticket_id, Tag.__table__.c.name)
    .join(Tag.__table__, Tag.__table__.c.id == ticket_tags.c.tag_id)
    .where(ticket_tags.c.ticket_id.in_(bindparam("ids", expanding=True)))
    .order_by(Tag.__table__.c.name)
)


def load_ticket_rows(session: Session, ids: list[int]) -> list[dict[str, Any]]:
    """Rows for ``ids``, in that order; tickets that vanished meanwhile are left out."""
    if not ids:
        return []
    connection = session.connection()
    tags: dict[int, list[str]] = defaultdict(list)
    for ticket_id, name in connection.execute(_TAGS, {"ids": ids}):
        tags[ticket_id].append(name)
    rows: dict[int, dict[str, Any]] = {}
    for (
        tid,
        number,
        subject,
        status,
        priority,
        channel,
        customer_id,
        customer_name,
        org_id,
        group_id,
        group_name,
        assignee_id,
        assignee_name,
        merged_into_id,
        message_count,
        version,
        created_at,
        updated_at,
        first_response_at,
        solved_at,
    ) in connection.execute(_ROWS, {"ids": ids}):
        rows[tid] = {
            "id": tid,
            "number": number,
            "subject": subject,
            "status": status,
            "priority": _PRIORITY_NAMES[priority],
            "channel": channel,
            "customer": {"id": customer_id, "name": customer_name},
            "organization_id": org_id,
            "group": {"id": group_id, "name": group_name} if group_id is not None else None,
            "assignee": (
                {"id": assignee_id, "name": assignee_name} if assignee_id is not None else None
            ),
            "tags": tags.get(tid, []),
            "merged_into_id": merged_into_id,
            "message_count": message_count,
            "version": version,
            "created_at": created_at,
            "updated_at": updated_at,
            "first_response_at": first_response_at,
            "solved_at": solved_at,
        }
    return [rows[i] for i in ids if i in rows]
