"""The conversation on a ticket: public replies, internal notes and customer messages."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ..events import MessageAdded, TicketUpdated, publish
from ..models import (
    Channel,
    Direction,
    Message,
    MessageKind,
    NotificationKind,
    Status,
    Ticket,
    utcnow,
)
from . import audit, email_outbox
from .attachments import UploadedFile
from .errors import Conflict, Forbidden, Invalid, NotFound, RepliedMeanwhile
from .message_store import add_message
from .notifications import mentioned_users, notify
from .permissions import Actor, Permission, can, require
from .sla_clock import update_clock
from .snapshots import message_snapshot, ticket_snapshot
from .tickets import check_version, get_ticket, lock_ticket, lock_tickets, touch_ticket
from .transaction import current_session, transaction

# After a public reply the agent may set the status in the same step ("reply and set pending").
_REPLY_STATUSES = (Status.OPEN, Status.PENDING, Status.ON_HOLD, Status.SOLVED)


def list_messages(actor: Actor, ticket_id: int) -> list[Message]:
    """The conversation in order; customers and the portal see public messages only."""
    get_ticket(actor, ticket_id)  # existence + permission
    stmt = select(Message).where(Message.ticket_id == ticket_id).order_by(Message.id)
    if not (actor.is_staff and can(actor, Permission.TICKET_READ)):
        stmt = stmt.where(Message.is_public.is_(True))
    return list(current_session().scalars(stmt))


def _writable(ticket: Ticket) -> None:
    if ticket.merged_into_id is not None:
        raise Conflict(
            _l(
                "Ticket #%(number)s was merged into another ticket; write there.",
                number=ticket.number,
            )
        )
    if ticket.status == Status.CLOSED:
        raise Conflict(_l("Ticket #%(number)s is closed.", number=ticket.number))


def reply_to_ticket(
    actor: Actor,
    ticket_id: int,
    *,
    body_text: str | None = None,
    body_html: str | None = None,
    attachments: Sequence[UploadedFile] = (),
    status: str | None = None,
    expected_version: int | None = None,
    seen_message_id: int | None = None,
) -> Message:
    """A public reply from staff to the customer, on the ticket's channel.

    The first public reply records the first response time. A new ticket becomes open unless
    ``status`` says otherwise (e.g. reply and set pending). With ``seen_message_id`` (the newest
    message the author had on screen), a public message written since by anyone else refuses
    the reply with ``RepliedMeanwhile``, so that two agents never answer the customer twice.
    """
    require(actor, Permission.TICKET_REPLY)
    if status is not None and status not in _REPLY_STATUSES:
        raise Invalid(
            _l("Cannot set the status %(status)s with a reply.", status=status),
            fields={"status": [f"one of {list(map(str, _REPLY_STATUSES))}"]},
        )
    with transaction() as session:
        ticket = lock_ticket(session, ticket_id)
        check_version(ticket, expected_version)
        _writable(ticket)
        if seen_message_id is not None:
            _check_nothing_new(session, actor, ticket, seen_message_id)
        message = add_message(
            session,
            ticket,
            direction=Direction.OUT,
            is_public=True,
            author_user_id=actor.user_id,
            body_text=body_text,
            body_html=body_html,
            attachments=attachments,
        )
        session.flush()  # the message id goes into the audit entry and the event
        if ticket.channel == Channel.EMAIL:
            email_outbox.queue_reply(session, ticket, message)  # same transaction as the reply
        changes: dict[str, list[object]] = {}
        status_before = ticket.status
        if ticket.first_response_at is None:
            ticket.first_response_at = message.created_at
        new_status = status or (Status.OPEN if ticket.status == Status.NEW else None)
        if new_status and new_status != ticket.status:
            changes["status"] = [ticket.status, str(new_status)]
            ticket.status = new_status
            ticket.solved_at = utcnow() if new_status == Status.SOLVED else None
        touch_ticket(ticket)
        update_clock(
            session, ticket, message.created_at, public_reply=True, status_from=status_before
        )
        audit.record(
            session,
            actor,
            "message.replied",
            ticket_id=ticket.id,
            customer_id=ticket.customer_id,
            changes=changes,
            data={"message_id": message.id},
        )
        snapshot = ticket_snapshot(ticket)
        publish(
            session, MessageAdded(snapshot, message_snapshot(message), actor_user_id=actor.user_id)
        )
        if changes:
            publish(session, TicketUpdated(snapshot, changes, actor_user_id=actor.user_id))
    return message


def _check_nothing_new(session: Session, actor: Actor, ticket: Ticket, seen: int) -> None:
    newer = list(
        session.scalars(
            select(Message.id)
            .where(
                Message.ticket_id == ticket.id,
                Message.id > seen,
                Message.is_public.is_(True),
                or_(Message.author_user_id.is_(None), Message.author_user_id != actor.user_id),
            )
            .order_by(Message.id)
        )
    )
    if newer:
        raise RepliedMeanwhile(
            _l(
                "Ticket #%(number)s has new messages since you started writing. Read them, "
                "then send again.",
                number=ticket.number,
            ),
            message_ids=newer,
        )


def add_note(
    actor: Actor,
    ticket_id: int,
    *,
    body_text: str | None = None,
    body_html: str | None = None,
    attachments: Sequence[UploadedFile] = (),
) -> Message:
    """An internal note, visible to staff only. Sales and marketing may add notes too; the
    colleagues it @mentions are notified.

    Notes are allowed on closed and merged tickets: they annotate history, they do not reopen it.
    """
    require(actor, Permission.TICKET_NOTE)
    if not actor.is_staff:
        raise Forbidden(_l("Only staff can write internal notes."))
    with transaction() as session:
        ticket, message = _add_internal(
            session,
            actor,
            ticket_id,
            "message.noted",
            body_text=body_text,
            body_html=body_html,
            attachments=attachments,
        )
        notify(
            session,
            user_ids=mentioned_users(session, message.body_text),
            kind=NotificationKind.MENTIONED,
            ticket=ticket,
            actor_user_id=actor.user_id,
            excerpt=message.body_text,
        )
    return message


def log_call(
    actor: Actor,
    ticket_id: int,
    *,
    body_text: str | None = None,
    attachments: Sequence[UploadedFile] = (),
) -> Message:
    """A record of a phone call with the customer about this ticket (who called, what was
    said), written by whoever took or made the call: sales and marketing call customers too.

    It is internal, like a note (never emailed, never in the portal), and counted as a call in
    the customer's timeline. It changes neither the status nor the SLA clocks: the agent sets
    those as the call requires.
    """
    require(actor, Permission.TICKET_NOTE)
    if not actor.is_staff:
        raise Forbidden(_l("Only staff can log calls."))
    with transaction() as session:
        _, message = _add_internal(
            session,
            actor,
            ticket_id,
            "message.call_logged",
            body_text=body_text,
            attachments=attachments,
            kind=MessageKind.PHONE,
        )
    return message


def _add_internal(
    session: Session,
    actor: Actor,
    ticket_id: int,
    action: str,
    *,
    body_text: str | None,
    body_html: str | None = None,
    attachments: Sequence[UploadedFile] = (),
    kind: str | None = None,
) -> tuple[Ticket, Message]:
    """A staff member's internal message (a note, a logged call): written, audited as
    ``action`` and announced; the ticket's status and SLA clocks are left alone."""
    ticket = lock_ticket(session, ticket_id)
    message = add_message(
        session,
        ticket,
        direction=Direction.OUT,
        is_public=False,
        author_user_id=actor.user_id,
        body_text=body_text,
        body_html=body_html,
        attachments=attachments,
        kind=kind,
    )
    session.flush()  # the message id goes into the audit entry and the event
    ticket.updated_at = utcnow()
    audit.record(
        session,
        actor,
        action,
        ticket_id=ticket.id,
        customer_id=ticket.customer_id,
        data={"message_id": message.id},
    )
    publish(
        session,
        MessageAdded(
            ticket_snapshot(ticket), message_snapshot(message), actor_user_id=actor.user_id
        ),
    )
    return ticket, message


