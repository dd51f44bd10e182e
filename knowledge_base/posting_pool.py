"""The pool of postings a Whoosh writer fills while it indexes a segment (see ``PostingPool``)."""

from __future__ import annotations

import heapq
import marshal
import tempfile
from array import array
from collections.abc import Iterator
from typing import Any


class PostingPool:
    """The postings of the segment being written, kept by term in compact arrays.

    Whoosh's pool keeps a tuple of about 200 bytes per posting and, past ``limitmb``, pickles
    each posting to a temporary file and back one at a time: beyond some 20,000 documents
    that was half of a rebuild. Here a posting takes about 20 bytes (a rebuild of 100,000
    documents stays in memory); past the limit, a sorted run goes to a temporary file in
    ``marshal`` chunks, and the runs are merged at the end.
    """

    _CHUNK = 20_000

    def __init__(self, limit: int) -> None:
        self.limit = limit
        # (field, term) -> document numbers, weights, ids of posting values (few distinct):
        # arrays hold no Python objects, so the garbage collector never walks them.
        self._terms: dict[tuple[str, bytes], tuple[array[int], array[float], array[int]]] = {}
        self._value_ids: dict[bytes, int] = {}
        self._values: list[bytes] = []
        self._size = 0
        self._runs: list[Any] = []

    def add(self, item: tuple[str, bytes, int, float, bytes]) -> None:
        fieldname, text, docnum, weight, value = item
        postings = self._terms.get((fieldname, text))
        if postings is None:
            postings = self._terms[fieldname, text] = (array("i"), array("d"), array("i"))
            self._size += 200 + len(text)
        value_id = self._value_ids.get(value)
        if value_id is None:
            value_id = self._value_ids[value] = len(self._values)
            self._values.append(value)
        postings[0].append(docnum)
        postings[1].append(weight)
        postings[2].append(value_id)
        self._size += 24
        if self._size > self.limit:
            self._save()

    def iter_postings(self) -> Iterator[tuple[str, bytes, int, float, bytes]]:
        """Every posting, ordered by field, term and document number, as Whoosh expects."""
        if not self._runs:
            return self._sorted()
        self._save()
        return heapq.merge(*(self._read(run) for run in self._runs))

    def cleanup(self) -> None:
        for run in self._runs:
            run.close()
        self._runs, self._terms = [], {}

    def _sorted(self) -> Iterator[tuple[str, bytes, int, float, bytes]]:
        values = self._values
        for (fieldname, text), (docnums, weights, value_ids) in sorted(self._terms.items()):
            for docnum, weight, value_id in zip(docnums, weights, value_ids, strict=True):
                yield fieldname, text, docnum, weight, values[value_id]

    def _save(self) -> None:
        run = tempfile.TemporaryFile()  # noqa: SIM115 - read back and closed by cleanup()
        chunk: list[tuple[str, bytes, int, float, bytes]] = []
        for posting in self._sorted():
            chunk.append(posting)
            if len(chunk) >= self._CHUNK:
                marshal.dump(chunk, run)
                chunk = []
        if chunk:
            marshal.dump(chunk, run)
        run.seek(0)
        self._runs.append(run)
        self._terms, self._size = {}, 0

    @staticmethod
    def _read(run: Any) -> Iterator[tuple[str, bytes, int, float, bytes]]:
        while True:
            try:
                chunk = marshal.load(run)
            except EOFError:
                return
            yield from chunk
