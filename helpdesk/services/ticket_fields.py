"""Ticket field rules shared by creating and changing tickets: priorities, tags, numbers,
groups and assignees."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from flask_babel import lazy_gettext as _l
from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..models import Counter, Group, Priority, Role, Tag, Ticket, User
from .errors import Invalid

FIRST_TICKET_NUMBER = 1001
MAX_TAGS = 30
ASSIGNABLE_ROLES = (Role.ADMIN, Role.AGENT)  # who may be given tickets


def parse_priority(value: Any) -> int:
    """Accept ``"high"`` or ``3``; return the stored integer."""
    if isinstance(value, str) and value.upper() in Priority.__members__:
        return int(Priority[value.upper()])
    if isinstance(value, int) and not isinstance(value, bool) and value in set(Priority):
        return int(value)
    raise Invalid(
        _l("Unknown priority: %(priority)s.", priority=value),
        fields={"priority": ["one of low, normal, high, urgent"]},
    )


def normalize_tags(tags: Sequence[str]) -> list[str]:
    """Lower-case, trimmed, de-duplicated tags; Korean tags are kept as written."""
    clean: list[str] = []
    for raw in tags:
        tag = " ".join(str(raw).split()).lower()
        if not tag:
            continue
        if len(tag) > 64:
            raise Invalid(
                _l("The tag '%(tag)s...' is longer than 64 characters.", tag=tag[:20]),
                fields={"tags": ["too long"]},
            )
        if tag not in clean:
            clean.append(tag)
    if len(clean) > MAX_TAGS:
        raise Invalid(
            _l("A ticket can carry at most %(max)s tags.", max=MAX_TAGS),
            fields={"tags": ["too many"]},
        )
    return clean


# Statements on the create path are built once (building them cost as much as running them).
_counters = cast(Table, Counter.__table__)
# Core, not an ORM update: there is no Counter object in the session to synchronize.
_ADVANCE_TICKET_COUNTER = (
    update(_counters)
    .where(_counters.c.name == "ticket")
    .values(value=_counters.c.value + bindparam("count"))
    .returning(_counters.c.value)
)
_TAGS_BY_NAME = select(Tag).where(Tag.name.in_(bindparam("names", expanding=True)))


def tag_rows(session: Session, names: list[str]) -> list[Tag]:
    if not names:
        return []
    found = {t.name: t for t in session.scalars(_TAGS_BY_NAME, {"names": names})}
    for name in names:
        if name not in found:
            try:
                with session.begin_nested():
                    tag = Tag(name=name)
                    session.add(tag)
                    session.flush()
            except IntegrityError:  # created concurrently
                tag = session.scalars(select(Tag).where(Tag.name == name)).one()
            found[name] = tag
    return [found[n] for n in sorted(names)]  # the order a fresh load gives (by name)


def next_numbers(session: Session, count: int) -> list[int]:
    """``count`` consecutive ticket numbers, taken with one update of the counter."""
    value = session.connection().execute(_ADVANCE_TICKET_COUNTER, {"count": count}).scalar()
    if value is None:  # first ticket ever (or the counter row was removed)
        highest = session.scalar(select(Ticket.number).order_by(Ticket.number.desc()).limit(1))
        value = max(FIRST_TICKET_NUMBER, (highest or 0) + 1) + count - 1
        session.add(Counter(name="ticket", value=value))
        session.flush()
    return list(range(value - count + 1, value + 1))


def check_group(session: Session, group_id: int | None) -> Group | None:
    if group_id is None:
        return None
    group = session.get(Group, group_id)
    if group is None:
        raise Invalid(
            _l("Unknown group: %(id)s.", id=group_id), fields={"group_id": ["unknown group"]}
        )
    return group


def check_assignee(session: Session, assignee_id: int | None) -> User | None:
    if assignee_id is None:
        return None
    user = session.get(User, assignee_id)
    if user is None or not user.is_active:
        raise Invalid(
            _l("Unknown user: %(id)s.", id=assignee_id), fields={"assignee_id": ["unknown user"]}
        )
    if user.role not in ASSIGNABLE_ROLES:
        raise Invalid(
            _l("Only agents and admins can be assigned tickets."),
            fields={"assignee_id": ["not an agent"]},
        )
    return user
