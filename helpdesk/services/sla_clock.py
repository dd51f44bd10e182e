"""Each ticket's SLA clock: starting, pausing, resuming, achieving and re-matching its targets.

Called by the ticket services inside their transaction, with the ticket row locked, whenever
something the clock depends on changes: a new ticket, a customer message, a public reply on
any channel (internal notes never count), a status change, a change of the fields policies
match on, or a policy edit (through the ticker's re-match pass). It keeps the ticket's SLA
columns (``sla_due_at``, ``sla_warn_at``, ``sla_paused``) in step, so that queues sort by
"breaches next" with an index and compute nothing at query time.

Due times are always derived the same way: ``started_at`` plus the target plus the business
time spent paused, on the policy's calendar. Resuming, a policy edit and a re-match therefore
all reduce to recomputing from the stored facts.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Connection, Table, func, insert, select
from sqlalchemy.orm import Session

from ..models import NO_DEADLINE, SlaTarget, Status, TargetKind, Ticket
from .business_time import NoBusinessTime, add_business_time, business_time_between
from .sla_rules import Rule, Rules, TicketFacts, current_rules
from .transaction import current_session

_RESPONSES = (TargetKind.FIRST_RESPONSE.value, TargetKind.NEXT_RESPONSE.value)
_DONE = (Status.SOLVED.value, Status.CLOSED.value)
_INSERT_TARGETS = insert(cast(Table, SlaTarget.__table__))


def facts_of(ticket: Ticket, *, tags: Sequence[str] | None = None) -> TicketFacts:
    """The matched-on facts of a loaded ticket (its customer and tags loaded)."""
    names = tags if tags is not None else [t.name for t in ticket.tags]
    return TicketFacts(
        priority=ticket.priority,
        group_id=ticket.group_id,
        channel=ticket.channel,
        tags=frozenset(names),
        organization_id=ticket.organization_id,
        customer_tier=ticket.customer.tier,
    )


def _add(rule: Rule, start: datetime, duration: timedelta) -> datetime:
    try:
        return add_business_time(rule.calendar, start, duration)
    except NoBusinessTime:
        return NO_DEADLINE  # a calendar closed for years: the clock never runs out


def next_fire(target: SlaTarget) -> datetime | None:
    """When the ticker must next look at ``target``: its warning, then its breach."""
    if target.achieved_at or target.cancelled_at or target.paused_at or target.breached_at:
        return None
    if target.warned_at is None and target.warn_at < target.due_at:
        return target.warn_at
    return None if target.due_at == NO_DEADLINE else target.due_at


def _schedule(target: SlaTarget, rule: Rule) -> None:
    """(Re)compute due and warning times from the target's stored facts."""
    paused = timedelta(seconds=target.paused_seconds)
    target.policy_id = rule.id
    target.target_minutes = rule.minutes[target.kind]
    start, kind = target.started_at, target.kind
    target.due_at = _add(rule, start, cast(timedelta, rule.target(kind)) + paused)
    target.warn_at = _add(rule, start, cast(timedelta, rule.warning(kind)) + paused)
    target.fire_at = next_fire(target)


def _new_target(rule: Rule, kind: str, cycle: int, at: datetime, paused: bool) -> SlaTarget:
    target = SlaTarget(kind=kind, cycle=cycle, started_at=at, paused_seconds=0)
    target.warned_at = target.breached_at = target.achieved_at = target.cancelled_at = None
    target.paused_at = at if paused else None
    _schedule(target, rule)
    return target


def _overrun(rule: Rule | None, target: SlaTarget, at: datetime) -> int:
    if rule is None or at <= target.due_at:
        return 0
    return int(business_time_between(rule.calendar, target.due_at, at).total_seconds())


def _resume(rule: Rule, target: SlaTarget, at: datetime) -> None:
    if target.paused_at is not None:
        spent = business_time_between(rule.calendar, target.paused_at, at)
        target.paused_seconds += int(spent.total_seconds())
        target.paused_at = None
        _schedule(target, rule)


