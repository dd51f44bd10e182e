"""Tickets, tags and the counter that gives tickets their human-friendly numbers."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Table,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, utcnow
from .customer import Customer, Organization
from .sla import NO_DEADLINE, NO_DEADLINE_SQL, sla_clock
from .user import Group, User


class Status(enum.StrEnum):
    NEW = "new"
    OPEN = "open"
    PENDING = "pending"
    ON_HOLD = "on-hold"
    SOLVED = "solved"
    CLOSED = "closed"


OPEN_STATUSES = (Status.NEW, Status.OPEN, Status.PENDING, Status.ON_HOLD)


class Priority(enum.IntEnum):
    LOW = 1
    NORMAL = 2
    HIGH = 3
    URGENT = 4


# Stored as numbers (so queues can sort by them), shown and exchanged as names.
PRIORITY_NAMES = {p.value: p.name.lower() for p in Priority}


class Channel(enum.StrEnum):
    EMAIL = "email"
    CHAT = "chat"
    PHONE = "phone"
    SOCIAL = "social"
    WEB = "web"
    API = "api"


ticket_tags = Table(
    "ticket_tags",
    Base.metadata,
    Column("ticket_id", ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_ticket_tags_tag_ticket", "tag_id", "ticket_id"),
)


class Tag(Base):
    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)


class Counter(Base):
    """Named monotonic counters (ticket numbers), advanced inside the writing transaction."""

    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(Integer)


class Ticket(Base):
    """A customer's case. Queue views filter on status/group/assignee and sort by last update.

    Every queue view has an index it can walk in order ``(filters..., updated_at, id)``, so a
    page costs the same at a thousand tickets as at a million; see ``services.ticket_queries``.
    """

    __tablename__ = "tickets"
    __table_args__ = (
        CheckConstraint(
            "status IN ('new', 'open', 'pending', 'on-hold', 'solved', 'closed')",
            name="status_known",
        ),
        CheckConstraint("priority BETWEEN 1 AND 4", name="priority_range"),
        Index("ix_tickets_updated", "updated_at", "id"),
        Index("ix_tickets_status_updated", "status", "updated_at", "id"),
        Index("ix_tickets_group_status_updated", "group_id", "status", "updated_at", "id"),
        Index("ix_tickets_assignee_status_updated", "assignee_id", "status", "updated_at", "id"),
        Index("ix_tickets_customer_updated", "customer_id", "updated_at", "id"),
        Index("ix_tickets_organization_updated", "organization_id", "updated_at", "id"),
        # "Breaches next" order for the same views (see ``sla_due_at``).
        Index("ix_tickets_status_sla_due", "status", "sla_due_at", "id"),
        Index("ix_tickets_group_status_sla_due", "group_id", "status", "sla_due_at", "id"),
        Index("ix_tickets_assignee_status_sla_due", "assignee_id", "status", "sla_due_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int] = mapped_column(Integer, unique=True)
    subject: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), default=Status.NEW)
    priority: Mapped[int] = mapped_column(SmallInteger, default=Priority.NORMAL)
    channel: Mapped[str] = mapped_column(String(16))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="SET NULL")
    )
    group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id", ondelete="SET NULL"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    merged_into_id: Mapped[int | None] = mapped_column(
        ForeignKey("tickets.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    first_response_at: Mapped[datetime | None]
    solved_at: Mapped[datetime | None]
    last_customer_message_at: Mapped[datetime | None]
    last_agent_message_at: Mapped[datetime | None]
    message_count: Mapped[int] = mapped_column(Integer, default=0)
    # The SLA clock as queues show and sort it, kept by ``services.sla`` whenever it changes:
    # the earliest due time of the running targets (``NO_DEADLINE`` when none runs), when that
    # target warns, and whether the clock is paused by the ticket's status.
    # No foreign key: added to a table that may hold millions of rows, which SQLite can only
    # do in place without one; deleting a policy clears it (``services.sla_admin``).
    sla_policy_id: Mapped[int | None]
    sla_due_at: Mapped[datetime] = mapped_column(
        default=NO_DEADLINE, server_default=text(NO_DEADLINE_SQL)
    )
    sla_warn_at: Mapped[datetime | None]
    sla_paused: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    # Bumped on every change; clients send it back to detect that someone else changed the
    # ticket meanwhile (HTTP 409 instead of silently overwriting a colleague's work).
    version: Mapped[int] = mapped_column(Integer, default=1)

    @property
    def sla(self) -> dict[str, object]:
        """The SLA clock as the API shows it: ``due_at`` is None when no target runs."""
        return sla_clock(self.sla_policy_id, self.sla_due_at, self.sla_warn_at, self.sla_paused)

    customer: Mapped[Customer] = relationship(lazy="raise")
    organization: Mapped[Organization | None] = relationship(lazy="raise")
    group: Mapped[Group | None] = relationship(lazy="raise")
    assignee: Mapped[User | None] = relationship(lazy="raise")
    tags: Mapped[list[Tag]] = relationship(secondary=ticket_tags, lazy="raise", order_by=Tag.name)
