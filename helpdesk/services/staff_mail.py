"""Email to staff (SLA escalations, activity they follow), in each person's language and zone.

Queued in the ticker's transaction (so an escalation and its emails commit together), sent by
the worker's ``StaffMailSender`` through the first active email channel's SMTP server, with
the same claim, lease and retry rules as customer replies (``mail_queue``). Without an email
channel there is no server to send through, and staff get the live notification only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import force_locale, gettext
from sqlalchemy import select
from sqlalchemy.orm import Session

from connectors.email.smtp import SendResult, SendStatus

from ..models import EmailChannel, OutboxStatus, StaffEmail, Ticket, User, utcnow
from . import mail_queue
from .transaction import current_session


def _sending_channel(session: Session) -> EmailChannel | None:
    stmt = select(EmailChannel).where(EmailChannel.is_active.is_(True)).order_by(EmailChannel.id)
    return session.scalars(stmt.limit(1)).first()


def _local(moment: datetime, zone: str) -> str:
    return moment.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M %Z")


def _target_name(kind: str) -> str:
    names = {
        "first_response": gettext("First response"),
        "next_response": gettext("Next response"),
        "resolution": gettext("Resolution"),
    }
    return names.get(kind, kind)


def _queue(
    session: Session,
    user_ids: Iterable[int],
    ticket: Ticket,
    compose: Callable[[User], tuple[str, str]],
) -> int:
    """One email per active staff member; ``compose(user)`` gives the subject and the lead
    paragraph, called in the user's language. Returns how many were queued."""
    channel = _sending_channel(session)
    ids = sorted(set(user_ids))
    if channel is None or not ids:
        return 0
    public_url = current_app.config["HELPDESK"].public_url
    queued = 0
    for user in session.scalars(select(User).where(User.id.in_(ids), User.is_active.is_(True))):
        with force_locale(user.locale or "en"):
            subject, lead = compose(user)
        lines = [lead, "", f"#{ticket.number} {ticket.subject}"]
        if public_url:
            lines.append(f"{public_url}/tickets/{ticket.number}")
        session.add(
            StaffEmail(
                user_id=user.id,
                channel_id=channel.id,
                ticket_id=ticket.id,
                subject=subject[:255],
                body_text="\n".join(lines) + "\n",
                status=OutboxStatus.QUEUED,
                attempts=0,
                next_attempt_at=utcnow(),
                created_at=utcnow(),
            )
        )
        queued += 1
    return queued


def queue_escalation(
    session: Session,
    user_ids: Iterable[int],
    ticket: Ticket,
    stage: str,
    target_kind: str,
    due_at: datetime,
) -> int:
    """Queue the emails of an SLA warning or breach; returns how many."""

    def compose(user: User) -> tuple[str, str]:
        target, due = _target_name(target_kind), _local(due_at, user.timezone)
        if stage == "breach":
            return (
                gettext(
                    "SLA breached: #%(number)s %(subject)s",
                    number=ticket.number,
                    subject=ticket.subject,
                ),
                gettext(
                    "The %(target)s target of this ticket was due at %(due)s and has passed.",
                    target=target,
                    due=due,
                ),
            )
        return (
            gettext(
                "SLA about to breach: #%(number)s %(subject)s",
                number=ticket.number,
                subject=ticket.subject,
            ),
            gettext(
                "The %(target)s target of this ticket is due at %(due)s.", target=target, due=due
            ),
        )

    return _queue(session, user_ids, ticket, compose)


def queue_activity(session: Session, user_ids: Iterable[int], ticket: Ticket, excerpt: str) -> int:
    """Queue the emails telling followers of a new message; returns how many."""

    def compose(user: User) -> tuple[str, str]:
        subject = gettext(
            "New on #%(number)s %(subject)s", number=ticket.number, subject=ticket.subject
        )
        return subject, excerpt

    return _queue(session, user_ids, ticket, compose)


def send_due(limit: int = 20, *, now: datetime | None = None) -> int:
    """Claim up to ``limit`` due staff emails and send them; return how many were attempted."""
    return mail_queue.send_due(StaffEmail, _prepare, "staff email", limit, now=now)


def _prepare(row: StaffEmail) -> mail_queue.Prepared:
    session = current_session()
    channel = session.get(EmailChannel, row.channel_id)
    user = session.get(User, row.user_id)
    if channel is None or user is None:
        return SendResult(SendStatus.PERMANENT_FAILURE, "The channel or the user was deleted.")
    email = mail_queue.automatic_email(channel, user.name, user.email, row.subject, row.body_text)
    return channel, email, [user.email]
