"""Inbound email: one fetched message of one channel becomes a ticket message, exactly once.

The contract with the fetcher (``helpdesk.email_loops``): ``ingest`` stores the message *and*
advances the channel's ``last_uid`` in one transaction, holding the channel's row lock. So a
crash before the commit leaves nothing and the message is fetched again; a crash after it
leaves the UID recorded and the message is never fetched again, whatever its ``\\Seen`` flag
says; and two workers fetching the same mailbox store each UID once (the second finds it at
or below ``last_uid``). When UIDVALIDITY changes, ``last_uid`` restarts at 0 and the
Message-ID check below keeps the old messages from coming back as duplicates.
"""

from __future__ import annotations

import logging
from collections.abc import Container, Iterator, Sequence
from dataclasses import dataclass, field
from typing import cast

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import Table, insert, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from connectors.email import (
    EmailParseError,
    MailKind,
    ParsedEmail,
    rewrite_cid_urls,
    strip_reply_prefixes,
    ticket_numbers_in_subject,
)

from .. import events
from ..events import MessageAdded, MessageDeliveryChanged, publish
from ..models import (
    Attachment,
    Direction,
    EmailChannel,
    EmailQuarantine,
    Message,
    MessageKind,
    Outbox,
    OutboxStatus,
    Ticket,
    TicketEmailThread,
    utcnow,
)
from . import audit, email_outbox
from .attachments import UploadedFile, blob_path, store_blob, written_together
from .email_parse_pool import parse_one, parsed_chunks
from .email_quarantine import HELD, RELEASED, quarantine
from .email_threading import add_participants, find_thread, follow_merges, thread_message_ids
from .errors import Conflict, NotFound, ServiceError
from .message_store import add_message
from .messages import CustomerMessage, add_customer_messages
from .permissions import SYSTEM, Actor, Permission, require
from .snapshots import message_snapshot, ticket_snapshot
from .ticket_create import NewTicket, open_tickets
from .tickets import lock_ticket
from .transaction import current_session, savepoint, transaction

log = logging.getLogger(__name__)

SOURCE_FILENAME = "original.eml"
_INSERT_ATTACHMENT = insert(cast(Table, Attachment.__table__))
_INSERT_THREAD = insert(cast(Table, TicketEmailThread.__table__))


@dataclass(frozen=True)
class IngestResult:
    """``outcome``: created (a new ticket), appended (to an existing one), bounce (a note on
    the ticket of the bounced message), duplicate (already stored), quarantined, or skipped
    (this UID was already ingested, e.g. by another worker)."""

    outcome: str
    ticket_id: int | None = None
    message_id: int | None = None
    quarantine_id: int | None = None
    reason: str | None = None


def open_mailbox(channel_id: int, uid_validity: int) -> int:
    """Called by the fetcher after each (re)connect: record the folder's UIDVALIDITY and
    return the UID to fetch after. A changed UIDVALIDITY restarts from 0 (every message is
    looked at again; the Message-ID check skips those already stored)."""
    with transaction() as session:
        channel = _lock_channel(session, channel_id)
        if channel.uid_validity != uid_validity:
            if channel.uid_validity is not None:
                log.warning(
                    "channel %s: UIDVALIDITY changed from %s to %s; re-reading the folder",
                    channel_id,
                    channel.uid_validity,
                    uid_validity,
                )
            channel.uid_validity = uid_validity
            channel.last_uid = 0
        channel.last_checked_at = utcnow()
        channel.last_error_code = None
        channel.last_error_message = None
        channel.consecutive_failures = 0
        return channel.last_uid


def record_mailbox_error(channel_id: int, code: str, message: str) -> None:
    """Show admins why the mailbox cannot be read (the message never holds a password)."""
    with transaction() as session:
        channel = session.get(EmailChannel, channel_id, populate_existing=True)
        if channel is None:
            return
        channel.last_error_code = code[:32]
        channel.last_error_message = message[:2000]
        channel.consecutive_failures += 1
        channel.last_checked_at = utcnow()


