"""Email channel set-up for admins: the channels, "test connection", and the quarantine.

The views turn a form into the settings ``services.email_channels`` takes and show what the
services say; the services validate everything and encrypt the passwords. A password never goes
back to the browser: its field is always empty, and left empty on a change the stored password
stays. A refused form is shown again as typed (passwords excepted), with the message next to
the field it is about.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required
from werkzeug.datastructures import MultiDict

from connectors.email.transport import SECURITY_MODES, ErrorCode

from .models import EmailChannel
from .services import email_channels, email_ingest, email_quarantine, tickets, users
from .services.errors import Conflict, Invalid
from .services.permissions import Actor, Permission
from .webui import bp, field_errors, form_number, me_allowed

QUARANTINE_PAGE = 50
# Form fields sent to the service as typed (it strips and checks them).
_TEXT_FIELDS = (
    "name",
    "address",
    "display_name",
    "imap_host",
    "imap_security",
    "imap_username",
    "imap_folder",
    "imap_processed_folder",
    "smtp_host",
    "smtp_security",
    "smtp_username",
)
_NUMBER_FIELDS = ("group_id", "imap_port", "smtp_port")
_CHECKBOXES = ("is_active", "auto_acknowledge", "reply_all")
_PASSWORDS = ("imap_password", "smtp_password")

SECURITY_LABELS = {
    "ssl": _l("SSL/TLS"),
    "starttls": _l("STARTTLS"),
    "none": _l("No encryption"),
}
# What the connectors' error codes mean, in the viewer's language; their message (English,
# from the mail server's answer) is shown under it.
ERROR_TITLES: dict[str, Any] = {
    ErrorCode.AUTH_FAILED: _l("Login failed"),
    ErrorCode.TLS_FAILED: _l("Secure connection failed"),
    ErrorCode.UNKNOWN_FOLDER: _l("Folder not found"),
    ErrorCode.UNKNOWN_HOST: _l("Server not found"),
    ErrorCode.CONNECTION_REFUSED: _l("Connection refused"),
    ErrorCode.TIMEOUT: _l("No answer in time"),
    ErrorCode.CONNECTION_LOST: _l("Connection lost"),
    ErrorCode.PROTOCOL_ERROR: _l("Unexpected server answer"),
    ErrorCode.SENDER_REJECTED: _l("Sender address refused"),
}


def error_title(code: str | None) -> str:
    """A mail server error code as words ("Connection refused"); unknown codes as they are."""
    if not code:
        return ""
    title = ERROR_TITLES.get(code)
    return str(title) if title is not None else code


# --- the list ------------------------------------------------------------------------------


@bp.get("/admin/channels")
@login_required
def channels_admin_page():  # type: ignore[no-untyped-def]
    actor = me_allowed(Permission.CHANNEL_ADMIN)
    held = Counter(row.channel_id for row in email_quarantine.list_quarantine(actor))
    return render_template(
        "channels_admin.html",
        channels=email_channels.list_channels(actor),
        held=held,
        group_names={g.id: g.name for g in users.list_groups(actor)},
        error_title=error_title,
    )


# --- the channel form ----------------------------------------------------------------------


def _values(channel: EmailChannel | None) -> dict[str, Any]:
    """The form's fields, as text (checkboxes as booleans), for a stored channel or a new one.
    Never the passwords."""
    if channel is None:
        values: dict[str, Any] = dict.fromkeys(_TEXT_FIELDS + _NUMBER_FIELDS, "")
        values.update(
            imap_security="ssl",
            imap_folder="INBOX",
            smtp_security="starttls",
            is_active=True,
            auto_acknowledge=False,
            reply_all=True,
        )
        return values
    values = {}
    for name in _TEXT_FIELDS + _NUMBER_FIELDS:
        value = getattr(channel, name)
        values[name] = "" if value is None else str(value)
    for name in _CHECKBOXES:
        values[name] = bool(getattr(channel, name))
    return values


def _posted(form: MultiDict[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {name: form.get(name, "") for name in _TEXT_FIELDS + _NUMBER_FIELDS}
    for name in _CHECKBOXES:
        values[name] = name in form
    return values


def _settings(values: dict[str, Any], form: MultiDict[str, str]) -> dict[str, Any]:
    """The form as ``create_channel`` / ``update_channel`` take it. An empty password is
    passed on as empty: required on a new channel, "keep the current one" on a change."""
    settings: dict[str, Any] = {name: values[name] for name in _TEXT_FIELDS + _CHECKBOXES}
    for name in _NUMBER_FIELDS:
        settings[name] = form_number(values[name])
    for name in _PASSWORDS:
        settings[name] = form.get(name, "")
    return settings


def _render_form(
    actor: Actor,
    values: dict[str, Any],
    channel: EmailChannel | None = None,
    *,
    errors: dict[str, str] | None = None,
    status: int = 200,
    test: email_channels.ChannelTest | None = None,
    retype: bool = False,
):  # type: ignore[no-untyped-def]
    results = []
    if test is not None:
        results = [
            ("imap", _("Incoming mail (IMAP)"), test.imap),
            ("smtp", _("Outgoing mail (SMTP)"), test.smtp),
        ]
    page = render_template(
        "channel_form.html",
        channel=channel,
        values=values,
        errors=errors or {},
        groups=users.list_groups(actor),
        security_modes=[(mode, SECURITY_LABELS.get(mode, mode)) for mode in SECURITY_MODES],
        results=results,
        retype=retype,
        error_title=error_title,
    )
    return page, status


def _save(actor: Actor, channel: EmailChannel | None):  # type: ignore[no-untyped-def]
    values = _posted(request.form)
    settings = _settings(values, request.form)
    # Typed passwords are not shown again: say so when the form comes back.
    retype = any(settings[name] for name in _PASSWORDS)
    try:
        if channel is None:
            saved = email_channels.create_channel(actor, **settings)
        else:
            saved = email_channels.update_channel(actor, channel.id, settings)
    except Invalid as exc:
        flash(exc.message, "error")
        errors = field_errors(exc)
        return _render_form(actor, values, channel, errors=errors, status=422, retype=retype)
    except Conflict as exc:
        flash(exc.message, "error")
        errors = field_errors(exc)
        return _render_form(actor, values, channel, errors=errors, status=409, retype=retype)
    flash(_("Channel %(name)s saved.", name=saved.name), "success")
    return redirect(url_for("web.channels_admin_page"))


@bp.route("/admin/channels/new", methods=["GET", "POST"])
@login_required
def channel_new():  # type: ignore[no-untyped-def]
    actor = me_allowed(Permission.CHANNEL_ADMIN)
    if request.method == "POST":
        return _save(actor, None)
    return _render_form(actor, _values(None))


@bp.route("/admin/channels/<int:channel_id>", methods=["GET", "POST"])
@login_required
def channel_edit(channel_id: int):  # type: ignore[no-untyped-def]
    actor = me_allowed(Permission.CHANNEL_ADMIN)
    channel = email_channels.get_channel(actor, channel_id)
    if request.method == "POST":
        return _save(actor, channel)
    return _render_form(actor, _values(channel), channel)


@bp.post("/admin/channels/<int:channel_id>/test")
@login_required
def channel_test(channel_id: int):  # type: ignore[no-untyped-def]
    """Log in to both servers with the saved settings and show what each answered."""
    actor = me_allowed(Permission.CHANNEL_ADMIN)
    report = email_channels.test_channel(actor, channel_id)
    channel = email_channels.get_channel(actor, channel_id)
    return _render_form(actor, _values(channel), channel, test=report)


@bp.post("/admin/channels/<int:channel_id>/delete")
@login_required
def channel_delete(channel_id: int):  # type: ignore[no-untyped-def]
    actor = me_allowed(Permission.CHANNEL_ADMIN)
    name = email_channels.get_channel(actor, channel_id).name
    email_channels.delete_channel(actor, channel_id)
    flash(_("Channel %(name)s deleted.", name=name), "success")
    return redirect(url_for("web.channels_admin_page"))


# --- the quarantine ------------------------------------------------------------------------


def _positive(value: int | None) -> int | None:
    return value if value is not None and value > 0 else None


@bp.get("/admin/channels/quarantine")
@login_required
def channel_quarantine():  # type: ignore[no-untyped-def]
    """Held messages, newest first, a page at a time (``cursor``: the last id seen)."""
    actor = me_allowed(Permission.CHANNEL_ADMIN)
    channel_id = _positive(request.args.get("channel", type=int))
    cursor = _positive(request.args.get("cursor", type=int))
    rows = email_quarantine.list_quarantine(
        actor, channel_id, before_id=cursor, limit=QUARANTINE_PAGE + 1
    )
    more = len(rows) > QUARANTINE_PAGE
    rows = rows[:QUARANTINE_PAGE]
    channels = email_channels.list_channels(actor)
    return render_template(
        "channel_quarantine.html",
        rows=rows,
        channels=channels,
        channel_names={c.id: c.name for c in channels},
        channel_id=channel_id,
        cursor=cursor,
        next_cursor=rows[-1].id if more else None,
    )


def _back_to_quarantine():  # type: ignore[no-untyped-def]
    """The quarantine page the admin posted from (same channel filter and page)."""
    args = {}
    for name in ("channel", "cursor"):
        value = _positive(request.form.get(name, type=int))
        if value is not None:
            args[name] = value
    return redirect(url_for("web.channel_quarantine", **args))


def _resolve(quarantine_id: int, state: str):  # type: ignore[no-untyped-def]
    actor = me_allowed(Permission.CHANNEL_ADMIN)
    row = email_quarantine.get_quarantined(actor, quarantine_id)
    if row.state != email_quarantine.HELD:  # e.g. another admin, or a second click
        flash(_("Message %(id)s was already dealt with.", id=quarantine_id), "info")
        return _back_to_quarantine()
    email_quarantine.resolve_quarantined(actor, quarantine_id, state)
    if state == email_quarantine.RELEASED:
        flash(_("Message %(id)s released: marked as dealt with.", id=quarantine_id), "success")
    else:
        flash(_("Message %(id)s deleted.", id=quarantine_id), "success")
    return _back_to_quarantine()


@bp.post("/admin/channels/quarantine/<int:quarantine_id>/retry")
@login_required
def quarantine_retry(quarantine_id: int):  # type: ignore[no-untyped-def]
    """Store the message again (after a fix or a larger size limit)."""
    actor = me_allowed(Permission.CHANNEL_ADMIN)
    try:
        result = email_ingest.retry_quarantined(actor, quarantine_id)
    except Conflict as exc:
        flash(exc.message, "info")
        return _back_to_quarantine()
    if result.outcome == "quarantined":
        flash(
            _(
                "Message %(id)s is still refused: %(reason)s",
                id=quarantine_id,
                reason=result.reason,
            ),
            "error",
        )
    elif result.outcome == "duplicate":
        flash(
            _("Message %(id)s was already stored; it leaves the quarantine.", id=quarantine_id),
            "success",
        )
    else:
        number = tickets.get_ticket(actor, result.ticket_id).number if result.ticket_id else None
        flash(
            _("Message %(id)s stored on ticket #%(number)s.", id=quarantine_id, number=number),
            "success",
        )
    return _back_to_quarantine()


@bp.post("/admin/channels/quarantine/<int:quarantine_id>/release")
@login_required
def quarantine_release(quarantine_id: int):  # type: ignore[no-untyped-def]
    return _resolve(quarantine_id, email_quarantine.RELEASED)


@bp.post("/admin/channels/quarantine/<int:quarantine_id>/delete")
@login_required
def quarantine_delete(quarantine_id: int):  # type: ignore[no-untyped-def]
    return _resolve(quarantine_id, email_quarantine.DELETED)
