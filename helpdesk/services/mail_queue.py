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

from datetime import datetime, timedelta
from typing import Any, Protocol, cast

from sqlalchemy import CursorResult, select, update

from connectors.email.smtp import SendResult

from ..models import OutboxStatus, utcnow
from .transaction import current_session, transaction

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
