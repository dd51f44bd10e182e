"""Workarounds for defects of Whoosh-Reloaded 2.7.5 met on the way.

- ``Require`` fails an assertion with block-max skipping (``Require`` here);
- ``DisjunctionMax`` drops a side that runs out (``DisMax``);
- ``Searcher.refresh`` keeps deleted documents (``open_searcher``);
- a block's ``skip_to`` scans linearly, and block headers are unpickled one byte-read at a time
  (``patch_whoosh``).

The others are where they are needed: memory-mapped readers copy whole segment files
(``shards.py``), the writer pickles every posting past its memory limit (``posting_pool.py``).
"""

from __future__ import annotations

import bisect
import io
import pickle
from typing import Any

from whoosh import query
from whoosh.codec.whoosh3 import W3LeafMatcher
from whoosh.filedb.structfile import StructFile
from whoosh.matching import DisjunctionMaxMatcher, NullMatcher, ReadTooFar, RequireMatcher
from whoosh.reading import EmptyReader, MultiReader, SegmentReader
from whoosh.searching import Searcher


def patch_whoosh() -> None:
    """Two faster methods for Whoosh 2.7 internals (idempotent; behaviour unchanged)."""
    W3LeafMatcher.skip_to = _skip_to
    StructFile.read_pickle = _read_pickle


def _read_pickle(self: Any) -> Any:
    """``StructFile.read_pickle`` reading a window at once: Whoosh unpickles every posting
    block's header straight from the file, one small ``read`` per pickle opcode."""
    start = self.tell()
    stream = io.BytesIO(self.read(512))
    try:
        value = pickle.load(stream)
    except (EOFError, pickle.UnpicklingError):  # longer than the window
        self.seek(start)
        return pickle.load(self.file)
    self.seek(start + stream.tell())
    return value


def _skip_to(self: Any, target: int) -> None:
    """Whoosh's ``W3LeafMatcher.skip_to`` with a binary search inside the block.

    Whoosh steps through a block one posting at a time; intersections (every multi-word query,
    every filter) spend most of their time there.
    """
    if not self.is_active():
        raise ReadTooFar
    if target <= self.id():
        return
    if target > self._maxid:
        self._skip_to_block(lambda: target > self._maxid)
        if not self.is_active():
            return
    if self._ids is None:
        self._read_ids()
    self._i = bisect.bisect_left(self._ids, target, self._i)


class _RequireMatcher(RequireMatcher):
    def skip_to_quality(self, minquality: float) -> int:
        # Whoosh 2.7 re-syncs the pair even when nothing moved, which trips an assertion.
        skipped: int = self.a.skip_to_quality(minquality)
        if self.a.is_active() and self.b.is_active() and self.a.id() != self.b.id():
            self.child._find_next()
        return skipped


class Require(query.Require):
    """Whoosh's Require (scores from the text query only) with working block-max skipping."""

    def matcher(self, searcher: Any, context: Any = None) -> Any:
        scored = self.a.matcher(searcher, context)
        return _RequireMatcher(scored, self.b.matcher(searcher, searcher.boolean_context()))


class _DisMaxMatcher(DisjunctionMaxMatcher):
    def replace(self, minquality: float = 0) -> Any:
        # Whoosh 2.7 returns an empty matcher when one side runs out, losing the other side.
        live = [m.replace(minquality) for m in (self.a, self.b) if m.is_active()]
        live = [m for m in live if m.is_active()]
        if not live:
            return NullMatcher()
        if len(live) == 1:
            return live[0]
        if live[0] is self.a and live[1] is self.b:
            return self
        return self.__class__(live[0], live[1])


class DisMax(query.DisjunctionMax):
    """Any of the subqueries, scored by the best one: its block bound is a max, not a sum."""

    def _matcher(self, subs: Any, searcher: Any, context: Any) -> Any:
        return self._tree_matcher(subs, _DisMaxMatcher, searcher, context, None)


def open_searcher(ix: Any, previous: Any | None, weighting: Any) -> tuple[Any, int]:
    """A searcher of the latest commit, newest segments first, reusing ``previous``'s
    readers of unchanged segments.

    Whoosh's ``Searcher.refresh()`` is not used: it reuses a segment's reader even when
    documents of the segment were deleted since (deleted and replaced documents stay
    visible). Segments are searched newest first so that the candidate budget, like the
    layout of a rebuilt segment, favours recent documents.
    """
    toc = ix._read_toc()  # the segment list of the latest generation
    reusable = {}
    if previous is not None:
        leaves = [r for r, _ in previous.reader().leaf_readers() if r.segment() is not None]
        reusable = {r.segment().segment_id(): r for r in leaves}
    readers = []
    for segment in reversed(toc.segments):
        old = reusable.get(segment.segment_id())
        if old is not None and old.segment().deleted_count() == segment.deleted_count():
            readers.append(reusable.pop(segment.segment_id()))
        else:
            readers.append(
                SegmentReader(ix.storage, toc.schema, segment, generation=toc.generation)
            )
    for stale in reusable.values():
        stale.close()
    if not readers:
        reader = EmptyReader(toc.schema)
    elif len(readers) == 1:
        reader = readers[0]
    else:
        reader = MultiReader(readers, generation=toc.generation)
    return Searcher(reader, fromindex=ix, weighting=weighting), toc.generation
