"""The search indexer as a worker loop: applies queued changes within a second, and rebuilds
a missing or damaged index from the database."""

from __future__ import annotations

import logging
import time

from flask import current_app

from knowledge_base.search import IndexBusy

from . import activity
from .worker import Loop

log = logging.getLogger(__name__)


# In the web process, indexing waits for a moment without requests (it holds the GIL for tens
# of milliseconds per batch, which showed as +7 ms on ticket-create p95 under steady load), but
# never longer than MAX_DEFER: a lone change is searchable within ~0.3 s, and under a steady
# stream of writes batches come every MAX_DEFER seconds (fewer, larger index commits).
QUIET = 0.15
MAX_DEFER = 2.0


class SearchIndexer(Loop):
    """One writer per index folder: another process's writer makes this one skip (IndexBusy)
    and try again; applying a change twice is harmless."""

    name = "search-indexer"
    interval = 0.1

    def __init__(self) -> None:
        self._waiting_since: float | None = None

    def _may_run(self) -> bool:
        if activity.quiet_for() >= QUIET:
            self._waiting_since = None
            return True
        now = time.monotonic()
        if self._waiting_since is None:
            self._waiting_since = now
        if now - self._waiting_since >= MAX_DEFER:
            self._waiting_since = None
            return True
        return False

    def run_once(self) -> bool:
        from .services import search_sync

        if not self._may_run():
            return False
        ix = search_sync.search_index()
        try:
            if ix.needs_reindex and current_app.config["HELPDESK"].search_auto_rebuild:
                log.info("search index missing or incomplete: rebuilding it from the database")
                total = search_sync.rebuild(ix)
                log.info("search index rebuilt: %d documents", total)
                return True
            return search_sync.apply_pending(ix) > 0
        except IndexBusy:
            return False
