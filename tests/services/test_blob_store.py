"""The attachment blob store: files are on disk before the transaction that points at them."""

from __future__ import annotations

import os

import pytest

from helpdesk.services import attachments
from helpdesk.services.attachments import blob_path, store_blob, synced_together


@pytest.fixture
def fsyncs(monkeypatch) -> list[int]:
    calls: list[int] = []
    real = os.fsync

    def recording(fd: int) -> None:
        calls.append(fd)
        real(fd)

    monkeypatch.setattr(attachments.os, "fsync", recording)
    return calls


def test_a_blob_is_synced_as_it_is_written(app, fsyncs):
    digest = store_blob(b"receipt")
    assert blob_path(digest).read_bytes() == b"receipt"
    assert len(fsyncs) == 1


def test_blobs_written_together_are_synced_when_the_block_ends(app, fsyncs):
    with synced_together():
        digests = [store_blob(f"mail {n}".encode()) for n in range(3)]
        assert fsyncs == []  # none in the middle of the batch's database work
    assert len(fsyncs) == 3
    assert [blob_path(d).read_bytes() for d in digests] == [b"mail 0", b"mail 1", b"mail 2"]


def test_a_failed_block_does_not_sync_its_blobs(app, fsyncs):
    with pytest.raises(RuntimeError), synced_together():
        store_blob(b"never referenced")
        raise RuntimeError("the transaction failed")
    assert fsyncs == []
