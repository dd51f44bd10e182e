"""Staff pages (the live queue and the ticket page), static files and the health check.

Views only parse the request and call services; rules and permissions live in the services.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    Flask,
    abort,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    send_from_directory,
    url_for,
)
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select, text
from wtforms import IntegerField, StringField, TextAreaField
from wtforms.validators import AnyOf, DataRequired, Optional

from .extensions import db
from .labels import translated_labels
from .models import PRIORITY_NAMES, Channel, Customer, Status, Ticket, User
from .services import (
    attachments,
    customer_profile,
    customers,
    email_outbox,
    messages,
    notifications,
    queue_views,
    ticket_bulk,
    tickets,
    users,
)
from .services.errors import Conflict, Invalid, RepliedMeanwhile
from .services.permissions import Actor, Permission, can
from .services.ticket_queries import SORTS, TicketFilter, list_tickets
from .services.ticket_timeline import ticket_timeline

STATIC_ROOT = Path(__file__).resolve().parent.parent / "static"
bp = Blueprint("web", __name__)

SETTABLE_STATUSES = [s.value for s in Status if s != Status.NEW]


class MessageForm(FlaskForm):
    body = TextAreaField(validators=[DataRequired()])
    kind = StringField(default="reply", validators=[AnyOf(["reply", "note"])])
    # The newest message on the author's screen: a reply is refused if others wrote since.
    seen_message_id = IntegerField(validators=[Optional()])


class FieldsForm(FlaskForm):
    status = StringField(validators=[Optional(), AnyOf(SETTABLE_STATUSES)])
    priority = StringField(validators=[Optional(), AnyOf(list(PRIORITY_NAMES.values()))])
    tags = StringField()
    # The version the agent saw: a colleague's change in between is reported, not overwritten.
    version = IntegerField(validators=[Optional()])


def me() -> Actor:
    return Actor.of(current_user._get_current_object())


@bp.get("/")
def home():  # type: ignore[no-untyped-def]
    return redirect(url_for("web.ticket_list"))


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
    }
    return render_template(
        "tickets.html",
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


@bp.get("/tickets/<int:number>")
@login_required
def ticket_page(number: int):  # type: ignore[no-untyped-def]
    ticket = tickets.get_ticket_by_number(me(), number)
    if _bell().get("unread_notifications") and notifications.mark_read(me(), ticket_id=ticket.id):
        g.pop("unread_notifications")  # opening the ticket read some: count again for the bell
    return _render_ticket(ticket, MessageForm())


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


def _render_ticket(ticket: Ticket, message_form: MessageForm, status_code: int = 200):  # type: ignore[no-untyped-def]
    actor = me()
    timeline = ticket_timeline(actor, ticket.id)
    conversation = [item.message for item in timeline if item.message is not None]
    session = db.session()
    customer = session.get(Customer, ticket.customer_id)
    agents = {u.id: u for u in users.list_users(actor)}
    # Authors who have left the team still have names on old messages.
    missing = {m.author_user_id for m in conversation} | {
        item.event.actor_user_id for item in timeline if item.event is not None
    }
    missing -= {None, *agents}
    agents.update({u.id: u for u in session.scalars(select(User).where(User.id.in_(missing)))})
    groups = users.list_groups(actor)
    history = list_tickets(actor, TicketFilter(customer_id=ticket.customer_id), limit=11)
    other_tickets = [t for t in history.tickets if t["id"] != ticket.id][:10]
    seen = conversation[-1].id if conversation else 0
    deliveries = email_outbox.delivery_statuses(
        m.id for m in conversation if m.is_public and m.direction == "out"
    )
    config = {
        "ticket_id": ticket.id,
        "number": ticket.number,
        "me": current_user.id,
        "customer_name": customer.name if customer else "",
        "agents": {u.id: u.name for u in agents.values()},
        "labels": translated_labels(),
        "locale": str(get_locale()),
        "timezone": current_user.timezone,
        "queue_url": url_for("web.ticket_list"),
        "ticket_url": url_for("web.ticket_page", number=0).removesuffix("0"),
        "groups": {g.id: g.name for g in groups},
        "fields": {
            "status": _("Status"),
            "priority": _("Priority"),
            "group_id": _("Group"),
            "assignee_id": _("Assignee"),
            "tags": _("Tags"),
            "subject": _("Subject"),
        },
        "delivery": {
            "queued": _("Queued"),
            "sending": _("Sending"),
            "sent": _("Sent"),
            "failed": _("Not delivered"),
        },
        "text": {
            "system": _("System"),
            "viewing": _("%(names)s also viewing", names="{names}"),
            "typing": _("%(names)s typing a reply…", names="{names}"),
            "replied": _(
                "%(name)s wrote while you were typing. Read it before you send.", name="{name}"
            ),
            "note": _("Internal note"),
        },
    }
    message_form.seen_message_id.data = message_form.seen_message_id.data or seen
    return (
        render_template(
            "ticket.html",
            ticket=ticket,
            timeline=timeline,
            agents=agents,
            groups=groups,
            customer=customer,
            organization=customer.organization if customer else None,
            other_tickets=other_tickets,
            deliveries=deliveries,
            more_tickets=history.next_cursor is not None,
            message_form=message_form,
            statuses=SETTABLE_STATUSES,
            priorities=list(PRIORITY_NAMES.values()),
            priority_name=PRIORITY_NAMES[ticket.priority],
            can_reply=can(actor, Permission.TICKET_REPLY),
            can_update=can(actor, Permission.TICKET_UPDATE),
            config=config,
        ),
        status_code,
    )


@bp.get("/customers/<int:customer_id>")
@login_required
def customer_page(customer_id: int):  # type: ignore[no-untyped-def]
    """The customer's profile: identities, service summary, tickets and one live timeline."""
    actor = me()
    customer = customers.get_customer(actor, customer_id)
    kind = request.args.get("kind", "all")
    entries, next_cursor = customer_profile.customer_timeline(
        actor, customer_id, kind=kind, cursor=request.args.get("cursor")
    )
    summary = customer_profile.service_summary(actor, customer_id)
    history = list_tickets(actor, TicketFilter(customer_id=customer_id), limit=20)
    agents = {u.id: u.name for u in users.list_users(actor)}
    config = {
        "customer_id": customer_id,
        "customer_name": customer.name,
        "kind": kind,
        "agents": agents,
        "labels": translated_labels(),
        "locale": str(get_locale()),
        "timezone": current_user.timezone,
        "ticket_url": url_for("web.ticket_page", number=0).removesuffix("0"),
        "text": {"note": _("Internal note")},
    }
    return render_template(
        "customer.html",
        customer=customer,
        entries=entries,
        next_cursor=next_cursor,
        kind=kind,
        summary=summary,
        tickets=history.tickets,
        more_tickets=history.next_cursor is not None,
        agents=agents,
        config=config,
    )


