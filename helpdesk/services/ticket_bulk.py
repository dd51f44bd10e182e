"""Bulk changes from the queue: the same change applied to many tickets, one at a time.

Each ticket is updated in its own transaction through ``update_ticket``, so every rule,
audit entry, notification and live event is exactly that of a single edit, and one ticket that
cannot change (closed, merged, deleted meanwhile) does not hold back the others.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from flask_babel import lazy_gettext as _l

from .errors import Invalid, ServiceError
from .permissions import Actor, Permission, require
from .tickets import get_ticket, update_ticket

MAX_BULK = 500
BULK_FIELDS = ("status", "priority", "group_id", "assignee_id", "add_tags")


@dataclass
class BulkResult:
    updated: list[int] = field(default_factory=list)
    skipped: dict[int, str] = field(default_factory=dict)  # ticket id -> why, for the agent


def bulk_update(actor: Actor, ticket_ids: Sequence[int], changes: Mapping[str, Any]) -> BulkResult:
    """Apply ``changes`` to each ticket; ``add_tags`` adds to each ticket's own tags."""
    require(actor, Permission.TICKET_UPDATE)
    unknown = set(changes) - set(BULK_FIELDS)
    if unknown:
        raise Invalid(
            _l("Cannot change: %(fields)s.", fields=", ".join(sorted(unknown))),
            fields={k: ["not a bulk field"] for k in unknown},
        )
    ids = list(dict.fromkeys(ticket_ids))  # keep order, drop repeats
    if not ids:
        raise Invalid(_l("Select at least one ticket."), fields={"ids": ["required"]})
    if len(ids) > MAX_BULK:
        raise Invalid(
            _l("Select at most %(max)s tickets at once.", max=MAX_BULK),
            fields={"ids": ["too many"]},
        )
    if not changes:
        raise Invalid(_l("Choose a change to apply."), fields={"changes": ["required"]})
    result = BulkResult()
    add_tags = [t for t in changes.get("add_tags") or [] if str(t).strip()]
    plain = {k: v for k, v in changes.items() if k != "add_tags"}
    for ticket_id in ids:
        try:
            edit = dict(plain)
            if add_tags:
                current = [t.name for t in get_ticket(actor, ticket_id).tags]
                edit["tags"] = current + add_tags
            update_ticket(actor, ticket_id, edit)
        except Invalid:
            raise  # the change itself is wrong (unknown status, group...): same for every ticket
        except ServiceError as exc:
            result.skipped[ticket_id] = exc.message
        else:
            result.updated.append(ticket_id)
    return result
