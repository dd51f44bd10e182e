"""Staff pages of the knowledge base: the article list, the bilingual editor, categories.

Every member of staff reads these pages; agents and admins get the editing controls. The views
turn forms into the ``data`` the services take; ``services.kb_*`` validate and authorize every
change. The editor has no script (the content security policy allows none inline): "Preview"
posts the form to a route that renders the Markdown on the server and shows the editor again,
unsaved, and a saved article shows its stored HTML under each language.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required
from werkzeug.datastructures import MultiDict

from .models import KB_LOCALES, KbArticle
from .services import kb_articles, kb_categories
from .services.errors import Conflict, Invalid
from .services.kb_render import render_markdown
from .services.permissions import Actor, Permission, can
from .webui import bp, field_errors, me, me_allowed

PAGE_SIZE = 50
KB_LABELS = {
    "draft": _l("Draft"),
    "published": _l("Published"),
    "public": _l("Public"),
    "internal": _l("Internal"),
    "ko": _l("Korean"),
    "en": _l("English"),
}


@bp.app_template_filter("kb_label")
def kb_label(value: str) -> str:
    return str(KB_LABELS.get(value, value))


def _viewer_locale() -> str:
    return str(get_locale() or "en")


def _category_choices(actor: Actor) -> list[tuple[int, str]]:
    """Categories for a select: children indented under their parent."""
    locale = _viewer_locale()
    return [
        (c.id, ("— " if c.parent_id else "") + c.name_for(locale))
        for c in kb_categories.list_categories(actor)
    ]


# --- the list ------------------------------------------------------------------------------


def _int_arg(name: str) -> int | None:
    raw = request.args.get(name, "").strip()
    return int(raw) if raw.isdigit() else None


@bp.get("/kb")
@login_required
def kb_list():  # type: ignore[no-untyped-def]
    actor = me()
    filters = {
        "status": request.args.get("status") or None,
        "visibility": request.args.get("visibility") or None,
        "category_id": _int_arg("category"),
    }
    if filters["status"] not in (None, *kb_articles.STATUSES):
        filters["status"] = None
    if filters["visibility"] not in (None, *kb_articles.VISIBILITIES):
        filters["visibility"] = None
    offset = _int_arg("offset") or 0
    page = kb_articles.list_articles(actor, limit=PAGE_SIZE, offset=offset, **filters)
    choices = _category_choices(actor)
    return render_template(
        "kb_list.html",
        page=page,
        filters=filters,
        offset=offset,
        page_size=PAGE_SIZE,
        categories=choices,
        category_names={cid: name.removeprefix("— ") for cid, name in choices},
        locales=KB_LOCALES,
        can_write=can(actor, Permission.KB_WRITE),
    )


# --- the editor ----------------------------------------------------------------------------


def _article_values(article: KbArticle | None) -> dict[str, Any]:
    """The editor's fields, as text, for a stored article or a new one."""
    values: dict[str, Any] = {
        "category_id": str(article.category_id or "") if article else "",
        "visibility": article.visibility if article else "public",
    }
    for locale in KB_LOCALES:
        translation = article.translation(locale) if article else None
        values[locale] = {
            "title": translation.title if translation else "",
            "body": translation.body_markdown if translation else "",
        }
    return values


