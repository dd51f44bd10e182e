"""Request and response shapes of the knowledge base API. The services validate the content;
these schemas describe it for OpenAPI and reject unknown keys."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from ..models import KB_LOCALES
from ..services.kb_articles import MAX_LIMIT, MAX_TITLE, STATUSES, VISIBILITIES

_LOCALE = fields.Str(validate=validate.OneOf(KB_LOCALES), metadata={"example": "ko"})


class CategorySchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    id = fields.Int(dump_only=True)
    name_ko = fields.Str(load_default="", validate=validate.Length(max=100))
    name_en = fields.Str(load_default="", validate=validate.Length(max=100))
    position = fields.Int(load_default=0, metadata={"description": "Lower comes first"})
    parent_id = fields.Int(
        load_default=None,
        allow_none=True,
        metadata={"description": "A top-level category to sit under (one level only)"},
    )


class TranslationWordsSchema(ma.Schema):
    """What a writer sends for one language."""

    class Meta:
        unknown = ma.RAISE

    title = fields.Str(required=True, validate=validate.Length(1, MAX_TITLE))
    body = fields.Str(load_default="", metadata={"description": "Markdown (CommonMark + tables)"})


class TranslationSummarySchema(ma.Schema):
    locale = _LOCALE
    title = fields.Str()
    slug = fields.Str(metadata={"description": "Unique within the language; Hangul is kept"})
    status = fields.Str(metadata={"enum": list(STATUSES)})
    published_at = fields.DateTime(allow_none=True)
    view_count = fields.Int()
    helpful_yes = fields.Int()
    helpful_no = fields.Int()
    helpful_percent = fields.Int(allow_none=True, metadata={"description": "Null before a vote"})
    updated_at = fields.DateTime()


class TranslationSchema(TranslationSummarySchema):
    body = fields.Str(attribute="body_markdown", metadata={"description": "Markdown as written"})
    body_html = fields.Str(metadata={"description": "Rendered and sanitized"})
    updated_by_id = fields.Int(allow_none=True)


class ArticleWriteSchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    category_id = fields.Int(allow_none=True)
    visibility = fields.Str(
        validate=validate.OneOf(VISIBILITIES),
        metadata={"description": "public: customers too, once published; internal: staff only"},
    )
    translations = fields.Dict(
        keys=fields.Str(validate=validate.OneOf(KB_LOCALES)),
        values=fields.Nested(TranslationWordsSchema),
        metadata={"description": "By language; languages left out are left as they are"},
    )


class ArticleSummarySchema(ma.Schema):
    id = fields.Int()
    category_id = fields.Int(allow_none=True)
    visibility = fields.Str(metadata={"enum": list(VISIBILITIES)})
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    translations = fields.Dict(
        keys=fields.Str(), values=fields.Nested(TranslationSummarySchema), attribute="by_locale"
    )


class ArticleSchema(ArticleSummarySchema):
    created_by_id = fields.Int(allow_none=True)
    translations = fields.Dict(
        keys=fields.Str(), values=fields.Nested(TranslationSchema), attribute="by_locale"
    )


class ArticleListArgs(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    locale = _LOCALE
    category = fields.Int(metadata={"description": "Includes the categories under it"})
    status = fields.Str(validate=validate.OneOf(STATUSES))
    visibility = fields.Str(validate=validate.OneOf(VISIBILITIES))
    limit = fields.Int(load_default=25, validate=validate.Range(1, MAX_LIMIT))
    offset = fields.Int(load_default=0, validate=validate.Range(min=0))


class ArticlePageSchema(ma.Schema):
    items = fields.List(fields.Nested(ArticleSummarySchema))
    total = fields.Int(metadata={"description": "Articles matching the filters, all pages"})


class PublishSchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    locales = fields.List(
        _LOCALE, metadata={"description": "The languages to change; every translation if absent"}
    )


class RevisionSchema(ma.Schema):
    id = fields.Int()
    locale = _LOCALE
    title = fields.Str()
    body = fields.Str(attribute="body_markdown")
    author_user_id = fields.Int(allow_none=True)
    author_name = fields.Str(allow_none=True)
    created_at = fields.DateTime()
