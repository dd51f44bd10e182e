"""Magic links that sign a customer in to the self-service portal."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow


class PortalLoginToken(Base):
    """One emailed sign-in link: only its SHA-256 is stored; it works once, until it expires."""

    __tablename__ = "portal_login_tokens"
    # Rate limiting counts a customer's recent links.
    __table_args__ = (Index("ix_portal_login_tokens_customer", "customer_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(320))  # the identity the link was sent to
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
