"""The SLA ticker: fires warnings and breaches on time, once each, and re-matches after edits.

A pass reads the targets whose ``fire_at`` has come (one index range; nothing else is touched),
locks their tickets and fires what is still due under the lock. Every change to a target is
made by someone holding its ticket's row lock, so two workers cannot fire the same warning:
the second finds ``fire_at`` moved on, or skips the ticket the first still holds.

Escalations per stage (policy ``escalations``): notify the assignee and the group's leads,
raise the priority one step, reassign to a group. A breach found before its warning fired only
escalates the breach.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..events import TicketUpdated, publish
from ..models import (
    OPEN_STATUSES,
    PRIORITY_NAMES,
    Counter,
    NotificationKind,
    Priority,
    SlaTarget,
    Ticket,
    user_groups,
    utcnow,
)
from . import audit, staff_mail
from .notifications import notify
from .permissions import SYSTEM
from .sla_clock import next_fire, update_clock
from .sla_rules import RULES_COUNTER, Rule, current_rules, ensure_counter
from .snapshots import ticket_snapshot
from .tickets import TICKET_LOAD, touch_ticket
from .transaction import current_session, transaction

BATCH = 200
REMATCH_BATCH = 500
_REMATCH_FOR, _REMATCH_CURSOR = "sla_rematch_for", "sla_rematch_cursor"
_DEFAULT_ESCALATION = {"notify": True, "raise_priority": False, "group_id": None}


@dataclass
class TickResult:
    warnings: int = 0
    breaches: int = 0
    tickets: set[int] = field(default_factory=set)


def tick(now: datetime | None = None, *, limit: int = BATCH) -> TickResult:
    """Fire the warnings and breaches due by ``now`` (at most ``limit`` targets per call)."""
    now = now or utcnow()
    result = TickResult()
    # A cheap read first: on SQLite a write transaction every second would queue behind (and
    # in front of) every request's writes for nothing.
    idle = current_session()
    if idle.scalar(select(SlaTarget.id).where(SlaTarget.fire_at <= now).limit(1)) is None:
        idle.rollback()
        return result
    with transaction() as session:
        ticket_ids = list(
            dict.fromkeys(
                session.scalars(
                    select(SlaTarget.ticket_id)
                    .where(SlaTarget.fire_at <= now)
                    .order_by(SlaTarget.fire_at)
                    .limit(limit)
                )
            )
        )
        if not ticket_ids:
            return result
        locked = session.scalars(
            select(Ticket)
            .options(*TICKET_LOAD)
            .where(Ticket.id.in_(ticket_ids))
            .order_by(Ticket.id)
            .with_for_update(of=Ticket, skip_locked=True)
            .execution_options(populate_existing=True)
        ).unique()
        rules = current_rules(session)
        for ticket in locked:
            due = session.scalars(
                select(SlaTarget)
                .where(SlaTarget.ticket_id == ticket.id, SlaTarget.fire_at <= now)
                .order_by(SlaTarget.id)
            ).all()
            for target in due:
                stage = _advance(target, now)
                if stage == "breach":
                    result.breaches += 1
                elif stage == "warning":
                    result.warnings += 1
                if stage:
                    result.tickets.add(ticket.id)
                    rule = rules.by_id.get(target.policy_id or 0)
                    _escalate(session, ticket, rule, target, stage, now)
    return result


def _advance(target: SlaTarget, now: datetime) -> str | None:
    """Mark the warning or breach that has come; returns which (None if nothing did)."""
    stage = None
    if target.breached_at is None and now >= target.due_at:
        target.warned_at = target.warned_at or now  # a breach supersedes its warning
        target.breached_at = target.due_at
        stage = "breach"
    elif target.warned_at is None and now >= target.warn_at:
        target.warned_at = target.warn_at
        stage = "warning"
    target.fire_at = next_fire(target)
    return stage


def _leads(session: Session, group_id: int | None) -> list[int]:
    if group_id is None:
        return []
    return list(
        session.scalars(
            select(user_groups.c.user_id).where(
                user_groups.c.group_id == group_id, user_groups.c.is_lead.is_(True)
            )
        )
    )


def _escalate(
    session: Session,
    ticket: Ticket,
    rule: Rule | None,
    target: SlaTarget,
    stage: str,
    now: datetime,
) -> None:
    steps = (rule.escalations.get(stage) if rule else None) or _DEFAULT_ESCALATION
    # The assignee and the leads of the group, both the one that let it slip and the one it
    # is escalated to.
    recipients = {*_leads(session, ticket.group_id)}
    if ticket.assignee_id is not None:
        recipients.add(ticket.assignee_id)
    diff: dict[str, list[Any]] = {}
    if steps.get("raise_priority") and ticket.priority < Priority.URGENT:
        diff["priority"] = [PRIORITY_NAMES[ticket.priority], PRIORITY_NAMES[ticket.priority + 1]]
        ticket.priority += 1
    group_id = steps.get("group_id")
    if group_id is not None and group_id != ticket.group_id:
        diff["group_id"] = [ticket.group_id, group_id]
        ticket.group_id = group_id
    if diff:
        touch_ticket(ticket)
        update_clock(session, ticket, now, rematch=True)
    data = {
        "target": target.kind,
        "cycle": target.cycle,
        "due_at": target.due_at.isoformat(),
        "policy_id": target.policy_id,
    }
    audit.record(
        session,
        SYSTEM,
        f"sla.{stage}",
        ticket_id=ticket.id,
        customer_id=ticket.customer_id,
        changes=diff or None,
        data=data,
    )
    if steps.get("notify", True):
        kind = NotificationKind.SLA_BREACHED if stage == "breach" else NotificationKind.SLA_WARNING
        recipients |= {*_leads(session, ticket.group_id)}
        notify(
            session,
            user_ids=recipients,
            kind=kind,
            ticket=ticket,
            actor_user_id=None,
            excerpt=target.kind,
        )
        staff_mail.queue_escalation(session, recipients, ticket, stage, target.kind, target.due_at)
    changes: dict[str, list[Any]] = {**diff, "sla": [None, f"{stage}:{target.kind}"]}
    publish(session, TicketUpdated(ticket_snapshot(ticket), changes))


# --- re-matching open tickets after a policy or calendar change ----------------------------


def _counter(session: Session, name: str, *, initial: int = 0) -> int:
    """A progress counter of the re-match pass, created if missing and locked till commit."""
    ensure_counter(session, name, initial)
    stmt = select(Counter.value).where(Counter.name == name).with_for_update()
    return int(session.scalar(stmt) or 0)


def _set_counter(session: Session, name: str, value: int) -> None:
    session.execute(update(Counter).where(Counter.name == name).values(value=value))


def rematch(*, limit: int = REMATCH_BATCH) -> int:
    """Re-match the next ``limit`` open tickets if the rules changed since the last full pass.

    Progress is kept in two counters (the rules version the pass is for, the last ticket id
    done), locked while a batch runs, so two workers share the work and a restart resumes it.
    Returns how many tickets were re-matched.
    """
    idle = current_session()
    names = [RULES_COUNTER, _REMATCH_FOR, _REMATCH_CURSOR]
    stmt = select(Counter.name, Counter.value).where(Counter.name.in_(names))
    values = {name: value for name, value in idle.execute(stmt)}
    idle.rollback()
    if (
        values.get(_REMATCH_FOR, 0) == values.get(RULES_COUNTER, 0)
        and values.get(_REMATCH_CURSOR, -1) < 0
    ):
        return 0  # nothing to re-match: no write transaction
    with transaction() as session:
        # Read only: the rules version is created by the first change of the rules.
        version = session.scalar(select(Counter.value).where(Counter.name == RULES_COUNTER)) or 0
        done_for = _counter(session, _REMATCH_FOR)
        cursor = _counter(session, _REMATCH_CURSOR, initial=-1)  # -1: pass done
        if done_for == version and cursor < 0:
            return 0
        if done_for != version:
            cursor = 0  # the rules changed again: start over
            _set_counter(session, _REMATCH_FOR, version)
        ids = list(
            session.scalars(
                select(Ticket.id)
                .where(
                    Ticket.id > cursor,
                    Ticket.status.in_([s.value for s in OPEN_STATUSES]),
                    Ticket.merged_into_id.is_(None),
                )
                .order_by(Ticket.id)
                .limit(limit)
            )
        )
        if ids:
            _rematch_where(session, Ticket.id.in_(ids))
        _set_counter(session, _REMATCH_CURSOR, ids[-1] if len(ids) == limit else -1)
        return len(ids)


def rematch_customer(session: Session, customer_id: int) -> int:
    """Re-match a customer's open tickets in the caller's transaction, after a change of what
    policies match on (the customer's tier): a customer made VIP gets the VIP targets on the
    tickets already open, not only on the next one. Returns how many were re-matched."""
    return _rematch_where(
        session,
        Ticket.customer_id == customer_id,
        Ticket.status.in_([s.value for s in OPEN_STATUSES]),
        Ticket.merged_into_id.is_(None),
    )


def _rematch_where(session: Session, *conditions: Any) -> int:
    now = utcnow()
    tickets = session.scalars(
        select(Ticket)
        .options(*TICKET_LOAD)
        .where(*conditions)
        .order_by(Ticket.id)
        .with_for_update(of=Ticket)
        .execution_options(populate_existing=True)
    ).unique()
    count = 0
    for ticket in tickets:
        count += 1
        if update_clock(session, ticket, now, rematch=True):
            changes: dict[str, list[Any]] = {"sla": [None, "rematched"]}
            publish(session, TicketUpdated(ticket_snapshot(ticket), changes))
    return count
