"""Magic links that sign a customer in to the self-service portal.

Each row is both the link and the email that carries it: a mail queue row with the lease
columns of ``services.mail_queue``. The database never holds a usable link: the token is an
HMAC of ``nonce`` under the instance secret key, derived again by the sender, and only its
SHA-256 (``token_hash``) is stored for the lookup when the link is opened.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow
from .outbox import OutboxStatus


class PortalLoginToken(Base):
    """One emailed sign-in link: it works once, until it expires."""

    __tablename__ = "portal_login_tokens"
    __table_args__ = (
        # Rate limiting counts a customer's recent links.
        Index("ix_portal_login_tokens_customer", "customer_id", "created_at"),
        Index("ix_portal_login_tokens_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(320))  # the identity the link was sent to
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    nonce: Mapped[str] = mapped_column(String(64))  # the token is HMAC(secret key, nonce)
    locale: Mapped[str] = mapped_column(String(8))  # of the email and the page it links to
    # The absolute address the token is appended to (public URL, or the requesting host's).
    link_base: Mapped[str] = mapped_column(String(500))
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Sending, as for every queued email (``services.mail_queue``).
    channel_id: Mapped[int] = mapped_column(ForeignKey("email_channels.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default=OutboxStatus.QUEUED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None]
