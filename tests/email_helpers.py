"""Email channel test data: a channel through the admin service, raw messages as bytes."""

from __future__ import annotations

import itertools
from typing import Any

from helpdesk.models import EmailChannel
from helpdesk.services import email_channels
from helpdesk.services.permissions import SYSTEM

_seq = itertools.count(1)


def make_channel(**settings: Any) -> EmailChannel:
    n = next(_seq)
    values: dict[str, Any] = {
        "name": f"Support {n}",
        "address": f"support{n}@dangol.test",
        "display_name": "단골 고객지원",
        "imap_host": "127.0.0.1",
        "imap_port": 1,
        "imap_security": "none",
        "imap_username": f"support{n}",
        "imap_password": "imap secret 비밀",
        "smtp_host": "127.0.0.1",
        "smtp_port": 1,
        "smtp_security": "none",
    }
    values.update(settings)
    return email_channels.create_channel(SYSTEM, **values)


def mail(
    *,
    sender: str = "Kim <kim@example.kr>",
    to: str = "support1@dangol.test",
    subject: str = "Hello",
    body: str = "Please help.",
    message_id: str | None = None,
    in_reply_to: str | None = None,
    references: str | None = None,
    cc: str | None = None,
    extra_headers: str = "",
) -> bytes:
    """A plain UTF-8 text email (headers given as text; RFC 2047 where needed is up to you)."""
    lines = [f"From: {sender}", f"To: {to}", f"Subject: {subject}"]
    if message_id:
        lines.append(f"Message-ID: <{message_id}>")
    if in_reply_to:
        lines.append(f"In-Reply-To: <{in_reply_to}>")
    if references:
        lines.append(f"References: {references}")
    if cc:
        lines.append(f"Cc: {cc}")
    if extra_headers:
        lines.extend(extra_headers.strip().splitlines())
    lines += ["MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8", ""]
    return ("\r\n".join(lines) + "\r\n" + body + "\r\n").encode("utf-8")
