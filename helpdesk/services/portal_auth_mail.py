"""Sending the portal's sign-in links: each ``PortalLoginToken`` row is a queued email.

Claimed, sent and settled with the same lease and retry rules as every other queued email
(``mail_queue``), through the email channel chosen when the link was requested. The link is
derived from the row's nonce only here, just before sending, and is never logged. A link that
expired (or was used) before it could go out is not sent at all.
"""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage

from flask_babel import force_locale, gettext

from connectors.email.smtp import SendResult, SendStatus

from ..models import Customer, EmailChannel, PortalLoginToken, utcnow
from . import mail_queue
from .portal_auth import LINK_LIFETIME, derive_token
from .transaction import current_session


def send_due(limit: int = 20, *, now: datetime | None = None) -> int:
    """Claim up to ``limit`` due sign-in emails and send them; return how many were attempted."""
    return mail_queue.send_due(PortalLoginToken, _prepare, "portal sign-in email", limit, now=now)


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
    return mail_queue.automatic_email(sender, name, row.email, subject, "\n".join(lines) + "\n")


def _prepare(row: PortalLoginToken) -> mail_queue.Prepared:
    session = current_session()
    channel = session.get(EmailChannel, row.channel_id)
    customer = session.get(Customer, row.customer_id)
    if channel is None or customer is None:
        return SendResult(SendStatus.PERMANENT_FAILURE, "The channel or the customer was deleted.")
    if row.used_at is not None or row.expires_at <= utcnow():
        return SendResult(SendStatus.PERMANENT_FAILURE, "The link expired before it was sent.")
    return channel, compose(row, customer.name, channel), [row.email]
