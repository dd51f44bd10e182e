"""Sending the portal's sign-in links: each ``PortalLoginToken`` row is a queued email.

Claimed, sent and settled with the same lease and retry rules as every other queued email
(``mail_queue``), through the email channel chosen when the link was requested. The link is
derived from the row's nonce only here, just before sending, and is never logged. A link that
expired (or was used) before it could go out is not sent at all.
"""

from __future__ import annotations

import logging
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from flask_babel import force_locale, gettext

from connectors.email.smtp import SendResult, SendStatus, send

from ..models import Customer, EmailChannel, PortalLoginToken, utcnow
from . import mail_queue
from .email_channels import smtp_config
from .portal_auth import LINK_LIFETIME, derive_token
from .secrets import SecretUnreadable
from .transaction import current_session, transaction

log = logging.getLogger(__name__)


def send_due(limit: int = 20, *, now: datetime | None = None) -> int:
    """Claim up to ``limit`` due sign-in emails and send them; return how many were attempted."""
    claimed = mail_queue.claim_due(PortalLoginToken, limit, now=now)
    for row_id, attempt in claimed:
        _deliver(row_id, attempt)
    return len(claimed)


def compose(row: PortalLoginToken, name: str, sender: EmailChannel) -> EmailMessage:
    """The email carrying ``row``'s link, in the language the customer used the portal in."""
    link = f"{row.link_base}/{derive_token(row.nonce)}"
    minutes = int(LINK_LIFETIME.total_seconds() // 60)
    with force_locale(row.locale):
        subject = gettext("Your sign-in link for the help center")
        lines = [
            gettext("Hello %(name)s,", name=name),
            "",
            gettext("Open this link to sign in to the help center and see your requests:"),
            "",
            link,
            "",
            gettext(
                "The link works once, within %(minutes)s minutes. If you did not ask for it, "
                "you can ignore this email: nobody can sign in without the link.",
                minutes=minutes,
            ),
        ]
    email = EmailMessage()
    email["From"] = Address(display_name=sender.display_name or "Dangol", addr_spec=sender.address)
    email["To"] = Address(display_name=name, addr_spec=row.email)
    email["Subject"] = subject
    email["Date"] = format_datetime(utcnow())
    email["Message-ID"] = make_msgid(domain=sender.address.rpartition("@")[2] or None)
    email["Auto-Submitted"] = "auto-generated"  # no vacation replies back to us
    email.set_content("\n".join(lines) + "\n")
    return email


def _deliver(row_id: int, attempt: int) -> None:
    session = current_session()
    row = session.get(PortalLoginToken, row_id, populate_existing=True)
    if row is None:
        return
    channel = session.get(EmailChannel, row.channel_id)
    customer = session.get(Customer, row.customer_id)
    if channel is None or customer is None:
        result = SendResult(
            SendStatus.PERMANENT_FAILURE, "The channel or the customer was deleted."
        )
    elif row.used_at is not None or row.expires_at <= utcnow():
        result = SendResult(SendStatus.PERMANENT_FAILURE, "The link expired before it was sent.")
    else:
        email = compose(row, customer.name, channel)
        try:
            config = smtp_config(channel)
        except SecretUnreadable as exc:
            result = SendResult(SendStatus.PERMANENT_FAILURE, str(exc))
        else:
            recipient = row.email
            session.rollback()  # no transaction stays open over the network
            result = send(config, email, None, [recipient])
    with transaction() as session:
        row = session.get(PortalLoginToken, row_id, with_for_update=True, populate_existing=True)
        if row is None or not mail_queue.still_claimed(row, attempt):
            log.warning(
                "portal sign-in email %s: lease lost before the result was recorded", row_id
            )
            return
        mail_queue.settle(row, attempt, result)
    log.info("portal sign-in email %s: attempt %d: %s", row_id, attempt, result.status)