@bp.post("/tickets/<int:number>/messages")
@login_required
def post_message(number: int):  # type: ignore[no-untyped-def]
    ticket = tickets.get_ticket_by_number(me(), number)
    form = MessageForm()
    if not form.validate_on_submit():
        flash(_("Write a message first."), "error")
    elif form.kind.data == "note":
        messages.add_note(me(), ticket.id, body_text=form.body.data)
        flash(_("Internal note added."), "success")
    else:
        try:
            messages.reply_to_ticket(
                me(), ticket.id, body_text=form.body.data, seen_message_id=form.seen_message_id.data
            )
        except RepliedMeanwhile as exc:
            # Keep the draft and show the conversation as it is now; sending again goes through.
            flash(exc.message, "warning")
            form.seen_message_id.data = form.seen_message_id.raw_data = None  # now seen
            return _render_ticket(ticket, form, 409)
        flash(_("Reply sent."), "success")
    return redirect(url_for("web.ticket_page", number=number))


@bp.post("/tickets/<int:number>/fields")
@login_required
def post_fields(number: int):  # type: ignore[no-untyped-def]
    """Change the side panel's fields; only the fields the form sent are touched."""
    ticket = tickets.get_ticket_by_number(me(), number)
    form = FieldsForm()
    if not form.validate_on_submit():
        flash(_("Check the highlighted fields."), "error")
        return redirect(url_for("web.ticket_page", number=number))
    sent = set(request.form)
    changes: dict[str, Any] = {}
    if "status" in sent:
        changes["status"] = form.status.data
    if "priority" in sent:
        changes["priority"] = form.priority.data
    for name in ("group_id", "assignee_id"):
        if name in sent:
            value = request.form[name]
            changes[name] = int(value) if value.isdigit() else None
    if "tags" in sent:
        changes["tags"] = [t for t in (form.tags.data or "").split(",") if t.strip()]
    try:
        tickets.update_ticket(me(), ticket.id, changes, expected_version=form.version.data)
    except Conflict as exc:
        flash(exc.message, "error")
    else:
        flash(_("Ticket updated."), "success")
    return redirect(url_for("web.ticket_page", number=number))


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
def _bell() -> dict[str, Any]:
    """The unread count shown on every staff page's bell."""
    if not (current_user and current_user.is_authenticated):
        return {}
    if "unread_notifications" not in g:
        g.unread_notifications = notifications.unread_count(me())
    return {"unread_notifications": g.unread_notifications}


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
