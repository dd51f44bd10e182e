"""The attachment blob store: files are complete and on disk before the transaction that points
at them commits."""

from __future__ import annotations

import os
import threading

import pytest

from helpdesk.services import attachments
from helpdesk.services.attachments import blob_path, store_blob, written_together


@pytest.fixture
def fsyncs(monkeypatch) -> list[str]:
    """The names of the threads that synced a file."""
    calls: list[str] = []
    real = os.fsync

    def recording(fd: int) -> None:
        calls.append(threading.current_thread().name)
        real(fd)

    monkeypatch.setattr(attachments.os, "fsync", recording)
    return calls


def test_a_blob_is_synced_as_it_is_written(app, fsyncs):
    digest = store_blob(b"receipt")
    assert blob_path(digest).read_bytes() == b"receipt"
    assert fsyncs == [threading.current_thread().name]


def test_blobs_written_together_are_written_and_synced_aside_before_the_block_ends(app, fsyncs):
    with written_together():
        digests = [store_blob(f"mail {n}".encode()) for n in range(3)]
    assert len(fsyncs) == 3 and all(name.startswith("blob-writer") for name in fsyncs)
    assert [blob_path(d).read_bytes() for d in digests] == [b"mail 0", b"mail 1", b"mail 2"]
    assert not list(blob_path(digests[0]).parent.glob(".upload-*"))  # no temporary left


def test_a_failed_write_fails_the_block_before_anything_commits(app, monkeypatch):
    def broken(_target, _data) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(attachments, "_write", broken)
    with pytest.raises(OSError, match="No space"), written_together():
        store_blob(b"will not fit")
