"""``/api/v1/search``: tickets and knowledge-base articles, within the caller's permissions."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import fields, validate

from ..services.search_queries import MAX_LIMIT, MAX_QUERY, search
from .auth import actor, authenticate_request

blp = Blueprint("search", __name__, url_prefix="/search", description="Search")
blp.before_request(authenticate_request)


class SearchArgs(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    q = fields.Str(required=True, validate=validate.Length(1, MAX_QUERY))
    kind = fields.Str(validate=validate.OneOf(["ticket", "article"]))
    limit = fields.Int(load_default=20, validate=validate.Range(1, MAX_LIMIT))
    offset = fields.Int(load_default=0, validate=validate.Range(0, 10_000))


class SearchHitSchema(ma.Schema):
    key = fields.Str()
    kind = fields.Str(metadata={"enum": ["ticket", "article"]})
    id = fields.Int()
    number = fields.Int(allow_none=True, metadata={"description": "Tickets: their number"})
    locale = fields.Str(allow_none=True, metadata={"description": "Articles: the translation"})
    title = fields.Str()
    title_html = fields.Str(metadata={"description": "Escaped, with <mark> around matches"})
    snippet = fields.Str(metadata={"description": "Escaped, with <mark> around matches"})
    updated_at = fields.DateTime()


class SearchPageSchema(ma.Schema):
    items = fields.List(fields.Nested(SearchHitSchema))
    total = fields.Int()
    total_is_exact = fields.Bool()
    matched_all_words = fields.Bool(
        metadata={"description": "False: no result had every word; any word was enough"}
    )


@blp.route("")
class Search(MethodView):
    @blp.arguments(SearchArgs, location="query")
    @blp.response(200, SearchPageSchema)
    def get(self, args: dict[str, Any]) -> Any:
        """Korean and English, best first: staff see every ticket (notes included) and every
        article; a signed-in customer their own tickets and published public articles."""
        kinds = [args["kind"]] if "kind" in args else None
        page = search(actor(), args["q"], kinds=kinds, limit=args["limit"], offset=args["offset"])
        items = [
            {
                "key": hit.key,
                "kind": hit.kind,
                "id": hit.id,
                "number": page.numbers.get(hit.id) if hit.kind == "ticket" else None,
                "locale": hit.locale,
                "title": hit.title,
                "title_html": hit.title_html,
                "snippet": hit.snippet,
                "updated_at": hit.updated_at,
            }
            for hit in page.hits
        ]
        return {
            "items": items,
            "total": page.total,
            "total_is_exact": page.total_is_exact,
            "matched_all_words": page.matched_all_words,
        }
