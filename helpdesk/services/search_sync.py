"""Keeping the search index in step with the database.

Every transaction that changes a ticket queues it in ``search_changes`` before it commits (a
commit hook on the ticket events), and the knowledge base queues its articles itself, so a
change and its queue entry commit together. One writer
(the worker's ``SearchIndexer``) applies the queue in batches: it builds each queued ticket's
or article translation's document from the database as it is now and upserts it, or deletes
it if it is gone.
Applying is idempotent, so a crash between applying and recording progress costs a repeat,
never a miss. A missing or damaged index is rebuilt from the database.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, cast

from flask import Flask, current_app
from sqlalchemy import Table, delete, insert, select
from sqlalchemy.orm import Session

from knowledge_base.search import (
    ArticleDocument,
    Document,
    IndexChange,
    SearchIndex,
    TicketDocument,
)

from .. import events
from ..models import (
    KB_LOCALES,
    ArticleStatus,
    Customer,
    KbArticle,
    KbTranslation,
    Message,
    SearchChange,
    Ticket,
)
from .html import html_to_text
from .transaction import current_session, transaction

log = logging.getLogger(__name__)

BATCH = 500
MAX_TEXT = 20_000  # characters of conversation indexed per ticket
_INSERT = insert(cast(Table, SearchChange.__table__))
_TICKET_EVENTS = ("ticket.created", "ticket.updated", "message.added")


def queue(session: Session, kind: str, ids: Iterable[int]) -> None:
    """Queue objects for re-indexing, in the caller's transaction."""
    rows = [{"kind": kind, "object_id": object_id} for object_id in sorted(set(ids))]
    if rows:
        session.execute(_INSERT, rows)


def _queue_from_events(session: Session, pending: list[events.DomainEvent]) -> None:
    ids: set[int] = set()
    for event in pending:
        if event.name in _TICKET_EVENTS:
            ids.add(cast(Any, event).ticket["id"])
        elif event.name == "ticket.merged":
            ids.update((cast(Any, event).source["id"], cast(Any, event).target["id"]))
    queue(session, "ticket", ids)


events.on_commit("search-queue", _queue_from_events)


# --- documents -----------------------------------------------------------------------------


def _locale(customer_locale: str | None, text: str) -> str:
    if customer_locale in ("ko", "en"):
        return customer_locale
    return "ko" if any("\uac00" <= ch <= "\ud7a3" for ch in text[:2000]) else "en"


def ticket_documents(session: Session, ticket_ids: Sequence[int]) -> dict[int, TicketDocument]:
    """The documents of those tickets that exist (merged ones included: they stay findable)."""
    if not ticket_ids:
        return {}
    rows = session.execute(
        select(Ticket, Customer.locale)
        .join(Customer, Customer.id == Ticket.customer_id)
        .where(Ticket.id.in_(ticket_ids))
    ).all()
    public: dict[int, list[str]] = {}
    internal: dict[int, list[str]] = {}
    for ticket_id, is_public, text in session.execute(
        select(Message.ticket_id, Message.is_public, Message.body_text)
        .where(Message.ticket_id.in_(ticket_ids))
        .order_by(Message.id)
    ):
        (public if is_public else internal).setdefault(ticket_id, []).append(text or "")
    documents = {}
    for ticket, customer_locale in rows:
        text = "\n".join(public.get(ticket.id, []))[:MAX_TEXT]
        documents[ticket.id] = TicketDocument(
            id=ticket.id,
            number=ticket.number,
            subject=ticket.subject,
            text=text,
            updated_at=ticket.updated_at,
            status=ticket.status,
            customer_id=ticket.customer_id,
            locale=_locale(customer_locale, f"{ticket.subject} {text}"),
            group_id=ticket.group_id,
            organization_id=ticket.organization_id,
            internal_notes="\n".join(internal.get(ticket.id, []))[:MAX_TEXT],
        )
    return documents


