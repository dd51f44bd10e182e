"""Inbound email: raw RFC 5322 bytes to a decoded, sanitized ``ParsedEmail`` (no DB, no network).

The IMAP worker calls ``parse_email(raw, max_bytes=...)`` and quarantines the raw bytes with
``EmailParseError.reason`` when it raises; threading and storing happen in the service layer.
"""

from .inline_images import rewrite_cid_urls
from .model import (
    Address,
    Bounce,
    EmailAttachment,
    EmailParseError,
    EmailTooLarge,
    MailKind,
    ParsedEmail,
)
from .parse import parse_email
from .subjects import strip_reply_prefixes, ticket_numbers_in_subject

__all__ = [
    "Address",
    "Bounce",
    "EmailAttachment",
    "EmailParseError",
    "EmailTooLarge",
    "MailKind",
    "ParsedEmail",
    "parse_email",
    "rewrite_cid_urls",
    "strip_reply_prefixes",
    "ticket_numbers_in_subject",
]
