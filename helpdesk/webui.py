"""Staff pages: the blueprint and what every page shares (the signed-in actor, the bell, static
files, attachment downloads, the health check). The queue, the ticket page and the customer
profile live in ``web_queue``, ``web_ticket`` and ``web_customer``.

Views only parse the request and call services; rules and permissions live in the services.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    Flask,
    g,
    jsonify,
    redirect,
    render_template,
    send_file,
    send_from_directory,
    url_for,
)
from flask_login import current_user, login_required
from sqlalchemy import text

from .extensions import db
from .models import Status
from .services import (
    attachments,
    notifications,
)
from .services.errors import ServiceError
from .services.permissions import Actor, Permission, require

STATIC_ROOT = Path(__file__).resolve().parent.parent / "static"
bp = Blueprint("web", __name__)
# What an agent may set a ticket to (a ticket is "new" only until someone touches it).
SETTABLE_STATUSES = [s.value for s in Status if s != Status.NEW]


def me() -> Actor:
    return Actor.of(current_user._get_current_object())


def me_allowed(permission: Permission) -> Actor:
    """The signed-in user, if they may ``permission``: editor pages are shown only to those who
    may save them (``Forbidden`` is a 403 page). The services check again on every change."""
    actor = me()
    require(actor, permission)
    return actor


def field_errors(exc: ServiceError) -> dict[str, str]:
    """The service's message for each field it names, to show next to that field."""
    return dict.fromkeys(exc.fields or {}, exc.message)


def form_number(text: str) -> int | str | None:
    """A number field: an int, ``None`` when empty, or the text as typed for the service to
    refuse with its own message."""
    text = text.strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        return text


@bp.get("/")
def home():  # type: ignore[no-untyped-def]
    return redirect(url_for("web.ticket_list"))


@bp.get("/notifications")
@login_required
def notification_list():  # type: ignore[no-untyped-def]
    items, unread = notifications.list_notifications(me(), limit=notifications.MAX_LISTED)
    return render_template("notifications.html", items=items, unread=unread)


@bp.post("/notifications/read")
@login_required
def notifications_read():  # type: ignore[no-untyped-def]
    notifications.mark_read(me())
    return redirect(url_for("web.notification_list"))


@bp.get("/attachments/<int:attachment_id>")
@login_required
def download_attachment(attachment_id: int):  # type: ignore[no-untyped-def]
    attachment = attachments.get_attachment(me(), attachment_id)
    return send_file(
        attachments.blob_path(attachment.sha256),
        mimetype=attachment.content_type,
        as_attachment=True,  # never rendered inline: a customer's HTML file must not run here
        download_name=attachment.filename,
        max_age=0,
    )


@bp.get("/static/<path:filename>")
def static(filename: str):  # type: ignore[no-untyped-def]
    return send_from_directory(STATIC_ROOT, filename, max_age=3600)


@bp.get("/healthz")
def healthz():  # type: ignore[no-untyped-def]
    try:
        db.session().execute(text("SELECT 1"))
        return jsonify({"status": "ok", "database": "ok"})
    except Exception:
        return jsonify({"status": "error", "database": "unreachable"}), 503


@bp.app_context_processor
def bell() -> dict[str, Any]:
    """The unread count shown on every staff page's bell."""
    if not (current_user and current_user.is_authenticated):
        return {}
    if "unread_notifications" not in g:
        g.unread_notifications = notifications.unread_count(me())
    return {"unread_notifications": g.unread_notifications}


def init_app(app: Flask) -> None:
    # The page modules add their routes to ``bp`` when imported.
    from . import (  # noqa: F401
        web_canned_replies,
        web_channels,
        web_customer,
        web_follows,
        web_kb,
        web_organization,
        web_queue,
        web_search,
        web_sla,
        web_ticket,
        web_ticket_new,
    )

    app.register_blueprint(bp)
