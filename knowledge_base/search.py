"""The search index of articles and tickets: the one interface the rest of the app uses.

Whoosh (unmaintained) stays inside this module; callers see documents, changes, scopes and
results only, so the engine can be replaced behind the same interface. Text analysis (Korean
bigrams, English stems, synonyms, snippets) is ``analysis.py``; its terms go to the engine
directly, not through Whoosh's analysis pipeline. Open one ``SearchIndex`` per process.

Permissions are part of every query: a ``SearchScope`` becomes filter terms that the engine
intersects with the text query, so hits, totals and suggestions never contain what the caller
may not see. A ticket's internal notes are searchable by staff only: other scopes search a
field without them.

Speed (figures in ``bench/search_bench.py``):

- Articles and tickets are two Whoosh indexes: portal and article searches never walk ticket
  postings, and a ticket scope is a short filter.
- Each posting carries an impact computed at index time (BM25's saturated term frequency in
  a few levels, a title bonus, a recency tie-break), so scoring reads nothing else and a
  block's maximum bounds its scores exactly. Documents are laid out newest first, so the top
  N of a common word fill up with recent ties in the first blocks and Whoosh's block-max
  collector skips most others. A posting budget caps broad multi-word queries (their newest
  matches win); totals are estimates unless every match was seen or few match.
- Each thread keeps its own searchers and refreshes them after a commit, reusing the
  readers of unchanged segments.
- Whoosh 2.7 defects met on the way are worked around here: ``Require`` fails an assertion
  with block-max, ``DisjunctionMax`` drops a side that runs out, ``Searcher.refresh`` keeps
  deleted documents, memory-mapped readers copy whole segment files, the writer pickles
  every posting past its memory limit, a block's ``skip_to`` scans linearly, and block
  headers are unpickled one byte-read at a time (``_patch_whoosh``).
"""

from __future__ import annotations

import bisect
import heapq
import io
import json
import logging
import marshal
import math
import pickle
import tempfile
import threading
import time
from array import array
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from whoosh import fields, query, scoring
from whoosh.analysis import IDTokenizer
from whoosh.codec.whoosh3 import W3Codec, W3LeafMatcher
from whoosh.collectors import FilterCollector, TopCollector
from whoosh.filedb.filestore import FileStorage
from whoosh.filedb.structfile import StructFile
from whoosh.formats import Existence, Frequency
from whoosh.matching import DisjunctionMaxMatcher, NullMatcher, ReadTooFar, RequireMatcher
from whoosh.reading import EmptyReader, MultiReader, SegmentReader
from whoosh.searching import Searcher
from whoosh.system import pack_uint
from whoosh.writing import CLEAR, LockError

from .analysis import QueryClause, analyze_prefix, analyze_query, excerpt, highlight, index_terms

log = logging.getLogger(__name__)

Kind = Literal["article", "ticket"]
KINDS: tuple[Kind, ...] = ("article", "ticket")

SCHEMA_VERSION = 1
LENGTH_B = 0.5  # BM25's length normalization, against a typical length in terms:
TYPICAL_TITLE_TERMS = 10
TYPICAL_BODY_TERMS = 80
K1 = 1.2  # BM25's saturation of repeated occurrences: the text part is below K1 + 1 ...
IMPACT_STEP = 0.5  # ... rounded to this (mentioned in passing, once, more often) ...
TEXT_CAP = 1.5  # ... and capped: many documents share the top levels (see _impacts)
TITLE_BONUS = K1 + 1  # added when the title has the term: title matches outrank the others
RECENCY_BONUS = 0.01  # among equal impacts, the newer document wins (at most 1 % higher)
# Once the top N is full, an index stops after this many postings of the query's terms
# (matches examined x terms in the query): the newest matches of a broad query win.
POSTING_BUDGET = 1200
EXACT_TOTAL_UP_TO = 200  # below this estimate, matches are counted (without scoring them)
BROAD_FILTER = 0.05  # a filter matching more than this share of an index is a set of docnums
REFRESH_SECONDS = 0.25  # how often a reader looks for commits of another process
_RECENCY_START = datetime(2020, 1, 1, tzinfo=UTC).timestamp()
_RECENCY_SPAN = 30 * 365.25 * 86400
_META = "dangol-search.json"


