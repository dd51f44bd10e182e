"""``/api/v1/kb``: knowledge base categories and articles with their Korean and English
translations. Staff read; agents and admins write. Thin views over ``services.kb_*``."""

from __future__ import annotations

from typing import Any

from flask import url_for
from flask.views import MethodView
from flask_smorest import Blueprint

from ..services import kb_articles, kb_categories
from .auth import actor, authenticate_request
from .kb_schemas import (
    ArticleListArgs,
    ArticlePageSchema,
    ArticleSchema,
    ArticleWriteSchema,
    CategorySchema,
    PublishSchema,
    RevisionSchema,
    TranslationSchema,
    TranslationWordsSchema,
)

blp = Blueprint(
    "kb",
    __name__,
    url_prefix="/kb",
    description="Knowledge base: categories, articles, translations, publication, revisions",
)
blp.before_request(authenticate_request)


@blp.route("/categories")
class Categories(MethodView):
    @blp.response(200, CategorySchema(many=True))
    def get(self) -> Any:
        """Every category, each top-level one followed by those under it."""
        return kb_categories.list_categories(actor())

    @blp.arguments(CategorySchema)
    @blp.response(201, CategorySchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Create a category (agents and admins)."""
        row = kb_categories.save_category(actor(), data)
        return row, {"Location": url_for("kb.CategoryItem", category_id=row.id)}


@blp.route("/categories/<int:category_id>")
class CategoryItem(MethodView):
    @blp.response(200, CategorySchema)
    def get(self, category_id: int) -> Any:
        """One category."""
        return kb_categories.get_category(actor(), category_id)

    @blp.arguments(CategorySchema)
    @blp.response(200, CategorySchema)
    def put(self, data: dict[str, Any], category_id: int) -> Any:
        """Replace a category (agents and admins)."""
        return kb_categories.save_category(actor(), data, category_id)

    @blp.response(204)
    def delete(self, category_id: int) -> None:
        """Delete a category that holds no articles and no categories (agents and admins)."""
        kb_categories.delete_category(actor(), category_id)


@blp.route("/articles")
class Articles(MethodView):
    @blp.arguments(ArticleListArgs, location="query", unknown=None)
    @blp.response(200, ArticlePageSchema)
    def get(self, args: dict[str, Any]) -> Any:
        """Articles, last changed first (`limit`, `offset`); bodies are left out."""
        return kb_articles.list_articles(
            actor(),
            locale=args.get("locale"),
            category_id=args.get("category"),
            status=args.get("status"),
            visibility=args.get("visibility"),
            limit=args["limit"],
            offset=args["offset"],
        )

    @blp.arguments(ArticleWriteSchema)
    @blp.response(201, ArticleSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Write an article in one or both languages, as a draft (agents and admins)."""
        row = kb_articles.save_article(actor(), data)
        return row, {"Location": url_for("kb.ArticleItem", article_id=row.id)}


@blp.route("/articles/<int:article_id>")
class ArticleItem(MethodView):
    @blp.response(200, ArticleSchema)
    def get(self, article_id: int) -> Any:
        """One article with its translations."""
        return kb_articles.get_article(actor(), article_id)

    @blp.arguments(ArticleWriteSchema)
    @blp.response(200, ArticleSchema)
    def put(self, data: dict[str, Any], article_id: int) -> Any:
        """Change the category, the visibility and the translations given; keys left out stay
        as they are (agents and admins)."""
        return kb_articles.save_article(actor(), data, article_id)

    @blp.response(204)
    def delete(self, article_id: int) -> None:
        """Delete the article, its translations and their history (agents and admins)."""
        kb_articles.delete_article(actor(), article_id)


@blp.route("/articles/<int:article_id>/translations/<locale>")
class TranslationItem(MethodView):
    @blp.arguments(TranslationWordsSchema)
    @blp.response(200, TranslationSchema)
    def put(self, data: dict[str, Any], article_id: int, locale: str) -> Any:
        """Write the article in `ko` or `en`: creates the translation or saves a new revision."""
        return kb_articles.save_translation(actor(), article_id, locale, data)


@blp.route("/articles/<int:article_id>/publish")
class Publish(MethodView):
    @blp.arguments(PublishSchema, required=False)
    @blp.response(200, ArticleSchema)
    def post(self, data: dict[str, Any], article_id: int) -> Any:
        """Publish the translations in `locales`, or all of them (agents and admins)."""
        return kb_articles.publish(actor(), article_id, data.get("locales"))


@blp.route("/articles/<int:article_id>/unpublish")
class Unpublish(MethodView):
    @blp.arguments(PublishSchema, required=False)
    @blp.response(200, ArticleSchema)
    def post(self, data: dict[str, Any], article_id: int) -> Any:
        """Turn the translations in `locales`, or all of them, back into drafts."""
        return kb_articles.unpublish(actor(), article_id, data.get("locales"))


@blp.route("/articles/<int:article_id>/revisions")
class Revisions(MethodView):
    @blp.response(200, RevisionSchema(many=True))
    def get(self, article_id: int) -> Any:
        """Every saved version of the article's translations, newest first, with authors."""
        return kb_articles.list_revisions(actor(), article_id)
