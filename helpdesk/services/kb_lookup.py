"""Knowledge-base articles for the reply composer: find one, then link to it or quote it.

Agents search while they write. Only published translations are offered (a draft is not an
answer yet); staff with ``KB_READ`` see internal articles too, marked as such, because their
links lead to a staff page a customer cannot open.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, tuple_
from sqlalchemy.orm import contains_eager

from ..models import ArticleStatus, KbArticle, KbTranslation, Visibility
from .errors import NotFound
from .permissions import Actor, Permission, can, require
from .search_queries import search
from .transaction import current_session

MAX_RESULTS = 8


@dataclass(frozen=True)
class ArticleMatch:
    """One published translation that matched: enough to show it and to build its link."""

    article_id: int
    locale: str
    title: str
    title_html: str  # escaped, with <mark> around matches
    snippet: str  # escaped, with <mark> around matches
    slug: str
    internal: bool


def _visible(actor: Actor) -> list[str]:
    if can(actor, Permission.KB_READ):
        return [Visibility.PUBLIC.value, Visibility.INTERNAL.value]
    return [Visibility.PUBLIC.value]


def _published(actor: Actor):  # type: ignore[no-untyped-def]
    return (
        select(KbTranslation)
        .join(KbTranslation.article)
        .options(contains_eager(KbTranslation.article))
        .where(
            KbTranslation.status == ArticleStatus.PUBLISHED,
            KbArticle.visibility.in_(_visible(actor)),
        )
    )


def find_articles(actor: Actor, text: str, *, limit: int = MAX_RESULTS) -> list[ArticleMatch]:
    """Published articles matching ``text`` (Korean or English), best first.

    Raises ``Invalid`` for an empty or overlong query (``search_queries.search``'s rules).
    """
    require(actor, Permission.TICKET_READ)
    if not actor.is_staff:
        return []
    limit = max(1, min(limit, MAX_RESULTS))
    # Ask for a few more hits than shown: the index may still hold drafts or unpublished ones.
    page = search(actor, text, kinds=["article"], limit=limit * 3)
    keys = [(hit.id, hit.locale) for hit in page.hits if hit.locale]
    if not keys:
        return []
    stmt = _published(actor).where(tuple_(KbTranslation.article_id, KbTranslation.locale).in_(keys))
    found = {(t.article_id, t.locale): t for t in current_session().scalars(stmt)}
    matches = []
    for hit in page.hits:
        translation = found.get((hit.id, hit.locale or ""))
        if translation is None:
            continue
        matches.append(
            ArticleMatch(
                article_id=translation.article_id,
                locale=translation.locale,
                title=translation.title,
                title_html=hit.title_html,
                snippet=hit.snippet,
                slug=translation.slug,
                internal=translation.article.visibility == Visibility.INTERNAL,
            )
        )
    return matches[:limit]


def published_translation(actor: Actor, article_id: int, locale: str) -> KbTranslation:
    """The published translation to quote into a reply (its Markdown is the text inserted).

    Raises ``NotFound`` for a draft, another language, or an article the actor may not read.
    """
    require(actor, Permission.TICKET_READ)
    stmt = _published(actor).where(
        KbTranslation.article_id == article_id, KbTranslation.locale == locale
    )
    translation = current_session().scalar(stmt) if actor.is_staff else None
    if translation is None:
        raise NotFound(_l("Article not found."))
    return translation
