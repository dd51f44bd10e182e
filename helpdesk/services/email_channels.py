"""Email channels for admins: create, change, list, delete and test them.

Passwords come in as plain text, are stored encrypted (``secrets``) and never come back out:
``channel_view`` says "set" or "not set". A channel's transport settings are turned into the
connector's ``MailboxConfig`` / ``SmtpConfig`` here, the only place that decrypts them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from connectors.email.mailbox import MailboxConfig
from connectors.email.mailbox import check_connection as check_imap
from connectors.email.smtp import SmtpConfig
from connectors.email.smtp import check_connection as check_smtp
from connectors.email.transport import SECURITY_MODES, ConnectionReport, ErrorCode, Security

from ..models import EmailChannel
from . import audit
from .errors import Conflict, Invalid, NotFound
from .identities import normalize_identity
from .permissions import Actor, Permission, require
from .secrets import SecretUnreadable, decrypt_secret, describe, encrypt_secret
from .ticket_fields import check_group
from .transaction import current_session, transaction

# What an admin may set; the passwords are write-only.
SETTINGS = (
    "name",
    "address",
    "display_name",
    "group_id",
    "imap_host",
    "imap_port",
    "imap_security",
    "imap_username",
    "imap_password",
    "imap_folder",
    "imap_processed_folder",
    "smtp_host",
    "smtp_port",
    "smtp_security",
    "smtp_username",
    "smtp_password",
    "is_active",
    "auto_acknowledge",
    "reply_all",
)
_REQUIRED = ("name", "address", "imap_host", "imap_username", "imap_password", "smtp_host")
_LIMITS = {
    "name": 100,
    "display_name": 200,
    "imap_host": 253,
    "smtp_host": 253,
    "imap_username": 254,
    "smtp_username": 254,
    "imap_folder": 200,
    "imap_processed_folder": 200,
}


@dataclass(frozen=True)
class ChannelTest:
    """The two halves of "test connection"."""

    imap: ConnectionReport
    smtp: ConnectionReport

    @property
    def ok(self) -> bool:
        return self.imap.ok and self.smtp.ok


def list_channels(actor: Actor) -> list[EmailChannel]:
    require(actor, Permission.CHANNEL_ADMIN)
    return list(current_session().scalars(select(EmailChannel).order_by(EmailChannel.id)))


def get_channel(actor: Actor, channel_id: int) -> EmailChannel:
    require(actor, Permission.CHANNEL_ADMIN)
    channel = current_session().get(EmailChannel, channel_id)
    if channel is None:
        raise NotFound(_l("Email channel %(id)s not found.", id=channel_id))
    return channel


def channel_view(channel: EmailChannel) -> dict[str, Any]:
    """A channel as admins see it (API, CLI, settings page): passwords only as set/not set."""
    view = {name: getattr(channel, name) for name in SETTINGS if not name.endswith("_password")}
    view["id"] = channel.id
    view["imap_password"] = describe(channel.imap_password_encrypted)
    view["smtp_password"] = describe(channel.smtp_password_encrypted)
    view["last_uid"] = channel.last_uid
    view["last_checked_at"] = channel.last_checked_at
    view["last_error"] = (
        {"code": channel.last_error_code, "message": channel.last_error_message}
        if channel.last_error_code
        else None
    )
    view["consecutive_failures"] = channel.consecutive_failures
    return view


def create_channel(actor: Actor, **settings: Any) -> EmailChannel:
    """Create a channel; ``Invalid`` names every field that is wrong."""
    require(actor, Permission.CHANNEL_ADMIN)
    unknown = set(settings) - set(SETTINGS)
    if unknown:
        raise Invalid(
            _l("Unknown settings: %(fields)s.", fields=", ".join(sorted(unknown))),
            fields={name: ["unknown"] for name in unknown},
        )
    missing = [name for name in _REQUIRED if not settings.get(name)]
    if missing:
        raise Invalid(
            _l("Required: %(fields)s.", fields=", ".join(missing)),
            fields={name: ["required"] for name in missing},
        )
    with transaction() as session:
        channel = EmailChannel(
            display_name="",
            imap_security="ssl",
            imap_folder="INBOX",
            smtp_security="starttls",
            is_active=True,
            auto_acknowledge=False,
            reply_all=True,
            last_uid=0,
            consecutive_failures=0,
        )
        _apply(channel, settings)
        _check_unique(session, channel)
        check_group(session, channel.group_id)
        session.add(channel)
        session.flush()
        audit.record(session, actor, "channel.created", data=_audit_data(channel, settings))
    return channel


def update_channel(actor: Actor, channel_id: int, changes: Mapping[str, Any]) -> EmailChannel:
    """Change some settings; a password given as ``None`` or "" is left as it was."""
    require(actor, Permission.CHANNEL_ADMIN)
    unknown = set(changes) - set(SETTINGS)
    if unknown:
        raise Invalid(
            _l("Unknown settings: %(fields)s.", fields=", ".join(sorted(unknown))),
            fields={name: ["unknown"] for name in unknown},
        )
    with transaction() as session:
        channel = session.get(EmailChannel, channel_id, with_for_update=True)
        if channel is None:
            raise NotFound(_l("Email channel %(id)s not found.", id=channel_id))
        _apply(channel, changes)
        _check_unique(session, channel)
        check_group(session, channel.group_id)
        audit.record(session, actor, "channel.updated", data=_audit_data(channel, changes))
    return channel


def delete_channel(actor: Actor, channel_id: int) -> None:
    """Delete a channel. Its tickets stay; replies on them can no longer go out by email."""
    require(actor, Permission.CHANNEL_ADMIN)
    with transaction() as session:
        channel = session.get(EmailChannel, channel_id)
        if channel is None:
            raise NotFound(_l("Email channel %(id)s not found.", id=channel_id))
        audit.record(session, actor, "channel.deleted", data=_audit_data(channel, {}))
        session.delete(channel)


def test_channel(actor: Actor, channel_id: int) -> ChannelTest:
    """Log in to the mailbox and the SMTP server as the worker will; never raises for them."""
    channel = get_channel(actor, channel_id)
    try:
        imap = check_imap(mailbox_config(channel), channel.imap_processed_folder)
    except SecretUnreadable as exc:
        imap = ConnectionReport(False, ErrorCode.AUTH_FAILED, str(exc))
    try:
        smtp = check_smtp(smtp_config(channel))
    except SecretUnreadable as exc:
        smtp = ConnectionReport(False, ErrorCode.AUTH_FAILED, str(exc))
    return ChannelTest(imap=imap, smtp=smtp)


def mailbox_config(channel: EmailChannel) -> MailboxConfig:
    """The IMAP settings of ``channel`` (password decrypted, for the connector only)."""
    encrypted = channel.imap_password_encrypted
    password = decrypt_secret(encrypted) if encrypted else ""
    return MailboxConfig(
        host=channel.imap_host,
        port=channel.imap_port,
        security=_security(channel.imap_security),
        username=channel.imap_username,
        password=password,
        folder=channel.imap_folder,
    )


def smtp_config(channel: EmailChannel) -> SmtpConfig:
    password = (
        decrypt_secret(channel.smtp_password_encrypted) if channel.smtp_password_encrypted else None
    )
    return SmtpConfig(
        host=channel.smtp_host,
        port=channel.smtp_port,
        security=_security(channel.smtp_security),
        username=channel.smtp_username or None,
        password=password,
        from_address=channel.address,
        from_name=channel.display_name,
    )


def active_channel_ids() -> list[int]:
    """For the worker: the channels whose mailboxes it should watch."""
    stmt = select(EmailChannel.id).where(EmailChannel.is_active.is_(True)).order_by(EmailChannel.id)
    return list(current_session().scalars(stmt))


def _security(value: str) -> Security:
    for mode in SECURITY_MODES:
        if mode == value:
            return mode
    raise Invalid(_l("Unknown security mode: %(mode)s.", mode=value))


def _apply(channel: EmailChannel, settings: Mapping[str, Any]) -> None:
    errors: dict[str, list[str]] = {}
    for name, value in settings.items():
        if name.endswith("_password"):
            # Blank keeps the stored password (forms never show it); an explicit None clears
            # the SMTP one, for a relay that takes no login. The mailbox always needs one.
            if value:
                setattr(channel, f"{name}_encrypted", encrypt_secret(str(value)))
            elif value is None and name == "smtp_password":
                channel.smtp_password_encrypted = None
            continue
        if isinstance(value, str):
            value = value.strip()
        if name == "address":
            try:
                value = normalize_identity("email", value or "")
            except Invalid:
                errors[name] = ["not an email address"]
                continue
        elif name in ("imap_security", "smtp_security"):
            if value not in SECURITY_MODES:
                errors[name] = [f"one of {list(SECURITY_MODES)}"]
                continue
        elif name in ("imap_port", "smtp_port"):
            if value in (None, ""):
                value = None
            elif not (isinstance(value, int) and not isinstance(value, bool) and 0 < value < 65536):
                errors[name] = ["a port number from 1 to 65535"]
                continue
        elif name in ("is_active", "auto_acknowledge", "reply_all"):
            if not isinstance(value, bool):
                errors[name] = ["true or false"]
                continue
        elif name == "group_id":
            if value is not None and not isinstance(value, int):
                errors[name] = ["a group id"]
                continue
        elif name in ("smtp_username", "imap_processed_folder"):
            value = value or None
        if name in _LIMITS and value is not None and len(value) > _LIMITS[name]:
            errors[name] = [f"at most {_LIMITS[name]} characters"]
            continue
        if name in ("name", "imap_host", "imap_username", "smtp_host", "imap_folder") and not value:
            errors[name] = ["required"]
            continue
        setattr(channel, name, value)
    if errors:
        raise Invalid(
            _l("Some channel settings are not valid: %(fields)s.", fields=", ".join(errors)),
            fields=errors,
        )


def _check_unique(session: Any, channel: EmailChannel) -> None:
    """Names and addresses are unique whatever their case ("Support" and "support" would be
    two channels nobody can tell apart)."""
    labels = {"name": _l("name"), "address": _l("address")}
    for column in (EmailChannel.name, EmailChannel.address):
        value = getattr(channel, column.key)
        stmt = select(EmailChannel.id).where(func.lower(column) == str(value).lower())
        if channel.id is not None:
            stmt = stmt.where(EmailChannel.id != channel.id)
        with session.no_autoflush:
            taken = session.scalar(stmt)
        if taken is not None:
            raise Conflict(
                _l(
                    "Another channel already has the %(field)s %(value)s.",
                    field=labels[column.key],
                    value=value,
                ),
                fields={column.key: ["taken"]},
            )


def _audit_data(channel: EmailChannel, settings: Mapping[str, Any]) -> dict[str, Any]:
    # Which settings changed, never their values for passwords.
    return {"channel_id": channel.id, "name": channel.name, "settings": sorted(settings)}