@dataclass(frozen=True, slots=True)
class ArticleDocument:
    """One translation of a knowledge base article."""

    id: int
    locale: str
    title: str
    body: str
    updated_at: datetime
    visibility: Literal["public", "internal"] = "public"
    published: bool = True
    category_id: int | None = None

    @property
    def key(self) -> str:
        return f"article:{self.id}:{self.locale}"


@dataclass(frozen=True, slots=True)
class TicketDocument:
    """A ticket: ``text`` is what its customer may read, ``internal_notes`` only staff."""

    id: int
    number: int
    subject: str
    text: str
    updated_at: datetime
    status: str
    customer_id: int
    locale: str
    group_id: int | None = None
    organization_id: int | None = None
    internal_notes: str = ""

    @property
    def key(self) -> str:
        return f"ticket:{self.id}"


Document = ArticleDocument | TicketDocument


@dataclass(frozen=True, slots=True)
class IndexChange:
    """Put a document into the index (replacing its previous version) or remove one by key."""

    key: str
    document: Document | None

    @classmethod
    def upsert(cls, document: Document) -> IndexChange:
        return cls(document.key, document)

    @classmethod
    def delete(cls, key: str) -> IndexChange:
        return cls(key, None)

    @property
    def kind(self) -> Kind:
        kind = self.key.split(":", 1)[0]
        if kind not in KINDS:
            raise ValueError(f"not a search key: {self.key!r}")
        return kind  # type: ignore[return-value]


@dataclass(frozen=True, slots=True)
class SearchScope:
    """What a caller may see. Build it with ``public``, ``customer`` or ``staff``.

    ``articles`` and ``tickets`` are the filter terms a document must carry one of (None: no
    restriction, empty: none of that kind); ``internal``: may see internal notes.
    """

    articles: frozenset[str] | None
    tickets: frozenset[str] | None
    internal: bool = False

    def __post_init__(self) -> None:
        if not self.internal and (self.articles is None or self.tickets is None):
            raise ValueError("only staff scopes may leave a kind unrestricted")

    @classmethod
    def public(cls, locale: str) -> SearchScope:
        """Anonymous portal visitors: published public articles in ``locale``."""
        return cls(frozenset({f"pub:{locale}"}), frozenset())

    @classmethod
    def customer(cls, customer_id: int, organization_id: int | None = None) -> SearchScope:
        """A signed-in customer: published public articles and their own tickets.

        Pass ``organization_id`` only if the organization shares tickets among its members:
        its tickets are then included too.
        """
        tickets = {f"c:{customer_id}"}
        if organization_id is not None:
            tickets.add(f"o:{organization_id}")
        return cls(frozenset({"pub"}), frozenset(tickets))

    @classmethod
    def staff(
        cls, group_ids: Collection[int] | None = None, *, include_ungrouped: bool = False
    ) -> SearchScope:
        """Staff: every article (internal ones and drafts too) and the tickets of
        ``group_ids``; ``None`` means every ticket. Tickets without a group are included for
        ``None`` or when ``include_ungrouped`` is true."""
        if group_ids is None:
            return cls(None, None, internal=True)
        tickets = {f"g:{g}" for g in group_ids} | ({"g:-"} if include_ungrouped else set())
        return cls(None, frozenset(tickets), internal=True)


@dataclass(frozen=True, slots=True)
class SearchHit:
    key: str
    kind: Kind
    id: int
    locale: str | None  # articles only
    title: str
    title_html: str  # escaped, with <mark> around matches
    snippet: str  # escaped, with <mark> around matches
    score: float
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class SearchResults:
    hits: list[SearchHit]
    total: int  # exact if ``total_is_exact``, otherwise an estimate (an upper bound)
    total_is_exact: bool
    offset: int = 0
    matched_all_words: bool = True  # False: no document had every word; any word was enough


class IndexBusy(RuntimeError):
    """Another writer holds the index (a rebuild, or another process): try the batch again."""


