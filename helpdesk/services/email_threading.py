"""Which ticket an inbound email continues, and who else is on its thread."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from connectors.email import ParsedEmail, ticket_numbers_in_subject

from ..models import (
    CustomerIdentity,
    EmailChannel,
    IdentityKind,
    Message,
    Ticket,
    TicketParticipant,
)

_MAX_MERGE_HOPS = 20


def thread_message_ids(parsed: ParsedEmail) -> list[str]:
    """The Message-IDs ``parsed`` answers, most telling first: In-Reply-To, then References
    from the newest."""
    return list(dict.fromkeys([*filter(None, [parsed.in_reply_to]), *parsed.references[::-1]]))


def find_thread(
    session: Session, parsed: ParsedEmail, known: Mapping[str, int] | None = None
) -> Ticket | None:
    """The ticket ``parsed`` replies to, or None for a new conversation.

    First the Message-IDs it answers (In-Reply-To, then References from the newest), against
    every stored Message-ID: inbound ones and those we generated for our replies. Then a
    ``[#number]`` token in the subject, but only from someone already on that ticket (its
    customer or a Cc participant): anyone can type a ticket number, and a stranger must not
    be able to write into someone else's case. A merged ticket resolves to its target.

    ``known``: the tickets of Message-IDs, complete for those ``parsed`` answers (a batch
    looks them up at once); without it they are looked up here.
    """
    wanted = thread_message_ids(parsed)
    if wanted:
        found = known
        if found is None:
            rows = session.execute(
                select(Message.external_id, Message.ticket_id).where(
                    Message.external_id.in_(wanted)
                )
            ).all()
            found = {e: t for e, t in rows if e is not None}
        for message_id in wanted:
            if message_id in found:
                return follow_merges(session, found[message_id])
    sender = parsed.sender.address
    for number in ticket_numbers_in_subject(parsed.subject):
        ticket = session.scalar(select(Ticket).where(Ticket.number == number))
        if ticket is not None and is_participant(session, ticket, sender):
            return follow_merges(session, ticket.id)
    return None


def follow_merges(session: Session, ticket_id: int) -> Ticket | None:
    ticket = session.get(Ticket, ticket_id, populate_existing=True)
    for _ in range(_MAX_MERGE_HOPS):
        if ticket is None or ticket.merged_into_id is None:
            return ticket
        ticket = session.get(Ticket, ticket.merged_into_id, populate_existing=True)
    return ticket


def is_participant(session: Session, ticket: Ticket, email: str) -> bool:
    """True if ``email`` is one of the ticket customer's addresses or a Cc participant."""
    address = email.strip().lower()
    owner = session.scalar(
        select(CustomerIdentity.id).where(
            CustomerIdentity.customer_id == ticket.customer_id,
            CustomerIdentity.kind == IdentityKind.EMAIL,
            CustomerIdentity.value == address,
        )
    )
    if owner is not None:
        return True
    copied = session.scalar(
        select(TicketParticipant.id).where(
            TicketParticipant.ticket_id == ticket.id, TicketParticipant.email == address
        )
    )
    return copied is not None


def add_participants(
    session: Session,
    channel: EmailChannel,
    mails: Sequence[tuple[Ticket, ParsedEmail]],
    *,
    new_tickets: bool = False,
) -> None:
    """Keep each mail's Cc addresses (and a sender who is not the customer) on its ticket's
    thread, so that replies reach them and their ``[#number]`` replies are recognized.

    ``new_tickets``: each mail just opened its ticket, so its sender is the customer and the
    ticket has no participants yet (most new mail needs no query at all). Otherwise the
    customers' addresses and the tickets' participants are read in one query each.
    """
    wanted = [
        (ticket, candidates)
        for ticket, parsed in mails
        if (candidates := _candidates(channel, parsed, new_ticket=new_tickets))
    ]
    if not wanted:
        return
    customer_ids = list({t.customer_id for t, _ in wanted})
    addresses: dict[int, set[str]] = defaultdict(set)
    for start in range(0, len(customer_ids), 500):
        rows = session.execute(
            select(CustomerIdentity.customer_id, CustomerIdentity.value).where(
                CustomerIdentity.customer_id.in_(customer_ids[start : start + 500]),
                CustomerIdentity.kind == IdentityKind.EMAIL,
            )
        )
        for customer_id, value in rows:
            addresses[customer_id].add(value)
    known: dict[int, set[str]] = defaultdict(set)
    ticket_ids = list({t.id for t, _ in wanted})
    for start in range(0, 0 if new_tickets else len(ticket_ids), 500):
        rows = session.execute(
            select(TicketParticipant.ticket_id, TicketParticipant.email).where(
                TicketParticipant.ticket_id.in_(ticket_ids[start : start + 500])
            )
        )
        for ticket_id, email in rows:
            known[ticket_id].add(email)
    for ticket, candidates in wanted:
        for address, name in candidates.items():
            if address in addresses[ticket.customer_id] or address in known[ticket.id]:
                continue
            if len(address) > 320:
                continue
            session.add(
                TicketParticipant(ticket_id=ticket.id, email=address, name=name[:200], role="cc")
            )
            known[ticket.id].add(address)  # two mails of a batch may copy the same address


def _candidates(channel: EmailChannel, parsed: ParsedEmail, *, new_ticket: bool) -> dict[str, str]:
    candidates = {a.address.lower(): a.name for a in parsed.cc if "@" in a.address}
    sender = parsed.sender.address.lower()
    if new_ticket:
        candidates.pop(sender, None)
    elif "@" in sender:
        candidates.setdefault(sender, parsed.sender.name)
    candidates.pop(channel.address.lower(), None)
    return candidates


def cc_addresses(session: Session, ticket_id: int) -> list[str]:
    return list(
        session.scalars(
            select(TicketParticipant.email)
            .where(TicketParticipant.ticket_id == ticket_id, TicketParticipant.role == "cc")
            .order_by(TicketParticipant.id)
        )
    )
