"""SLA compliance over a period, per policy, group, agent or channel, and per target kind.

A target counts in the period its due time falls in. It is *met* when achieved on time,
*breached* when its due time passed first (answered late or not at all) and *open* while it
still runs; cancelled targets (a ticket solved without an answer, a policy that no longer
applies) do not count. Compliance is met / (met + breached). Group and agent are the ticket's
current ones.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import Integer, case, func, select

from ..models import Group, SlaPolicy, SlaTarget, Ticket, User
from .errors import Invalid
from .permissions import Actor, Permission, require
from .transaction import current_session

DIMENSIONS = ("policy", "group", "agent", "channel")
MAX_PERIOD = timedelta(days=400)


def compliance(
    actor: Actor, start: datetime, end: datetime, by: str = "policy"
) -> list[dict[str, Any]]:
    """Rows of ``{key, name, kind, met, breached, open, compliance}``, by key then kind."""
    require(actor, Permission.TICKET_READ)
    if by not in DIMENSIONS:
        raise Invalid(
            _l("Report by one of: %(dims)s.", dims=", ".join(DIMENSIONS)),
            fields={"by": ["unknown"]},
        )
    if not (start < end and end - start <= MAX_PERIOD):
        raise Invalid(
            _l("The period must end after it starts and last at most 400 days."),
            fields={"to": ["invalid period"]},
        )
    t = SlaTarget
    dimension: dict[str, tuple[Any, Any, list[tuple[Any, Any]]]] = {
        "policy": (t.policy_id, SlaPolicy.name, [(SlaPolicy, SlaPolicy.id == t.policy_id)]),
        "group": (Ticket.group_id, Group.name, [(Group, Group.id == Ticket.group_id)]),
        "agent": (Ticket.assignee_id, User.name, [(User, User.id == Ticket.assignee_id)]),
        "channel": (Ticket.channel, Ticket.channel, []),
    }
    key, name, joins = dimension[by]
    met = func.sum(case((t.achieved_at.is_not(None) & t.breached_at.is_(None), 1), else_=0))
    breached = func.sum(case((t.breached_at.is_not(None), 1), else_=0))
    running = func.sum(case((t.achieved_at.is_(None) & t.breached_at.is_(None), 1), else_=0))
    stmt = (
        select(
            key.label("key"),
            name.label("name"),
            t.kind,
            met.cast(Integer),
            breached.cast(Integer),
            running.cast(Integer),
        )
        .select_from(t)
        .join(Ticket, Ticket.id == t.ticket_id)
        .where(t.due_at >= start, t.due_at < end, t.cancelled_at.is_(None))
        .group_by(key, name, t.kind)
        .order_by(name, t.kind)
    )
    for model, on in joins:
        stmt = stmt.outerjoin(model, on)
    rows = []
    for key_value, label, kind, met_n, breached_n, open_n in current_session().execute(stmt):
        settled = met_n + breached_n
        rows.append(
            {
                "key": key_value,
                "name": label,
                "kind": kind,
                "met": met_n,
                "breached": breached_n,
                "open": open_n,
                "compliance": round(met_n / settled, 4) if settled else None,
            }
        )
    return rows