def ingest(
    channel_id: int, uid: int, raw: bytes, *, uid_validity: int | None = None
) -> IngestResult:
    """Store one fetched message (see the module docstring for the guarantees).

    Never raises for the message's content: what cannot be stored is quarantined with its
    reason. Database trouble raises (and nothing is recorded, so the message comes again).
    """
    return _ingest_batch(channel_id, [(uid, raw)], uid_validity)[0]


def ingest_batch(
    channel_id: int, fetched: Sequence[tuple[int, bytes]], *, uid_validity: int | None = None
) -> list[IngestResult]:
    """Store a fetched batch, ``(uid, raw)`` in ascending UID order, in one transaction.

    The guarantees are those of ``ingest`` for the whole batch: it commits with the channel's
    ``last_uid`` at the batch's last UID, or not at all. One transaction instead of one per
    message saves the channel lock, the commit and its sync for all but one of them; each
    message still runs in a savepoint, so one that is refused is quarantined alone.
    """
    return _ingest_batch(channel_id, fetched, uid_validity)


def _ingest_batch(
    channel_id: int, fetched: Sequence[tuple[int, bytes]], uid_validity: int | None
) -> list[IngestResult]:
    # Parsing needs no database: chunks are parsed (by another process when there is one)
    # while the transaction stores the chunks before them.
    chunks = parsed_chunks(fetched)
    with transaction() as session, written_together():
        channel = _lock_channel(session, channel_id)
        if uid_validity is not None and channel.uid_validity != uid_validity:
            skipped = IngestResult("skipped", reason="the folder's UIDVALIDITY changed")
            return [skipped] * len(fetched)
        batch = _BatchIndex(channel.id)
        results: dict[int, IngestResult] = {}
        opening, replying = _Waiting(), _Waiting()  # new conversations, follow-ups
        last_uid = channel.last_uid
        for chunk in chunks:
            batch.extend(session, [p for _, _, p in chunk if isinstance(p, ParsedEmail)])
            for uid, raw, mail in chunk:
                if uid <= last_uid:
                    results[uid] = IngestResult("skipped", reason="already ingested")
                    continue
                last_uid = uid
                if isinstance(mail, ParsedEmail):
                    mentioned = {mail.message_id, *thread_message_ids(mail)}
                    if opening.mentions(mentioned):  # it answers (or repeats) one of them
                        results.update(_open_together(session, channel, opening.take(), batch))
                    if replying.mentions(mentioned):
                        results.update(_reply_together(session, channel, replying.take(), batch))
                    if _opens_ticket(mail, batch):
                        opening.add(uid, raw, mail)
                        continue
                    if _answered_ticket(mail, batch) is not None:
                        replying.add(uid, raw, mail)
                        continue
                if replying.mails:  # so that this one lands after them on a shared ticket
                    results.update(_reply_together(session, channel, replying.take(), batch))
                results[uid] = _ingest(session, channel, uid, raw, mail, batch)
        if opening.mails:
            results.update(_open_together(session, channel, opening.take(), batch))
        if replying.mails:
            results.update(_reply_together(session, channel, replying.take(), batch))
        # Once, at the end: set per message, each savepoint would write the channel row again.
        channel.last_uid = max(channel.last_uid, last_uid)
        channel.last_checked_at = utcnow()
    return [results[uid] for uid, _ in fetched]