@dataclass(frozen=True)
class CustomerMessage:
    """A customer's follow-up on ``ticket_id``, as a connector receives it."""

    ticket_id: int
    body_text: str | None = None
    body_html: str | None = None
    attachments: Sequence[UploadedFile] = ()
    kind: str | None = None
    external_id: str | None = None


def add_customer_message(
    actor: Actor,
    ticket_id: int,
    *,
    body_text: str | None = None,
    body_html: str | None = None,
    attachments: Sequence[UploadedFile] = (),
    kind: str | None = None,
    external_id: str | None = None,
) -> Message:
    """A follow-up from the customer (through a connector or the portal).

    A pending or solved ticket reopens. A closed ticket does not: the connector opens a new
    ticket instead, which is what ``Conflict`` tells it.
    """
    request = CustomerMessage(ticket_id, body_text, body_html, attachments, kind, external_id)
    [added] = add_customer_messages(actor, [request])
    if isinstance(added, Conflict):
        raise added
    return added


def add_customer_messages(
    actor: Actor, requests: Sequence[CustomerMessage]
) -> list[Message | Conflict]:
    """Several customer follow-ups in one transaction (a batch of inbound mail), in order:
    the rules of ``add_customer_message`` for each, with the tickets locked and the rows
    written together. A follow-up on a closed or merged ticket gets its ``Conflict`` in its
    place, and the others are stored."""
    if actor.kind not in ("system", "customer"):
        raise Forbidden(_l("Customer messages come from channels or the customer portal."))
    if not requests:
        return []
    with transaction() as session:
        tickets = lock_tickets(session, {r.ticket_id for r in requests})
        added: list[Message | Conflict] = []
        received: list[tuple[Ticket, Message, dict[str, list[object]], str]] = []
        for request in requests:
            ticket = tickets.get(request.ticket_id)
            # A customer may only write on their own tickets (and learns of no other).
            if ticket is None or (
                actor.kind == "customer" and ticket.customer_id != actor.customer_id
            ):
                raise NotFound(_l("Ticket %(id)s not found.", id=request.ticket_id))
            try:
                _writable(ticket)
            except Conflict as refused:
                added.append(refused)
                continue
            message = add_message(
                session,
                ticket,
                direction=Direction.IN,
                is_public=True,
                author_customer_id=ticket.customer_id,
                body_text=request.body_text,
                body_html=request.body_html,
                attachments=request.attachments,
                kind=request.kind,
                external_id=request.external_id,
            )
            changes: dict[str, list[object]] = {}
            status_before = ticket.status
            if ticket.status in (Status.PENDING, Status.SOLVED):
                changes["status"] = [ticket.status, Status.OPEN.value]
                ticket.status = Status.OPEN
                ticket.solved_at = None
            touch_ticket(ticket)
            added.append(message)
            received.append((ticket, message, changes, status_before))
        # One flush for all: the messages in one INSERT, the tickets' new counters with them.
        session.flush()  # the message ids go into the audit entries and the events
        for ticket, message, changes, status_before in received:
            update_clock(
                session,
                ticket,
                message.created_at,
                customer_message=True,
                status_from=status_before,
            )
            audit.record(
                session,
                actor,
                "message.received",
                ticket_id=ticket.id,
                customer_id=ticket.customer_id,
                changes=changes,
                data={"message_id": message.id},
            )
            snapshot = ticket_snapshot(ticket)
            publish(session, MessageAdded(snapshot, message_snapshot(message)))
            if changes:
                publish(session, TicketUpdated(snapshot, changes))
            if ticket.assignee_id is not None:
                notify(
                    session,
                    user_ids=[ticket.assignee_id],
                    kind=NotificationKind.CUSTOMER_REPLIED,
                    ticket=ticket,
                    actor_user_id=None,
                    excerpt=message.body_text,
                )
    return added
