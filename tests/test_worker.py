"""Background loops: isolation from each other's failures, and the orphan-file sweeper."""

from __future__ import annotations

import os
import threading
import time
from datetime import timedelta

from helpdesk.services import messages
from helpdesk.services.attachments import UploadedFile, blob_path, store_blob
from helpdesk.worker import Loop, LoopRunner, OrphanBlobSweeper
from tests.factories import actor, make_ticket, make_user


class Counting(Loop):
    name = "counting"
    interval = 0.01

    def __init__(self) -> None:
        self.runs = 0
        self.ran = threading.Event()

    def run_once(self) -> bool:
        self.runs += 1
        if self.runs >= 3:
            self.ran.set()
        return False


class Broken(Loop):
    name = "broken"
    interval = 0.01

    def __init__(self) -> None:
        self.attempts = 0

    def run_once(self) -> bool:
        self.attempts += 1
        raise RuntimeError("mailbox unreachable")


def test_a_failing_loop_backs_off_and_never_stops_the_others(app, caplog):
    good, bad = Counting(), Broken()
    runner = LoopRunner(app, [bad, good])
    runner.start()
    try:
        assert good.ran.wait(5)
        time.sleep(0.2)
    finally:
        runner.stop()
    assert bad.attempts >= 1
    # exponential back-off: far fewer attempts than the healthy loop's passes
    assert bad.attempts < good.runs
    assert "loop broken failed" in caplog.text


def test_sweeper_removes_only_old_unreferenced_files(app):
    agent = make_user()
    ticket = make_ticket()
    kept = messages.reply_to_ticket(
        actor(agent),
        ticket.id,
        body_text="file",
        attachments=[UploadedFile("a.txt", "text/plain", b"kept")],
    ).attachments[0]
    orphan = store_blob(b"left by a rolled-back transaction")
    fresh_orphan = store_blob(b"still being written by a running transaction")
    an_hour_ago = time.time() - 7200
    for digest in (kept.sha256, orphan):
        os.utime(blob_path(digest), (an_hour_ago, an_hour_ago))

    assert OrphanBlobSweeper(grace=timedelta(hours=1)).run_once() is True

    assert blob_path(kept.sha256).exists()
    assert not blob_path(orphan).exists()
    assert blob_path(fresh_orphan).exists()
    assert OrphanBlobSweeper().run_once() is False


def test_sqlite_checkpoints_run_in_the_loop_not_in_requests(app):
    from helpdesk.db import AUTOCHECKPOINT_PAGES, checkpoint
    from helpdesk.extensions import db
    from helpdesk.worker import SqliteCheckpointer, default_loops

    if db.dialect != "sqlite":
        assert not any(isinstance(loop, SqliteCheckpointer) for loop in default_loops())
        return
    assert any(isinstance(loop, SqliteCheckpointer) for loop in default_loops())
    with db.engine.connect() as connection:
        pages = connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar()
    assert pages == AUTOCHECKPOINT_PAGES  # requests only checkpoint as a last resort
    make_ticket()
    busy, log_frames, done = checkpoint(db.engine)
    assert busy == 0 and log_frames > 0 and done == log_frames
    assert SqliteCheckpointer().run_once() is False  # never spins: it is a timer
