"""Opening a ticket by hand: a phone call, a visit, a message that came in elsewhere.

The customer is the one the page was opened for (``?customer_id=``, from a profile) or the one
owning a phone number or email address, found or created by the service; the first message is
what the customer asked, in the agent's words.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from .models import PRIORITY_NAMES, Channel, Customer
from .services import customers, email_tickets, users
from .services.errors import Invalid, NotFound
from .services.permissions import Permission, can
from .services.ticket_create import create_ticket
from .services.ticket_fields import ASSIGNABLE_ROLES
from .web_uploads import uploaded_files
from .webui import bp, field_errors, form_number, me

CHANNELS = (Channel.PHONE, Channel.WEB, Channel.CHAT, Channel.SOCIAL)
IDENTITY_KINDS = ("phone", "email")
FIELDS = (
    "kind",
    "identity",
    "name",
    "subject",
    "body",
    "channel",
    "priority",
    "group_id",
    "assignee_id",
    "tags",
)


@bp.route("/tickets/new", methods=["GET", "POST"])
@login_required
def new_ticket():  # type: ignore[no-untyped-def]
    actor = me()
    if not can(actor, Permission.TICKET_CREATE):
        abort(403)  # the service refuses too; this spares sales a form they cannot send
    customer = _customer(request.values.get("customer_id", ""))
    values: dict[str, str] = {"kind": "phone", "channel": "phone", "priority": "normal"}
    errors: dict[str, str] = {}
    if request.method == "POST":
        values = {name: request.form.get(name, "").strip() for name in FIELDS}
        identity = values["identity"]
        try:
            if customer is None and not identity:
                raise Invalid(
                    _("Give the customer's phone number or email address."),
                    fields={"identity": ["required"]},
                )
            fields: dict[str, Any] = {
                "subject": values["subject"],
                "body_text": values["body"],
                "customer_id": customer.id if customer else None,
                "customer_identity": None if customer else (values["kind"], identity),
                "customer_name": values["name"] or None,
                "priority": values["priority"] or "normal",
                "group_id": form_number(values["group_id"]),
                "assignee_id": form_number(values["assignee_id"]),
                "tags": [t for t in values["tags"].split(",") if t.strip()],
                "attachments": uploaded_files(),
            }
            channel, colon, email_channel = (values["channel"] or Channel.PHONE).partition(":")
            if channel == Channel.EMAIL and colon:  # "email:<id>": replies go out by email
                channel_id = int(email_channel) if email_channel.isdigit() else 0
                ticket = email_tickets.open_email_ticket(actor, channel_id, **fields)
            else:
                ticket = create_ticket(actor, channel=channel, **fields)
        except Invalid as exc:
            flash(exc.message, "error")
            errors = field_errors(exc)
            if "value" in errors:  # the identity, as the service names it
                errors["identity"] = errors.pop("value")
        else:
            flash(_("Ticket #%(number)s opened.", number=ticket.number), "success")
            return redirect(url_for("web.ticket_page", number=ticket.number))
    return _page(customer, values, errors)


def _customer(raw: str) -> Customer | None:
    if not raw.isdigit():
        return None
    try:
        return customers.get_customer(me(), int(raw))
    except NotFound:
        abort(404)


def _page(customer: Customer | None, values: dict[str, Any], errors: dict[str, str]):  # type: ignore[no-untyped-def]
    actor = me()
    page = render_template(
        "ticket_new.html",
        customer=customer,
        values=values,
        errors=errors,
        channels=CHANNELS,
        email_channels=email_tickets.sending_channels(actor),
        identity_kinds=IDENTITY_KINDS,
        priorities=list(PRIORITY_NAMES.values()),
        groups=users.list_groups(actor),
        agents=[u for u in users.list_users(actor) if u.role in ASSIGNABLE_ROLES],
    )
    return page, 422 if errors else 200
