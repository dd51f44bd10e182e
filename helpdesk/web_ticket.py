"""The ticket page: timeline, composer with collision checks, the editable side panel."""

from __future__ import annotations

from typing import Any

from flask import (
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import IntegerField, StringField, TextAreaField
from wtforms.validators import AnyOf, Optional

from .extensions import db
from .labels import translated_labels
from .models import PRIORITY_NAMES, Customer, Ticket, User, Visibility, utcnow
from .services import (
    email_outbox,
    follows,
    kb_lookup,
    messages,
    notifications,
    ticket_reads,
    tickets,
    users,
)
from .services.errors import Conflict, Invalid, RepliedMeanwhile
from .services.permissions import Permission, can
from .services.sla_countdown import target_rows, ticket_countdown
from .services.ticket_queries import TicketFilter, list_tickets
from .services.ticket_timeline import ticket_timeline
from .web_uploads import uploaded_files
from .webui import SETTABLE_STATUSES, bell, bp, me


class MessageForm(FlaskForm):
    body = TextAreaField()  # may be empty when files are attached
    kind = StringField(default="reply", validators=[AnyOf(["reply", "note", "call"])])
    # The newest message on the author's screen: a reply is refused if others wrote since.
    seen_message_id = IntegerField(validators=[Optional()])


class FieldsForm(FlaskForm):
    status = StringField(validators=[Optional(), AnyOf(SETTABLE_STATUSES)])
    priority = StringField(validators=[Optional(), AnyOf(list(PRIORITY_NAMES.values()))])
    tags = StringField()
    # The version the agent saw: a colleague's change in between is reported, not overwritten.
    version = IntegerField(validators=[Optional()])


@bp.get("/tickets/<int:number>")
@login_required
def ticket_page(number: int):  # type: ignore[no-untyped-def]
    ticket = tickets.get_ticket_by_number(me(), number)
    if bell().get("unread_notifications") and notifications.mark_read(me(), ticket_id=ticket.id):
        g.pop("unread_notifications")  # opening the ticket read some: count again for the bell
    ticket_reads.mark_read(me(), ticket.id)
    return _render_ticket(ticket, MessageForm())


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
        "read_url": url_for("web.ticket_mark_read", number=ticket.number),
        "suggest_url": url_for("web.suggest_users"),
        "kb_url": url_for("web.composer_kb_search"),
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
            "sla_warning": _("SLA about to breach"),
            "sla_breach": _("SLA breached"),
            "kb_none": _("No published article matches."),
            "kb_internal": _("Internal"),
            "kb_link": _("Insert link"),
            "kb_text": _("Insert text"),
        },
    }
    message_form.seen_message_id.data = message_form.seen_message_id.data or seen
    now = utcnow()
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
            sla_targets=target_rows(ticket, now),
            sla_countdown=ticket_countdown(ticket, now),
            following=follows.is_following(actor, ticket_id=ticket.id),
        ),
        status_code,
    )


@bp.post("/tickets/<int:number>/messages")
@login_required
def post_message(number: int):  # type: ignore[no-untyped-def]
    ticket = tickets.get_ticket_by_number(me(), number)
    form = MessageForm()
    files = uploaded_files()
    if not form.validate_on_submit() or not ((form.body.data or "").strip() or files):
        flash(_("Write a message first."), "error")
        return redirect(url_for("web.ticket_page", number=number))
    try:
        if form.kind.data == "note":
            messages.add_note(me(), ticket.id, body_text=form.body.data, attachments=files)
            flash(_("Internal note added."), "success")
        elif form.kind.data == "call":
            messages.log_call(me(), ticket.id, body_text=form.body.data, attachments=files)
            flash(_("Call logged."), "success")
        else:
            messages.reply_to_ticket(
                me(),
                ticket.id,
                body_text=form.body.data,
                attachments=files,
                seen_message_id=form.seen_message_id.data,
            )
            flash(_("Reply sent."), "success")
    except RepliedMeanwhile as exc:
        # Keep the draft and show the conversation as it is now; sending again goes through.
        flash(exc.message, "warning")
        form.seen_message_id.data = form.seen_message_id.raw_data = None  # now seen
        return _render_ticket(ticket, form, 409)
    except Invalid as exc:  # e.g. a file over the attachment limit: keep the draft
        flash(exc.message, "error")
        return _render_ticket(ticket, form, 422)
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


@bp.post("/tickets/<int:number>/read")
@login_required
def ticket_mark_read(number: int):  # type: ignore[no-untyped-def]
    """The open ticket page read a customer message as it arrived: not unread in the queue."""
    ticket = tickets.get_ticket_by_number(me(), number)
    return jsonify({"was_unread": ticket_reads.mark_read(me(), ticket.id)})


@bp.get("/users/suggest")
@login_required
def suggest_users():  # type: ignore[no-untyped-def]
    """Colleagues for the composer's @mention list: ``[{id, name, username}]``, at most 8."""
    return jsonify(users.suggest_staff(me(), request.args.get("q", "")))


@bp.get("/composer/kb")
@login_required
def composer_kb_search():  # type: ignore[no-untyped-def]
    """Published articles for the composer's knowledge-base panel, each with the link to
    insert (the help center for public articles, the staff page for internal ones)."""
    try:
        found = kb_lookup.find_articles(me(), request.args.get("q", ""))
    except Invalid as exc:
        return jsonify({"error": str(exc.message), "items": []}), 400
    return jsonify(
        {
            "items": [
                {
                    "article_id": m.article_id,
                    "locale": m.locale,
                    "title": m.title,
                    "title_html": m.title_html,
                    "snippet": m.snippet,
                    "internal": m.internal,
                    "url": _article_link(m.article_id, m.locale, m.slug, m.internal),
                    "text_url": url_for(
                        "web.composer_kb_text", article_id=m.article_id, locale=m.locale
                    ),
                }
                for m in found
            ]
        }
    )


@bp.get("/composer/kb/<int:article_id>/<locale>")
@login_required
def composer_kb_text(article_id: int, locale: str):  # type: ignore[no-untyped-def]
    """One published article's Markdown source, to insert into a reply as it is written."""
    translation = kb_lookup.published_translation(me(), article_id, locale)
    internal = translation.article.visibility == Visibility.INTERNAL
    return jsonify(
        {
            "title": translation.title,
            "text": translation.body_markdown,
            "url": _article_link(article_id, locale, translation.slug, internal),
        }
    )


def _article_link(article_id: int, locale: str, slug: str, internal: bool) -> str:
    """Absolute, because a reply leaves for the customer's mailbox: on the configured public
    address (``HELPDESK_PUBLIC_URL``) when there is one, else on this request's host."""
    if internal:
        path = url_for("web.kb_article_edit", article_id=article_id)
    else:
        path = url_for("portal.article", locale=locale, slug=slug)
    base = current_app.config["HELPDESK"].public_url or request.host_url.rstrip("/")
    return base + path[len(request.script_root) :]
