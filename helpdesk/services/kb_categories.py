"""Knowledge base categories: a name in Korean and English, an order, one level of nesting.

Staff read them (``KB_READ``); writers (``KB_WRITE``) change them. A category that still holds
articles or sub-categories cannot be deleted: its articles would silently lose their shelf.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from ..models import KbArticle, KbCategory
from ..models.base import utcnow
from . import audit
from .errors import Conflict, Invalid, NotFound
from .permissions import Actor, Permission, require
from .transaction import current_session, transaction

MAX_POSITION = 10**6


def _bad(field: str, message: Any, detail: str = "invalid") -> Invalid:
    return Invalid(message, fields={field: [detail]})


def category_dict(row: KbCategory) -> dict[str, Any]:
    return {
        "id": row.id,
        "name_ko": row.name_ko,
        "name_en": row.name_en,
        "position": row.position,
        "parent_id": row.parent_id,
    }


def list_categories(actor: Actor) -> list[KbCategory]:
    """Every category, in display order: each top-level one followed by its children."""
    require(actor, Permission.KB_READ)
    rows = list(
        current_session().scalars(select(KbCategory).order_by(KbCategory.position, KbCategory.id))
    )
    children: dict[int, list[KbCategory]] = {}
    for row in rows:
        if row.parent_id is not None:
            children.setdefault(row.parent_id, []).append(row)
    ordered: list[KbCategory] = []
    for row in rows:
        if row.parent_id is None:
            ordered.append(row)
            ordered.extend(children.pop(row.id, []))
    return ordered + [row for rows_left in children.values() for row in rows_left]


def get_category(actor: Actor, category_id: int) -> KbCategory:
    require(actor, Permission.KB_READ)
    row = current_session().get(KbCategory, category_id)
    if row is None:
        raise NotFound(_l("Category %(id)s not found.", id=category_id))
    return row


def article_counts(actor: Actor) -> dict[int, int]:
    """How many articles each category holds (categories without any are left out)."""
    require(actor, Permission.KB_READ)
    stmt = (
        select(KbArticle.category_id, func.count())
        .where(KbArticle.category_id.is_not(None))
        .group_by(KbArticle.category_id)
    )
    return {cid: n for cid, n in current_session().execute(stmt) if cid is not None}


def _name(data: Mapping[str, Any], key: str) -> str:
    name = " ".join(str(data.get(key) or "").split())
    if len(name) > 100:
        raise _bad(key, _l("A name is at most 100 characters."))
    return name


def _apply(row: KbCategory, data: Mapping[str, Any], category_id: int | None) -> None:
    row.name_ko, row.name_en = _name(data, "name_ko"), _name(data, "name_en")
    if not (row.name_ko or row.name_en):
        raise _bad("name_ko", _l("Give the category a name in Korean or English."), "required")
    position = data.get("position") or 0
    if isinstance(position, bool) or not isinstance(position, int):
        raise _bad("position", _l("The position is a whole number from 0 to 1,000,000."))
    if not 0 <= position <= MAX_POSITION:
        raise _bad("position", _l("The position is a whole number from 0 to 1,000,000."))
    row.position = position
    parent_id = data.get("parent_id")
    if parent_id in (None, ""):
        row.parent_id = None
        return
    session = current_session()
    parent = session.get(KbCategory, parent_id) if isinstance(parent_id, int) else None
    if parent is None:
        raise _bad("parent_id", _l("Choose an existing category."), "unknown")
    if parent.parent_id is not None or parent.id == category_id:
        raise _bad("parent_id", _l("Only a top-level category can hold other categories."))
    if category_id is not None:
        has_children = session.scalar(
            select(func.count()).where(KbCategory.parent_id == category_id)
        )
        if has_children:
            raise _bad(
                "parent_id", _l("This category holds other categories: it stays at the top.")
            )
    row.parent_id = parent.id


def save_category(
    actor: Actor, data: Mapping[str, Any], category_id: int | None = None
) -> KbCategory:
    """Create a category, or replace category ``category_id`` with ``data``.

    ``data``: ``name_ko`` and/or ``name_en``, ``position`` (0 to 1,000,000) and ``parent_id``
    (a top-level category, or none). Raises ``Invalid``, ``NotFound`` or ``Forbidden``.
    """
    require(actor, Permission.KB_WRITE)
    with transaction() as session:
        row = (
            KbCategory(created_at=utcnow())
            if category_id is None
            else get_category(actor, category_id)
        )
        with session.no_autoflush:
            _apply(row, data, category_id)
        row.updated_at = utcnow()
        session.add(row)
        session.flush()
        audit.record(session, actor, "kb.category.saved", data=category_dict(row))
    return row


def delete_category(actor: Actor, category_id: int) -> None:
    """Delete an empty category; ``Conflict`` while it holds articles or categories."""
    require(actor, Permission.KB_WRITE)
    with transaction() as session:
        row = get_category(actor, category_id)
        articles = session.scalar(select(func.count()).where(KbArticle.category_id == category_id))
        children = session.scalar(select(func.count()).where(KbCategory.parent_id == category_id))
        if articles or children:
            raise Conflict(
                _l(
                    "The category %(name)s still holds articles or categories.",
                    name=row.name_for(str(get_locale() or "en")),
                )
            )
        audit.record(session, actor, "kb.category.deleted", data=category_dict(row))
        session.delete(row)
