"""When each agent last read each ticket: the queue's unread markers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow


class TicketRead(Base):
    """A ticket is unread for a user when something happened on it after ``read_at``.

    Only the rows of the page on screen are looked up (primary key), so the queue costs the
    same at any size.
    """

    __tablename__ = "ticket_reads"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True
    )
    read_at: Mapped[datetime] = mapped_column(default=utcnow)