def retry_quarantined(actor: Actor, quarantine_id: int) -> IngestResult:
    """Try to store a held message again, e.g. after a fix or a larger size limit.

    Stored (or found already stored), the message leaves the quarantine as released; refused
    again, it stays held with the new reason. Admins only; audited.
    """
    require(actor, Permission.CHANNEL_ADMIN)
    with transaction() as session:
        row = session.get(EmailQuarantine, quarantine_id, populate_existing=True)
        if row is None:
            raise NotFound(_l("Quarantined message %(id)s not found.", id=quarantine_id))
        channel = _lock_channel(session, row.channel_id)
        session.refresh(row, with_for_update=True)
        if row.state != HELD:
            raise Conflict(_l("Message %(id)s was already dealt with.", id=quarantine_id))
        raw = blob_path(row.sha256).read_bytes()
        result = _ingest(session, channel, row.uid, raw)
        if result.outcome == "quarantined":
            row.reason = (result.reason or row.reason)[:2000]  # the same bytes: the same row
        else:
            row.state, row.resolved_at = RELEASED, utcnow()
        audit.record(
            session,
            actor,
            "channel.quarantine_retried",
            ticket_id=result.ticket_id,
            data={"quarantine_id": row.id, "outcome": result.outcome, "reason": result.reason},
        )
    return result


def _lock_channel(session: Session, channel_id: int) -> EmailChannel:
    channel = session.get(EmailChannel, channel_id, with_for_update=True, populate_existing=True)
    if channel is None:
        raise NotFound(f"email channel {channel_id} not found")
    return channel


Waiting = list[tuple[int, bytes, ParsedEmail]]


@dataclass
class _Waiting:
    """Mail of a batch waiting to be stored together with more of its kind, in UID order."""

    mails: Waiting = field(default_factory=list)
    message_ids: set[str] = field(default_factory=set)

    def add(self, uid: int, raw: bytes, mail: ParsedEmail) -> None:
        self.mails.append((uid, raw, mail))
        if mail.message_id:
            self.message_ids.add(mail.message_id)

    def mentions(self, message_ids: set[str | None]) -> bool:
        return not self.message_ids.isdisjoint(message_ids)

    def take(self) -> Waiting:
        mails, self.mails, self.message_ids = self.mails, [], set()
        return mails


@dataclass
class _BatchIndex:
    """What a batch's messages would each ask the database, asked once per chunk of them:
    which of their Message-IDs this channel already stored, and the tickets of the
    Message-IDs they answer. Kept current as the batch stores messages (a reply may answer a
    message earlier in the same batch)."""

    channel_id: int
    stored: set[str] = field(default_factory=set)
    threads: dict[str, int] = field(default_factory=dict)
    thread_channel: dict[int, int] = field(default_factory=dict)  # ticket id -> its channel

    @classmethod
    def load(cls, session: Session, channel_id: int, mails: Sequence[ParsedEmail]) -> _BatchIndex:
        index = cls(channel_id)
        index.extend(session, mails)
        return index

    def extend(self, session: Session, mails: Sequence[ParsedEmail]) -> None:
        # Two lookups, each driven by an index on the values asked for: the messages of the
        # Message-IDs (own and answered), then the email threads of their tickets. A join of
        # the two would let SQLite's planner start from the channel's threads once the IN list
        # grows, which reads every thread of the channel (slower as the desk grows).
        own = {m.message_id for m in mails if m.message_id} - self.stored
        answered = {i for m in mails for i in thread_message_ids(m)} - self.threads.keys()
        found: list[tuple[str | None, int]] = []
        for chunk in _chunks(list(own | answered)):
            rows = session.execute(
                select(Message.external_id, Message.ticket_id).where(Message.external_id.in_(chunk))
            )
            found.extend((external_id, ticket_id) for external_id, ticket_id in rows)
        ticket_ids = list({t for _, t in found} - self.thread_channel.keys())
        for start in range(0, len(ticket_ids), 500):
            threads = session.execute(
                select(TicketEmailThread.ticket_id, TicketEmailThread.channel_id).where(
                    TicketEmailThread.ticket_id.in_(ticket_ids[start : start + 500])
                )
            )
            self.thread_channel.update((ticket_id, channel) for ticket_id, channel in threads)
        for external_id, ticket_id in found:
            if external_id in answered:
                self.threads.setdefault(external_id, ticket_id)
            if external_id in own and self.thread_channel.get(ticket_id) == self.channel_id:
                self.stored.add(external_id)

    def remember(self, message_id: str | None, ticket_id: int) -> None:
        self.thread_channel.setdefault(ticket_id, self.channel_id)
        if message_id:
            self.stored.add(message_id)
            self.threads.setdefault(message_id, ticket_id)


