"""Searching tickets (and, as they arrive, knowledge-base articles) for staff and customers.

The caller's permissions become the search scope, applied inside the query: a customer only
ever matches their own tickets; staff match every ticket, internal notes included.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from knowledge_base.search import Kind, SearchHit, SearchScope

from ..models import Ticket
from .errors import Invalid
from .permissions import Actor, Permission, require
from .search_sync import search_index
from .transaction import current_session

MAX_QUERY = 200
MAX_LIMIT = 50


@dataclass
class SearchPage:
    hits: list[SearchHit]
    numbers: dict[int, int]  # ticket id -> number, for links
    total: int
    total_is_exact: bool
    matched_all_words: bool
    index_complete: bool  # False while a first build runs: results may be missing


def _scope(actor: Actor) -> SearchScope:
    if actor.kind == "customer":
        assert actor.customer_id is not None
        return SearchScope.customer(actor.customer_id)
    require(actor, Permission.TICKET_READ)
    return SearchScope.staff(None)


def search(
    actor: Actor,
    text: str,
    *,
    kinds: list[Kind] | None = None,
    limit: int = 20,
    offset: int = 0,
) -> SearchPage:
    text = " ".join((text or "").split())
    if not text:
        raise Invalid(_l("Type something to search for."), fields={"q": ["required"]})
    if len(text) > MAX_QUERY:
        raise Invalid(
            _l("A search is at most %(max)s characters.", max=MAX_QUERY), fields={"q": ["too long"]}
        )
    if not (1 <= limit <= MAX_LIMIT and 0 <= offset <= 10_000):
        raise Invalid(_l("limit or offset out of range."), fields={"limit": ["out of range"]})
    ix = search_index()
    results = ix.search(text, _scope(actor), kinds=kinds, limit=limit, offset=offset)
    ticket_ids = [hit.id for hit in results.hits if hit.kind == "ticket"]
    numbers: dict[int, int] = {}
    if ticket_ids:
        stmt = select(Ticket.id, Ticket.number).where(Ticket.id.in_(ticket_ids))
        numbers = {ticket_id: number for ticket_id, number in current_session().execute(stmt)}
    return SearchPage(
        hits=[h for h in results.hits if h.kind != "ticket" or h.id in numbers],
        numbers=numbers,
        total=results.total,
        total_is_exact=results.total_is_exact,
        matched_all_words=results.matched_all_words,
        index_complete=not ix.needs_reindex,
    )
