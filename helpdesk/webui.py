"""Staff pages (for now a plain ticket list and ticket page), static files and the health check.

Views only parse the request and call services; rules and permissions live in the services.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from flask import (
    Blueprint,
    Flask,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    send_from_directory,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select, text
from wtforms import StringField, TextAreaField
from wtforms.validators import AnyOf, DataRequired

from .extensions import db
from .models import OPEN_STATUSES, Customer, Status, User
from .services import attachments, messages, tickets
from .services.permissions import Actor, Permission, can
from .services.ticket_queries import TicketFilter, list_tickets

STATIC_ROOT = Path(__file__).resolve().parent.parent / "static"
bp = Blueprint("web", __name__)

_OPEN = [s.value for s in OPEN_STATUSES]
# The plain queue's views: name -> filter for the signed-in user's id.
VIEWS: dict[str, Callable[[int], TicketFilter]] = {
    "open": lambda _user_id: TicketFilter(statuses=_OPEN),
    "mine": lambda user_id: TicketFilter(statuses=_OPEN, assignee_id=user_id),
    "unassigned": lambda _user_id: TicketFilter(statuses=_OPEN, unassigned=True),
    "solved": lambda _user_id: TicketFilter(statuses=[Status.SOLVED.value]),
    "all": lambda _user_id: TicketFilter(),
}


SETTABLE_STATUSES = [s.value for s in Status if s != Status.NEW]


class MessageForm(FlaskForm):
    body = TextAreaField(validators=[DataRequired()])
    kind = StringField(default="reply", validators=[AnyOf(["reply", "note"])])


class StatusForm(FlaskForm):
    status = StringField(validators=[AnyOf(SETTABLE_STATUSES)])


def me() -> Actor:
    return Actor.of(current_user._get_current_object())


@bp.get("/")
def home():  # type: ignore[no-untyped-def]
    return redirect(url_for("web.ticket_list"))


@bp.get("/tickets")
@login_required
def ticket_list():  # type: ignore[no-untyped-def]
    view = request.args.get("view", "open")
    if view not in VIEWS:
        abort(404)
    page = list_tickets(me(), VIEWS[view](current_user.id), cursor=request.args.get("cursor"))
    return render_template("tickets.html", page=page, view=view, views=list(VIEWS))


@bp.get("/tickets/<int:number>")
@login_required
def ticket_page(number: int):  # type: ignore[no-untyped-def]
    ticket = tickets.get_ticket_by_number(me(), number)
    conversation = messages.list_messages(me(), ticket.id)
    session = db.session()
    author_ids = {m.author_user_id for m in conversation if m.author_user_id}
    authors = {u.id: u for u in session.scalars(select(User).where(User.id.in_(author_ids)))}
    customer = session.get(Customer, ticket.customer_id)
    return render_template(
        "ticket.html",
        ticket=ticket,
        conversation=conversation,
        authors=authors,
        customer=customer,
        message_form=MessageForm(),
        statuses=SETTABLE_STATUSES,
        status_form=StatusForm(status=ticket.status if ticket.status != Status.NEW else "open"),
        can_reply=can(me(), Permission.TICKET_REPLY),
        can_update=can(me(), Permission.TICKET_UPDATE),
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
        messages.reply_to_ticket(me(), ticket.id, body_text=form.body.data)
        flash(_("Reply sent."), "success")
    return redirect(url_for("web.ticket_page", number=number))


@bp.post("/tickets/<int:number>/status")
@login_required
def post_status(number: int):  # type: ignore[no-untyped-def]
    ticket = tickets.get_ticket_by_number(me(), number)
    form = StatusForm()
    if form.validate_on_submit():
        tickets.set_status(me(), ticket.id, form.status.data or "")
        flash(_("Status changed."), "success")
    else:
        flash(_("Choose a valid status."), "error")
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


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
