"""The search indexer as a worker loop: applies queued changes within a second, and rebuilds
a missing or damaged index from the database."""

from __future__ import annotations

import logging

from flask import current_app

from knowledge_base.search import IndexBusy

from .worker import Loop

log = logging.getLogger(__name__)


class SearchIndexer(Loop):
    """One writer per index folder: another process's writer makes this one skip (IndexBusy)
    and try again; applying a change twice is harmless."""

    name = "search-indexer"
    interval = 0.5

    def run_once(self) -> bool:
        from .services import search_sync

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