def _chunks(values: list[str], size: int = 500) -> Iterator[list[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _ingest(
    session: Session,
    channel: EmailChannel,
    uid: int,
    raw: bytes,
    parsed: ParsedEmail | EmailParseError | None = None,
    batch: _BatchIndex | None = None,
) -> IngestResult:
    if parsed is None:
        parsed = parse_one(raw)
    if isinstance(parsed, EmailParseError):
        return _quarantined(session, channel, uid, raw, parsed.reason)
    if batch is None:
        batch = _BatchIndex.load(session, channel.id, [parsed])
    if parsed.message_id and parsed.message_id in batch.stored:
        return IngestResult("duplicate", reason=f"Message-ID {parsed.message_id} already stored")
    mark = events.pending_count(session)
    try:
        with savepoint(session):
            if parsed.kind is MailKind.BOUNCE:
                return _store_bounce(session, channel, uid, parsed, raw)
            result = _store(session, channel, parsed, raw, batch)
    except SQLAlchemyError:
        raise
    except ServiceError as exc:
        events.discard_pending(session, mark)
        return _quarantined(session, channel, uid, raw, f"refused: {exc.message}")
    except Exception as exc:  # a bug must not block the mailbox behind one message forever
        events.discard_pending(session, mark)
        log.exception("channel %s: storing UID %s failed", channel.id, uid)
        return _quarantined(session, channel, uid, raw, f"internal error ({type(exc).__name__})")
    assert result.ticket_id is not None
    batch.remember(parsed.message_id, result.ticket_id)
    return result


def _quarantined(
    session: Session, channel: EmailChannel, uid: int, raw: bytes, reason: str
) -> IngestResult:
    row, _ = quarantine(session, channel, uid, raw, reason)
    log.warning("channel %s: UID %s quarantined: %s", channel.id, uid, reason)
    return IngestResult("quarantined", quarantine_id=row.id, reason=reason)


def _uploads(parsed: ParsedEmail) -> list[UploadedFile]:
    return [
        UploadedFile(a.filename, a.content_type, a.data, a.content_id) for a in parsed.attachments
    ]


def _new_ticket(channel: EmailChannel, parsed: ParsedEmail) -> NewTicket:
    """The ticket a message that continues no conversation opens."""
    uploads = _uploads(parsed)
    subject = strip_reply_prefixes(parsed.subject) or "(no subject)"
    return NewTicket(
        subject=subject[:255],
        body_text=parsed.text or ("" if uploads else "(empty message)"),
        body_html=parsed.html,
        channel="email",
        customer_identity=("email", parsed.sender.address),
        customer_name=parsed.sender.name or None,
        group_id=channel.group_id,
        attachments=uploads,
        external_id=parsed.message_id,
    )


def _store(
    session: Session,
    channel: EmailChannel,
    parsed: ParsedEmail,
    raw: bytes,
    batch: _BatchIndex,
) -> IngestResult:
    ticket = find_thread(session, parsed, batch.threads)
    message_id: int | None = None
    if ticket is not None:
        [added] = add_customer_messages(SYSTEM, [_customer_message(ticket.id, parsed)])
        if isinstance(added, Conflict):  # closed: the customer's new message opens a new ticket
            ticket = None
        else:
            message_id = added.id
    created = ticket is None
    if ticket is None:
        [(ticket, message_id)] = open_tickets(SYSTEM, [_new_ticket(channel, parsed)])
    assert message_id is not None
    return _stored(
        session,
        channel,
        parsed,
        raw,
        ticket,
        message_id,
        created=created,
        known_threads=batch.thread_channel,
    )


def _stored(
    session: Session,
    channel: EmailChannel,
    parsed: ParsedEmail,
    raw: bytes,
    ticket: Ticket,
    message_id: int,
    *,
    created: bool,
    known_threads: Container[int] = (),
) -> IngestResult:
    """What every stored message needs besides its ticket message: the thread's channel and
    participants, inline images, the raw source, and an acknowledgement for a new ticket.
    ``known_threads``: tickets known to have their email thread row already."""
    return _stored_together(
        session,
        channel,
        [(parsed, raw, ticket, message_id)],
        created=created,
        known_threads=known_threads,
    )[0]


def _stored_together(
    session: Session,
    channel: EmailChannel,
    stored: Sequence[tuple[ParsedEmail, bytes, Ticket, int]],
    *,
    created: bool,
    known_threads: Container[int] = (),
) -> list[IngestResult]:
    """``_stored`` for several messages at once: the thread rows and the sources are written
    with one statement each, the participants looked up together."""
    threads: dict[int, dict[str, int]] = {}
    for _, _, ticket, _ in stored:
        if created or (
            ticket.id not in known_threads and session.get(TicketEmailThread, ticket.id) is None
        ):
            threads[ticket.id] = {"ticket_id": ticket.id, "channel_id": channel.id}
    if threads:  # a plain insert: nothing reads these rows back through the ORM
        session.connection().execute(_INSERT_THREAD, list(threads.values()))
    add_participants(
        session, channel, [(ticket, parsed) for parsed, _, ticket, _ in stored], new_tickets=created
    )
    for parsed, _, _, message_id in stored:
        _show_inline_images(session, message_id, parsed)
    _keep_sources(session, [(message_id, raw) for _, raw, _, message_id in stored])
    if created and channel.auto_acknowledge:
        for parsed, _, ticket, _ in stored:
            if parsed.kind is MailKind.HUMAN:
                session.flush()
                email_outbox.queue_acknowledgement(
                    session, ticket, channel, language=_language(parsed)
                )
    outcome = "created" if created else "appended"
    return [
        IngestResult(outcome, ticket_id=ticket.id, message_id=message_id)
        for _, _, ticket, message_id in stored
    ]


def _opens_ticket(parsed: ParsedEmail, batch: _BatchIndex) -> bool:
    """True when ``parsed`` surely opens a new ticket: a person's or robot's mail (not a
    bounce) not stored yet, answering no stored message and naming no ticket number. Such
    mail of a batch is opened together (``_open_together``); anything else goes one by one."""
    return (
        parsed.kind is not MailKind.BOUNCE
        and not (parsed.message_id and parsed.message_id in batch.stored)
        and not any(i in batch.threads for i in thread_message_ids(parsed))
        and not ticket_numbers_in_subject(parsed.subject)
    )


def _open_together(
    session: Session,
    channel: EmailChannel,
    mails: list[tuple[int, bytes, ParsedEmail]],
    batch: _BatchIndex,
) -> dict[int, IngestResult]:
    """Open a ticket for each of ``mails`` in one go (``open_tickets``: customers looked up
    together, rows written in a few statements). If the service refuses one of them, none is
    kept and each goes the one-by-one way, where only the refused one is quarantined."""
    mark = events.pending_count(session)
    try:
        with savepoint(session):
            opened = open_tickets(SYSTEM, [_new_ticket(channel, p) for _, _, p in mails])
            stored = _stored_together(
                session,
                channel,
                [
                    (parsed, raw, ticket, message_id)
                    for (_, raw, parsed), (ticket, message_id) in zip(mails, opened, strict=True)
                ],
                created=True,
            )
            results = {uid: result for (uid, _, _), result in zip(mails, stored, strict=True)}
    except SQLAlchemyError:
        raise
    except Exception:
        events.discard_pending(session, mark)
        log.info("channel %s: a batch of new tickets was refused; one by one", channel.id)
        return {
            uid: _ingest(session, channel, uid, raw, parsed, batch) for uid, raw, parsed in mails
        }
    for (_, _, parsed), (ticket, _) in zip(mails, opened, strict=True):
        batch.remember(parsed.message_id, ticket.id)
    return results


def _answered_ticket(parsed: ParsedEmail, batch: _BatchIndex) -> int | None:
    """The ticket (before merges) of the stored message that ``parsed`` answers, found as
    ``find_thread`` finds it, when ``parsed`` is a follow-up that can wait to be stored with
    others (``_reply_together``): not a bounce, not stored yet."""
    if parsed.kind is MailKind.BOUNCE or (parsed.message_id and parsed.message_id in batch.stored):
        return None
    for message_id in thread_message_ids(parsed):
        if message_id in batch.threads:
            return batch.threads[message_id]
    return None


def _reply_together(
    session: Session, channel: EmailChannel, mails: Waiting, batch: _BatchIndex
) -> dict[int, IngestResult]:
    """Store follow-ups on their tickets in one go (``add_customer_messages``). One on a closed
    ticket opens a new ticket, as alone; if the service refuses one, each goes the one-by-one
    way, where only the refused one is quarantined."""
    mark = events.pending_count(session)
    results: dict[int, IngestResult] = {}
    alone: Waiting = []  # on a closed or vanished ticket: the one-by-one way decides
    try:
        with savepoint(session):
            answered = {uid: _answered_ticket(parsed, batch) for uid, _, parsed in mails}
            current = _after_merges(session, {t for t in answered.values() if t is not None})
            target = {uid: current.get(t) if t is not None else None for uid, t in answered.items()}
            going = [m for m in mails if target[m[0]] is not None]
            alone = [m for m in mails if target[m[0]] is None]
            added = add_customer_messages(
                SYSTEM,
                [_customer_message(cast(int, target[uid]), parsed) for uid, _, parsed in going],
            )
            kept = []
            for mail, message in zip(going, added, strict=True):
                if isinstance(message, Conflict):
                    alone.append(mail)
                else:
                    kept.append((mail, message))
            stored = _stored_together(
                session,
                channel,
                [(parsed, raw, m.ticket, m.id) for (_, raw, parsed), m in kept],
                created=False,
                known_threads=batch.thread_channel,
            )
    except SQLAlchemyError:
        raise
    except Exception:
        events.discard_pending(session, mark)
        log.info("channel %s: a batch of follow-ups was refused; one by one", channel.id)
        return {uid: _ingest(session, channel, uid, raw, p, batch) for uid, raw, p in mails}
    for ((uid, _, parsed), message), result in zip(kept, stored, strict=True):
        batch.remember(parsed.message_id, message.ticket_id)
        results[uid] = result
    for uid, raw, parsed in sorted(alone, key=lambda m: m[0]):
        results[uid] = _ingest(session, channel, uid, raw, parsed, batch)
    return results


def _after_merges(session: Session, ticket_ids: set[int]) -> dict[int, int]:
    """Where each ticket's conversation continues: itself, or the ticket it was merged into
    (missing tickets are left out). One query unless some were merged."""
    ids = list(ticket_ids)
    current: dict[int, int] = {}
    for start in range(0, len(ids), 500):
        rows = session.execute(
            select(Ticket.id, Ticket.merged_into_id).where(Ticket.id.in_(ids[start : start + 500]))
        )
        for ticket_id, merged_into_id in rows:
            if merged_into_id is None:
                current[ticket_id] = ticket_id
            elif (target := follow_merges(session, ticket_id)) is not None:
                current[ticket_id] = target.id
    return current


def _customer_message(ticket_id: int, parsed: ParsedEmail) -> CustomerMessage:
    """A follow-up as the ticket shows it: the new text, without the quoted history (unless
    that is all there is)."""
    visible = parsed.visible_text.strip()
    return CustomerMessage(
        ticket_id,
        body_text=parsed.visible_text if visible else parsed.text,
        body_html=(parsed.visible_html if visible else parsed.html) or None,
        attachments=_uploads(parsed),
        kind=MessageKind.EMAIL,
        external_id=parsed.message_id,
    )


def _language(parsed: ParsedEmail) -> str:
    """Korean when the customer wrote Korean, English otherwise (for the acknowledgement)."""
    text = f"{parsed.subject} {parsed.visible_text[:2000]}"
    return "ko" if any("\uac00" <= ch <= "\ud7a3" for ch in text) else "en"


def _show_inline_images(session: Session, message_id: int, parsed: ParsedEmail) -> None:
    """Point the HTML's ``cid:`` images at the stored attachments."""
    inline = {a.content_id for a in parsed.attachments if a.inline and a.content_id}
    if not inline:
        return
    message = session.get(Message, message_id)
    if message is None or not message.body_html:
        return
    mapping = {
        a.content_id: f"/attachments/{a.id}" for a in message.attachments if a.content_id in inline
    }
    message.body_html = rewrite_cid_urls(message.body_html, mapping)


def _keep_source(session: Session, message_id: int, raw: bytes) -> None:
    _keep_sources(session, [(message_id, raw)])


def _keep_sources(session: Session, sources: Sequence[tuple[int, bytes]]) -> None:
    """Each message as received, downloadable as ``original.eml`` (not bound by the
    attachment size limit: it is within the email limit, checked before parsing).

    A plain insert: nothing in this transaction reads the rows back through the ORM."""
    if not sources:  # an insert of no rows would write one row of defaults
        return
    limit = current_app.config["HELPDESK"].email_max_bytes
    now = utcnow()
    session.connection().execute(
        _INSERT_ATTACHMENT,
        [
            {
                "message_id": message_id,
                "filename": SOURCE_FILENAME,
                "content_type": "message/rfc822",
                "size": len(raw),
                "sha256": store_blob(raw, max_bytes=max(limit, len(raw))),
                "content_id": None,
                "created_at": now,
            }
            for message_id, raw in sources
        ],
    )


def _store_bounce(
    session: Session, channel: EmailChannel, uid: int, parsed: ParsedEmail, raw: bytes
) -> IngestResult:
    """A bounce becomes an internal note on the ticket of the message it returns, and marks
    that message's delivery failed; it never opens a ticket."""
    bounce = parsed.bounce
    original_id = bounce.original_message_id if bounce else None
    bounced = None
    if original_id:
        bounced = session.scalar(
            select(Message).where(
                Message.external_id == original_id, Message.direction == Direction.OUT
            )
        )
    if bounced is None:
        return _quarantined(session, channel, uid, raw, "bounce about a message we did not send")
    assert bounce is not None
    ticket: Ticket = lock_ticket(session, bounced.ticket_id)
    reason = " ".join(filter(None, [bounce.status, bounce.diagnostic])) or "no reason given"
    recipient = bounce.recipient or "the recipient"
    verb = "could not be delivered" if bounce.permanent else "is delayed"
    note = add_message(
        session,
        ticket,
        direction=Direction.OUT,
        is_public=False,
        body_text=f"Mail delivery: the reply {verb} to {recipient}: {reason}",
        body_html=None,
        external_id=parsed.message_id,
    )
    session.flush()
    ticket.updated_at = utcnow()
    audit.record(
        session,
        SYSTEM,
        "message.bounced",
        ticket_id=ticket.id,
        customer_id=ticket.customer_id,
        data={"message_id": note.id, "bounced_message_id": bounced.id, "status": bounce.status},
    )
    publish(session, MessageAdded(ticket_snapshot(ticket), message_snapshot(note)))
    outbox = session.scalar(select(Outbox).where(Outbox.message_id == bounced.id))
    if outbox is not None and bounce.permanent and outbox.status != OutboxStatus.FAILED:
        outbox.status = OutboxStatus.FAILED
        outbox.last_error = f"Bounced: {recipient}: {reason}"[:2000]
        publish(
            session,
            MessageDeliveryChanged(ticket.id, bounced.id, outbox.status, outbox.last_error),
        )
    _keep_source(session, note.id, raw)
    return IngestResult("bounce", ticket_id=ticket.id, message_id=note.id)


def mailbox_channel(channel_id: int) -> EmailChannel | None:
    """The channel as it is now (for the fetcher, which holds no transaction open)."""
    return current_session().get(EmailChannel, channel_id, populate_existing=True)
