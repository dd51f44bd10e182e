"""Outgoing email waiting to be sent, being sent, sent or given up on."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow


class OutboxStatus(enum.StrEnum):
    QUEUED = "queued"
    SENDING = "sending"  # claimed by a sender until ``next_attempt_at`` (the lease)
    SENT = "sent"
    FAILED = "failed"


class Outbox(Base):
    """One public message to deliver by email, written in the transaction of the message.

    ``next_attempt_at`` is when a queued row is due, and for a row being sent the end of the
    sender's lease: a sender that crashed mid-send leaves it ``sending`` and it is taken up
    again once the lease runs out. The sender loop walks ``(status, next_attempt_at)``.
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), unique=True
    )
    channel_id: Mapped[int] = mapped_column(
        ForeignKey("email_channels.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(16), default=OutboxStatus.QUEUED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    smtp_message_id: Mapped[str] = mapped_column(String(255), unique=True)  # without <>
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
