"""Bounces: which of our messages failed to arrive, for whom, and why.

A standard bounce is a delivery status notification (RFC 3464): a ``multipart/report`` with a
human-readable part, a ``message/delivery-status`` part of field blocks (one per message, then
one per recipient) and the returned message (``message/rfc822``) or only its headers
(``text/rfc822-headers``). Older servers (qmail, some Exchange and Korean portal relays) send
plain text from MAILER-DAEMON instead; for those the same facts are looked up in the text.
"""

from __future__ import annotations

import re
from email.message import Message

from .charsets import decode_text
from .headers import clean, message_id, one_line, recover_8bit
from .model import Bounce

_BLOCK_SEPARATOR = re.compile(r"\r?\n[ \t]*\r?\n")
_FIELD = re.compile(r"^([A-Za-z][A-Za-z0-9-]*)\s*:\s*(.*)$")
_STATUS = re.compile(r"\b([245]\.\d{1,3}\.\d{1,3})\b")
_TEXT_MESSAGE_ID = re.compile(r"^[ \t>]*Message-ID:\s*(<[^<>\s]+>)", re.I | re.M)
_TEXT_RECIPIENT = re.compile(r"^\s*<([^<>\s]+@[^<>\s]+)>:?\s*$", re.M)
_MAX_DIAGNOSTIC = 1000


def delivery_status_blocks(part: Message) -> list[dict[str, str]]:
    """The field blocks of a ``message/delivery-status`` part, names lower-cased."""
    payload = part.get_payload()
    if isinstance(payload, list):
        text = "\n\n".join(_block_text(block) for block in payload if isinstance(block, Message))
    else:
        data = part.get_payload(decode=True)
        text = decode_text(data if isinstance(data, bytes) else b"", "utf-8")
    blocks = []
    for chunk in _BLOCK_SEPARATOR.split(text):
        fields: dict[str, str] = {}
        name = ""
        for line in chunk.splitlines():
            if line[:1] in (" ", "\t") and name:
                fields[name] += " " + line.strip()
                continue
            match = _FIELD.match(line)
            if match:
                name = match.group(1).lower()
                fields.setdefault(name, match.group(2).strip())
        if fields:
            blocks.append(fields)
    return blocks


def _block_text(block: Message) -> str:
    # message/delivery-status is parsed into one Message per block; message/global-delivery-
    # status into one Message whose body holds the remaining blocks.
    lines = [f"{name}: {clean(value)}" for name, value in block.raw_items()]
    body = block.get_payload()
    if isinstance(body, str) and body.strip():
        lines.append("\n" + recover_8bit(body))
    return "\n".join(lines)


def bounce_from_report(
    blocks: list[dict[str, str]], original_message_id: str | None, failed_recipients: str | None
) -> Bounce:
    """A Bounce from delivery-status field blocks; the first failed recipient is reported."""
    recipients = [
        b for b in blocks if "final-recipient" in b or "original-recipient" in b or "action" in b
    ]
    chosen = next(
        (b for b in recipients if b.get("action", "").lower().startswith("failed")),
        recipients[0] if recipients else {},
    )
    recipient = _recipient(chosen.get("final-recipient") or chosen.get("original-recipient"))
    status = _STATUS.search(chosen.get("status", ""))
    diagnostic = chosen.get("diagnostic-code", "")
    if ";" in diagnostic[:20]:
        diagnostic = diagnostic.split(";", 1)[1]
    action = one_line(chosen.get("action", ""), 40).lower().split()
    return Bounce(
        original_message_id=original_message_id,
        recipient=recipient or _recipient(failed_recipients),
        action=action[0] if action else None,
        status=status.group(1) if status else None,
        diagnostic=one_line(diagnostic, _MAX_DIAGNOSTIC) or None,
    )


def message_id_in_text(text: str) -> str | None:
    """The first ``Message-ID:`` header line quoted in a bounce's text (the returned message)."""
    found = _TEXT_MESSAGE_ID.search(text)
    return message_id(found.group(1)) if found else None


def bounce_from_text(
    text: str, original_message_id: str | None, failed_recipients: str | None
) -> Bounce:
    """A best-effort Bounce from a non-standard (plain text) bounce."""
    if original_message_id is None:
        original_message_id = message_id_in_text(text)
    recipient = _recipient(failed_recipients)
    if recipient is None:
        found = _TEXT_RECIPIENT.search(text)
        recipient = found.group(1).lower() if found else None
    status = _STATUS.search(text)
    diagnostic = None
    if status:
        line_start = text.rfind("\n", 0, status.start()) + 1
        line_end = text.find("\n", status.end())
        diagnostic = one_line(text[line_start : line_end if line_end >= 0 else None])
    return Bounce(
        original_message_id=original_message_id,
        recipient=recipient,
        action="delayed" if status and status.group(1).startswith("4") else "failed",
        status=status.group(1) if status else None,
        diagnostic=diagnostic[:_MAX_DIAGNOSTIC] if diagnostic else None,
    )


def _recipient(value: str | None) -> str | None:
    if not value:
        return None
    address = clean(value).split(";", 1)[-1].split(",")[0].strip().strip("<>").strip().lower()
    return one_line(address, 320) or None
