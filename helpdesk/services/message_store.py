"""Writing one message (with its attachments) onto a ticket, inside the caller's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from ..models import Attachment, Channel, Direction, Message, MessageKind, Ticket, utcnow
from .attachments import UploadedFile, clean_filename, store_blob
from .errors import Invalid
from .html import bodies

MAX_BODY_CHARS = 1_000_000

_KIND_BY_CHANNEL = {
    Channel.EMAIL: MessageKind.EMAIL,
    Channel.CHAT: MessageKind.CHAT,
    Channel.PHONE: MessageKind.PHONE,
    Channel.SOCIAL: MessageKind.SOCIAL,
    Channel.WEB: MessageKind.WEB,
    Channel.API: MessageKind.WEB,
}


def kind_for_channel(channel: str) -> str:
    return _KIND_BY_CHANNEL[Channel(channel)].value


def message_values(
    channel: str,
    *,
    direction: str,
    is_public: bool,
    body_text: str | None,
    body_html: str | None,
    author_user_id: int | None = None,
    author_customer_id: int | None = None,
    kind: str | None = None,
    attachments: Sequence[UploadedFile] = (),
    external_id: str | None = None,
    at: datetime | None = None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Validate a message and return its column values and its attachments' (files stored).

    The one place for the message rules (sanitized bodies, size limits, kinds), whether the
    row is then written through the ORM (``add_message``) or directly (a new ticket).
    """
    text, html = bodies(body_text, body_html)
    if len(text) > MAX_BODY_CHARS or len(html) > 4 * MAX_BODY_CHARS:
        raise Invalid(_l("The message is too long."), fields={"body": ["too long"]})
    if not text.strip() and not attachments:
        raise Invalid(_l("The message is empty."), fields={"body": ["required"]})
    values = {
        "direction": direction,
        # Internal messages are notes unless said otherwise (a logged call is internal too).
        "kind": kind or (kind_for_channel(channel) if is_public else MessageKind.NOTE.value),
        "is_public": is_public,
        "author_user_id": author_user_id,
        "author_customer_id": author_customer_id,
        "body_text": text,
        "body_html": html,
        "external_id": external_id,
        "created_at": at or utcnow(),
    }
    files = [
        {
            "filename": clean_filename(upload.filename),
            "content_type": (upload.content_type or "application/octet-stream")[:127],
            "size": len(upload.data),
            "sha256": store_blob(upload.data),
            "content_id": upload.content_id,
        }
        for upload in attachments
    ]
    return values, files


def add_message(
    session: Session,
    ticket: Ticket,
    *,
    direction: str,
    is_public: bool,
    body_text: str | None,
    body_html: str | None,
    author_user_id: int | None = None,
    author_customer_id: int | None = None,
    kind: str | None = None,
    attachments: Sequence[UploadedFile] = (),
    external_id: str | None = None,
    at: datetime | None = None,
) -> Message:
    """Add a message and its files and bump the ticket's counters (not its version)."""
    values, files = message_values(
        ticket.channel,
        direction=direction,
        is_public=is_public,
        body_text=body_text,
        body_html=body_html,
        author_user_id=author_user_id,
        author_customer_id=author_customer_id,
        kind=kind,
        attachments=attachments,
        external_id=external_id,
        at=at,
    )
    message = Message(ticket=ticket, **values, attachments=[Attachment(**f) for f in files])
    # Not flushed here: the caller's next flush (or commit) writes it; callers that need
    # ``message.id`` flush first.
    session.add(message)
    ticket.message_count += 1
    if direction == Direction.IN:
        ticket.last_customer_message_at = values["created_at"]
    elif is_public:
        ticket.last_agent_message_at = values["created_at"]
    return message
