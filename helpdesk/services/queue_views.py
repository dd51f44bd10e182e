"""The agent queue's views (mine, unassigned, open, pending, solved, one per group, all, and
the views each agent saved).

What each view contains is decided here, once: the page lists it with ``list_tickets``, counts
it with ``count_tickets`` and hands the same filter to the browser (``filter_json``), which
uses it to place live updates without asking the server again.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..models import (
    OPEN_STATUSES,
    PRIORITY_NAMES,
    Channel,
    Group,
    SavedView,
    Status,
    User,
    user_groups,
    utcnow,
)
from .errors import Invalid, NotFound
from .permissions import Actor, Permission, require
from .ticket_fields import parse_priority
from .ticket_queries import COUNT_CAP, TicketFilter, count_tickets
from .transaction import current_session, transaction

_OPEN = [s.value for s in OPEN_STATUSES]


@dataclass(frozen=True)
class QueueView:
    key: str  # "mine", "group:3", "saved:12", ...
    filter: TicketFilter
    group_name: str | None = None
    saved_name: str | None = None

    @property
    def name(self) -> str | None:
        """The name shown for group and saved views (the standard ones are translated)."""
        return self.group_name or self.saved_name


# What a saved or ad-hoc view may filter on, as the queue page's filter form sends it.
FILTER_FIELDS = (
    "statuses",
    "priority",
    "channel",
    "tag",
    "assignee_id",
    "unassigned",
    "group_id",
    "customer_id",
)


def clean_filter(data: dict[str, Any]) -> dict[str, Any]:
    """Validate a filter from a form or a saved row; keep only the fields that are set."""
    out: dict[str, Any] = {}
    statuses = [str(s) for s in data.get("statuses") or [] if s]
    unknown = set(statuses) - {s.value for s in Status}
    if unknown:
        raise Invalid(
            _l("Unknown status: %(status)s.", status=", ".join(sorted(unknown))),
            fields={"statuses": ["unknown status"]},
        )
    if statuses:
        out["statuses"] = sorted(set(statuses))
    if data.get("priority"):
        out["priority"] = PRIORITY_NAMES[parse_priority(data["priority"])]
    if data.get("channel"):
        if data["channel"] not in {c.value for c in Channel}:
            raise Invalid(
                _l("Unknown channel: %(channel)s.", channel=data["channel"]),
                fields={"channel": ["unknown"]},
            )
        out["channel"] = data["channel"]
    if data.get("tag"):
        out["tag"] = str(data["tag"]).strip().lower()
    if data.get("unassigned"):
        out["unassigned"] = True
    for name in ("assignee_id", "group_id", "customer_id"):
        value = data.get(name)
        if value not in (None, ""):
            try:
                out[name] = int(value)
            except (TypeError, ValueError) as exc:
                raise Invalid(
                    _l("Check the highlighted fields."), fields={name: ["not a number"]}
                ) from exc
    return out


def save_view(actor: Actor, name: str, flt: dict[str, Any]) -> SavedView:
    """Save a filter under a name in the actor's own queue."""
    require(actor, Permission.TICKET_READ)
    name = " ".join((name or "").split())
    if not name or len(name) > 80:
        raise Invalid(
            _l("Give the view a name (at most 80 characters)."), fields={"name": ["required"]}
        )
    cleaned = clean_filter(flt)
    if not cleaned:
        raise Invalid(_l("Choose at least one filter to save."), fields={"filter": ["empty"]})
    with transaction() as session:
        row = SavedView(user_id=actor.user_id, name=name, filter=cleaned, created_at=utcnow())
        session.add(row)
        session.flush()
    return row


def delete_view(actor: Actor, view_id: int) -> None:
    """Delete one of the actor's own saved views (someone else's is "not found")."""
    require(actor, Permission.TICKET_READ)
    with transaction() as session:
        row = session.get(SavedView, view_id)
        if row is None or row.user_id != actor.user_id:
            raise NotFound(_l("View not found."))
        session.delete(row)


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
    saved = current_session().scalars(
        select(SavedView).where(SavedView.user_id == user_id).order_by(SavedView.name)
    )
    for row in saved:
        views.append(QueueView(f"saved:{row.id}", TicketFilter(**row.filter), saved_name=row.name))
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


__all__ = [
    "COUNT_CAP",
    "FILTER_FIELDS",
    "QueueView",
    "clean_filter",
    "delete_view",
    "filter_json",
    "find_view",
    "save_view",
    "view_counts",
    "views_for",
]
