"""Business events on a customer's timeline, pushed in from outside: orders, purchases,
contract changes, calls. Sent through the API or a CSV import; ``(source, external_id)``
makes a repeated delivery harmless."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow


class CustomerEvent(Base):
    __tablename__ = "customer_events"
    __table_args__ = (
        UniqueConstraint("source", "external_id"),
        # A customer's events newest first, page after page.
        Index("ix_customer_events_customer", "customer_id", "occurred_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))  # order, purchase, contract, call, ...
    title: Mapped[str] = mapped_column(String(200))
    occurred_at: Mapped[datetime]
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # amount, currency, url...
    source: Mapped[str] = mapped_column(String(64), default="api")
    external_id: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
