"""Queries: a user's clauses, a scope and filters as one Whoosh query per index.

Permissions are part of every query: a ``SearchScope`` becomes filter terms that the engine
intersects with the text query, so hits, totals and suggestions never contain what the caller
may not see.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from whoosh import query

from .analysis import QueryClause
from .impacts import to_timestamp
from .values import Kind, SearchScope
from .whoosh_fixes import DisMax, Require

if TYPE_CHECKING:
    from .readers import Readers

BROAD_FILTER = 0.05  # a filter matching more than this share of an index is a set of docnums


def _any(fieldname: str, terms: Iterable[str]) -> query.Query:
    subqueries = [query.Term(fieldname, t) for t in sorted(terms)]
    if not subqueries:
        return query.NullQuery
    return subqueries[0] if len(subqueries) == 1 else query.Or(subqueries)


def _all(parts: list[query.Query]) -> query.Query:
    return parts[0] if len(parts) == 1 else query.And(parts)


_WITH_NOTES = {"c": ("c", "cn"), "o": ("o", "on")}


def filter_queries(
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
        start = to_timestamp(updated_after) if updated_after else None
        end = to_timestamp(updated_before) if updated_before else None
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
        clause_queries.append(alternatives[0] if len(alternatives) == 1 else DisMax(alternatives))
    if len(clause_queries) == 1:
        return clause_queries[0]
    return query.And(clause_queries) if every else query.Or(clause_queries)


@dataclass(frozen=True, slots=True)
class SearchPlan:
    """How to run one search on one index: the query, and a broad filter applied as a set of
    document numbers that the collector checks before scoring."""

    query: query.Query
    broad_filter: query.Query | None
    estimate: Callable[[Any], int]  # an upper bound of the matches, given a reader


def plan_search(
    readers: Readers,
    kind: Kind,
    clauses: list[QueryClause],
    scope: SearchScope,
    restrictions: list[query.Query],
    every: bool,
    fieldname: str = "text",
) -> SearchPlan | None:
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
            return SearchPlan(text_query, None, text_query.estimate_size)
        restriction = _all(parts)

        def estimate(reader: Any) -> int:
            return min(text_query.estimate_size(reader), restriction.estimate_size(reader))

        if restriction.estimate_size(searcher.reader()) > BROAD_FILTER * searcher.doc_count_all():
            return SearchPlan(text_query, restriction, estimate)
        return SearchPlan(Require(text_query, restriction), None, estimate)
    with_notes = {t.replace(":", "n:", 1) for t in allowed or ()}
    public = _text_query(clauses, "public", every)
    full = query.Or(
        [
            Require(text_query, _all([_any("acl", allowed or ()), *restrictions])),
            Require(public, _all([_any("acl", with_notes), *restrictions])),
        ]
    )
    return SearchPlan(full, None, lambda reader: int(full.estimate_size(reader)))
