"""Staff following a customer or a ticket: they hear of its new activity (live and by email)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow


class Follow(Base):
    __tablename__ = "follows"
    __table_args__ = (
        CheckConstraint("(customer_id IS NULL) <> (ticket_id IS NULL)", name="one_target"),
        UniqueConstraint("user_id", "customer_id"),
        UniqueConstraint("user_id", "ticket_id"),
        # Who follows this customer / ticket: read on every new message.
        Index("ix_follows_customer", "customer_id"),
        Index("ix_follows_ticket", "ticket_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
