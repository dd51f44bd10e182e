"""Outgoing email: queued with the message, sent by the worker once, retried, reported.

``queue_reply`` runs inside the transaction that writes a public reply, so a reply exists if
and only if its outbox row does. ``send_due`` (the worker's ``OutboxSender``) claims due rows,
sends with no transaction open and records the result guarded by the claim, as every mail
queue does (``mail_queue``): two workers never send one row twice. The one window left is a
crash after the SMTP server accepted the message and before the result was committed: that
message goes out again after the lease, with the same Message-ID, which mail clients use to
show it once.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from flask_babel import force_locale, gettext
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from connectors.email.smtp import SendResult, SendStatus, send

from ..events import MessageDeliveryChanged, publish
from ..models import (
    Direction,
    EmailChannel,
    Message,
    Outbox,
    OutboxStatus,
    Ticket,
    TicketEmailThread,
    utcnow,
)
from . import mail_queue
from .email_channels import smtp_config
from .email_compose import CannotCompose, compose, new_message_id
from .message_store import add_message
from .secrets import SecretUnreadable
from .transaction import current_session, transaction

log = logging.getLogger(__name__)

LEASE = mail_queue.LEASE
MAX_ATTEMPTS = mail_queue.MAX_ATTEMPTS
retry_delay = mail_queue.retry_delay

# At most this many acknowledgements per customer per window: a person writing in a hurry, or
# a robot that slipped through the auto-reply checks, is not answered again and again.
ACK_LIMIT = 3
ACK_WINDOW = timedelta(hours=1)


def queue_reply(session: Session, ticket: Ticket, message: Message) -> Outbox | None:
    """Queue ``message`` (a public reply, already flushed) for sending, if the ticket's thread
    runs through an email channel; gives the message its Message-ID. None otherwise."""
    thread = session.get(TicketEmailThread, ticket.id)
    if thread is None:
        return None
    channel = session.get(EmailChannel, thread.channel_id)
    if channel is None:
        return None
    smtp_message_id = new_message_id(ticket, message, channel)
    message.external_id = smtp_message_id
    outbox = Outbox(
        message_id=message.id,
        channel_id=channel.id,
        status=OutboxStatus.QUEUED,
        attempts=0,
        next_attempt_at=utcnow(),
        smtp_message_id=smtp_message_id,
    )
    session.add(outbox)
    publish(session, MessageDeliveryChanged(ticket.id, message.id, OutboxStatus.QUEUED))
    return outbox


def acknowledgement_text(number: int, language: str) -> str:
    """The "we got your request" text, in Korean or English."""
    with force_locale("ko" if language == "ko" else "en"):
        return gettext(
            "Thank you for your message. We have received it as request #%(number)s and will "
            "answer as soon as we can. To add to your request, reply to this email.",
            number=number,
        )


def queue_acknowledgement(
    session: Session, ticket: Ticket, channel: EmailChannel, *, language: str = "en"
) -> Message | None:
    """The automatic "we got your request" answer to a new ticket from a person, in their
    language; None when the customer was acknowledged ``ACK_LIMIT`` times within the window."""
    since = utcnow() - ACK_WINDOW
    recent = session.scalar(
        select(func.count())
        .select_from(Message)
        .join(Ticket, Ticket.id == Message.ticket_id)
        .join(Outbox, Outbox.message_id == Message.id)
        .where(
            Ticket.customer_id == ticket.customer_id,
            Message.author_user_id.is_(None),
            Message.direction == Direction.OUT,
            Message.created_at >= since,
        )
    )
    if (recent or 0) >= ACK_LIMIT:
        log.info("customer %s: acknowledgement skipped (rate limit)", ticket.customer_id)
        return None
    message = add_message(
        session,
        ticket,
        direction=Direction.OUT,
        is_public=True,
        body_text=acknowledgement_text(ticket.number, language),
        body_html=None,
    )
    session.flush()
    queue_reply(session, ticket, message)
    return message


def delivery_status(message_id: int) -> Outbox | None:
    """The outbox row of a message, for the ticket page."""
    return current_session().scalar(select(Outbox).where(Outbox.message_id == message_id))


def delivery_statuses(message_ids: Iterable[int]) -> dict[int, Outbox]:
    """Outbox rows by message id, for a whole conversation in one query."""
    ids = list(message_ids)
    if not ids:
        return {}
    rows = current_session().scalars(select(Outbox).where(Outbox.message_id.in_(ids)))
    return {row.message_id: row for row in rows}


def send_due(limit: int = 20, *, now: datetime | None = None, lease: timedelta = LEASE) -> int:
    """Claim up to ``limit`` due rows and send them; return how many were attempted."""
    claimed = claim_due(limit, now=now, lease=lease)
    for outbox_id, attempt in claimed:
        deliver(outbox_id, attempt)
    return len(claimed)


def claim_due(
    limit: int, *, now: datetime | None = None, lease: timedelta = LEASE
) -> list[tuple[int, int]]:
    """Take due rows (queued, or sending with an expired lease): ``[(id, attempt)]``."""
    return mail_queue.claim_due(Outbox, limit, now=now, lease=lease)


def deliver(outbox_id: int, attempt: int) -> SendResult | None:
    """Send one claimed row and record the outcome; None if the row is gone."""
    session = current_session()
    outbox = session.get(Outbox, outbox_id, populate_existing=True)
    if outbox is None:
        return None
    try:
        message = session.get(Message, outbox.message_id, populate_existing=True)
        channel = session.get(EmailChannel, outbox.channel_id, populate_existing=True)
        if message is None or channel is None:
            raise CannotCompose("The message or its channel was deleted.")
        ticket = session.get(Ticket, message.ticket_id, populate_existing=True)
        assert ticket is not None
        composed = compose(session, channel, ticket, message, outbox.smtp_message_id)
        config = smtp_config(channel)
    except (CannotCompose, SecretUnreadable) as exc:
        result = SendResult(SendStatus.PERMANENT_FAILURE, str(exc))
    else:
        session.rollback()  # no transaction stays open over the network
        result = send(config, composed.message, None, composed.recipients)
    record_result(outbox_id, attempt, result)
    return result


def record_result(outbox_id: int, attempt: int, result: SendResult) -> None:
    """Write what happened, unless the lease was lost meanwhile (another worker owns it)."""
    with transaction() as session:
        outbox = session.get(Outbox, outbox_id, with_for_update=True, populate_existing=True)
        if outbox is None or not mail_queue.still_claimed(outbox, attempt):
            log.warning("outbox %s: lease lost before the result was recorded", outbox_id)
            return
        mail_queue.settle(outbox, attempt, result)
        ticket_id = session.scalar(select(Message.ticket_id).where(Message.id == outbox.message_id))
        if ticket_id is not None:
            publish(
                session,
                MessageDeliveryChanged(
                    ticket_id, outbox.message_id, outbox.status, outbox.last_error
                ),
            )
    log.info("outbox %s: attempt %d: %s (%s)", outbox_id, attempt, result.status, result.message)
