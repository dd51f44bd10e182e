"""Claiming and settling queued emails, for every table of mail waiting to go out.

A queue table has ``id``, ``status`` (queued, sending, sent, failed), ``attempts`` and
``next_attempt_at``. A worker claims due rows in a short transaction, sends with no transaction
open, and settles each row guarded by its claim, so two workers never send a row twice:
PostgreSQL skips rows another worker holds (``FOR UPDATE SKIP LOCKED``) and every claim is a
compare-and-set on ``(status, attempts)``, which is also what protects SQLite. A claim is a
lease: a worker that dies after claiming leaves the row ``sending`` until ``next_attempt_at``
passes, then another worker takes it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any, Protocol, cast

from sqlalchemy import CursorResult, select, update

from connectors.email.smtp import SendResult, SendStatus, send

from ..models import EmailChannel, OutboxStatus, utcnow
from .email_channels import smtp_config
from .secrets import SecretUnreadable
from .transaction import current_session, transaction

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)  # longer than any SMTP conversation (timeouts are 30 s)
MAX_ATTEMPTS = 12
RETRY_BASE = timedelta(seconds=30)
RETRY_CAP = timedelta(hours=2)


class QueuedMail(Protocol):
    id: Any
    status: Any
    attempts: Any
    next_attempt_at: Any
    last_error: Any
    sent_at: Any


def _due(model: Any, now: datetime) -> Any:
    return select(model.id, model.status, model.attempts).where(
        model.status.in_([OutboxStatus.QUEUED.value, OutboxStatus.SENDING.value]),
        model.next_attempt_at <= now,
    )


def claim_due(
    model: Any, limit: int, *, now: datetime | None = None, lease: timedelta = LEASE
) -> list[tuple[int, int]]:
    """Take due rows of ``model`` (queued, or sending after its lease): ``[(id, attempt)]``."""
    now = now or utcnow()
    session = current_session()
    # A cheap read first: on SQLite a write transaction every second would queue behind
    # (and in front of) every request's writes for nothing.
    if session.scalar(_due(model, now).with_only_columns(model.id).limit(1)) is None:
        session.rollback()
        return []
    claimed: list[tuple[int, int]] = []
    with transaction() as session:
        stmt = _due(model, now).order_by(model.next_attempt_at, model.id).limit(limit)
        if session.get_bind().dialect.name == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        for row_id, status, attempts in session.execute(stmt).all():
            result = session.execute(
                update(model)
                .where(model.id == row_id, model.status == status, model.attempts == attempts)
                .values(
                    status=OutboxStatus.SENDING.value,
                    attempts=attempts + 1,
                    next_attempt_at=now + lease,
                )
                .execution_options(synchronize_session=False)
            )
            if cast(CursorResult[Any], result).rowcount == 1:
                claimed.append((row_id, attempts + 1))
    return claimed


def retry_delay(attempt: int) -> timedelta:
    return min(RETRY_CAP, RETRY_BASE * 2 ** max(0, attempt - 1))


def still_claimed(row: QueuedMail | None, attempt: int) -> bool:
    """Whether the caller's claim on ``row`` (loaded for update) still holds."""
    return row is not None and row.status == OutboxStatus.SENDING and row.attempts == attempt


def settle(row: QueuedMail, attempt: int, result: SendResult) -> None:
    """Sent, queued again after a backoff, or failed for good, from the SMTP outcome."""
    now = utcnow()
    if result.sent:
        row.status = OutboxStatus.SENT
        row.sent_at = now
        refused = "; ".join(f"{r}: {c} {t}" for r, (c, t) in result.refused.items())
        row.last_error = f"Refused by the server: {refused}" if refused else None
    elif result.retry and attempt < MAX_ATTEMPTS:
        row.status = OutboxStatus.QUEUED
        row.next_attempt_at = now + retry_delay(attempt)
        row.last_error = result.message[:2000]
    else:
        row.status = OutboxStatus.FAILED
        row.last_error = result.message[:2000]


# What a queue's ``prepare`` gives for one row: the channel to send through, the email and
# its recipients; or the reason it cannot be sent at all.
Prepared = tuple[EmailChannel, EmailMessage, list[str]] | SendResult


def send_due(
    model: Any,
    prepare: Callable[[Any], Prepared],
    label: str,
    limit: int = 20,
    *,
    now: datetime | None = None,
) -> int:
    """Claim up to ``limit`` due rows of ``model`` and send each (``send_claimed``); return how
    many were attempted."""
    claimed = claim_due(model, limit, now=now)
    for row_id, attempt in claimed:
        send_claimed(model, row_id, attempt, prepare, label)
    return len(claimed)


def send_claimed(
    model: Any, row_id: int, attempt: int, prepare: Callable[[Any], Prepared], label: str
) -> None:
    """Send one claimed row and record the outcome, unless the claim was lost meanwhile.

    ``prepare(row)`` composes the email inside a transaction; the SMTP conversation happens
    with none open."""
    session = current_session()
    row = session.get(model, row_id, populate_existing=True)
    if row is None:
        return
    prepared = prepare(row)
    if isinstance(prepared, SendResult):
        result = prepared
    else:
        channel, email, recipients = prepared
        try:
            config = smtp_config(channel)
        except SecretUnreadable as exc:
            result = SendResult(SendStatus.PERMANENT_FAILURE, str(exc))
        else:
            session.rollback()  # no transaction stays open over the network
            result = send(config, email, None, recipients)
    with transaction() as session:
        row = session.get(model, row_id, with_for_update=True, populate_existing=True)
        if row is None or not still_claimed(row, attempt):
            log.warning("%s %s: lease lost before the result was recorded", label, row_id)
            return
        settle(row, attempt, result)
    log.info("%s %s: attempt %d: %s", label, row_id, attempt, result.status)


def automatic_email(
    channel: EmailChannel, name: str, address: str, subject: str, body_text: str
) -> EmailMessage:
    """A plain-text email from ``channel`` that mail clients must not auto-reply to."""
    email = EmailMessage()
    sender = channel.display_name or "Dangol"
    email["From"] = Address(display_name=sender, addr_spec=channel.address)
    email["To"] = Address(display_name=name, addr_spec=address)
    email["Subject"] = subject
    email["Date"] = format_datetime(utcnow())
    email["Message-ID"] = make_msgid(domain=channel.address.rpartition("@")[2] or None)
    email["Auto-Submitted"] = "auto-generated"  # no vacation replies back to us
    email.set_content(body_text)
    return email
