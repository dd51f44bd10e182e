"""Reading the knowledge base from outside: the customer portal and anyone who finds a link.

Customers and anonymous visitors see published translations of public articles and nothing
else; a hidden article answers ``NotFound`` exactly like a missing one, so that drafts and
internal articles cannot be discovered by guessing. Views and "was this helpful?" votes are
counted here, for any reader: no staff permission is needed. Staff may count on published
internal articles too (the agent side reads them).

Writing lives in ``kb_articles`` and ``kb_categories``.
"""

from __future__ import annotations

from collections.abc import Collection

from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, Select, select, update
from sqlalchemy.orm import contains_eager

from ..models import KB_LOCALES, ArticleStatus, KbArticle, KbCategory, KbTranslation, Visibility
from .errors import NotFound
from .kb_articles import category_and_children
from .kb_render import normalize_slug
from .permissions import Actor, Permission, can
from .transaction import current_session, transaction

MAX_LISTED = 500


def _not_found() -> NotFound:
    return NotFound(_l("Article not found."))


def _readable(actor: Actor | None) -> ColumnElement[bool]:
    """Which articles ``actor`` (``None``: anonymous) may read once published."""
    if actor is not None and can(actor, Permission.KB_READ):
        return KbArticle.visibility.in_([Visibility.PUBLIC, Visibility.INTERNAL])
    return KbArticle.visibility == Visibility.PUBLIC


def public_article(locale: str, slug: str) -> KbTranslation:
    """The published translation at ``/<locale>/<slug>`` of a public article, with its article.

    Raises ``NotFound`` for anything else (unknown, draft, internal, other language).
    """
    if locale not in KB_LOCALES:
        raise _not_found()
    stmt = (
        select(KbTranslation)
        .join(KbTranslation.article)
        .options(contains_eager(KbTranslation.article))
        .where(
            KbTranslation.locale == locale,
            KbTranslation.slug == normalize_slug(slug),
            KbTranslation.status == ArticleStatus.PUBLISHED,
            _readable(None),
        )
    )
    found = current_session().scalar(stmt)
    if found is None:
        raise _not_found()
    return found


def public_articles(locale: str, category_id: int | None = None) -> list[KbTranslation]:
    """Published translations in ``locale`` of public articles, newest first.

    ``category_id`` keeps one category and the categories under it.
    """
    if locale not in KB_LOCALES:
        return []
    session = current_session()
    stmt = (
        select(KbTranslation)
        .join(KbTranslation.article)
        .options(contains_eager(KbTranslation.article))
        .where(
            KbTranslation.locale == locale,
            KbTranslation.status == ArticleStatus.PUBLISHED,
            _readable(None),
        )
        .order_by(KbTranslation.published_at.desc(), KbTranslation.id.desc())
        .limit(MAX_LISTED)
    )
    if category_id is not None:
        stmt = stmt.where(KbArticle.category_id.in_(category_and_children(category_id)))
    return list(session.scalars(stmt))


def _published_public(locale: str) -> Select[KbTranslation]:
    return (
        select(KbTranslation)
        .join(KbTranslation.article)
        .options(contains_eager(KbTranslation.article))
        .where(
            KbTranslation.locale == locale,
            KbTranslation.status == ArticleStatus.PUBLISHED,
            _readable(None),
        )
    )


def popular_articles(locale: str, limit: int = 5) -> list[KbTranslation]:
    """The most read published public translations in ``locale`` (the portal's home)."""
    if locale not in KB_LOCALES:
        return []
    stmt = _published_public(locale).order_by(
        KbTranslation.view_count.desc(), KbTranslation.id.desc()
    )
    return list(current_session().scalars(stmt.limit(limit)))


def related_articles(translation: KbTranslation, limit: int = 5) -> list[KbTranslation]:
    """Other published public translations in the same language and category, most read first.

    An article without a category has no related articles.
    """
    category_id = translation.article.category_id
    if category_id is None:
        return []
    stmt = (
        _published_public(translation.locale)
        .where(
            KbArticle.category_id == category_id,
            KbTranslation.id != translation.id,
        )
        .order_by(KbTranslation.view_count.desc(), KbTranslation.id.desc())
        .limit(limit)
    )
    return list(current_session().scalars(stmt))


def public_translations(locale: str, article_ids: Collection[int]) -> dict[int, KbTranslation]:
    """Article id to its published public translation in ``locale``, for those that have one.

    Search hits name articles by id; this turns them into links and drops any the index still
    holds but readers may no longer see.
    """
    if locale not in KB_LOCALES or not article_ids:
        return {}
    stmt = _published_public(locale).where(KbTranslation.article_id.in_(set(article_ids)))
    return {t.article_id: t for t in current_session().scalars(stmt)}


def public_categories(category_ids: Collection[int]) -> list[KbCategory]:
    """The categories with those ids, in their display order (names are not secret, but the
    portal only asks for categories that hold a public article)."""
    if not category_ids:
        return []
    stmt = (
        select(KbCategory)
        .where(KbCategory.id.in_(set(category_ids)))
        .order_by(KbCategory.position, KbCategory.id)
    )
    return list(current_session().scalars(stmt))


def _count(article_id: int, locale: str, actor: Actor | None, **increments: int) -> None:
    readable = select(KbArticle.id).where(KbArticle.id == article_id, _readable(actor))
    columns = {name: getattr(KbTranslation, name) + n for name, n in increments.items()}
    with transaction() as session:
        # One UPDATE adds to the counter in the database: concurrent readers never lose a count.
        result = session.execute(
            update(KbTranslation)
            .where(
                KbTranslation.article_id.in_(readable),
                KbTranslation.locale == locale,
                KbTranslation.status == ArticleStatus.PUBLISHED,
            )
            .values(columns)
            # Readers holding the translation in this session see the new count on next read.
            .execution_options(synchronize_session="fetch")
        )
        if not getattr(result, "rowcount", 0):
            raise _not_found()


def record_view(article_id: int, locale: str, actor: Actor | None = None) -> None:
    """Count one read of the published translation (``actor``: ``None`` for anonymous).

    Raises ``NotFound`` if ``actor`` may not read it (drafts are never counted).
    """
    _count(article_id, locale, actor, view_count=1)


def record_vote(article_id: int, locale: str, helpful: bool, actor: Actor | None = None) -> None:
    """Count one "was this helpful?" answer on the published translation.

    Votes are counted, not tied to people: the portal keeps a visitor from voting twice.
    Raises ``NotFound`` like ``record_view``.
    """
    _count(article_id, locale, actor, **{"helpful_yes" if helpful else "helpful_no": 1})


def record_deflection(article_id: int, locale: str) -> None:
    """Count one visitor who opened the published public translation from the portal's
    contact form, and so (perhaps) found the answer without writing to us.

    Raises ``NotFound`` like ``record_view``.
    """
    _count(article_id, locale, None, deflection_count=1)
