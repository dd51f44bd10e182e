"""Schemas of the email channel and quarantine endpoints (``channels.py``).

Passwords are ``load_only``: accepted on create and change, never dumped; responses say
``imap_password_set`` / ``smtp_password_set`` instead. The mailbox state the fetcher keeps
(``uid_validity``, ``last_uid``, ``last_checked_at``, ``last_error``, ``consecutive_failures``)
is ``dump_only``: shown, never accepted.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import url_for
from marshmallow import fields, validate

from connectors.email.transport import SECURITY_MODES

from ..services.email_quarantine import DELETED, HELD, RELEASED

SECURITY = list(SECURITY_MODES)
QUARANTINE_STATES = [HELD, RELEASED, DELETED]
MAX_QUARANTINE_PAGE = 200

_PORT = validate.Range(1, 65535)
_PASSWORD_NOTE = "Write-only: never returned. On a change, omit it (or send null) to keep it."


class _ChannelSettings(ma.Schema):
    """What an admin may set; the service checks the rest (address form, uniqueness, group)."""

    class Meta:
        unknown = ma.RAISE

    name = fields.Str(validate=validate.Length(1, 100))
    address = fields.Str(
        validate=validate.Length(3, 254),
        metadata={"description": "The support address: From of our replies"},
    )
    display_name = fields.Str(validate=validate.Length(max=200))
    group_id = fields.Int(allow_none=True, metadata={"description": "Group of new tickets"})
    imap_host = fields.Str(validate=validate.Length(1, 253))
    imap_port = fields.Int(
        allow_none=True, validate=_PORT, metadata={"description": "Default: by security"}
    )
    imap_security = fields.Str(validate=validate.OneOf(SECURITY))
    imap_username = fields.Str(validate=validate.Length(1, 254))
    imap_password = fields.Str(
        load_only=True,
        allow_none=True,
        validate=validate.Length(max=1000),
        metadata={"description": _PASSWORD_NOTE},
    )
    imap_folder = fields.Str(validate=validate.Length(1, 200))
    imap_processed_folder = fields.Str(
        allow_none=True,
        validate=validate.Length(max=200),
        metadata={"description": "Move processed mail here (else it is only flagged \\Seen)"},
    )
    smtp_host = fields.Str(validate=validate.Length(1, 253))
    smtp_port = fields.Int(allow_none=True, validate=_PORT)
    smtp_security = fields.Str(validate=validate.OneOf(SECURITY))
    smtp_username = fields.Str(allow_none=True, validate=validate.Length(max=254))
    smtp_password = fields.Str(
        load_only=True,
        allow_none=True,
        validate=validate.Length(max=1000),
        metadata={"description": _PASSWORD_NOTE},
    )
    is_active = fields.Bool()
    auto_acknowledge = fields.Bool(metadata={"description": "Answer new tickets' first mail"})
    reply_all = fields.Bool(metadata={"description": "Replies go to the Cc participants too"})


class ChannelCreateSchema(_ChannelSettings):
    class Meta:
        unknown = ma.RAISE

    name = fields.Str(required=True, validate=validate.Length(1, 100))
    address = fields.Str(required=True, validate=validate.Length(3, 254))
    imap_host = fields.Str(required=True, validate=validate.Length(1, 253))
    imap_username = fields.Str(required=True, validate=validate.Length(1, 254))
    imap_password = fields.Str(
        required=True,
        load_only=True,
        validate=validate.Length(1, 1000),
        metadata={"description": "Write-only: never returned"},
    )
    smtp_host = fields.Str(required=True, validate=validate.Length(1, 253))


class ChannelUpdateSchema(_ChannelSettings):
    class Meta:
        unknown = ma.RAISE


class MailboxErrorSchema(ma.Schema):
    code = fields.Str()
    message = fields.Str()


def _last_error(channel: Any) -> dict[str, Any] | None:
    if not channel.last_error_code:
        return None
    return {"code": channel.last_error_code, "message": channel.last_error_message or ""}


class ChannelSchema(_ChannelSettings):
    """A channel as admins see it."""

    id = fields.Int(dump_only=True)
    imap_password_set = fields.Function(
        lambda c: bool(c.imap_password_encrypted), dump_only=True, metadata={"type": "boolean"}
    )
    smtp_password_set = fields.Function(
        lambda c: bool(c.smtp_password_encrypted), dump_only=True, metadata={"type": "boolean"}
    )
    created_at = fields.DateTime(dump_only=True)
    uid_validity = fields.Int(dump_only=True, allow_none=True)
    last_uid = fields.Int(
        dump_only=True, metadata={"description": "Highest UID ingested (read-only)"}
    )
    last_checked_at = fields.DateTime(dump_only=True, allow_none=True)
    last_error = fields.Function(
        _last_error,
        dump_only=True,
        allow_none=True,
        metadata={"description": "Why the mailbox could not be read last time, or null"},
    )
    consecutive_failures = fields.Int(dump_only=True)


class ConnectionReportSchema(ma.Schema):
    ok = fields.Bool()
    error_code = fields.Str(allow_none=True, metadata={"description": "e.g. connection_refused"})
    message = fields.Str()


class ChannelTestSchema(ma.Schema):
    ok = fields.Bool(metadata={"description": "Both sides work"})
    imap = fields.Nested(ConnectionReportSchema)
    smtp = fields.Nested(ConnectionReportSchema)


class QuarantineListArgs(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    channel = fields.Int(metadata={"description": "Only this channel's messages"})
    state = fields.Str(load_default=HELD, validate=validate.OneOf(QUARANTINE_STATES))
    cursor = fields.Str(
        validate=validate.Regexp(r"^[1-9][0-9]{0,17}$", error="Not a cursor of this list."),
        metadata={"description": "`next_cursor` of the previous page"},
    )
    limit = fields.Int(load_default=50, validate=validate.Range(1, MAX_QUARANTINE_PAGE))


class QuarantineSchema(ma.Schema):
    id = fields.Int()
    channel_id = fields.Int()
    uid = fields.Int(metadata={"description": "IMAP UID it had when fetched"})
    received_at = fields.DateTime()
    reason = fields.Str()
    size = fields.Int()
    sha256 = fields.Str()
    state = fields.Str(metadata={"enum": QUARANTINE_STATES})
    resolved_at = fields.DateTime(allow_none=True)
    raw_url = fields.Function(
        lambda q: url_for("quarantine.QuarantineRaw", quarantine_id=q.id),
        metadata={"description": "The message as fetched (message/rfc822)"},
    )


class QuarantinePageSchema(ma.Schema):
    items = fields.List(fields.Nested(QuarantineSchema))
    next_cursor = fields.Str(
        allow_none=True, metadata={"description": "Pass as `cursor` for the next page"}
    )
