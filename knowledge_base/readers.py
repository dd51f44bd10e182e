"""One thread's searchers of both indexes: refreshing them, ranking a plan, reading hits."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from whoosh import query
from whoosh.collectors import FilterCollector, TopCollector

from .analysis import QueryClause, excerpt, highlight
from .impacts import ImpactWeighting
from .values import Kind, SearchHit, SearchScope
from .whoosh_fixes import open_searcher

if TYPE_CHECKING:
    from .queries import SearchPlan
    from .shards import Shard

# Once the top N is full, an index stops after this many postings of the query's terms
# (matches examined x terms in the query): the newest matches of a broad query win.
POSTING_BUDGET = 1200
EXACT_TOTAL_UP_TO = 200  # below this estimate, matches are counted (without scoring them)
REFRESH_SECONDS = 0.25  # how often a reader looks for commits of another process


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


class Readers:
    """One thread's searchers of both indexes (Whoosh searchers are not shared by threads).

    They share one weighting, so that a term's idf counts articles and tickets together and
    scores of both kinds can be merged.
    """

    def __init__(self, shards: dict[Kind, Shard]) -> None:
        self.shards = shards
        self.weighting = ImpactWeighting(self)
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
            searcher, self._tocs[kind] = open_searcher(
                shard.ix, self._searchers.get(kind), self.weighting
            )
            self._searchers[kind] = searcher
            self._docsets = {key: docs for key, docs in self._docsets.items() if key[0] != kind}

    def idf(self, fieldname: str, text: bytes) -> float:
        searchers = self._searchers.values()
        documents = sum(s.doc_count_all() for s in searchers)
        frequency = sum(s.doc_frequency(fieldname, text) for s in searchers)
        return math.log(documents / (frequency + 1)) + 1

    def top(
        self, kind: Kind, plan: SearchPlan, limit: int
    ) -> tuple[list[tuple[float, int]], int, bool]:
        """The top ``limit`` (score, docnum) pairs, the total and whether it is exact."""
        searcher = self._searchers[kind]
        terms = sum(1 for _ in plan.query.leaves())
        top = _BudgetCollector(limit, max(limit, POSTING_BUDGET // max(1, terms)))
        collector: Any = top
        allowed: set[int] | None = None
        if plan.broad_filter is not None:
            allowed = self._docs(kind, plan.broad_filter)
            if not allowed:
                # Whoosh reads an empty ``allow`` set as "no filter": nothing may match.
                return [], 0, True
            collector = FilterCollector(top, allow=allowed)
        searcher.search_with_collector(plan.query, collector)
        found = list(collector.results().top_n)
        if len(found) < limit:
            # The top N never filled up, so nothing was skipped: every match was seen.
            return found, len(found), True
        estimate = plan.estimate(searcher.reader())
        if estimate <= EXACT_TOTAL_UP_TO:
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