def _achieve(rule: Rule | None, target: SlaTarget, at: datetime) -> None:
    if rule is not None:
        _resume(rule, target, at)
    target.achieved_at = at
    if at > target.due_at:
        target.breached_at = target.breached_at or target.due_at
        target.overrun_seconds = _overrun(rule, target, at)
    target.fire_at = None


def _cancel(rule: Rule | None, target: SlaTarget, at: datetime) -> None:
    if rule is not None:
        _resume(rule, target, at)
    target.cancelled_at = at
    if target.breached_at is not None:
        target.overrun_seconds = _overrun(rule, target, at)
    target.fire_at = None


def _summary(targets: Sequence[SlaTarget]) -> dict[str, Any]:
    """The ticket's SLA columns for its open targets: the first due time of those running."""
    open_ = [t for t in targets if t.achieved_at is None and t.cancelled_at is None]
    running = [t for t in open_ if t.paused_at is None]
    first = min(running, key=lambda t: t.due_at) if running else None
    return {
        "sla_due_at": first.due_at if first else NO_DEADLINE,
        "sla_warn_at": first.warn_at if first else None,
        "sla_paused": bool(open_) and not running,
    }


def new_ticket_targets(
    session: Session,
    values: dict[str, Any],
    *,
    tags: Sequence[str],
    customer_tier: str | None,
) -> list[dict[str, Any]]:
    """For a ticket about to be inserted (``values``): set its SLA columns and return the
    target rows to insert once its id is known (see :func:`insert_targets`)."""
    values.update(sla_policy_id=None, sla_due_at=NO_DEADLINE, sla_warn_at=None, sla_paused=False)
    rules = current_rules(session)
    if not rules.ordered:
        return []
    facts = TicketFacts(
        priority=values["priority"],
        group_id=values["group_id"],
        channel=values["channel"],
        tags=frozenset(tags),
        organization_id=values["organization_id"],
        customer_tier=customer_tier,
    )
    rule = rules.match(facts)
    if rule is None:
        return []
    at, paused = values["created_at"], values["status"] in rule.pause_statuses
    targets = [
        _new_target(rule, kind, 1, at, paused)
        for kind in (TargetKind.FIRST_RESPONSE, TargetKind.RESOLUTION)
        if kind in rule.minutes
    ]
    if not targets:
        return []
    values.update(sla_policy_id=rule.id, **_summary(targets))
    columns = SlaTarget.__table__.columns.keys()
    return [{c: getattr(t, c) for c in columns if c not in ("id", "ticket_id")} for t in targets]


def insert_targets(connection: Connection, rows: list[dict[str, Any]]) -> None:
    """Insert the rows of ``new_ticket_targets``, each given its ``ticket_id``."""
    if rows:
        connection.execute(_INSERT_TARGETS, rows)


def open_targets(session: Session, ticket_id: int) -> list[SlaTarget]:
    return list(
        session.scalars(
            select(SlaTarget)
            .where(
                SlaTarget.ticket_id == ticket_id,
                SlaTarget.achieved_at.is_(None),
                SlaTarget.cancelled_at.is_(None),
            )
            .order_by(SlaTarget.id)
        )
    )


def _next_cycle(session: Session, ticket_id: int, kind: str) -> int:
    last = session.scalar(
        select(func.max(SlaTarget.cycle)).where(
            SlaTarget.ticket_id == ticket_id, SlaTarget.kind == kind
        )
    )
    return (last or 0) + 1


def _start(
    session: Session, ticket: Ticket, rule: Rule, targets: list[SlaTarget], kind: str, at: datetime
) -> None:
    if kind not in rule.minutes or any(t.kind == kind for t in targets):
        return
    target = _new_target(
        rule, kind, _next_cycle(session, ticket.id, kind), at, ticket.status in rule.pause_statuses
    )
    target.ticket_id = ticket.id
    session.add(target)
    targets.append(target)


def _awaiting_answer(ticket: Ticket) -> bool:
    asked = ticket.last_customer_message_at
    answered = ticket.last_agent_message_at
    return asked is not None and (answered is None or asked > answered)


