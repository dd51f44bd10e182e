"""Building the email of one outgoing message: headers for threading, bodies, attachments."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from connectors.email import strip_reply_prefixes

from ..models import (
    CustomerIdentity,
    Direction,
    EmailChannel,
    IdentityKind,
    Message,
    Ticket,
)
from .attachments import blob_path
from .email_threading import cc_addresses

# References is capped like the parser caps it: the thread's root and the newest ids.
_MAX_REFERENCES = 20


class CannotCompose(Exception):
    """The message cannot be sent at all (e.g. the customer has no email address)."""


@dataclass(frozen=True)
class ComposedEmail:
    message: EmailMessage
    recipients: list[str]


def new_message_id(ticket: Ticket, message: Message, channel: EmailChannel) -> str:
    """Our Message-ID (without angle brackets): readable, unique, on the channel's domain."""
    domain = channel.address.rpartition("@")[2] or "dangol.invalid"
    return f"{ticket.number}.{message.id}.{uuid.uuid4().hex[:12]}@{domain}"


def subject_line(ticket: Ticket) -> str:
    """``Re: <subject> [#number]``: the token once, however many ``Re:`` came before."""
    subject = strip_reply_prefixes(ticket.subject) or "(no subject)"
    token = f"[#{ticket.number}]"
    if token not in subject:
        subject = f"{subject} {token}"
    return f"Re: {subject}"


def compose(
    session: Session,
    channel: EmailChannel,
    ticket: Ticket,
    message: Message,
    smtp_message_id: str,
) -> ComposedEmail:
    """The email for ``message``: From the channel, To the customer (Cc the participants if
    the channel replies to all), threaded on the earlier messages of the ticket."""
    to = session.scalar(
        select(CustomerIdentity.value)
        .where(
            CustomerIdentity.customer_id == ticket.customer_id,
            CustomerIdentity.kind == IdentityKind.EMAIL,
        )
        .order_by(CustomerIdentity.id)
        .limit(1)
    )
    if to is None:
        raise CannotCompose("The customer has no email address.")
    cc = [a for a in cc_addresses(session, ticket.id) if a != to] if channel.reply_all else []
    earlier = list(
        session.execute(
            select(Message.external_id, Message.direction)
            .where(
                Message.ticket_id == ticket.id,
                Message.id < message.id,
                Message.external_id.is_not(None),
                Message.is_public.is_(True),
            )
            .order_by(Message.id)
        )
    )
    references = [external_id for external_id, _ in earlier if external_id]
    if len(references) > _MAX_REFERENCES:
        references = references[:1] + references[-(_MAX_REFERENCES - 1) :]
    inbound = [external_id for external_id, direction in earlier if direction == Direction.IN]
    in_reply_to = inbound[-1] if inbound else (references[-1] if references else None)

    email = EmailMessage()
    email["From"] = Address(display_name=channel.display_name, addr_spec=channel.address)
    email["To"] = to
    if cc:
        email["Cc"] = ", ".join(cc)
    email["Subject"] = subject_line(ticket)
    email["Message-ID"] = f"<{smtp_message_id}>"
    email["Date"] = format_datetime(message.created_at)
    if in_reply_to:
        email["In-Reply-To"] = f"<{in_reply_to}>"
    if references:
        email["References"] = " ".join(f"<{r}>" for r in references)
    if message.author_user_id is None:
        email["Auto-Submitted"] = "auto-replied"  # an acknowledgement: robots must not answer
    email.set_content(message.body_text or "")
    if message.body_html:
        email.add_alternative(message.body_html, subtype="html")
    for attachment in message.attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        email.add_attachment(
            blob_path(attachment.sha256).read_bytes(),
            maintype=maintype or "application",
            subtype=subtype or "octet-stream",
            filename=attachment.filename,
        )
    return ComposedEmail(email, [to, *cc])
