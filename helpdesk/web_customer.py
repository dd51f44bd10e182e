"""The customer profile: identities, profile fields, notes, service summary and one live
timeline of everything."""

from __future__ import annotations

import re
from typing import Any

from flask import (
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required

from .labels import translated_labels
from .services import (
    customer_events,
    customer_fields,
    customer_notes,
    customer_profile,
    customers,
    follows,
    users,
)
from .services.errors import Invalid
from .services.permissions import Permission, can
from .services.ticket_queries import TicketFilter, list_tickets
from .webui import bp, field_errors, me

TIMELINE_FILTERS = ("all", "messages", "public", "notes", "calls", "chats", "events", "sla")
_NUMBER = re.compile(r"-?\d{1,15}(\.\d{1,6})?")


def _filter_names() -> dict[str, str]:
    return {
        "all": _("Everything"),
        "messages": _("Messages"),
        "public": _("Conversations"),
        "notes": _("Internal notes"),
        "calls": _("Calls"),
        "chats": _("Chats"),
        "events": _("Business events"),
        "sla": _("SLA breaches"),
    }


def attributes_text(attributes: dict[str, Any]) -> str:
    """Attributes as the form's text area shows them: ``name: value`` per line."""
    lines = []
    for key, value in attributes.items():
        shown = ("true" if value else "false") if isinstance(value, bool) else str(value)
        lines.append(f"{key}: {shown}")
    return "\n".join(lines)


def parse_attributes(text: str) -> dict[str, Any]:
    """The text area's ``name: value`` lines; numbers and true/false keep their type."""
    parsed: dict[str, Any] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        key, colon, raw = line.partition(":")
        if not colon:
            raise Invalid(
                _("Write each attribute as name: value."), fields={"attributes": ["invalid"]}
            )
        value: Any = raw.strip()
        if value in ("true", "false"):
            value = value == "true"
        elif _NUMBER.fullmatch(value):
            value = float(value) if "." in value else int(value)
        parsed[key.strip()] = value
    return parsed


def _render_profile(customer_id: int, errors: dict[str, str] | None = None, status: int = 200):  # type: ignore[no-untyped-def]
    actor = me()
    customer = customers.get_customer(actor, customer_id)
    kind = request.args.get("kind", "all")
    entries, next_cursor = customer_profile.customer_timeline(
        actor, customer_id, kind=kind, cursor=request.args.get("cursor")
    )
    summary = customer_profile.service_summary(actor, customer_id)
    history = list_tickets(actor, TicketFilter(customer_id=customer_id), limit=20)
    staff = users.list_users(actor)
    agents = {u.id: u.name for u in staff}
    tags = customer_fields.tags_of(actor, customer_id)
    notes = customer_notes.list_notes(actor, customer_id, limit=20)
    config = {
        "customer_id": customer_id,
        "customer_name": customer.name,
        "kind": kind,
        "agents": agents,
        "me": actor.user_id,
        "is_admin": can(actor, Permission.USER_ADMIN),
        "labels": translated_labels(),
        "locale": str(get_locale()),
        "timezone": current_user.timezone,
        "ticket_url": url_for("web.ticket_page", number=0).removesuffix("0"),
        "note_url": url_for("web.edit_customer_note", note_id=0).removesuffix("0/edit"),
        "text": {
            "note": _("Internal note"),
            "profile_note": _("Note"),
            "event": _("Business event"),
            "no_owner": _("No account manager"),
            "none": _("None"),
            "edited": _("edited"),
        },
    }
    return (
        render_template(
            "customer.html",
            customer=customer,
            entries=entries,
            next_cursor=next_cursor,
            kind=kind,
            filters=[(k, _filter_names()[k]) for k in TIMELINE_FILTERS],
            summary=summary,
            tickets=history.tickets,
            more_tickets=history.next_cursor is not None,
            agents=agents,
            staff=staff,
            tags=tags,
            notes=notes,
            attributes_text=request.form.get("attributes")
            if errors
            else attributes_text(customer.attributes or {}),
            errors=errors or {},
            can_edit=can(actor, Permission.CUSTOMER_WRITE) and customer.merged_into_id is None,
            can_note=can(actor, Permission.TICKET_NOTE),
            can_create=can(actor, Permission.TICKET_CREATE) and customer.merged_into_id is None,
            may_change_note=lambda note: customer_notes.may_change(actor, note),
            config=config,
            following=follows.is_following(actor, customer_id=customer_id),
            events=customer_events.list_events(actor, customer_id, limit=10)[0],
        ),
        status,
    )


@bp.get("/customers/<int:customer_id>")
@login_required
def customer_page(customer_id: int):  # type: ignore[no-untyped-def]
    """The customer's profile: identities, fields, notes, service summary, tickets and one live
    timeline."""
    return _render_profile(customer_id)


@bp.post("/customers/<int:customer_id>/profile")
@login_required
def post_customer_profile(customer_id: int):  # type: ignore[no-untyped-def]
    """Save the profile form; fields the form did not send stay as they are."""
    form = request.form
    changes: dict[str, Any] = {}
    for name in ("name", "locale", "tier"):
        if name in form:
            changes[name] = form[name]
    if "owner_id" in form:
        raw = form["owner_id"].strip()
        changes["owner_id"] = int(raw) if raw.isdigit() else (raw or None)
    if "tags" in form:
        changes["tags"] = [t for t in form["tags"].split(",") if t.strip()]
    try:
        if "attributes" in form:
            changes["attributes"] = parse_attributes(form["attributes"])
        customer_fields.update_profile(me(), customer_id, changes)
    except Invalid as exc:
        flash(exc.message, "error")
        return _render_profile(customer_id, field_errors(exc), 422)
    flash(_("Profile saved."), "success")
    return redirect(url_for("web.customer_page", customer_id=customer_id))


@bp.post("/customers/<int:customer_id>/notes")
@login_required
def post_customer_note(customer_id: int):  # type: ignore[no-untyped-def]
    try:
        customer_notes.add_note(me(), customer_id, request.form.get("body", ""))
    except Invalid as exc:
        flash(exc.message, "error")
    else:
        flash(_("Note added."), "success")
    return redirect(url_for("web.customer_page", customer_id=customer_id))


@bp.post("/customers/notes/<int:note_id>/edit")
@login_required
def edit_customer_note(note_id: int):  # type: ignore[no-untyped-def]
    note = customer_notes.get_note(me(), note_id)
    try:
        customer_notes.edit_note(me(), note_id, request.form.get("body", ""))
    except Invalid as exc:
        flash(exc.message, "error")
    else:
        flash(_("Note saved."), "success")
    return redirect(url_for("web.customer_page", customer_id=note.customer_id))


@bp.post("/customers/notes/<int:note_id>/delete")
@login_required
def delete_customer_note(note_id: int):  # type: ignore[no-untyped-def]
    note = customer_notes.get_note(me(), note_id)
    customer_id = note.customer_id
    customer_notes.delete_note(me(), note_id)
    flash(_("Note deleted."), "success")
    return redirect(url_for("web.customer_page", customer_id=customer_id))
