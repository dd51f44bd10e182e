"""A queue view an agent saved: a name and a ticket filter, listed under the standard views."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow


class SavedView(Base):
    """``filter`` holds the fields of ``TicketFilter`` that were set (statuses, priority,
    channel, tag, assignee_id or unassigned, group_id, customer_id)."""

    __tablename__ = "saved_views"
    __table_args__ = (Index("ix_saved_views_user", "user_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(80))
    filter: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
