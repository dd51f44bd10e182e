"""Writing the knowledge base: articles, their Korean and English translations, publication.

Staff read every article (``KB_READ``); agents and admins write (``KB_WRITE``). Each write is
one transaction that also records the audit entry and queues the article for the search index
(``search_sync.queue``), so the index hears of exactly the changes that committed.

A translation's saved words are kept as a revision whenever its title or body changes: saving
a form whose English half nobody touched leaves no English revision. The slug follows the title
while the translation is a draft and stays put once published, so that links keep working.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, Select, exists, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..models import (
    KB_LOCALES,
    ArticleStatus,
    KbArticle,
    KbCategory,
    KbRevision,
    KbTranslation,
    Visibility,
)
from ..models.base import utcnow
from . import audit, search_sync
from .errors import Conflict, Invalid, NotFound
from .kb_render import render_markdown, slugify
from .permissions import Actor, Permission, require
from .transaction import current_session, transaction

MAX_TITLE = 200
MAX_BODY = 200_000
MAX_LIMIT = 100
VISIBILITIES = tuple(v.value for v in Visibility)
STATUSES = tuple(s.value for s in ArticleStatus)


def _bad(field: str, message: Any, detail: str = "invalid") -> Invalid:
    return Invalid(message, fields={field: [detail]})


def article_dict(row: KbArticle) -> dict[str, Any]:
    """What the audit trail keeps of an article."""
    return {
        "article_id": row.id,
        "category_id": row.category_id,
        "visibility": row.visibility,
        "titles": {t.locale: t.title for t in row.translations},
    }


# --- reading -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ArticlePage:
    items: list[KbArticle]
    total: int


def category_and_children(category_id: int) -> Select[int]:
    """The ids of a category and of the categories directly under it."""
    return select(KbCategory.id).where(
        or_(KbCategory.id == category_id, KbCategory.parent_id == category_id)
    )


def list_articles(
    actor: Actor,
    *,
    locale: str | None = None,
    category_id: int | None = None,
    status: str | None = None,
    visibility: str | None = None,
    limit: int = 25,
    offset: int = 0,
) -> ArticlePage:
    """Articles, last changed first, with every translation loaded.

    ``locale`` and ``status`` together keep articles with a translation in that language in
    that state; either alone keeps articles with such a translation. ``category_id`` includes
    the categories under it.
    """
    require(actor, Permission.KB_READ)
    if status is not None and status not in STATUSES:
        raise _bad("status", _l("Unknown status: %(value)s.", value=status))
    if visibility is not None and visibility not in VISIBILITIES:
        raise _bad("visibility", _l("Unknown visibility: %(value)s.", value=visibility))
    session = current_session()
    conditions: list[ColumnElement[bool]] = []
    if locale is not None or status is not None:
        match = KbTranslation.article_id == KbArticle.id
        if locale is not None:
            match &= KbTranslation.locale == locale
        if status is not None:
            match &= KbTranslation.status == status
        conditions.append(exists().where(match))
    if category_id is not None:
        conditions.append(KbArticle.category_id.in_(category_and_children(category_id)))
    if visibility is not None:
        conditions.append(KbArticle.visibility == visibility)
    total = session.scalar(select(func.count()).select_from(KbArticle).where(*conditions))
    stmt = (
        select(KbArticle)
        .where(*conditions)
        .order_by(KbArticle.updated_at.desc(), KbArticle.id.desc())
        .limit(max(1, min(limit, MAX_LIMIT)))
        .offset(max(0, offset))
    )
    return ArticlePage(list(session.scalars(stmt)), int(total or 0))


def get_article(actor: Actor, article_id: int) -> KbArticle:
    require(actor, Permission.KB_READ)
    row = current_session().get(KbArticle, article_id)
    if row is None:
        raise NotFound(_l("Article %(id)s not found.", id=article_id))
    return row


def list_revisions(actor: Actor, article_id: int) -> list[KbRevision]:
    """Every saved version of the article's translations, newest first, with their authors."""
    get_article(actor, article_id)
    stmt = (
        select(KbRevision)
        .join(KbTranslation, KbTranslation.id == KbRevision.translation_id)
        .where(KbTranslation.article_id == article_id)
        .order_by(KbRevision.id.desc())
    )
    return list(current_session().scalars(stmt).unique())


# --- writing -------------------------------------------------------------------------------


def _changed(session: Session, article: KbArticle) -> None:
    """Bump the article and queue it for the search index, in the caller's transaction."""
    article.updated_at = utcnow()
    session.flush()
    search_sync.queue(session, "article", [article.id])


