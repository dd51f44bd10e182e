"""Email channels (one support address: its IMAP mailbox and SMTP server), the threads they
carry, the people copied on them, and the inbound mail that could not become a message."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow


class EmailChannel(Base):
    """A support address. Passwords are stored encrypted (``services.secrets``), never shown.

    The mailbox state (``uid_validity``, ``last_uid``) is written in the same transaction as
    the ticket each fetched message becomes: it, not the IMAP ``\\Seen`` flag, says what has
    been ingested, which is what makes ingest exactly-once across crashes and restarts.
    """

    __tablename__ = "email_channels"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    address: Mapped[str] = mapped_column(String(254), unique=True)  # From of our replies
    display_name: Mapped[str] = mapped_column(String(200), default="")
    group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id", ondelete="SET NULL"))
    imap_host: Mapped[str] = mapped_column(String(253))
    imap_port: Mapped[int | None] = mapped_column(Integer)
    imap_security: Mapped[str] = mapped_column(String(8), default="ssl")
    imap_username: Mapped[str] = mapped_column(String(254))
    imap_password_encrypted: Mapped[str | None] = mapped_column(Text)
    imap_folder: Mapped[str] = mapped_column(String(200), default="INBOX")
    imap_processed_folder: Mapped[str | None] = mapped_column(String(200))
    smtp_host: Mapped[str] = mapped_column(String(253))
    smtp_port: Mapped[int | None] = mapped_column(Integer)
    smtp_security: Mapped[str] = mapped_column(String(8), default="starttls")
    smtp_username: Mapped[str | None] = mapped_column(String(254))
    smtp_password_encrypted: Mapped[str | None] = mapped_column(Text)
    is_active: Mapped[bool] = mapped_column(default=True)
    auto_acknowledge: Mapped[bool] = mapped_column(default=False)
    reply_all: Mapped[bool] = mapped_column(default=True)  # replies go to Cc participants too
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Mailbox state, kept by the fetcher.
    uid_validity: Mapped[int | None] = mapped_column(BigInteger)
    last_uid: Mapped[int] = mapped_column(BigInteger, default=0)
    last_checked_at: Mapped[datetime | None]
    last_error_code: Mapped[str | None] = mapped_column(String(32))
    last_error_message: Mapped[str | None] = mapped_column(Text)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)

    def __repr__(self) -> str:  # never the passwords, not even encrypted
        return f"<EmailChannel {self.id} {self.name} {self.address}>"


class TicketEmailThread(Base):
    """Which email channel a ticket's conversation runs through (replies go out from it).

    A side table rather than a ``tickets`` column: ticket creation writes every ticket column
    in one prepared statement (``services.ticket_insert``), and most channels never need it.
    """

    __tablename__ = "ticket_email_threads"

    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True
    )
    channel_id: Mapped[int] = mapped_column(
        ForeignKey("email_channels.id", ondelete="CASCADE"), index=True
    )


class TicketParticipant(Base):
    """Someone besides the customer on a ticket's thread (today: people in Cc)."""

    __tablename__ = "ticket_participants"
    __table_args__ = (UniqueConstraint("ticket_id", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(320))  # normalized (lower-case)
    name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(16), default="cc")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class EmailQuarantine(Base):
    """An inbound message that could not become a ticket message, kept for admins.

    The raw bytes live in the attachment blob store under ``sha256`` (not in a database
    column): quarantined mail is often the largest there is, the store already writes files
    safely and once per content, and the same message fetched again is recognized by it.
    """

    __tablename__ = "email_quarantine"
    __table_args__ = (
        Index("ix_email_quarantine_channel", "channel_id", "id"),
        Index("ix_email_quarantine_channel_sha256", "channel_id", "sha256"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("email_channels.id", ondelete="CASCADE"))
    uid: Mapped[int] = mapped_column(BigInteger)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    reason: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(String(16), default="held")  # held, released, deleted
    resolved_at: Mapped[datetime | None]
