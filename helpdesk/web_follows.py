"""Follow / unfollow buttons on the customer profile and the ticket page."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from .services import follows, tickets
from .webui import bp, me


def _set(following: bool, **target: int) -> None:
    if following:
        follows.follow(me(), **target)
        flash(_("Following: new messages will reach you in the bell and by email."), "success")
    else:
        follows.unfollow(me(), **target)
        flash(_("No longer following."), "success")


@bp.post("/customers/<int:customer_id>/follow")
@login_required
def follow_customer(customer_id: int):  # type: ignore[no-untyped-def]
    _set(request.form.get("follow") == "1", customer_id=customer_id)
    return redirect(url_for("web.customer_page", customer_id=customer_id))


@bp.post("/tickets/<int:number>/follow")
@login_required
def follow_ticket(number: int):  # type: ignore[no-untyped-def]
    ticket = tickets.get_ticket_by_number(me(), number)
    _set(request.form.get("follow") == "1", ticket_id=ticket.id)
    return redirect(url_for("web.ticket_page", number=number))
