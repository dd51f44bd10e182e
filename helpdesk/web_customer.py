"""The customer profile: identities, service summary and one live timeline."""

from __future__ import annotations

from flask import (
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
    customer_profile,
    customers,
    follows,
    users,
)
from .services.ticket_queries import TicketFilter, list_tickets
from .webui import bp, me


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
        following=follows.is_following(actor, customer_id=customer_id),
        events=customer_events.list_events(actor, customer_id, limit=10)[0],
    )
