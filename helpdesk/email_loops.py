"""The email channels' background loops: one fetcher per mailbox, one outbox sender.

Each ``EmailFetcher`` runs in a thread of its own (``worker.LoopRunner``), so a slow or broken
mailbox never delays another. Channels are discovered when the worker starts: a channel added
or re-activated later is watched after a restart of ``helpdesk worker`` / ``helpdesk serve``;
a channel deactivated or deleted is dropped by its fetcher on its next pass.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from sqlalchemy.exc import SQLAlchemyError

from connectors.email.mailbox import Mailbox
from connectors.email.transport import Backoff, MailTransportError

from .extensions import db
from .services import email_channels, email_ingest, email_outbox, portal_auth_mail, staff_mail
from .worker import Loop

log = logging.getLogger(__name__)


class OutboxSender(Loop):
    """Sends due outbox rows; safe to run in several workers at once (see ``email_outbox``)."""

    name = "outbox-sender"
    interval = 1.0

    def __init__(self, batch: int = 20) -> None:
        self.batch = batch

    def run_once(self) -> bool:
        return email_outbox.send_due(self.batch) > 0


class StaffMailSender(Loop):
    """Sends due staff emails (SLA escalations); as safe with several workers as the outbox."""

    name = "staff-mail-sender"
    interval = 1.0

    def run_once(self) -> bool:
        return staff_mail.send_due() > 0


class PortalLinkSender(Loop):
    """Sends the customer portal's sign-in links; as safe with several workers as the outbox."""

    name = "portal-link-sender"
    interval = 1.0

    def run_once(self) -> bool:
        return portal_auth_mail.send_due() > 0


class EmailFetcher(Loop):
    """Fetches one channel's new mail, ingests each message, then marks it processed.

    Order matters: ``ingest`` commits the message with the channel's ``last_uid``; only then
    is the message flagged ``\\Seen`` (and moved). A crash in between loses nothing and
    duplicates nothing: the next pass fetches after the recorded UID. Connection failures
    are recorded on the channel and retried after a ``Backoff`` delay, without raising
    (the runner's own back-off is for unexpected errors).
    """

    interval = 1.0

    def __init__(
        self,
        channel_id: int,
        *,
        batch: int = 100,
        idle_s: float = 10.0,
        backoff: Backoff | None = None,
        after_ingest: Callable[[int], None] | None = None,
    ) -> None:
        self.channel_id = channel_id
        self.name = f"email-fetcher-{channel_id}"
        self.batch = batch
        self.idle_s = idle_s  # short: the runner only notices stop() between passes
        self.backoff = backoff or Backoff(base_s=1.0, cap_s=300.0)
        self.after_ingest = after_ingest  # for tests: a crash right after a commit
        self.mailbox: Mailbox | None = None
        self.uid_validity: int | None = None
        self.last_uid = 0
        self._not_before = 0.0

    def run_once(self) -> bool:
        if time.monotonic() < self._not_before:
            return False
        try:
            return self._pass()
        except MailTransportError as exc:
            self.close()
            delay = self.backoff.next_delay()
            self._not_before = time.monotonic() + delay
            log.warning(
                "channel %s: %s (%s); retrying in %.0f s",
                self.channel_id,
                exc.message,
                exc.code,
                delay,
            )
            email_ingest.record_mailbox_error(self.channel_id, exc.code.value, exc.message)
            return False
        except BaseException:
            self.close()
            raise

    def _ingest(self, fetched: list[tuple[int, bytes]]) -> list[int]:
        """Store the batch in one transaction; the UIDs stored, for ``mark_processed``.

        If the batch as a whole fails on the database (not on a message's content, which is
        quarantined), each message is tried in a transaction of its own, so that one message
        the database refuses holds up only itself and what follows it.
        """
        if not fetched:
            return []
        try:
            email_ingest.ingest_batch(self.channel_id, fetched, uid_validity=self.uid_validity)
        except SQLAlchemyError:
            db.session.rollback()
            log.exception(
                "channel %s: batch failed; storing one message at a time", self.channel_id
            )
            done: list[int] = []
            for uid, raw in fetched:
                email_ingest.ingest(self.channel_id, uid, raw, uid_validity=self.uid_validity)
                self._stored(uid)
                done.append(uid)
            return done
        for uid, _ in fetched:
            self._stored(uid)
        return [uid for uid, _ in fetched]

    def _stored(self, uid: int) -> None:
        self.last_uid = uid
        if self.after_ingest is not None:
            self.after_ingest(uid)

    def close(self) -> None:
        mailbox, self.mailbox = self.mailbox, None
        if mailbox is not None:
            mailbox.close()

    def _pass(self) -> bool:
        channel = email_ingest.mailbox_channel(self.channel_id)
        if channel is None or not channel.is_active:
            db.session.rollback()
            self.close()
            return False
        processed_folder = channel.imap_processed_folder
        if self.mailbox is None:
            config = email_channels.mailbox_config(channel)
            db.session.rollback()  # no transaction open while talking to the server
            mailbox = Mailbox(config)
            mailbox.connect()
            self.mailbox = mailbox
            self.uid_validity = mailbox.uid_validity
            self.last_uid = email_ingest.open_mailbox(self.channel_id, mailbox.uid_validity)
            self.backoff.reset()
        db.session.rollback()
        mailbox = self.mailbox
        batch = mailbox.fetch_new(after_uid=self.last_uid, limit=self.batch)
        done = self._ingest([(fetched.uid, fetched.raw) for fetched in batch])
        mailbox.mark_processed(done, move_to=processed_folder)
        if len(batch) >= self.batch:
            return True
        db.session.remove()  # nothing held while idling
        mailbox.wait_for_new(self.idle_s)
        return True


def email_loops() -> list[Loop]:
    """The outbox sender and a fetcher for each active channel (as of now)."""
    loops: list[Loop] = [OutboxSender(), StaffMailSender(), PortalLinkSender()]
    try:
        channel_ids = email_channels.active_channel_ids()
    except Exception:  # e.g. a database not yet upgraded: the other loops still run
        log.exception("could not list the email channels; no mailbox is watched")
        channel_ids = []
    finally:
        db.session.remove()
    loops.extend(EmailFetcher(channel_id) for channel_id in channel_ids)
    return loops
