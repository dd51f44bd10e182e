"""What a signed-in customer reads in the portal: their tickets and the public conversation.

Every call takes a customer ``Actor`` and goes through the services that already scope to it:
``ticket_queries`` lists only the customer's own tickets, ``tickets.get_ticket`` reports anyone
else's as not found, and ``messages.list_messages`` leaves internal notes out.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..models import Direction, Message, Status, Ticket, User
from .errors import Forbidden
from .messages import list_messages
from .permissions import Actor
from .ticket_queries import TicketPage, list_tickets
from .tickets import get_ticket_by_number
from .transaction import current_session

PAGE_SIZE = 20


@dataclass(frozen=True)
class ConversationEntry:
    message: Message
    author: str  # the agent's name, or the customer's own
    from_customer: bool


@dataclass(frozen=True)
class Conversation:
    ticket: Ticket
    entries: list[ConversationEntry]
    merged_into_number: int | None  # where to read and write instead, if merged
    can_reply: bool


def _customer_only(actor: Actor) -> None:
    if actor.kind != "customer":
        raise Forbidden(_l("The portal is for customers."))


def my_tickets(actor: Actor, cursor: str | None = None, limit: int = PAGE_SIZE) -> TicketPage:
    """The customer's tickets, most recently updated first."""
    _customer_only(actor)
    return list_tickets(actor, sort="-updated_at", cursor=cursor, limit=limit)


def conversation(actor: Actor, number: int) -> Conversation:
    """Ticket ``number`` with its public messages, if it is the customer's (else ``NotFound``)."""
    _customer_only(actor)
    ticket = get_ticket_by_number(actor, number)
    messages = list_messages(actor, ticket.id)
    session = current_session()
    agent_ids = {m.author_user_id for m in messages if m.author_user_id is not None}
    names: dict[int, str] = {}
    if agent_ids:
        rows = session.execute(select(User.id, User.name).where(User.id.in_(agent_ids)))
        names = {user_id: name for user_id, name in rows}
    entries = [
        ConversationEntry(
            message=m,
            author=(
                ticket.customer.name
                if m.direction == Direction.IN
                else names.get(m.author_user_id or 0, "")
            ),
            from_customer=m.direction == Direction.IN,
        )
        for m in messages
    ]
    merged_into = None
    if ticket.merged_into_id is not None:
        merged_into = session.scalar(
            select(Ticket.number).where(
                Ticket.id == ticket.merged_into_id, Ticket.customer_id == actor.customer_id
            )
        )
    can_reply = ticket.merged_into_id is None and ticket.status != Status.CLOSED
    return Conversation(ticket, entries, merged_into, can_reply)
