"""Tickets that staff open by hand with their conversation running by email: a customer wrote
to someone's own address, or asked on the phone for an answer in writing. The agent's replies
go out from the chosen channel to the customer's address, as on any ticket that came in by mail.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..models import (
    Channel,
    CustomerIdentity,
    EmailChannel,
    IdentityKind,
    Ticket,
    TicketEmailThread,
)
from .errors import Invalid
from .permissions import Actor, Permission, require
from .ticket_create import create_ticket
from .transaction import current_session, transaction


def sending_channels(actor: Actor) -> list[EmailChannel]:
    """The active email channels a new ticket's replies can go out from (by name)."""
    require(actor, Permission.TICKET_CREATE)
    stmt = (
        select(EmailChannel)
        .where(EmailChannel.is_active.is_(True))
        .order_by(EmailChannel.name, EmailChannel.id)
    )
    return list(current_session().scalars(stmt))


def open_email_ticket(actor: Actor, channel_id: int, **fields: Any) -> Ticket:
    """Open a ticket (``fields`` as for ``create_ticket``, the channel being email) whose
    replies go out through email channel ``channel_id``. ``Invalid`` for an inactive or
    unknown channel, or a customer without an email address to answer."""
    require(actor, Permission.TICKET_CREATE)
    with transaction() as session:
        channel = session.get(EmailChannel, channel_id)
        if channel is None or not channel.is_active:
            raise Invalid(_l("Choose an active email channel."), fields={"channel": ["unknown"]})
        ticket = create_ticket(actor, **{**fields, "channel": Channel.EMAIL})
        address = session.scalar(
            select(CustomerIdentity.id).where(
                CustomerIdentity.customer_id == ticket.customer_id,
                CustomerIdentity.kind == IdentityKind.EMAIL,
            )
        )
        if address is None:  # the whole ticket is rolled back with this
            raise Invalid(
                _l("This customer has no email address to answer; give one or choose a channel."),
                fields={"identity": ["no email address"]},
            )
        session.add(TicketEmailThread(ticket_id=ticket.id, channel_id=channel.id))
    return ticket