class SearchIndex:
    """The search index in one directory. Any thread may search; one writes at a time.

    ``needs_reindex`` is true when the index was created empty (first use, an older schema,
    a damaged directory) and stays true, for every process that opens it, until ``rebuild``
    completes.
    """

    def __init__(self, path: Path, shards: dict[Kind, _Shard], needs_reindex: bool) -> None:
        self.path = path
        self.needs_reindex = needs_reindex
        self._shards = shards
        self._local = threading.local()
        self._readers: list[_Readers] = []
        self._readers_lock = threading.Lock()
        self._closed = False

    @classmethod
    def open(cls, path: str | Path) -> SearchIndex:
        """Open the index at ``path``, creating it if missing and recreating it if unusable."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        _patch_whoosh()
        try:
            meta = json.loads((path / _META).read_text())
            if meta.get("schema_version") != SCHEMA_VERSION:
                raise ValueError(f"schema version {meta.get('schema_version')}")
            shards = {kind: _Shard.open(path / f"{kind}s") for kind in KINDS}
            return cls(path, shards, needs_reindex=not meta.get("complete", False))
        except Exception as error:
            if any(path.iterdir()):
                log.warning("search index at %s is unusable (%r): recreating it empty", path, error)
            shards = {kind: _Shard.create(path / f"{kind}s") for kind in KINDS}
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
                        writer.add_document(**_document_fields(change.document))
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
                writer.add_document(**_document_fields(doc))
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
        common = _restrictions({"loc": locale}, updated_after, updated_before)
        ticket_filters = {"st": statuses, "g": group_ids, "c": customer_id, "o": organization_id}
        only_tickets = any(value is not None for value in ticket_filters.values())
        per_kind = {
            "article": None if only_tickets else _restrictions({"cat": category_ids}),
            "ticket": None if category_ids is not None else _restrictions(ticket_filters),
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
                plan = _plan(readers, kind, clauses, scope, restrictions, every)
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
        common = _restrictions({"loc": locale})
        if not clauses or common is None:
            return []
        readers = self._thread_readers()
        found: list[tuple[float, Kind, int]] = []
        for kind in KINDS:
            if kinds is not None and kind not in kinds:
                continue
            plan = _plan(readers, kind, clauses, scope, common, True, fieldname="title")
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

    def _thread_readers(self) -> _Readers:
        if self._closed:
            raise RuntimeError("the search index is closed")
        readers = getattr(self._local, "readers", None)
        if readers is None:
            readers = self._local.readers = _Readers(self._shards)
            with self._readers_lock:
                self._readers.append(readers)
        readers.refresh()
        return readers


# Whoosh adapter: storage, writers and readers


class _Shard:
    """One Whoosh index (all articles, or all tickets) and this process's writer lock."""

    def __init__(self, ix: Any) -> None:
        self.ix = ix
        self.generation = 0  # bumped by this process's commits: its readers refresh at once
        self._write_lock = threading.Lock()

    @classmethod
    def open(cls, path: Path) -> _Shard:
        ix = _storage(path).open_index()
        _probe(ix)
        return cls(ix)

    @classmethod
    def create(cls, path: Path) -> _Shard:
        path.mkdir(parents=True, exist_ok=True)
        return cls(_storage(path).create().create_index(_schema()))

    @contextmanager
    def writer(self, timeout: float, mergetype: Any = None, **options: Any) -> Iterator[Any]:
        """A writer whose documents are committed together when the block ends."""
        if not self._write_lock.acquire(timeout=timeout):
            raise IndexBusy("another thread is writing the search index")
        try:
            try:
                writer = self.ix.writer(timeout=timeout, codec=_Codec(), **options)
            except LockError as error:
                raise IndexBusy("another process is writing the search index") from error
            # Whoosh ignores its ``poolclass`` argument; the pool is replaced before use.
            writer.pool = _PostingPool(writer.pool.limit)
            try:
                yield writer
            except BaseException:
                writer.cancel()
                raise
            writer.commit(mergetype=mergetype)
            self.generation += 1
        finally:
            self._write_lock.release()


