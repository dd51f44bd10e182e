"""The search index of articles and tickets: the one interface the rest of the app uses.

Whoosh (unmaintained) stays inside this package; callers see documents, changes, scopes and
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
- Whoosh 2.7 defects met on the way are worked around in this package: ``Require`` fails an
  assertion with block-max, ``DisjunctionMax`` drops a side that runs out, ``Searcher.refresh``
  keeps deleted documents, memory-mapped readers copy whole segment files, the writer pickles
  every posting past its memory limit, a block's ``skip_to`` scans linearly, and block
  headers are unpickled one byte-read at a time (``whoosh_fixes.py``).

This module only re-exports; the work is done by the package's other modules:

- ``values.py``: documents, changes, scopes, hits, results (the interface's plain data);
- ``index.py``: ``SearchIndex`` (open, apply, rebuild, search, suggest);
- ``shards.py``: one Whoosh index on disk, its writer lock and its writers;
- ``schema.py``: the Whoosh schema and codec, and the fields of a document;
- ``impacts.py``: index-time impacts and the weighting that scores them;
- ``queries.py``: a query, a scope and filters as a Whoosh query per index;
- ``readers.py``: one thread's searchers: refresh, top N, totals, hits;
- ``posting_pool.py``: the compact posting pool of writers (rebuilds);
- ``whoosh_fixes.py``: workarounds for Whoosh-Reloaded 2.7.5 defects.
"""

from __future__ import annotations

from .index import SCHEMA_VERSION, SearchIndex
from .readers import REFRESH_SECONDS

# Indexes on disk refer to these two classes by this module's path (see schema.py).
from .schema import Codec as _Codec  # noqa: F401
from .schema import TermsField as _TermsField  # noqa: F401
from .values import (
    KINDS,
    ArticleDocument,
    Document,
    IndexBusy,
    IndexChange,
    Kind,
    SearchHit,
    SearchResults,
    SearchScope,
    TicketDocument,
)

__all__ = [
    "KINDS",
    "REFRESH_SECONDS",
    "SCHEMA_VERSION",
    "ArticleDocument",
    "Document",
    "IndexBusy",
    "IndexChange",
    "Kind",
    "SearchHit",
    "SearchIndex",
    "SearchResults",
    "SearchScope",
    "TicketDocument",
]
