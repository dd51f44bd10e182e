"""Notifications for staff: assigned to you, mentioned in a note, your customer replied."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow


class NotificationKind(StrEnum):
    ASSIGNED = "assigned"
    MENTIONED = "mentioned"
    CUSTOMER_REPLIED = "customer_replied"
    SLA_WARNING = "sla_warning"
    SLA_BREACHED = "sla_breached"
    FOLLOWED = "followed"  # new activity on a customer or ticket the user follows


class Notification(Base):
    """One line in a user's notification list; ``read_at`` is set when they open it."""

    __tablename__ = "notifications"
    # The bell asks for a user's newest and counts their unread ones.
    __table_args__ = (Index("ix_notifications_user_unread", "user_id", "read_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]
