"""The values of the search interface: documents, changes, scopes, hits and results.

Plain data with no engine in it: the app builds and reads these through ``search.py``.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

Kind = Literal["article", "ticket"]
KINDS: tuple[Kind, ...] = ("article", "ticket")


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
