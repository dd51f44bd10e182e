"""SLA set-up (business calendars, policies) and each ticket's SLA targets, which are its history.

A ticket matched by a policy gets one :class:`SlaTarget` row per target it runs: first response,
each next response (one cycle per customer message awaiting an answer) and resolution (a new
cycle when a solved ticket reopens). A row keeps its due time, when it was achieved, when the
warning and the breach fired, and the business time it spent paused. ``fire_at`` is the next
moment the SLA ticker must look at it, so that a ticker pass reads an index range and nothing
else.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow

# Tickets without a running SLA clock sort after every real due time in "breaches next" order.
# A real value (not NULL) keeps the keyset walk one plain index range on both databases, which
# order NULLs differently.
NO_DEADLINE = datetime(9999, 12, 31, tzinfo=UTC)
NO_DEADLINE_SQL = "'9999-12-31 00:00:00.000000'"  # the same, as both databases store it


def sla_clock(
    policy_id: int | None, due_at: datetime, warn_at: datetime | None, paused: bool
) -> dict[str, object]:
    """A ticket's SLA columns as the API and the queue show them."""
    return {
        "policy_id": policy_id,
        "due_at": None if due_at == NO_DEADLINE else due_at,
        "warn_at": warn_at,
        "paused": paused,
    }


class TargetKind(enum.StrEnum):
    FIRST_RESPONSE = "first_response"
    NEXT_RESPONSE = "next_response"
    RESOLUTION = "resolution"


class SlaCalendar(Base):
    """Business hours in a time zone with holidays: a country's public holidays, generated for
    every year by the ``holidays`` package, plus ``extra_holidays`` and minus
    ``removed_holidays`` (ISO dates)."""

    __tablename__ = "sla_calendars"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    timezone: Mapped[str] = mapped_column(String(64))
    always_open: Mapped[bool] = mapped_column(default=False)
    # Seven lists, Monday first, of "HH:MM-HH:MM" shifts.
    hours: Mapped[list[list[str]]] = mapped_column(JSON, default=list)
    holiday_country: Mapped[str | None] = mapped_column(String(8))
    holiday_subdivision: Mapped[str | None] = mapped_column(String(16))
    extra_holidays: Mapped[list[str]] = mapped_column(JSON, default=list)
    removed_holidays: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class SlaPolicy(Base):
    """Which tickets (``conditions``), which targets in business minutes, on which calendar.

    Policies are tried by ``position``; the first active one whose conditions all hold wins.
    ``escalations`` says what happens on warning and on breach.
    """

    __tablename__ = "sla_policies"
    __table_args__ = (
        CheckConstraint("warning_percent BETWEEN 1 AND 99", name="warning_percent_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    is_active: Mapped[bool] = mapped_column(default=True)
    calendar_id: Mapped[int] = mapped_column(ForeignKey("sla_calendars.id"))
    # {"priorities": ["urgent"], "group_ids": [2], "channels": ["email"], "tags": ["vip"],
    #  "organization_ids": [5], "customer_tiers": ["gold"]}; an absent key matches anything.
    conditions: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    first_response_minutes: Mapped[int | None]
    next_response_minutes: Mapped[int | None]
    resolution_minutes: Mapped[int | None]
    warning_percent: Mapped[int] = mapped_column(Integer, default=80)
    pause_statuses: Mapped[list[str]] = mapped_column(JSON, default=list)
    # {"warning": {"notify": true, "raise_priority": false, "group_id": null}, "breach": {...}}
    escalations: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class SlaTarget(Base):
    """One target of one ticket: running, paused, achieved, breached or cancelled."""

    __tablename__ = "sla_targets"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('first_response', 'next_response', 'resolution')", name="kind_known"
        ),
        Index("ix_sla_targets_ticket", "ticket_id", "id"),
        # The ticker's only read: targets whose next warning or breach has come.
        Index("ix_sla_targets_fire_at", "fire_at"),
        # Reports: targets that came due in a period.
        Index("ix_sla_targets_due", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    policy_id: Mapped[int | None] = mapped_column(
        ForeignKey("sla_policies.id", ondelete="SET NULL")
    )
    kind: Mapped[str] = mapped_column(String(16))
    cycle: Mapped[int] = mapped_column(Integer, default=1)
    target_minutes: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime]
    due_at: Mapped[datetime]
    warn_at: Mapped[datetime]
    # Set while the ticket is in a pausing status; the paused business time is added to the
    # target on resume, which moves ``due_at`` and ``warn_at`` later.
    paused_at: Mapped[datetime | None]
    paused_seconds: Mapped[int] = mapped_column(Integer, default=0)
    achieved_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    warned_at: Mapped[datetime | None]
    breached_at: Mapped[datetime | None]
    # Business seconds past the due time: set when achieved late (or cancelled after a breach).
    overrun_seconds: Mapped[int | None]
    fire_at: Mapped[datetime | None]

    @property
    def state(self) -> str:
        if self.cancelled_at is not None:
            return "cancelled"
        if self.achieved_at is not None:
            return "breached" if self.breached_at is not None else "achieved"
        if self.breached_at is not None:
            return "breached"
        if self.paused_at is not None:
            return "paused"
        return "warning" if self.warned_at is not None else "running"
