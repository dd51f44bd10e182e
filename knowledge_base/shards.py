"""One Whoosh index on disk (all articles, or all tickets): opening, checking and writing it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from whoosh import query
from whoosh.filedb.filestore import FileStorage
from whoosh.writing import LockError

from .posting_pool import PostingPool
from .schema import Codec, index_schema
from .values import IndexBusy


class Shard:
    """One Whoosh index (all articles, or all tickets) and this process's writer lock."""

    def __init__(self, ix: Any) -> None:
        self.ix = ix
        self.generation = 0  # bumped by this process's commits: its readers refresh at once
        self._write_lock = threading.Lock()

    @classmethod
    def open(cls, path: Path) -> Shard:
        ix = _storage(path).open_index()
        _probe(ix)
        return cls(ix)

    @classmethod
    def create(cls, path: Path) -> Shard:
        path.mkdir(parents=True, exist_ok=True)
        return cls(_storage(path).create().create_index(index_schema()))

    @contextmanager
    def writer(self, timeout: float, mergetype: Any = None, **options: Any) -> Iterator[Any]:
        """A writer whose documents are committed together when the block ends."""
        if not self._write_lock.acquire(timeout=timeout):
            raise IndexBusy("another thread is writing the search index")
        try:
            try:
                writer = self.ix.writer(timeout=timeout, codec=Codec(), **options)
            except LockError as error:
                raise IndexBusy("another process is writing the search index") from error
            # Whoosh ignores its ``poolclass`` argument; the pool is replaced before use.
            writer.pool = PostingPool(writer.pool.limit)
            try:
                yield writer
            except BaseException:
                writer.cancel()
                raise
            writer.commit(mergetype=mergetype)
            self.generation += 1
        finally:
            self._write_lock.release()


def _storage(path: Path) -> FileStorage:
    # With memory maps, Whoosh copies each segment's term and posting files into a BytesIO for
    # every reader it opens (150 MB and 120-160 ms per reader at 100,000 documents, for every
    # thread, writer and refresh). Plain file reads cost nothing to open and ~10 % per search.
    return FileStorage(str(path), supports_mmap=False)


def _probe(ix: Any) -> None:
    """Read a little of every part of the index, so that a damaged one fails here."""
    with ix.searcher() as searcher:
        reader = searcher.reader()
        for fieldname in ("key", "acl", "text"):
            for _ in zip(range(3), reader.lexicon(fieldname), strict=False):
                pass
        if searcher.doc_count_all():
            searcher.stored_fields(0)
            searcher.search(query.Every(), limit=1)