def _rematch(
    session: Session, ticket: Ticket, rules: Rules, targets: list[SlaTarget], at: datetime
) -> Rule | None:
    """Put the ticket under the policy that matches it now, rescheduling what runs."""
    old = rules.by_id.get(ticket.sla_policy_id) if ticket.sla_policy_id else None
    rule = rules.match(facts_of(ticket)) if ticket.merged_into_id is None else None
    for target in list(targets):
        if rule is None or target.kind not in rule.minutes:
            _cancel(old, target, at)
            targets.remove(target)
        else:
            if old is not None and old is not rule:
                _resume(old, target, at)  # paused time measured on the calendar it ran on
                if ticket.status in rule.pause_statuses:
                    target.paused_at = at
            _schedule(target, rule)
    ticket.sla_policy_id = rule.id if rule else None
    if rule is not None and ticket.status not in _DONE:
        if ticket.first_response_at is None:
            _start(session, ticket, rule, targets, TargetKind.FIRST_RESPONSE, ticket.created_at)
        elif _awaiting_answer(ticket):
            since = cast(datetime, ticket.last_customer_message_at)
            _start(session, ticket, rule, targets, TargetKind.NEXT_RESPONSE, since)
        _start(session, ticket, rule, targets, TargetKind.RESOLUTION, ticket.created_at)
    return rule


def update_clock(
    session: Session,
    ticket: Ticket,
    at: datetime,
    *,
    status_from: str | None = None,
    public_reply: bool = False,
    customer_message: bool = False,
    rematch: bool = False,
) -> bool:
    """Bring the ticket's SLA targets up to date after a change made at ``at``.

    ``status_from`` is the status before the change (when it changed); ``rematch`` after a
    change of a matched-on field or of the policies. Returns whether the ticket's SLA columns
    changed, for the caller's event.
    """
    rules = current_rules(session)
    if ticket.sla_policy_id is None and not (rematch and rules.ordered):
        return False
    before = _columns(ticket)
    targets = open_targets(session, ticket.id) if ticket.sla_policy_id is not None else []
    rule = rules.by_id.get(ticket.sla_policy_id) if ticket.sla_policy_id is not None else None
    if rematch or rule is None:
        rule = _rematch(session, ticket, rules, targets, at)
    if rule is not None:
        if public_reply:
            for target in [t for t in targets if t.kind in _RESPONSES]:
                _achieve(rule, target, at)
                targets.remove(target)
        if status_from is not None and status_from != ticket.status:
            _status_changed(session, ticket, rule, targets, status_from, at)
        if (
            customer_message
            and ticket.first_response_at is not None
            and ticket.status not in _DONE
            and not any(t.kind in _RESPONSES for t in targets)
        ):
            _start(session, ticket, rule, targets, TargetKind.NEXT_RESPONSE, at)
    for name, value in _summary(targets).items():
        setattr(ticket, name, value)
    return before != _columns(ticket)


def _columns(ticket: Ticket) -> tuple[object, ...]:
    return (ticket.sla_policy_id, ticket.sla_due_at, ticket.sla_warn_at, ticket.sla_paused)


def _status_changed(
    session: Session,
    ticket: Ticket,
    rule: Rule,
    targets: list[SlaTarget],
    status_from: str,
    at: datetime,
) -> None:
    status = ticket.status
    if status in _DONE:
        for target in list(targets):
            if target.kind == TargetKind.RESOLUTION:
                _achieve(rule, target, at)
            else:
                _cancel(rule, target, at)  # solved without an answer: nothing left to answer
            targets.remove(target)
        return
    if status_from in _DONE:  # reopened: the problem was not solved after all
        _start(session, ticket, rule, targets, TargetKind.RESOLUTION, at)
    pause = status in rule.pause_statuses
    for target in targets:
        if pause and target.paused_at is None:
            target.paused_at, target.fire_at = at, None
        elif not pause:
            _resume(rule, target, at)


def ticket_targets(ticket: Ticket) -> list[SlaTarget]:
    """Every target the ticket ran, oldest first: its SLA history (``ticket`` already checked
    for the caller's permission)."""
    stmt = select(SlaTarget).where(SlaTarget.ticket_id == ticket.id).order_by(SlaTarget.id)
    return list(current_session().scalars(stmt))
