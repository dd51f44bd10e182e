"""The agent queue's views (mine, unassigned, open, pending, solved, one per group, all).

What each view contains is decided here, once: the page lists it with ``list_tickets``, counts
it with ``count_tickets`` and hands the same filter to the browser (``filter_json``), which
uses it to place live updates without asking the server again.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import select

from ..models import OPEN_STATUSES, Group, Status, User, user_groups
from .permissions import Actor, Permission, require
from .ticket_queries import COUNT_CAP, TicketFilter, count_tickets
from .transaction import current_session

_OPEN = [s.value for s in OPEN_STATUSES]


@dataclass(frozen=True)
class QueueView:
    key: str  # "mine", "group:3", ...
    filter: TicketFilter
    group_name: str | None = None


def views_for(actor: Actor) -> list[QueueView]:
    """The views of ``actor``'s queue, the groups they belong to included."""
    require(actor, Permission.TICKET_READ)
    user_id = actor.user_id
    views = [
        QueueView("mine", TicketFilter(statuses=_OPEN, assignee_id=user_id)),
        QueueView("unassigned", TicketFilter(statuses=_OPEN, unassigned=True)),
        QueueView("open", TicketFilter(statuses=_OPEN)),
        QueueView("pending", TicketFilter(statuses=[Status.PENDING.value])),
        QueueView("solved", TicketFilter(statuses=[Status.SOLVED.value])),
    ]
    groups = current_session().execute(
        select(Group.id, Group.name)
        .join(user_groups, user_groups.c.group_id == Group.id)
        .join(User, User.id == user_groups.c.user_id)
        .where(User.id == user_id)
        .order_by(Group.name)
    )
    for group_id, name in groups:
        views.append(
            QueueView(f"group:{group_id}", TicketFilter(statuses=_OPEN, group_id=group_id), name)
        )
    views.append(QueueView("all", TicketFilter()))
    return views


def find_view(actor: Actor, key: str) -> QueueView | None:
    return next((v for v in views_for(actor) if v.key == key), None)


def view_counts(actor: Actor, views: list[QueueView]) -> dict[str, int]:
    """Each view's size, capped at ``COUNT_CAP`` (shown as "1,000+")."""
    return {view.key: count_tickets(actor, view.filter) for view in views}


def filter_json(flt: TicketFilter) -> dict[str, Any]:
    """The filter as the browser's matcher reads it (``static/js/queue.js``)."""
    data = asdict(flt)
    data["updated_since"] = None  # views never use it
    return data


__all__ = ["COUNT_CAP", "QueueView", "filter_json", "find_view", "view_counts", "views_for"]