def _article_posted(form: MultiDict[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {
        "category_id": form.get("category_id", "").strip(),
        "visibility": form.get("visibility", "public"),
    }
    for locale in KB_LOCALES:
        values[locale] = {
            "title": form.get(f"title-{locale}", ""),
            "body": form.get(f"body-{locale}", ""),
        }
    return values


def _article_data(values: dict[str, Any], article: KbArticle | None) -> dict[str, Any]:
    """The form as ``kb_articles.save_article`` takes it. A language left blank is not written
    (unless it exists: then the service says a title is required)."""
    raw = values["category_id"]
    translations = {
        locale: values[locale]
        for locale in KB_LOCALES
        if values[locale]["title"].strip()
        or values[locale]["body"].strip()
        or (article is not None and article.translation(locale) is not None)
    }
    return {
        "category_id": int(raw) if raw.isdigit() else (raw or None),
        "visibility": values["visibility"],
        "translations": translations,
    }


def _render_article(
    actor: Actor,
    values: dict[str, Any],
    article: KbArticle | None = None,
    *,
    errors: dict[str, str] | None = None,
    previews: dict[str, str] | None = None,
    status: int = 200,
):  # type: ignore[no-untyped-def]
    page = render_template(
        "kb_article.html",
        article=article,
        values=values,
        errors=errors or {},
        previews=previews,
        categories=_category_choices(actor),
        locales=KB_LOCALES,
        visibilities=kb_articles.VISIBILITIES,
        revisions=kb_articles.list_revisions(actor, article.id) if article else [],
        can_write=can(actor, Permission.KB_WRITE),
    )
    return page, status


def _save_article(actor: Actor, article: KbArticle | None):  # type: ignore[no-untyped-def]
    values = _article_posted(request.form)
    try:
        saved = kb_articles.save_article(
            actor, _article_data(values, article), article.id if article else None
        )
    except (Invalid, Conflict) as exc:
        flash(exc.message, "error")
        status = 409 if isinstance(exc, Conflict) else 422
        return _render_article(actor, values, article, errors=field_errors(exc), status=status)
    flash(_("Article saved."), "success")
    return redirect(url_for("web.kb_article_edit", article_id=saved.id))


@bp.route("/kb/articles/new", methods=["GET", "POST"])
@login_required
def kb_article_new():  # type: ignore[no-untyped-def]
    actor = me_allowed(Permission.KB_WRITE)
    if request.method == "POST":
        return _save_article(actor, None)
    values = _article_values(None)
    values["category_id"] = request.args.get("category", "")
    return _render_article(actor, values)


@bp.route("/kb/articles/<int:article_id>", methods=["GET", "POST"])
@login_required
def kb_article_edit(article_id: int):  # type: ignore[no-untyped-def]
    actor = me()
    article = kb_articles.get_article(actor, article_id)
    if request.method == "POST":
        return _save_article(actor, article)
    return _render_article(actor, _article_values(article), article)


@bp.post("/kb/articles/preview")
@login_required
def kb_article_preview():  # type: ignore[no-untyped-def]
    """The editor again, as typed, with each language's Markdown rendered; nothing is saved."""
    actor = me_allowed(Permission.KB_WRITE)
    raw_id = request.form.get("article_id", "")
    article = kb_articles.get_article(actor, int(raw_id)) if raw_id.isdigit() else None
    values = _article_posted(request.form)
    previews = {locale: render_markdown(values[locale]["body"]) for locale in KB_LOCALES}
    return _render_article(actor, values, article, previews=previews)


def _locales_posted() -> list[str] | None:
    """The language a publish button is for; ``None`` (every language) when not given."""
    locale = request.form.get("locale", "")
    return [locale] if locale else None


@bp.post("/kb/articles/<int:article_id>/publish")
@login_required
def kb_article_publish(article_id: int):  # type: ignore[no-untyped-def]
    try:
        kb_articles.publish(me(), article_id, _locales_posted())
    except Invalid as exc:
        flash(exc.message, "error")
    else:
        flash(_("Published."), "success")
    return redirect(url_for("web.kb_article_edit", article_id=article_id))


@bp.post("/kb/articles/<int:article_id>/unpublish")
@login_required
def kb_article_unpublish(article_id: int):  # type: ignore[no-untyped-def]
    try:
        kb_articles.unpublish(me(), article_id, _locales_posted())
    except Invalid as exc:
        flash(exc.message, "error")
    else:
        flash(_("Unpublished: back to draft."), "success")
    return redirect(url_for("web.kb_article_edit", article_id=article_id))


@bp.post("/kb/articles/<int:article_id>/delete")
@login_required
def kb_article_delete(article_id: int):  # type: ignore[no-untyped-def]
    kb_articles.delete_article(me(), article_id)
    flash(_("Article deleted."), "success")
    return redirect(url_for("web.kb_list"))


# --- categories ----------------------------------------------------------------------------


def _category_posted(form: MultiDict[str, str]) -> dict[str, Any]:
    position = form.get("position", "").strip()
    parent = form.get("parent_id", "").strip()
    return {
        "name_ko": form.get("name_ko", ""),
        "name_en": form.get("name_en", ""),
        # Text that is not a number goes to the service as typed, which refuses it.
        "position": int(position) if position.lstrip("-").isdigit() else (position or 0),
        "parent_id": int(parent) if parent.isdigit() else (parent or None),
    }


def _render_categories(actor: Actor, posted: dict[str | int, Any] | None = None, status: int = 200):  # type: ignore[no-untyped-def]
    categories = kb_categories.list_categories(actor)
    page = render_template(
        "kb_categories.html",
        categories=categories,
        tops=[c for c in categories if c.parent_id is None],
        children={c.parent_id for c in categories if c.parent_id is not None},
        counts=kb_categories.article_counts(actor),
        posted=posted or {},
        locale=_viewer_locale(),
        can_write=can(actor, Permission.KB_WRITE),
    )
    return page, status


@bp.get("/kb/categories")
@login_required
def kb_categories_page():  # type: ignore[no-untyped-def]
    return _render_categories(me())


def _save_category(category_id: int | None):  # type: ignore[no-untyped-def]
    actor = me()
    data = _category_posted(request.form)
    try:
        kb_categories.save_category(actor, data, category_id)
    except Invalid as exc:
        flash(exc.message, "error")
        key = "new" if category_id is None else category_id
        return _render_categories(actor, {key: request.form.to_dict()}, 422)
    flash(_("Category saved."), "success")
    return redirect(url_for("web.kb_categories_page"))


@bp.post("/kb/categories")
@login_required
def kb_category_new():  # type: ignore[no-untyped-def]
    return _save_category(None)


@bp.post("/kb/categories/<int:category_id>")
@login_required
def kb_category_save(category_id: int):  # type: ignore[no-untyped-def]
    return _save_category(category_id)


@bp.post("/kb/categories/<int:category_id>/delete")
@login_required
def kb_category_delete(category_id: int):  # type: ignore[no-untyped-def]
    try:
        kb_categories.delete_category(me(), category_id)
    except Conflict as exc:
        flash(exc.message, "error")
    else:
        flash(_("Category deleted."), "success")
    return redirect(url_for("web.kb_categories_page"))