def _flush(session: Session) -> None:
    try:
        session.flush()
    except IntegrityError as exc:  # a concurrent save took the slug or added the language
        raise Conflict(_l("Someone saved this article at the same moment; save again.")) from exc


# Paths of the portal under /help/<locale>/ that an article's slug would be hidden behind.
RESERVED_SLUGS = frozenset({"search", "suggest", "contact"})


def _unique_slug(session: Session, translation: KbTranslation) -> str:
    base = slugify(translation.title) or f"article-{translation.article_id}"
    with session.no_autoflush:
        stmt = select(KbTranslation.slug).where(
            KbTranslation.locale == translation.locale,
            KbTranslation.slug.startswith(base, autoescape=True),
        )
        if translation.id is not None:
            stmt = stmt.where(KbTranslation.id != translation.id)
        taken = set(session.scalars(stmt)) | RESERVED_SLUGS
    slug, n = base, 1
    while slug in taken:
        n += 1
        slug = f"{base}-{n}"
    return slug


def _words(data: Mapping[str, Any], field: str) -> tuple[str, str]:
    title = " ".join(str(data.get("title") or "").split())
    if not 1 <= len(title) <= MAX_TITLE:
        raise _bad(f"{field}.title", _l("A title of 1 to 200 characters is required."), "required")
    body = data.get("body")
    body = "" if body is None else str(body)
    if len(body) > MAX_BODY:
        raise _bad(f"{field}.body", _l("The text is at most 200,000 characters."))
    return title, body.replace("\r\n", "\n")


def _write_translation(
    session: Session, actor: Actor, article: KbArticle, locale: str, data: Mapping[str, Any]
) -> KbTranslation | None:
    """Create or change one translation; ``None`` when its title and body are unchanged."""
    title, body = _words(data, f"translations.{locale}")
    row = article.translation(locale)
    if row is not None and (row.title, row.body_markdown) == (title, body):
        return None
    before = row.title if row is not None else None
    if row is None:
        row = KbTranslation(locale=locale, status=ArticleStatus.DRAFT, created_at=utcnow())
        article.translations.append(row)
    retitled = row.title != title
    row.title, row.body_markdown, row.body_html = title, body, render_markdown(body)
    row.updated_by_id, row.updated_at = actor.user_id, utcnow()
    if row.id is None:
        row.article_id = article.id
    if row.slug is None or (retitled and row.status == ArticleStatus.DRAFT):
        row.slug = _unique_slug(session, row)
    _flush(session)
    revision = KbRevision(
        translation_id=row.id,
        title=title,
        body_markdown=body,
        author_user_id=actor.user_id,
        created_at=utcnow(),
    )
    session.add(revision)
    session.flush()
    audit.record(
        session,
        actor,
        "kb.translation.saved",
        changes={"title": [before, title]} if retitled else {},
        data={
            "article_id": article.id,
            "locale": locale,
            "slug": row.slug,
            "revision_id": revision.id,
        },
    )
    return row


def _apply_article(session: Session, row: KbArticle, data: Mapping[str, Any]) -> None:
    """Set the keys ``data`` has; an absent key leaves the article as it is (a new article is
    public, in no category)."""
    if "category_id" in data:
        category_id = data["category_id"]
        if category_id in (None, ""):
            row.category_id = None
        elif (
            isinstance(category_id, int)
            and not isinstance(category_id, bool)
            and session.get(KbCategory, category_id) is not None
        ):
            row.category_id = category_id
        else:
            raise _bad("category_id", _l("Choose an existing category."), "unknown")
    visibility = data.get("visibility", row.visibility or Visibility.PUBLIC)
    if visibility not in VISIBILITIES:
        raise _bad("visibility", _l("Visibility is public or internal."))
    row.visibility = str(visibility)


