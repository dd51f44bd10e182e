"""The saved replies page (``/canned-replies``): the team's shared replies and the agent's own,
a form to add one, and an editor per reply.

The views turn forms into the values ``services.canned_replies`` takes; the service decides who
may see, add, change or delete what (agents and admins; admins for shared replies). A refused
or invalid form comes back as typed, with the service's message flashed and next to its field.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from .models import CannedReply
from .services import canned_replies
from .services.canned_replies import PLACEHOLDERS
from .services.errors import Conflict, Forbidden, Invalid
from .services.permissions import Actor
from .webui import bp, field_errors, me

MAX_LISTED = 500


def _posted() -> dict[str, Any]:
    return {
        "title": request.form.get("title", ""),
        "body": request.form.get("body", ""),
        "shortcut": request.form.get("shortcut", ""),
        "shared": request.form.get("shared") == "1",
    }


def _values(reply: CannedReply) -> dict[str, Any]:
    return {
        "title": reply.title,
        "body": reply.body,
        "shortcut": reply.shortcut or "",
        "shared": reply.is_shared,
    }


def _status(exc: Exception) -> int:
    return 409 if isinstance(exc, Conflict) else 403 if isinstance(exc, Forbidden) else 422


def _render_list(
    actor: Actor,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
):  # type: ignore[no-untyped-def]
    search = request.args.get("q", "")
    replies = canned_replies.list_replies(actor, search, limit=MAX_LISTED)
    page = render_template(
        "canned_replies.html",
        shared=[r for r in replies if r.is_shared],
        personal=[r for r in replies if not r.is_shared],
        search=search,
        values=values or {"title": "", "body": "", "shortcut": "", "shared": False},
        errors=errors or {},
        may_change={r.id: canned_replies.may_change(actor, r) for r in replies},
        can_share=canned_replies.may_share(actor),
        placeholders=PLACEHOLDERS,
    )
    return page, status


@bp.get("/canned-replies")
@login_required
def canned_replies_page():  # type: ignore[no-untyped-def]
    return _render_list(me())


@bp.post("/canned-replies")
@login_required
def canned_reply_new():  # type: ignore[no-untyped-def]
    actor = me()
    values = _posted()
    try:
        canned_replies.create_reply(actor, **values)
    except (Invalid, Conflict, Forbidden) as exc:
        flash(exc.message, "error")
        return _render_list(actor, values, field_errors(exc), _status(exc))
    flash(_("Saved reply added."), "success")
    return redirect(url_for("web.canned_replies_page"))


def _render_editor(
    actor: Actor,
    reply: CannedReply,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
    status: int = 200,
):  # type: ignore[no-untyped-def]
    page = render_template(
        "canned_reply.html",
        reply=reply,
        values=values,
        errors=errors or {},
        editable=canned_replies.may_change(actor, reply),
        placeholders=PLACEHOLDERS,
    )
    return page, status


@bp.get("/canned-replies/<int:reply_id>")
@login_required
def canned_reply_edit(reply_id: int):  # type: ignore[no-untyped-def]
    actor = me()
    reply = canned_replies.get_reply(actor, reply_id)
    return _render_editor(actor, reply, _values(reply))


@bp.post("/canned-replies/<int:reply_id>")
@login_required
def canned_reply_save(reply_id: int):  # type: ignore[no-untyped-def]
    actor = me()
    values = _posted()
    changes = {name: values[name] for name in canned_replies.EDITABLE}
    try:
        canned_replies.update_reply(actor, reply_id, changes)
    except (Invalid, Conflict, Forbidden) as exc:
        flash(exc.message, "error")
        reply = canned_replies.get_reply(actor, reply_id)
        values["shared"] = reply.is_shared
        return _render_editor(actor, reply, values, field_errors(exc), _status(exc))
    flash(_("Saved reply updated."), "success")
    return redirect(url_for("web.canned_replies_page"))


@bp.post("/canned-replies/<int:reply_id>/delete")
@login_required
def canned_reply_delete(reply_id: int):  # type: ignore[no-untyped-def]
    canned_replies.delete_reply(me(), reply_id)
    flash(_("Saved reply deleted."), "success")
    return redirect(url_for("web.canned_replies_page"))
