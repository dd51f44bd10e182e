"""What the email parser returns, and the two ways it refuses a message."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import NamedTuple


class EmailParseError(Exception):
    """The raw message cannot become a sensible message; quarantine it with ``reason``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class EmailTooLarge(EmailParseError):
    """The raw message is over the size limit; raised before any parsing."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"message is {size} bytes; the limit is {limit} bytes")
        self.size = size
        self.limit = limit


class MailKind(StrEnum):
    """What sent the message: a person, a robot answering, a mailing list, or a mail server."""

    HUMAN = "human"
    AUTO_REPLY = "auto_reply"  # out-of-office, auto-acknowledgment, read receipt
    BULK = "bulk"  # newsletters and mailing lists
    BOUNCE = "bounce"  # delivery status notifications and mailer-daemon messages


class Address(NamedTuple):
    """A display name (decoded, may be empty) and a lower-cased address."""

    name: str
    address: str


@dataclass(frozen=True, slots=True)
class EmailAttachment:
    """One non-body MIME part. Field names match ``helpdesk.services.attachments.UploadedFile``.

    ``inline`` is true when the HTML body shows the part through a ``cid:`` URL equal to its
    ``content_id``; the caller stores it and rewrites the URL with ``rewrite_cid_urls``.
    """

    filename: str
    content_type: str
    data: bytes
    content_id: str | None = None
    inline: bool = False

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass(frozen=True, slots=True)
class Bounce:
    """A delivery status notification about a message we sent.

    ``original_message_id`` is the Message-ID of our message (from the returned message or its
    headers), ``recipient`` the address that failed (or the first one reported), ``action`` the
    DSN action (failed, delayed, delivered, relayed, expanded), ``status`` the enhanced status
    code (5.1.1) and ``diagnostic`` the remote server's words.
    """

    original_message_id: str | None
    recipient: str | None
    action: str | None
    status: str | None
    diagnostic: str | None

    @property
    def permanent(self) -> bool:
        """A hard bounce: status 5.x.x, or action "failed" without a status."""
        if self.status:
            return self.status.startswith("5")
        return self.action == "failed"


@dataclass(frozen=True, slots=True)
class ParsedEmail:
    """One inbound email, decoded and sanitized, ready to thread and store.

    Strings never contain NUL characters or lone surrogates. ``html`` and ``visible_html`` went
    through ``helpdesk.services.html.sanitize_html``. ``visible_*`` are the bodies with the quoted
    history (the earlier messages of the thread) cut off; they equal the full bodies when no
    history was found. ``text`` is always set (from the HTML when there is no text part).
    """

    message_id: str | None
    in_reply_to: str | None
    references: tuple[str, ...]
    subject: str
    sender: Address
    reply_to: tuple[Address, ...]
    to: tuple[Address, ...]
    cc: tuple[Address, ...]
    date: datetime | None
    text: str
    html: str | None
    visible_text: str
    visible_html: str | None
    attachments: tuple[EmailAttachment, ...]
    kind: MailKind
    kind_reasons: tuple[str, ...]
    bounce: Bounce | None
    size: int
    defects: tuple[str, ...] = ()

    @property
    def is_automated(self) -> bool:
        """Sent by software: never answer it automatically (mail loops)."""
        return self.kind is not MailKind.HUMAN

    @property
    def has_quoted_history(self) -> bool:
        return self.visible_text != self.text or self.visible_html != self.html