def _translations(data: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    given = data.get("translations") or {}
    if not isinstance(given, Mapping) or not all(isinstance(v, Mapping) for v in given.values()):
        raise _bad("translations", _l("Translations are given per language (ko, en)."))
    if unknown := sorted(set(given) - set(KB_LOCALES)):
        raise _bad(
            "translations", _l("Unknown languages: %(locales)s.", locales=", ".join(unknown))
        )
    return {locale: given[locale] for locale in KB_LOCALES if locale in given}


def save_article(actor: Actor, data: Mapping[str, Any], article_id: int | None = None) -> KbArticle:
    """Create an article, or change article ``article_id``.

    ``data``: ``category_id`` (or none), ``visibility`` (``public`` or ``internal``) and
    ``translations``, a map of locale to ``{"title", "body"}`` (Markdown) that creates or
    changes those translations and leaves the others alone. A new article needs at least one.
    Keys left out leave the article as it is, so that a change never makes an internal
    article public by omission.
    Raises ``Invalid``, ``NotFound``, ``Conflict`` or ``Forbidden``.
    """
    require(actor, Permission.KB_WRITE)
    translations = _translations(data)
    with transaction() as session:
        if article_id is None:
            if not translations:
                raise _bad(
                    "translations", _l("Write the article in at least one language."), "required"
                )
            row = KbArticle(created_by_id=actor.user_id, created_at=utcnow())
            session.add(row)
        else:
            row = get_article(actor, article_id)
        before = (row.category_id, row.visibility)
        with session.no_autoflush:
            _apply_article(session, row, data)
        session.flush()
        written = [
            locale
            for locale, words in translations.items()
            if _write_translation(session, actor, row, locale, words) is not None
        ]
        if article_id is None or written or before != (row.category_id, row.visibility):
            action = "kb.article.created" if article_id is None else "kb.article.updated"
            audit.record(session, actor, action, data={**article_dict(row), "written": written})
            _changed(session, row)
    return row


def save_translation(
    actor: Actor, article_id: int, locale: str, data: Mapping[str, Any]
) -> KbTranslation:
    """Create or change the article's translation in ``locale`` (``{"title", "body"}``)."""
    require(actor, Permission.KB_WRITE)
    if locale not in KB_LOCALES:
        raise NotFound(_l("Articles are written in Korean (ko) and English (en)."))
    with transaction() as session:
        article = get_article(actor, article_id)
        if _write_translation(session, actor, article, locale, data) is not None:
            _changed(session, article)
        translation = article.translation(locale)
    assert translation is not None
    return translation


def _targets(article: KbArticle, locales: Sequence[str] | None) -> list[KbTranslation]:
    if not article.translations:
        raise _bad("locales", _l("Write the article in at least one language first."))
    if locales is None:
        return list(article.translations)
    found = []
    for locale in dict.fromkeys(locales):
        translation = article.translation(locale)
        if translation is None:
            raise _bad("locales", _l("The article has no %(locale)s text.", locale=locale))
        found.append(translation)
    return found


def publish(actor: Actor, article_id: int, locales: Sequence[str] | None = None) -> KbArticle:
    """Publish the article's translations in ``locales`` (all of them by default).

    A translation without text cannot be published. Publishing a published one changes
    nothing; ``published_at`` is when it was last published.
    """
    require(actor, Permission.KB_WRITE)
    with transaction() as session:
        article = get_article(actor, article_id)
        changed = []
        for translation in _targets(article, locales):
            if translation.status == ArticleStatus.PUBLISHED:
                continue
            if not translation.body_markdown.strip():
                raise _bad(
                    f"translations.{translation.locale}.body",
                    _l("Write the text before publishing."),
                    "required",
                )
            translation.status, translation.published_at = ArticleStatus.PUBLISHED, utcnow()
            changed.append(translation.locale)
        if changed:
            audit.record(
                session,
                actor,
                "kb.article.published",
                data={"article_id": article.id, "locales": changed},
            )
            _changed(session, article)
    return article


def unpublish(actor: Actor, article_id: int, locales: Sequence[str] | None = None) -> KbArticle:
    """Turn the article's translations in ``locales`` (all by default) back into drafts."""
    require(actor, Permission.KB_WRITE)
    with transaction() as session:
        article = get_article(actor, article_id)
        changed = []
        for translation in _targets(article, locales):
            if translation.status == ArticleStatus.DRAFT:
                continue
            translation.status, translation.published_at = ArticleStatus.DRAFT, None
            changed.append(translation.locale)
        if changed:
            audit.record(
                session,
                actor,
                "kb.article.unpublished",
                data={"article_id": article.id, "locales": changed},
            )
            _changed(session, article)
    return article


def delete_article(actor: Actor, article_id: int) -> None:
    """Delete the article with its translations and their revisions."""
    require(actor, Permission.KB_WRITE)
    with transaction() as session:
        article = get_article(actor, article_id)
        audit.record(session, actor, "kb.article.deleted", data=article_dict(article))
        search_sync.queue(session, "article", [article.id])
        session.delete(article)
