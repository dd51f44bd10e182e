"""``/api/v1/channels/email``: email channels and their quarantine, for admins.

Thin views: the services check the permission (``CHANNEL_ADMIN``), validate the settings and
encrypt the passwords, which go in and never come out (see ``channel_schemas``).
"""

from __future__ import annotations

import io
from typing import Any

from flask import Response, send_file, url_for
from flask.views import MethodView
from flask_smorest import Blueprint

from ..services import email_channels, email_quarantine
from .auth import actor, authenticate_request
from .channel_schemas import (
    ChannelCreateSchema,
    ChannelSchema,
    ChannelTestSchema,
    ChannelUpdateSchema,
    QuarantineListArgs,
    QuarantinePageSchema,
    QuarantineSchema,
)

blp = Blueprint(
    "channels",
    __name__,
    url_prefix="/channels/email",
    description="Email channels: mailboxes and SMTP servers (admins only)",
)
blp.before_request(authenticate_request)
quarantine_blp = Blueprint(
    "quarantine",
    __name__,
    url_prefix="/channels/email/quarantine",
    description="Inbound mail that could not become a ticket message (admins only)",
)
quarantine_blp.before_request(authenticate_request)


@blp.route("")
class Channels(MethodView):
    @blp.response(200, ChannelSchema(many=True))
    def get(self) -> Any:
        """Every email channel, oldest first, with its mailbox state."""
        return email_channels.list_channels(actor())

    @blp.arguments(ChannelCreateSchema)
    @blp.response(201, ChannelSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Create a channel. Passwords are stored encrypted and never returned."""
        channel = email_channels.create_channel(actor(), **data)
        return channel, {"Location": url_for("channels.ChannelItem", channel_id=channel.id)}


@blp.route("/<int:channel_id>")
class ChannelItem(MethodView):
    @blp.response(200, ChannelSchema)
    def get(self, channel_id: int) -> Any:
        """One channel."""
        return email_channels.get_channel(actor(), channel_id)

    @blp.arguments(ChannelUpdateSchema)
    @blp.response(200, ChannelSchema)
    def patch(self, data: dict[str, Any], channel_id: int) -> Any:
        """Change some settings; a password left out (or null) stays as it was."""
        return email_channels.update_channel(actor(), channel_id, data)

    @blp.response(204)
    def delete(self, channel_id: int) -> None:
        """Delete a channel. Its tickets stay; their replies can no longer go out by email."""
        email_channels.delete_channel(actor(), channel_id)


@blp.route("/<int:channel_id>/test")
class ChannelTest(MethodView):
    @blp.response(200, ChannelTestSchema)
    def post(self, channel_id: int) -> Any:
        """Log in to the mailbox and to the SMTP server as the worker would; changes nothing.

        Always 200 when the channel exists: each side reports `ok`, an `error_code` and a
        message to show."""
        report = email_channels.test_channel(actor(), channel_id)
        return {"ok": report.ok, "imap": report.imap, "smtp": report.smtp}


@quarantine_blp.route("")
class Quarantine(MethodView):
    @quarantine_blp.arguments(QuarantineListArgs, location="query", unknown=None)
    @quarantine_blp.response(200, QuarantinePageSchema)
    def get(self, args: dict[str, Any]) -> Any:
        """Quarantined messages, newest first (held ones unless `state` says otherwise)."""
        limit = args["limit"]
        rows = email_quarantine.list_quarantine(
            actor(),
            args.get("channel"),
            state=args["state"],
            before_id=int(args["cursor"]) if "cursor" in args else None,
            limit=limit + 1,
        )
        more = len(rows) > limit
        rows = rows[:limit]
        return {"items": rows, "next_cursor": str(rows[-1].id) if more else None}


@quarantine_blp.route("/<int:quarantine_id>")
class QuarantineItem(MethodView):
    @quarantine_blp.response(200, QuarantineSchema)
    def get(self, quarantine_id: int) -> Any:
        """One quarantined message: where and when it was fetched, its size, and why it is here."""
        return email_quarantine.get_quarantined(actor(), quarantine_id)

    @quarantine_blp.response(204)
    def delete(self, quarantine_id: int) -> None:
        """Mark the message deleted: it leaves the held list (its bytes are kept for now)."""
        email_quarantine.resolve_quarantined(actor(), quarantine_id, email_quarantine.DELETED)


@quarantine_blp.route("/<int:quarantine_id>/release")
class QuarantineRelease(MethodView):
    @quarantine_blp.response(200, QuarantineSchema)
    def post(self, quarantine_id: int) -> Any:
        """Mark the message released: dealt with by hand. It is not ingested again."""
        return email_quarantine.resolve_quarantined(
            actor(), quarantine_id, email_quarantine.RELEASED
        )


@quarantine_blp.route("/<int:quarantine_id>/raw")
class QuarantineRaw(MethodView):
    @quarantine_blp.response(
        200,
        description="The message exactly as fetched, as an .eml download",
        content_type="message/rfc822",
    )
    def get(self, quarantine_id: int) -> Response:
        """The raw message (`message/rfc822`, as an attachment)."""
        raw = email_quarantine.quarantined_source(actor(), quarantine_id)
        return send_file(
            io.BytesIO(raw),
            mimetype="message/rfc822",
            as_attachment=True,
            download_name=f"quarantine-{quarantine_id}.eml",
            max_age=0,
        )
