"""The SLA set-up as every process uses it: compiled policies with their business calendars.

Policies and calendars change rarely and are read on every ticket write, so each process keeps
them compiled in memory. Every change bumps the ``sla_rules`` counter in the same transaction;
a process compares its copy's version with the counter at most once a second
(``VERSION_CHECK_SECONDS``) and recompiles when it moved, and at once after a change made by
itself. Open tickets are re-matched after a change by the SLA ticker (``sla_ticker.rematch``).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import event, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..models import PRIORITY_NAMES, Counter, SlaCalendar, SlaPolicy, Status, TargetKind
from .business_time import BusinessCalendar, CalendarError, public_holidays

RULES_COUNTER = "sla_rules"
VERSION_CHECK_SECONDS = 1.0
# Country holidays are generated for this many years around today: enough for any due time
# (targets are hours to weeks) and for reports on the recent past.
HOLIDAY_YEARS_BACK, HOLIDAY_YEARS_AHEAD = 2, 3
DEFAULT_PAUSE_STATUSES = (Status.PENDING.value, Status.ON_HOLD.value)
CONDITION_KEYS = (
    "priorities",
    "group_ids",
    "channels",
    "tags",
    "organization_ids",
    "customer_tiers",
)


@dataclass(frozen=True)
class TicketFacts:
    """What policy conditions look at."""

    priority: int
    group_id: int | None
    channel: str
    tags: frozenset[str]
    organization_id: int | None
    customer_tier: str | None


@dataclass(frozen=True)
class Rule:
    """A compiled policy."""

    id: int
    name: str
    calendar: BusinessCalendar
    conditions: dict[str, frozenset[Any]]
    minutes: dict[str, int]  # TargetKind value -> business minutes
    warning_percent: int
    pause_statuses: frozenset[str]
    escalations: dict[str, dict[str, Any]]

    def matches(self, facts: TicketFacts) -> bool:
        c = self.conditions
        return (
            ("priorities" not in c or PRIORITY_NAMES[facts.priority] in c["priorities"])
            and ("group_ids" not in c or facts.group_id in c["group_ids"])
            and ("channels" not in c or facts.channel in c["channels"])
            and ("tags" not in c or bool(c["tags"] & facts.tags))
            and ("organization_ids" not in c or facts.organization_id in c["organization_ids"])
            and ("customer_tiers" not in c or facts.customer_tier in c["customer_tiers"])
        )

    def target(self, kind: str) -> timedelta | None:
        minutes = self.minutes.get(kind)
        return timedelta(minutes=minutes) if minutes else None

    def warning(self, kind: str) -> timedelta | None:
        minutes = self.minutes.get(kind)
        return timedelta(seconds=minutes * 60 * self.warning_percent // 100) if minutes else None


@dataclass(frozen=True)
class Rules:
    version: int
    ordered: tuple[Rule, ...]
    by_id: dict[int, Rule]

    def match(self, facts: TicketFacts) -> Rule | None:
        return next((rule for rule in self.ordered if rule.matches(facts)), None)


_lock = threading.Lock()
_cached: Rules | None = None
_checked_at = 0.0


def calendar_of(row: SlaCalendar, today: date | None = None) -> BusinessCalendar:
    """The business calendar a stored calendar describes. Raises ``CalendarError``."""
    if row.always_open:
        return BusinessCalendar.twenty_four_seven(row.timezone)
    holidays: set[date] = set()
    if row.holiday_country:
        year = (today or date.today()).year
        years = range(year - HOLIDAY_YEARS_BACK, year + HOLIDAY_YEARS_AHEAD + 1)
        holidays |= set(public_holidays(row.holiday_country, years, row.holiday_subdivision))
    holidays |= {date.fromisoformat(d) for d in row.extra_holidays}
    holidays -= {date.fromisoformat(d) for d in row.removed_holidays}
    return BusinessCalendar.weekly(
        row.timezone, {day: shifts for day, shifts in enumerate(row.hours)}, holidays
    )


def _compile(session: Session, version: int) -> Rules:
    calendars = {row.id: row for row in session.scalars(select(SlaCalendar))}
    compiled: dict[int, BusinessCalendar] = {}
    rules = []
    active = select(SlaPolicy).where(SlaPolicy.is_active.is_(True))
    for policy in session.scalars(active.order_by(SlaPolicy.position, SlaPolicy.id)):
        if policy.calendar_id not in compiled:
            try:
                compiled[policy.calendar_id] = calendar_of(calendars[policy.calendar_id])
            except CalendarError:
                continue  # validated when saved; a country dropped by a library upgrade lands here
        conditions = {
            key: frozenset(values)
            for key, values in (policy.conditions or {}).items()
            if key in CONDITION_KEYS and values
        }
        minutes = {
            TargetKind.FIRST_RESPONSE.value: policy.first_response_minutes,
            TargetKind.NEXT_RESPONSE.value: policy.next_response_minutes,
            TargetKind.RESOLUTION.value: policy.resolution_minutes,
        }
        rules.append(
            Rule(
                id=policy.id,
                name=policy.name,
                calendar=compiled[policy.calendar_id],
                conditions=conditions,
                minutes={k: v for k, v in minutes.items() if v},
                warning_percent=policy.warning_percent,
                pause_statuses=frozenset(policy.pause_statuses),
                escalations=dict(policy.escalations or {}),
            )
        )
    return Rules(version, tuple(rules), {rule.id: rule for rule in rules})


def _stored_version(session: Session) -> int:
    return session.scalar(select(Counter.value).where(Counter.name == RULES_COUNTER)) or 0


def current_rules(session: Session) -> Rules:
    """The compiled policies, recompiled when another process (or this one) changed them."""
    global _cached, _checked_at
    cached, now = _cached, time.monotonic()
    if cached is not None and now - _checked_at < VERSION_CHECK_SECONDS:
        return cached
    version = _stored_version(session)
    if cached is None or cached.version != version:
        cached = _compile(session, version)
    with _lock:
        _cached, _checked_at = cached, now
    return cached


def ensure_counter(session: Session, name: str, initial: int = 0) -> None:
    """Create the counter row if it is missing, safely when another process (a worker's
    ticker, another web process) creates it at the same moment."""
    if session.scalar(select(Counter.name).where(Counter.name == name)) is not None:
        return
    try:
        with session.begin_nested():
            session.add(Counter(name=name, value=initial))
    except IntegrityError:
        pass  # the other one won: the row is there


def rules_changed(session: Session) -> int:
    """Bump the rules version (inside the changing transaction); returns the new version."""
    ensure_counter(session, RULES_COUNTER)
    session.execute(
        update(Counter).where(Counter.name == RULES_COUNTER).values(value=Counter.value + 1)
    )
    # This process sees the change as soon as it is committed, not a second later.
    event.listen(session, "after_commit", lambda _session: forget_rules(), once=True)
    return _stored_version(session)


def forget_rules() -> None:
    """Drop this process's compiled copy (after a change, and between tests)."""
    global _cached, _checked_at
    with _lock:
        _cached, _checked_at = None, 0.0