class _Readers:
    """One thread's searchers of both indexes (Whoosh searchers are not shared by threads).

    They share one weighting, so that a term's idf counts articles and tickets together and
    scores of both kinds can be merged.
    """

    def __init__(self, shards: dict[Kind, _Shard]) -> None:
        self.shards = shards
        self.weighting = _ImpactWeighting(self)
        self._searchers: dict[Kind, Any] = {}
        self._tocs: dict[Kind, int] = {}
        self._generations: dict[Kind, int] = {}
        self._checked = 0.0
        self._docsets: dict[tuple[Kind, str], set[int]] = {}

    def searcher(self, kind: Kind) -> Any:
        return self._searchers[kind]

    def refresh(self) -> None:
        """After a commit (this process's: at once; another's: within ``REFRESH_SECONDS``)
        open searchers of the new version."""
        now = time.monotonic()
        ours = all(self._generations.get(k) == s.generation for k, s in self.shards.items())
        if ours and now - self._checked < REFRESH_SECONDS:
            return
        self._checked = now
        for kind, shard in self.shards.items():
            self._generations[kind] = shard.generation
            if kind in self._tocs and shard.ix.latest_generation() == self._tocs[kind]:
                continue
            searcher, self._tocs[kind] = _open_searcher(
                shard.ix, self._searchers.get(kind), self.weighting
            )
            self._searchers[kind] = searcher
            self._docsets = {key: docs for key, docs in self._docsets.items() if key[0] != kind}

    def idf(self, fieldname: str, text: bytes) -> float:
        searchers = self._searchers.values()
        documents = sum(s.doc_count_all() for s in searchers)
        frequency = sum(s.doc_frequency(fieldname, text) for s in searchers)
        return math.log(documents / (frequency + 1)) + 1

    def top(self, kind: Kind, plan: _Plan, limit: int) -> tuple[list[tuple[float, int]], int, bool]:
        """The top ``limit`` (score, docnum) pairs, the total and whether it is exact."""
        searcher = self._searchers[kind]
        terms = sum(1 for _ in plan.query.leaves())
        top = _BudgetCollector(limit, max(limit, POSTING_BUDGET // max(1, terms)))
        collector: Any = top
        if plan.broad_filter is not None:
            collector = FilterCollector(top, allow=self._docs(kind, plan.broad_filter))
        searcher.search_with_collector(plan.query, collector)
        found = list(collector.results().top_n)
        if len(found) < limit:
            # The top N never filled up, so nothing was skipped: every match was seen.
            return found, len(found), True
        estimate = plan.estimate(searcher.reader())
        if estimate <= EXACT_TOTAL_UP_TO:
            allowed = None if plan.broad_filter is None else self._docs(kind, plan.broad_filter)
            return found, _count(searcher, plan.query, allowed), True
        return found, max(estimate, top.examined), False

    def _docs(self, kind: Kind, restriction: query.Query) -> set[int]:
        """The documents of a broad filter, kept until the searcher changes."""
        key = (kind, str(restriction))
        docs = self._docsets.get(key)
        if docs is None:
            if len(self._docsets) >= 64:
                self._docsets.clear()
            docs = self._docsets[key] = set(self._searchers[kind].docs_for_query(restriction))
        return docs

    def hit(
        self,
        kind: Kind,
        docnum: int,
        score: float,
        clauses: list[QueryClause],
        scope: SearchScope,
        body: bool = True,
    ) -> SearchHit:
        stored = self._searchers[kind].stored_fields(docnum)
        _, id_, *locale = stored["key"].split(":")
        title = stored.get("title_text", "")
        snippet = ""
        if body:
            text = stored.get("body_text", "")
            snippet = highlight(text, clauses) or ""
            notes = stored.get("notes_text") if scope.internal else None
            if not snippet and notes:
                snippet = highlight(notes, clauses) or ""
            snippet = snippet or excerpt(text)
        return SearchHit(
            key=stored["key"],
            kind=kind,
            id=int(id_),
            locale=locale[0] if locale else None,
            title=title,
            title_html=highlight(title, clauses, size=len(title)) or excerpt(title, len(title)),
            snippet=snippet,
            score=float(score),
            updated_at=datetime.fromtimestamp(stored["updated"], UTC),
        )

    def close(self) -> None:
        for searcher in self._searchers.values():
            searcher.close()
        self._searchers = {}


def _open_searcher(ix: Any, previous: Any | None, weighting: Any) -> tuple[Any, int]:
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


def _patch_whoosh() -> None:
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


def _count(searcher: Any, q: query.Query, allowed: set[int] | None) -> int:
    """How many documents match ``q`` (and are in ``allowed``), without scoring them.

    Whoosh's ``docs_for_query`` reads every posting of every term of an intersection; walking
    the matcher lets the rarest term lead.
    """
    count = 0
    for leaf, offset in searcher.leaf_searchers():
        matcher = q.matcher(leaf, leaf.boolean_context())
        while matcher.is_active():
            if allowed is None or matcher.id() + offset in allowed:
                count += 1
            matcher.next()
    return count


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


def _write_meta(path: Path, complete: bool) -> None:
    meta = {"schema_version": SCHEMA_VERSION, "complete": complete}
    temporary = path / (_META + ".tmp")
    temporary.write_text(json.dumps(meta))
    temporary.replace(path / _META)


# Documents


class _TermsField(fields.FieldType):
    """A field indexed from terms analyzed already: ``{term: (frequency, impact)}``."""

    def __init__(self, weighted: bool) -> None:
        super().__init__(Frequency() if weighted else Existence(), IDTokenizer())

    def index(self, value: Any, **kwargs: Any) -> Iterator[tuple[bytes, int, float, bytes]]:
        for term, (freq, weight) in value.items():
            packed = _PACKED[freq] if freq < len(_PACKED) else pack_uint(freq)
            yield term.encode("utf-8"), freq, weight, packed


_PACKED = [pack_uint(n) for n in range(64)]  # shared posting values of small frequencies


class _PostingPool:
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


class _Codec(W3Codec):
    # Scores come from the impacts; Whoosh's per-block field length statistics would cost a
    # length lookup per posting (and a file lookup per posting for fields without lengths).
    length_stats = False


def _schema() -> fields.Schema:
    return fields.Schema(
        key=fields.ID(unique=True, stored=True),
        text=_TermsField(weighted=True),  # title (weighted), body and internal notes
        public=_TermsField(weighted=True),  # title and body, only where there are notes
        title=_TermsField(weighted=True),  # for suggestions as you type
        acl=_TermsField(weighted=False),  # permission and filter terms
        updated=fields.NUMERIC(numtype=int, bits=32, signed=False, stored=True),
        title_text=fields.STORED(),
        body_text=fields.STORED(),
        notes_text=fields.STORED(),
    )


def _document_fields(doc: Document) -> dict[str, Any]:
    if isinstance(doc, ArticleDocument):
        title, body, notes = doc.title, doc.body, ""
        acl = {f"loc:{doc.locale}"}
        if doc.visibility == "public" and doc.published:
            acl |= {"pub", f"pub:{doc.locale}"}
        if doc.category_id is not None:
            acl.add(f"cat:{doc.category_id}")
    else:
        title, body, notes = f"#{doc.number} {doc.subject}", doc.text, doc.internal_notes
        group = "-" if doc.group_id is None else doc.group_id
        # A customer's own tickets carry "c:", or "cn:" when ``text`` holds internal notes
        # (customers then search the ``public`` field); likewise "o:" and "on:".
        customer, organization = ("cn", "on") if notes else ("c", "o")
        acl = {f"loc:{doc.locale}", f"st:{doc.status}", f"g:{group}"}
        acl.add(f"{customer}:{doc.customer_id}")
        if doc.organization_id is not None:
            acl.add(f"{organization}:{doc.organization_id}")
    updated = _timestamp(doc.updated_at)
    recency = _recency(updated)
    title_terms, body_terms = index_terms(title), index_terms(body)
    values: dict[str, Any] = {
        "key": doc.key,
        "title": _impacts(recency, [], (title_terms, TYPICAL_TITLE_TERMS)),
        "acl": {term: (1, 1.0) for term in acl},
        "updated": updated,
        "title_text": title,
        "body_text": body,
    }
    if notes:
        notes_part = (index_terms(notes), TYPICAL_BODY_TERMS)
        body_part = (body_terms, TYPICAL_BODY_TERMS)
        values["text"] = _impacts(recency, title_terms, body_part, notes_part)
        values["public"] = _impacts(recency, title_terms, body_part)
        values["notes_text"] = notes
    else:
        values["text"] = _impacts(recency, title_terms, (body_terms, TYPICAL_BODY_TERMS))
    return values


def _impacts(
    recency: float, title: list[str], *texts: tuple[list[str], int]
) -> dict[str, tuple[int, float]]:
    """``{term: (occurrences, impact)}`` of a document's ``title`` terms and other ``texts``
    (terms, typical length).

    The impact is BM25's term-frequency part over the texts (length-normalized, saturated),
    rounded to ``IMPACT_STEP`` and capped at ``TEXT_CAP``, plus ``TITLE_BONUS`` for a term of
    the title, times the recency tie-break. So few levels keep most documents tied, and a tie
    goes to the newer one: the top N of a common word fill up within the first (newest)
    blocks, whose scores then bound the rest, which Whoosh's block-max collector skips.
    """
    weights: dict[str, float] = {}
    counts = Counter(title)
    in_title = set(title)
    for terms, typical in texts:
        scale = 1 / ((1 - LENGTH_B) + LENGTH_B * len(terms) / typical)
        for term, count in Counter(terms).items():
            weights[term] = weights.get(term, 0.0) + count * scale
            counts[term] += count
    impacts = {}
    for term, count in counts.items():
        weight = weights.get(term, 0.0)
        level = round(weight * (K1 + 1) / (weight + K1) / IMPACT_STEP) * IMPACT_STEP
        impact = min(TEXT_CAP, level) + (TITLE_BONUS if term in in_title else 0.0)
        impacts[term] = (count, max(IMPACT_STEP, impact) * recency)
    return impacts


def _timestamp(moment: datetime) -> int:
    return int((moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp())


def _recency(timestamp: int) -> float:
    elapsed = (timestamp - _RECENCY_START) / _RECENCY_SPAN
    return 1 + RECENCY_BONUS * min(1.0, max(0.0, elapsed))


# Queries


class _ImpactWeighting(scoring.WeightingModel):
    """Score = idf x impact. The impact was computed at index time, so nothing but the
    posting's weight is read per document and a block's maximum weight bounds its scores
    exactly, which is what lets the top-N collector skip blocks."""

    def __init__(self, readers: _Readers) -> None:
        self.readers = readers

    def supports_block_quality(self) -> bool:
        return True

    def scorer(self, searcher: Any, fieldname: str, text: Any, qf: int = 1) -> _ImpactScorer:
        info = searcher.term_info(fieldname, text)
        return _ImpactScorer(self.readers.idf(fieldname, text), info.max_weight())


class _ImpactScorer(scoring.BaseScorer):
    def __init__(self, idf: float, max_weight: float) -> None:
        self.idf = idf
        self.max = idf * max_weight

    def supports_block_quality(self) -> bool:
        return True

    def score(self, matcher: Any) -> float:
        return float(self.idf * matcher.weight())

    def max_quality(self) -> float:
        return self.max

    def block_quality(self, matcher: Any) -> float:
        return float(self.idf * matcher.block_max_weight())


class _BudgetCollector(TopCollector):
    """Top N with block-max skipping that stops after ``budget`` examined matches once it has
    N. Documents come newest first, so a broad query ranks its newest matches."""

    def __init__(self, limit: int, budget: int) -> None:
        super().__init__(limit, usequality=True)
        self.budget = budget
        self.examined = 0

    def matches(self) -> Iterator[int]:
        if self.examined >= self.budget and len(self.items) >= self.limit:
            return
        for docnum in super().matches():
            yield docnum
            self.examined += 1
            if self.examined >= self.budget and len(self.items) >= self.limit:
                return


class _RequireMatcher(RequireMatcher):
    def skip_to_quality(self, minquality: float) -> int:
        # Whoosh 2.7 re-syncs the pair even when nothing moved, which trips an assertion.
        skipped: int = self.a.skip_to_quality(minquality)
        if self.a.is_active() and self.b.is_active() and self.a.id() != self.b.id():
            self.child._find_next()
        return skipped


class _Require(query.Require):
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


class _DisMax(query.DisjunctionMax):
    """Any of the subqueries, scored by the best one: its block bound is a max, not a sum."""

    def _matcher(self, subs: Any, searcher: Any, context: Any) -> Any:
        return self._tree_matcher(subs, _DisMaxMatcher, searcher, context, None)


def _any(fieldname: str, terms: Iterable[str]) -> query.Query:
    subqueries = [query.Term(fieldname, t) for t in sorted(terms)]
    if not subqueries:
        return query.NullQuery
    return subqueries[0] if len(subqueries) == 1 else query.Or(subqueries)


def _all(parts: list[query.Query]) -> query.Query:
    return parts[0] if len(parts) == 1 else query.And(parts)


_WITH_NOTES = {"c": ("c", "cn"), "o": ("o", "on")}


def _restrictions(
    acl_filters: Mapping[str, Collection[str] | Collection[int] | str | int | None],
    updated_after: datetime | None = None,
    updated_before: datetime | None = None,
) -> list[query.Query] | None:
    """The filters as queries; None if one of them can match nothing (an empty collection)."""
    parts: list[query.Query] = []
    for prefix, wanted in acl_filters.items():
        if wanted is None:
            continue
        values: list[str | int] = [wanted] if isinstance(wanted, str | int) else list(wanted)
        if not values:
            return None
        prefixes = _WITH_NOTES.get(prefix, (prefix,))
        parts.append(_any("acl", {f"{p}:{v}" for p in prefixes for v in values}))
    if updated_after or updated_before:
        start = _timestamp(updated_after) if updated_after else None
        end = _timestamp(updated_before) if updated_before else None
        parts.append(query.NumericRange("updated", start, end))
    return parts


def _text_query(clauses: list[QueryClause], fieldname: str, every: bool) -> query.Query:
    clause_queries = []
    for clause in clauses:
        alternatives = []
        for word in clause.alternatives:
            # A word of several bigrams scores their average, like a word of one term.
            share = 1 / (len(word.required) + len(word.ranges) + len(word.optional))
            required = [query.Term(fieldname, t, boost=share) for t in word.required]
            required += [query.TermRange(fieldname, lo, hi, boost=share) for lo, hi in word.ranges]
            matched = _all(required)
            if word.optional:
                optional = [query.Term(fieldname, t, boost=share) for t in word.optional]
                either = optional[0] if len(optional) == 1 else query.Or(optional)
                matched = query.AndMaybe(matched, either)
            alternatives.append(matched)
        clause_queries.append(alternatives[0] if len(alternatives) == 1 else _DisMax(alternatives))
    if len(clause_queries) == 1:
        return clause_queries[0]
    return query.And(clause_queries) if every else query.Or(clause_queries)


@dataclass(frozen=True, slots=True)
class _Plan:
    """How to run one search on one index: the query, and a broad filter applied as a set of
    document numbers that the collector checks before scoring."""

    query: query.Query
    broad_filter: query.Query | None
    estimate: Callable[[Any], int]  # an upper bound of the matches, given a reader


def _plan(
    readers: _Readers,
    kind: Kind,
    clauses: list[QueryClause],
    scope: SearchScope,
    restrictions: list[query.Query],
    every: bool,
    fieldname: str = "text",
) -> _Plan | None:
    """Permissions and filters as part of the query on one index; None if the scope allows
    nothing there.

    A narrow filter (a customer's tickets, public articles) is intersected with the text
    query. A broad one (a few groups of staff) becomes a set of documents so that the text
    query keeps its block skipping. Scopes without internal notes search tickets through
    ``public`` where a ticket has notes.
    """
    allowed = scope.articles if kind == "article" else scope.tickets
    if allowed is not None and not allowed:
        return None
    text_query = _text_query(clauses, fieldname, every)
    searcher = readers.searcher(kind)
    if scope.internal or kind == "article" or fieldname == "title":
        parts = list(restrictions)
        if allowed is not None:
            parts.insert(0, _any("acl", allowed))
        if not parts:
            return _Plan(text_query, None, text_query.estimate_size)
        restriction = _all(parts)

        def estimate(reader: Any) -> int:
            return min(text_query.estimate_size(reader), restriction.estimate_size(reader))

        if restriction.estimate_size(searcher.reader()) > BROAD_FILTER * searcher.doc_count_all():
            return _Plan(text_query, restriction, estimate)
        return _Plan(_Require(text_query, restriction), None, estimate)
    with_notes = {t.replace(":", "n:", 1) for t in allowed or ()}
    public = _text_query(clauses, "public", every)
    full = query.Or(
        [
            _Require(text_query, _all([_any("acl", allowed or ()), *restrictions])),
            _Require(public, _all([_any("acl", with_notes), *restrictions])),
        ]
    )
    return _Plan(full, None, lambda reader: int(full.estimate_size(reader)))
