"""The SLA badge of a queue row or ticket: business time left, and whether the clock runs now.

Computed when a page is rendered or an event is built; the browser then counts down by itself
while the clock runs (``running``) and stops at ``until`` (the end of the current business
period), so a badge never ticks through a lunch break or a weekend. A reload or the next live
event brings a fresh figure.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..models import NO_DEADLINE, Ticket
from .business_time import BusinessCalendar, business_time_between, open_until
from .sla_clock import ticket_targets
from .sla_rules import Rules, current_rules
from .transaction import current_session

_ALWAYS = BusinessCalendar.twenty_four_seven()


def _signed_seconds(calendar: BusinessCalendar, now: datetime, moment: datetime) -> int:
    if moment >= now:
        return int(business_time_between(calendar, now, moment).total_seconds())
    return -int(business_time_between(calendar, moment, now).total_seconds())


def countdown(
    rules: Rules,
    policy_id: int | None,
    due_at: datetime | None,
    warn_at: datetime | None,
    paused: bool,
    now: datetime,
) -> dict[str, Any] | None:
    """``{state, remaining, warn_in, running, until, at}`` or None when no clock applies.

    ``state`` is ``ok``, ``warning``, ``breached`` or ``paused``; ``remaining`` and ``warn_in``
    are business seconds (negative once passed).
    """
    if policy_id is None:
        return None
    if paused:
        return {"state": "paused"}
    if due_at is None or due_at == NO_DEADLINE:
        return None
    rule = rules.by_id.get(policy_id)
    calendar = rule.calendar if rule else _ALWAYS
    remaining = _signed_seconds(calendar, now, due_at)
    warn_in = _signed_seconds(calendar, now, warn_at) if warn_at else remaining
    until = open_until(calendar, now)
    state = "breached" if remaining <= 0 else "warning" if warn_in <= 0 else "ok"
    return {
        "state": state,
        "remaining": remaining,
        "warn_in": warn_in,
        "running": until is not None,
        "until": until.isoformat() if until else None,
        "at": now.isoformat(),
    }


def countdowns(rows: list[dict[str, Any]], now: datetime) -> None:
    """Add ``sla_countdown`` to queue rows (``ticket_rows`` dicts), one rules lookup in all."""
    if not any(row["sla"]["policy_id"] for row in rows):
        return
    rules = current_rules(current_session())
    for row in rows:
        sla = row["sla"]
        row["sla_countdown"] = countdown(
            rules, sla["policy_id"], sla["due_at"], sla["warn_at"], sla["paused"], now
        )


def target_rows(ticket: Ticket, now: datetime) -> list[dict[str, Any]]:
    """The ticket's SLA history for its page: every target, with a badge for those open."""
    rules = current_rules(current_session())
    rows = []
    for target in ticket_targets(ticket):
        open_ = target.achieved_at is None and target.cancelled_at is None
        rows.append(
            {
                "target": target,
                "countdown": countdown(
                    rules,
                    target.policy_id or ticket.sla_policy_id,
                    target.due_at,
                    target.warn_at,
                    target.paused_at is not None,
                    now,
                )
                if open_
                else None,
            }
        )
    return rows


def ticket_countdown(ticket: Ticket, now: datetime) -> dict[str, Any] | None:
    """The badge of the ticket's SLA clock (its first due time)."""
    if ticket.sla_policy_id is None:
        return None
    return countdown(
        current_rules(current_session()),
        ticket.sla_policy_id,
        ticket.sla_due_at,
        ticket.sla_warn_at,
        ticket.sla_paused,
        now,
    )