def article_documents(
    session: Session, article_ids: Sequence[int]
) -> dict[tuple[int, str], ArticleDocument]:
    """The documents of those articles' translations, by (article id, locale)."""
    if not article_ids:
        return {}
    rows = session.execute(
        select(KbTranslation, KbArticle)
        .join(KbArticle, KbArticle.id == KbTranslation.article_id)
        .where(KbTranslation.article_id.in_(article_ids))
    ).all()
    return {
        (article.id, translation.locale): ArticleDocument(
            id=article.id,
            locale=translation.locale,
            title=translation.title,
            body=html_to_text(translation.body_html or ""),
            updated_at=translation.updated_at,
            visibility=cast(Any, article.visibility),
            published=translation.status == ArticleStatus.PUBLISHED,
            category_id=article.category_id,
        )
        for translation, article in rows
    }


def _article_changes(session: Session, article_ids: Sequence[int]) -> list[IndexChange]:
    documents = article_documents(session, article_ids)
    return [
        IndexChange.upsert(documents[(a, locale)])
        if (a, locale) in documents
        else IndexChange.delete(f"article:{a}:{locale}")
        for a in article_ids
        for locale in KB_LOCALES
    ]


def _all_documents(session: Session) -> Iterator[Document]:
    """Every article translation, then every ticket newest first."""
    article_ids = list(session.scalars(select(KbArticle.id).order_by(KbArticle.id)))
    for start in range(0, len(article_ids), 500):
        yield from article_documents(session, article_ids[start : start + 500]).values()
    yield from _all_tickets(session)


def _all_tickets(session: Session, chunk: int = 1000) -> Iterator[TicketDocument]:
    """Every ticket's document, newest first (the layout searches are fastest on)."""
    last: int | None = None
    while True:
        stmt = select(Ticket.id).order_by(Ticket.id.desc()).limit(chunk)
        if last is not None:
            stmt = stmt.where(Ticket.id < last)
        ids = list(session.scalars(stmt))
        if not ids:
            return
        documents = ticket_documents(session, ids)
        session.expunge_all()  # a rebuild reads every ticket once: keep memory flat
        yield from (documents[i] for i in ids if i in documents)
        last = ids[-1]


# --- the index of this app -----------------------------------------------------------------


def index_path(app: Flask) -> Path:
    return Path(app.config["HELPDESK"].instance_path) / "search"


def search_index(app: Flask | None = None) -> SearchIndex:
    """The app's search index, opened once per process."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    ix = app.extensions.get("dangol_search")
    if ix is None:
        ix = app.extensions["dangol_search"] = SearchIndex.open(index_path(app))
    return cast(SearchIndex, ix)


def _done(session: Session, change_ids: Sequence[int]) -> None:
    for start in range(0, len(change_ids), BATCH):
        session.execute(
            delete(SearchChange).where(SearchChange.id.in_(change_ids[start : start + BATCH]))
        )


def rebuild(ix: SearchIndex, progress: Callable[[int], None] | None = None) -> int:
    """Rebuild the whole index from the database; returns the number of documents.

    Changes queued before the rebuild started are in it and leave the queue; those committed
    since stay queued (ids are not commit-ordered on PostgreSQL, so the queue is never read
    as "everything after id N").
    """
    session = current_session()
    queued = list(session.scalars(select(SearchChange.id)))
    total = ix.rebuild(_all_documents(session), progress)
    session.rollback()
    with transaction() as session:
        _done(session, queued)
    return total


def apply_pending(ix: SearchIndex, *, limit: int = BATCH) -> int:
    """Apply up to ``limit`` queued changes; returns how many tickets were (re)indexed.

    Two writers may apply the same entries (harmless: documents come from the database as it
    is now); each deletes what it applied.
    """
    session = current_session()
    rows = session.execute(
        select(SearchChange.id, SearchChange.kind, SearchChange.object_id)
        .order_by(SearchChange.id)
        .limit(limit)
    ).all()
    if not rows:
        session.rollback()
        return 0
    ticket_ids = sorted({object_id for _, kind, object_id in rows if kind == "ticket"})
    article_ids = sorted({object_id for _, kind, object_id in rows if kind == "article"})
    documents = ticket_documents(session, ticket_ids)
    changes = [
        IndexChange.upsert(documents[i]) if i in documents else IndexChange.delete(f"ticket:{i}")
        for i in ticket_ids
    ]
    changes += _article_changes(session, article_ids)
    session.rollback()  # no transaction stays open while the index is written
    ix.apply(changes)
    with transaction() as session:
        _done(session, [row[0] for row in rows])
    return len(changes)
