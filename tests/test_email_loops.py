"""The email fetcher against a real Dovecot: ingest, then \\Seen, the UID remembered with the
ticket, and a crash between the two neither loses nor duplicates a message."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest
from imapclient import SEEN
from sqlalchemy import func, select, update
from sqlalchemy.exc import OperationalError

from helpdesk.email_loops import EmailFetcher, OutboxSender
from helpdesk.extensions import db
from helpdesk.models import EmailChannel, Ticket
from helpdesk.services import email_ingest
from helpdesk.worker import default_loops
from tests.email_helpers import mail, make_channel
from tests.mailservers import DovecotServer, free_port

PASSWORD = "imap 비밀번호"
_users = itertools.count(1)


@pytest.fixture(scope="module")
def dovecot() -> Iterator[DovecotServer]:
    with DovecotServer() as server:
        yield server


@pytest.fixture
def account(app, dovecot) -> tuple[str, EmailChannel]:
    user = f"support{next(_users)}"
    dovecot.add_user(user, PASSWORD)
    channel = make_channel(imap_port=dovecot.port, imap_username=user, imap_password=PASSWORD)
    return user, channel


def tickets() -> int:
    return db.session.scalar(select(func.count()).select_from(Ticket))


def stored(channel_id: int) -> EmailChannel:
    channel = db.session.get(EmailChannel, channel_id, populate_existing=True)
    assert channel is not None
    return channel


def seen(dovecot: DovecotServer, user: str, uids: list[int]) -> list[bool]:
    with dovecot.client(user) as imap:
        imap.select_folder("INBOX", readonly=True)
        flags = imap.get_flags(uids)
    return [SEEN in flags[uid] for uid in uids]


def messages(start: int, count: int) -> list[bytes]:
    return [
        mail(subject=f"문의 {n}", message_id=f"m{n}@example.kr", sender=f"c{n}@example.kr")
        for n in range(start, start + count)
    ]


def test_fetched_mail_becomes_tickets_then_is_marked_seen(account, dovecot):
    user, channel = account
    uids = dovecot.append(user, messages(1, 3))
    fetcher = EmailFetcher(channel.id, idle_s=0.2)
    try:
        assert fetcher.run_once() is True
        assert tickets() == 3
        assert stored(channel.id).last_uid == uids[-1]
        assert stored(channel.id).uid_validity is not None
        assert seen(dovecot, user, uids) == [True, True, True]

        later = dovecot.append(user, messages(4, 1))
        fetcher.run_once()  # the wait of the first pass, or this one, sees it
        fetcher.run_once()
        assert tickets() == 4 and stored(channel.id).last_uid == later[0]
    finally:
        fetcher.close()


def test_a_crash_after_the_commit_neither_loses_nor_duplicates(account, dovecot):
    user, channel = account
    uids = dovecot.append(user, messages(10, 3))

    def crash(uid: int) -> None:
        raise RuntimeError(f"worker killed after committing UID {uid}")

    # Batches of one: the crash comes after the first message's commit.
    dying = EmailFetcher(channel.id, idle_s=0.1, batch=1, after_ingest=crash)
    with pytest.raises(RuntimeError):
        dying.run_once()
    assert tickets() == 1 and stored(channel.id).last_uid == uids[0]
    assert seen(dovecot, user, uids) == [False, False, False]  # \Seen is not the record

    restarted = EmailFetcher(channel.id, idle_s=0.1)
    try:
        restarted.run_once()
    finally:
        restarted.close()
    assert tickets() == 3 and stored(channel.id).last_uid == uids[-1]
    assert seen(dovecot, user, uids[1:]) == [True, True]

    # The folder is renumbered (UIDVALIDITY changes): everything is read again, nothing stored
    # twice, because the Message-IDs are known.
    db.session.execute(
        update(EmailChannel).where(EmailChannel.id == channel.id).values(uid_validity=1)
    )
    db.session.commit()
    renumbered = EmailFetcher(channel.id, idle_s=0.1)
    try:
        renumbered.run_once()
    finally:
        renumbered.close()
    assert tickets() == 3
    assert stored(channel.id).last_uid == uids[-1]


def test_a_batch_commits_whole_and_a_crash_after_it_duplicates_nothing(account, dovecot):
    user, channel = account
    uids = dovecot.append(user, messages(10, 3))
    committed: list[int] = []

    def crash(uid: int) -> None:
        committed.append(uid)
        raise RuntimeError(f"worker killed after committing UID {uid}")

    dying = EmailFetcher(channel.id, idle_s=0.1, after_ingest=crash)
    with pytest.raises(RuntimeError):
        dying.run_once()
    # The three were one transaction: all stored, the UID recorded, none flagged yet.
    assert committed == [uids[0]]
    assert tickets() == 3 and stored(channel.id).last_uid == uids[-1]
    assert seen(dovecot, user, uids) == [False, False, False]

    restarted = EmailFetcher(channel.id, idle_s=0.1)
    try:
        restarted.run_once()
    finally:
        restarted.close()
    assert tickets() == 3


def test_a_batch_the_database_refuses_is_stored_one_message_at_a_time(
    account, dovecot, monkeypatch
):
    user, channel = account
    uids = dovecot.append(user, messages(10, 3))

    def refused(*_args, **_kwargs):
        raise OperationalError("INSERT ...", {}, Exception("database is locked"))

    monkeypatch.setattr(email_ingest, "ingest_batch", refused)
    fetcher = EmailFetcher(channel.id, idle_s=0.1)
    try:
        fetcher.run_once()
    finally:
        fetcher.close()
    assert tickets() == 3 and stored(channel.id).last_uid == uids[-1]
    assert seen(dovecot, user, uids) == [True, True, True]


def test_an_unreachable_mailbox_is_reported_and_retried_with_backoff(app):
    channel = make_channel(imap_port=free_port())
    fetcher = EmailFetcher(channel.id)
    assert fetcher.run_once() is False
    broken = stored(channel.id)
    assert broken.last_error_code == "connection_refused"
    assert "refused" in broken.last_error_message and broken.consecutive_failures == 1
    assert fetcher.run_once() is False  # still backing off: no second attempt yet
    assert stored(channel.id).consecutive_failures == 1


def test_the_worker_watches_each_active_channel(app):
    active = make_channel()
    make_channel(is_active=False)
    loops = default_loops()
    fetchers = [loop for loop in loops if isinstance(loop, EmailFetcher)]
    assert [f.channel_id for f in fetchers] == [active.id]
    assert sum(isinstance(loop, OutboxSender) for loop in loops) == 1
    assert len({loop.name for loop in loops}) == len(loops)
