"""A real `helpdesk worker` killed with SIGKILL while it ingests a full mailbox, three times
over, then restarted: every message is stored exactly once and threaded to the right ticket.

The simulated crashes in ``test_email_loops`` stop the fetcher at chosen points; this one stops
the whole process group (the worker and its parser process) wherever it happens to be, as an
out-of-memory kill or a power cut would.
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from helpdesk.extensions import db
from helpdesk.models import Direction, EmailChannel, Message, Ticket
from tests.email_helpers import mail, make_channel
from tests.live_server import HELPDESK
from tests.mailservers import DovecotServer

PASSWORD = "imap 비밀번호"
_users = itertools.count(1)
COUNT = 600  # six fetch batches of 100


@pytest.fixture(scope="module")
def dovecot() -> Iterator[DovecotServer]:
    with DovecotServer() as server:
        yield server


def conversation() -> list[bytes]:
    """Every third message answers the one before it (same sender): 400 new conversations
    and 200 follow-ups, so that threading is checked across the kills too."""
    raws = []
    for n in range(COUNT):
        if n % 3 == 2:
            raws.append(
                mail(
                    sender=f"c{n - 1}@example.kr",
                    subject=f"Re: 문의 {n - 1}",
                    message_id=f"m{n}@example.kr",
                    in_reply_to=f"m{n - 1}@example.kr",
                    body=f"추가 {n}",
                )
            )
        else:
            raws.append(
                mail(sender=f"c{n}@example.kr", subject=f"문의 {n}", message_id=f"m{n}@example.kr")
            )
    return raws


def stored() -> dict[str, list[int]]:
    """Message-ID -> the tickets it is stored on (one each, when all is well)."""
    db.session.remove()  # a fresh read of what the worker committed
    rows = db.session.execute(
        select(Message.external_id, Message.ticket_id).where(Message.direction == Direction.IN)
    )
    found: dict[str, list[int]] = {}
    for external_id, ticket_id in rows:
        found.setdefault(external_id, []).append(ticket_id)
    return found


def start_worker(env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [HELPDESK, "worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: the parser process dies with it
    )


def kill(worker: subprocess.Popen) -> None:
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(timeout=10)


def wait_until(condition, worker: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert worker.poll() is None, f"the worker exited with {worker.returncode}"
        assert time.monotonic() < deadline, "the worker did not get there in time"
        time.sleep(0.01)


def test_a_worker_killed_mid_batch_loses_and_duplicates_nothing(
    app, database_url, dovecot, tmp_path
):
    user = f"killed{next(_users)}"  # a mailbox of its own on each database's run
    dovecot.add_user(user, PASSWORD)
    channel = make_channel(imap_port=dovecot.port, imap_username=user, imap_password=PASSWORD)
    uids = dovecot.append(user, conversation())
    env = {
        **os.environ,
        "HELPDESK_DATABASE_URL": database_url,
        "HELPDESK_INSTANCE_PATH": str(tmp_path / "worker-instance"),
        "HELPDESK_SECRET_KEY": "test-secret",  # the app's: it decrypts the IMAP password
    }

    killed_at = []
    for delay in (0.0, 0.05, 0.12):  # a batch takes ~0.2 s: early, middle, late in the next
        before = len(stored())
        worker = start_worker(env)
        try:  # once it has committed a batch, it is busy with the next one
            wait_until(lambda before=before: len(stored()) > before, worker)
            time.sleep(delay)
        finally:
            kill(worker)
        found = stored()
        assert all(len(t) == 1 for t in found.values()), "a message was stored twice"
        killed_at.append(len(found))
    assert min(killed_at) < COUNT, "every kill came too late to interrupt anything"

    worker = start_worker(env)
    try:
        wait_until(lambda: len(stored()) == COUNT, worker)
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0
    finally:
        if worker.poll() is None:
            kill(worker)

    found = stored()
    assert sorted(found) == sorted(f"m{n}@example.kr" for n in range(COUNT))
    assert all(len(t) == 1 for t in found.values())
    for n in range(2, COUNT, 3):  # each follow-up on the ticket of the message it answers
        assert found[f"m{n}@example.kr"] == found[f"m{n - 1}@example.kr"], n
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == COUNT * 2 // 3
    last_uid = db.session.scalar(select(EmailChannel.last_uid).where(EmailChannel.id == channel.id))
    assert last_uid == uids[-1]
