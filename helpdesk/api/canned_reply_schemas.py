"""Request and response shapes of the saved replies API. ``services.canned_replies`` checks
the content (with Korean and English messages); these schemas give the types, describe the
limits for OpenAPI and reject unknown keys."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from ..models import CannedReply
from ..services import canned_replies
from ..services.canned_replies import MAX_BODY, MAX_LIMIT, MAX_SHORTCUT, MAX_TITLE
from .auth import actor

_PLACEHOLDERS = ", ".join("{{" + name + "}}" for name in canned_replies.PLACEHOLDERS)
_TITLE = {"maxLength": MAX_TITLE, "description": "One line"}
_BODY = {
    "maxLength": MAX_BODY,
    "description": f"Markdown or plain text; may hold the placeholders {_PLACEHOLDERS}",
}
_SHORTCUT = {
    "maxLength": MAX_SHORTCUT,
    "description": "Typed as /shortcut in the composer: a-z, 0-9, '-', '_' or Hangul; stored "
    "lower-case, unique among shared replies and among each user's own. Null or '' for none.",
    "example": "refund",
}


def _editable(reply: CannedReply) -> bool:
    return canned_replies.may_change(actor(), reply)


class CannedReplySchema(ma.Schema):
    id = fields.Int()
    title = fields.Str()
    body = fields.Str(metadata={"description": "As written, placeholders unfilled"})
    shortcut = fields.Str(allow_none=True)
    shared = fields.Bool(
        attribute="is_shared",
        metadata={"description": "Shared with the whole team (written by admins)"},
    )
    owner_id = fields.Int(allow_none=True, metadata={"description": "Null when shared"})
    created_by_id = fields.Int(allow_none=True)
    usage_count = fields.Int(metadata={"description": "Times it was inserted into a reply"})
    editable = fields.Function(
        _editable,
        metadata={"type": "boolean", "description": "The caller may change or delete it"},
    )
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class CannedReplyCreateSchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    title = fields.Str(required=True, metadata=_TITLE)
    body = fields.Str(required=True, metadata=_BODY)
    shortcut = fields.Str(load_default=None, allow_none=True, metadata=_SHORTCUT)
    shared = fields.Bool(
        load_default=False,
        metadata={"description": "Share with the whole team (admins only); personal if false"},
    )


class CannedReplyUpdateSchema(ma.Schema):
    """Fields left out stay as they are; shared or personal is fixed at creation."""

    class Meta:
        unknown = ma.RAISE

    title = fields.Str(metadata=_TITLE)
    body = fields.Str(metadata=_BODY)
    shortcut = fields.Str(allow_none=True, metadata=_SHORTCUT)


class CannedReplyListArgs(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    q = fields.Str(
        load_default="",
        metadata={"description": "Words that must all appear in the title, shortcut or text"},
    )
    limit = fields.Int(load_default=50, validate=validate.Range(1, MAX_LIMIT))


class RenderRequestSchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    ticket_id = fields.Int(required=True, metadata={"description": "The ticket being answered"})


class RenderedSchema(ma.Schema):
    body = fields.Str(metadata={"description": "The text with the placeholders filled in"})
