"""The agent queue: views with live counts, filters an agent can save, bulk changes."""

from __future__ import annotations

from typing import Any

from flask import (
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_login import current_user, login_required

from .labels import translated_labels
from .models import PRIORITY_NAMES, Channel, Status, utcnow
from .services import (
    queue_views,
    ticket_bulk,
    ticket_reads,
    users,
)
from .services.errors import Invalid
from .services.permissions import Permission, can
from .services.sla_countdown import countdowns
from .services.ticket_queries import SORTS, TicketFilter, list_tickets
from .webui import SETTABLE_STATUSES, bp, me


@bp.get("/tickets")
@login_required
def ticket_list():  # type: ignore[no-untyped-def]
    actor = me()
    views = queue_views.views_for(actor)
    key = request.args.get("view", "open")
    form_filter = _filter_from(request.args)
    if key == "filter":  # an ad-hoc view from the filter form, not saved (yet)
        try:
            view = queue_views.QueueView(
                "filter", TicketFilter(**queue_views.clean_filter(form_filter))
            )
        except Invalid as exc:
            flash(exc.message, "error")
            return redirect(url_for("web.ticket_list"))
    else:
        found = next((v for v in views if v.key == key), None)
        if found is None:
            abort(404)
        view = found
    sort = request.args.get("sort", "-updated_at")
    if sort not in SORTS:
        sort = "-updated_at"
    page = list_tickets(actor, view.filter, sort=sort, cursor=request.args.get("cursor"))
    countdowns(page.tickets, utcnow())
    ticket_reads.annotate_unread(actor, page.tickets)
    staff = users.list_users(actor)
    config = {
        "view": key,
        "can_update": can(actor, Permission.TICKET_UPDATE),
        "sort": sort,
        "paged": bool(request.args.get("cursor")),
        "complete": page.next_cursor is None,
        "filters": {v.key: queue_views.filter_json(v.filter) for v in [*views, view]},
        "cap": queue_views.COUNT_CAP,
        "me": current_user.id,
        "agents": {u.id: u.name for u in staff},
        "labels": translated_labels(),
        "locale": str(get_locale()),
        "timezone": current_user.timezone,
        "counts_url": url_for("web.queue_counts"),
        "ticket_url": url_for("web.ticket_page", number=0).removesuffix("0"),
        "read_state_url": url_for("web.queue_read_state"),
        "unread_url": url_for("web.queue_mark_unread"),
        "text": {"unread": _("Unread")},
    }
    return render_template(
        "tickets.html",
        can_create=can(actor, Permission.TICKET_CREATE),
        page=page,
        view=view,
        views=views,
        sort=sort,
        sorts=SORTS,
        counts=queue_views.view_counts(actor, views),
        cap=queue_views.COUNT_CAP,
        config=config,
        can_update=config["can_update"],
        groups=users.list_groups(actor),
        agents=[u for u in staff if u.role in ("agent", "admin")],
        statuses=SETTABLE_STATUSES,
        priorities=list(PRIORITY_NAMES.values()),
        all_statuses=[s.value for s in Status],
        channels=[c.value for c in Channel],
        form_filter=form_filter,
    )


@bp.post("/tickets/bulk")
@login_required
def bulk_edit():  # type: ignore[no-untyped-def]
    """Apply one change to the tickets ticked in the queue; empty choices mean "leave as is"."""
    back = request.form.get("back") or url_for("web.ticket_list")
    if not back.startswith("/") or back.startswith("//"):
        back = url_for("web.ticket_list")  # never redirect off-site
    ids = [int(i) for i in request.form.getlist("ids") if i.isdigit()]
    changes: dict[str, Any] = {}
    for name in ("status", "priority"):
        if request.form.get(name):
            changes[name] = request.form[name]
    for name in ("group_id", "assignee_id"):
        value = request.form.get(name, "")
        if value == "none":
            changes[name] = None
        elif value.isdigit():
            changes[name] = int(value)
    tags = [t for t in request.form.get("add_tags", "").split(",") if t.strip()]
    if tags:
        changes["add_tags"] = tags
    try:
        result = ticket_bulk.bulk_update(me(), ids, changes)
    except Invalid as exc:
        flash(exc.message, "error")
        return redirect(back)
    flash(
        ngettext("%(num)d ticket updated.", "%(num)d tickets updated.", len(result.updated)),
        "success",
    )
    for ticket_id, reason in result.skipped.items():
        flash(_("Ticket %(id)s skipped: %(reason)s", id=ticket_id, reason=reason), "warning")
    return redirect(back)


_FILTER_PARAMS = ("status", "priority", "channel", "tag", "assignee_id", "group_id", "customer_id")


def _filter_from(form) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """The filter form's fields (a query string or a POST body) as ``clean_filter`` takes them."""
    data: dict[str, Any] = {"statuses": form.getlist("status")}
    for name in ("priority", "channel", "tag", "assignee_id", "group_id", "customer_id"):
        data[name] = form.get(name) or None
    if data["assignee_id"] == "none":
        data["assignee_id"], data["unassigned"] = None, True
    return data


@bp.post("/views")
@login_required
def save_view():  # type: ignore[no-untyped-def]
    try:
        saved = queue_views.save_view(
            me(), request.form.get("name", ""), _filter_from(request.form)
        )
    except Invalid as exc:
        flash(exc.message, "error")
        return redirect(
            url_for("web.ticket_list", view="filter", **request.form.to_dict(flat=False))
        )
    flash(_("View saved."), "success")
    return redirect(url_for("web.ticket_list", view=f"saved:{saved.id}"))


@bp.post("/views/<int:view_id>/delete")
@login_required
def delete_view(view_id: int):  # type: ignore[no-untyped-def]
    queue_views.delete_view(me(), view_id)
    flash(_("View deleted."), "success")
    return redirect(url_for("web.ticket_list"))


@bp.get("/tickets/counts")
@login_required
def queue_counts():  # type: ignore[no-untyped-def]
    actor = me()
    return jsonify(queue_views.view_counts(actor, queue_views.views_for(actor)))


def _ids(raw: list[str]) -> list[int]:
    return [int(i) for i in raw if i.isdigit()][: ticket_reads.MAX_IDS]


@bp.get("/tickets/read-state")
@login_required
def queue_read_state():  # type: ignore[no-untyped-def]
    """``{ticket id: unread}`` for rows the live queue received by event (``?ids=1,2``)."""
    ids = _ids(request.args.get("ids", "").split(","))
    flags = ticket_reads.unread_flags(me(), ids)
    return jsonify({str(ticket_id): unread for ticket_id, unread in flags.items()})


@bp.post("/tickets/unread")
@login_required
def queue_mark_unread():  # type: ignore[no-untyped-def]
    """Mark the ticked rows (form field ``ids``) unread again for the signed-in agent.

    Answers JSON for the queue's script, or goes back to the queue for a plain form post.
    """
    ids = _ids(request.form.getlist("ids"))
    ticket_reads.mark_unread(me(), ids)
    flags = ticket_reads.unread_flags(me(), ids)
    if request.accept_mimetypes.best == "application/json":
        return jsonify({str(ticket_id): unread for ticket_id, unread in flags.items()})
    back = request.form.get("back") or url_for("web.ticket_list")
    if not back.startswith("/") or back.startswith("//"):
        back = url_for("web.ticket_list")
    return redirect(back)
