"""``SearchIndex``: the index of articles and tickets in one directory, and its operations.

Articles and tickets are two Whoosh indexes (``Shard``): portal and article searches never walk
ticket postings, and a ticket scope is a short filter. Each thread keeps its own searchers
(``Readers``) and refreshes them after a commit, reusing the readers of unchanged segments.
"""

from __future__ import annotations

import heapq
import json
import logging
import threading
from collections.abc import Callable, Collection, Iterable
from datetime import datetime
from pathlib import Path

from whoosh.writing import CLEAR

from .analysis import analyze_prefix, analyze_query
from .queries import filter_queries, plan_search
from .readers import Readers
from .schema import document_fields
from .shards import Shard
from .values import (
    KINDS,
    ArticleDocument,
    Document,
    IndexChange,
    Kind,
    SearchHit,
    SearchResults,
    SearchScope,
)
from .whoosh_fixes import patch_whoosh

# The name the search index has always logged under (logging configuration may refer to it).
log = logging.getLogger("knowledge_base.search")

SCHEMA_VERSION = 1
_META = "dangol-search.json"


class SearchIndex:
    """The search index in one directory. Any thread may search; one writes at a time.

    ``needs_reindex`` is true when the index was created empty (first use, an older schema,
    a damaged directory) and stays true, for every process that opens it, until ``rebuild``
    completes.
    """

    def __init__(self, path: Path, shards: dict[Kind, Shard], needs_reindex: bool) -> None:
        self.path = path
        self.needs_reindex = needs_reindex
        self._shards = shards
        self._local = threading.local()
        self._readers: list[Readers] = []
        self._readers_lock = threading.Lock()
        self._closed = False

    @classmethod
    def open(cls, path: str | Path) -> SearchIndex:
        """Open the index at ``path``, creating it if missing and recreating it if unusable."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        patch_whoosh()
        try:
            meta = json.loads((path / _META).read_text())
            if meta.get("schema_version") != SCHEMA_VERSION:
                raise ValueError(f"schema version {meta.get('schema_version')}")
            shards = {kind: Shard.open(path / f"{kind}s") for kind in KINDS}
            return cls(path, shards, needs_reindex=not meta.get("complete", False))
        except Exception as error:
            if any(path.iterdir()):
                log.warning("search index at %s is unusable (%r): recreating it empty", path, error)
            shards = {kind: Shard.create(path / f"{kind}s") for kind in KINDS}
            _write_meta(path, complete=False)
            return cls(path, shards, needs_reindex=True)

    def apply(self, changes: Iterable[IndexChange], *, timeout: float = 10.0) -> int:
        """Apply a batch of changes: one commit per kind (articles, tickets) it touches.

        The last change of a key wins. Returns the number of keys changed. Raises
        ``IndexBusy`` if another writer keeps the index locked for ``timeout`` seconds: apply
        the batch again later (applying a change twice does no harm).
        """
        latest = {change.key: change for change in changes}
        for kind in KINDS:
            batch = [change for change in latest.values() if change.kind == kind]
            if not batch:
                continue
            with self._shards[kind].writer(timeout) as writer:
                searcher = writer.searcher()
                for change in batch:
                    writer.delete_by_term("key", change.key, searcher=searcher)
                for change in batch:
                    if change.document is not None:
                        writer.add_document(**document_fields(change.document))
        return len(latest)

    def rebuild(
        self,
        documents: Iterable[Document],
        progress: Callable[[int], None] | None = None,
        *,
        limitmb: float = 256,
    ) -> int:
        """Replace the whole index with ``documents``; returns how many there were.

        Pass them newest first (by ``updated_at``): searches are fastest on that layout.
        Searches see the old index until the end. ``progress`` gets the count so far every
        1,000 documents. ``apply`` waits meanwhile, so keep changes queued until it succeeds.
        ``limitmb`` is the memory for postings (about 20 bytes each) before they spill to
        temporary files.
        """
        count = 0
        with (
            self._shards["article"].writer(60.0, mergetype=CLEAR, limitmb=limitmb) as articles,
            self._shards["ticket"].writer(60.0, mergetype=CLEAR, limitmb=limitmb) as tickets,
        ):
            for count, doc in enumerate(documents, 1):
                writer = articles if isinstance(doc, ArticleDocument) else tickets
                writer.add_document(**document_fields(doc))
                if progress and count % 1000 == 0:
                    progress(count)
        _write_meta(self.path, complete=True)
        self.needs_reindex = False
        if progress:
            progress(count)
        return count

    def search(
        self,
        text: str,
        scope: SearchScope,
        *,
        kinds: Collection[Kind] | None = None,
        locale: str | None = None,
        category_ids: Collection[int] | int | None = None,
        statuses: Collection[str] | str | None = None,
        group_ids: Collection[int] | int | None = None,
        customer_id: int | None = None,
        organization_id: int | None = None,
        updated_after: datetime | None = None,
        updated_before: datetime | None = None,
        limit: int = 20,
        offset: int = 0,
    ) -> SearchResults:
        """The best ``limit`` hits after ``offset`` for ``text`` among what ``scope`` allows.

        Every word must match (as typed, or a synonym); if no document has them all, any word
        is enough and ``matched_all_words`` is false. Filters only narrow the scope: ticket
        filters (statuses, groups, customer, organization) leave articles out and
        ``category_ids`` leaves tickets out. A query matching very many documents ranks its
        newest few thousand matches per kind (``POSTING_BUDGET``; the total is an estimate).
        """
        if limit < 1 or offset < 0:
            raise ValueError("limit must be positive and offset not negative")
        clauses = analyze_query(text)
        common = filter_queries({"loc": locale}, updated_after, updated_before)
        ticket_filters = {"st": statuses, "g": group_ids, "c": customer_id, "o": organization_id}
        only_tickets = any(value is not None for value in ticket_filters.values())
        per_kind = {
            "article": None if only_tickets else filter_queries({"cat": category_ids}),
            "ticket": None if category_ids is not None else filter_queries(ticket_filters),
        }
        wanted = [k for k in KINDS if per_kind[k] is not None and (kinds is None or k in kinds)]
        if not clauses or common is None:
            return SearchResults([], 0, True, offset)
        readers = self._thread_readers()
        for every in (True, False) if len(clauses) > 1 else (True,):
            found: list[tuple[float, Kind, int]] = []
            total, exact = 0, True
            for kind in wanted:
                restrictions = [*common, *(per_kind[kind] or ())]
                plan = plan_search(readers, kind, clauses, scope, restrictions, every)
                if plan is None:
                    continue
                top, kind_total, kind_exact = readers.top(kind, plan, offset + limit)
                found += [(score, kind, docnum) for score, docnum in top]
                total, exact = total + kind_total, exact and kind_exact
            if found:
                break
        best = heapq.nlargest(offset + limit, found, key=lambda hit: hit[0])[offset:]
        hits = [readers.hit(kind, docnum, score, clauses, scope) for score, kind, docnum in best]
        return SearchResults(hits, total, exact, offset, matched_all_words=every)

    def suggest(
        self,
        prefix: str,
        scope: SearchScope,
        *,
        kinds: Collection[Kind] | None = None,
        locale: str | None = None,
        limit: int = 8,
    ) -> list[SearchHit]:
        """Titles for search-as-you-type: the last word of ``prefix`` may be unfinished,
        including a Hangul syllable still being composed (``환부`` on the way to ``환불``)."""
        clauses = analyze_prefix(prefix)
        common = filter_queries({"loc": locale})
        if not clauses or common is None:
            return []
        readers = self._thread_readers()
        found: list[tuple[float, Kind, int]] = []
        for kind in KINDS:
            if kinds is not None and kind not in kinds:
                continue
            plan = plan_search(readers, kind, clauses, scope, common, True, fieldname="title")
            if plan is not None:
                top, _, _ = readers.top(kind, plan, limit)
                found += [(score, kind, docnum) for score, docnum in top]
        best = heapq.nlargest(limit, found, key=lambda hit: hit[0])
        return [readers.hit(k, docnum, s, clauses, scope, body=False) for s, k, docnum in best]

    def doc_count(self) -> int:
        readers = self._thread_readers()
        return sum(int(readers.searcher(kind).doc_count()) for kind in KINDS)

    def close(self) -> None:
        """Close every thread's searchers. The index must not be used afterwards."""
        self._closed = True
        with self._readers_lock:
            readers, self._readers = self._readers, []
        for reader in readers:
            reader.close()

    def _thread_readers(self) -> Readers:
        if self._closed:
            raise RuntimeError("the search index is closed")
        readers = getattr(self._local, "readers", None)
        if readers is None:
            readers = self._local.readers = Readers(self._shards)
            with self._readers_lock:
                self._readers.append(readers)
        readers.refresh()
        return readers


def _write_meta(path: Path, complete: bool) -> None:
    meta = {"schema_version": SCHEMA_VERSION, "complete": complete}
    temporary = path / (_META + ".tmp")
    temporary.write_text(json.dumps(meta))
    temporary.replace(path / _META)
