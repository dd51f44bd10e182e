"""``/api/v1/canned-replies``: saved replies for the composer, shared with the team or
personal, and their text filled in for one ticket. Thin views over ``services.canned_replies``,
which holds every rule (agents and admins only; admins write the shared ones)."""

from __future__ import annotations

from typing import Any

from flask import url_for
from flask.views import MethodView
from flask_smorest import Blueprint

from ..services import canned_replies
from .auth import actor, authenticate_request
from .canned_reply_schemas import (
    CannedReplyCreateSchema,
    CannedReplyListArgs,
    CannedReplySchema,
    CannedReplyUpdateSchema,
    RenderedSchema,
    RenderRequestSchema,
)

blp = Blueprint(
    "canned_replies",
    __name__,
    url_prefix="/canned-replies",
    description="Saved replies: shared and personal texts to insert into a reply",
)
blp.before_request(authenticate_request)


@blp.route("")
class CannedReplies(MethodView):
    @blp.arguments(CannedReplyListArgs, location="query")
    @blp.response(200, CannedReplySchema(many=True))
    def get(self, args: dict[str, Any]) -> Any:
        """The shared replies and your own, best match first (`q` searches title, shortcut
        and text)."""
        return canned_replies.list_replies(actor(), args["q"], limit=args["limit"])

    @blp.arguments(CannedReplyCreateSchema)
    @blp.response(201, CannedReplySchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Save a personal reply, or a shared one (`shared: true`, admins only); 409 if the
        shortcut is taken."""
        reply = canned_replies.create_reply(actor(), **data)
        return reply, {"Location": url_for("canned_replies.CannedReplyItem", reply_id=reply.id)}


@blp.route("/<int:reply_id>")
class CannedReplyItem(MethodView):
    @blp.response(200, CannedReplySchema)
    def get(self, reply_id: int) -> Any:
        """One shared reply or one of your own."""
        return canned_replies.get_reply(actor(), reply_id)

    @blp.arguments(CannedReplyUpdateSchema)
    @blp.response(200, CannedReplySchema)
    def patch(self, data: dict[str, Any], reply_id: int) -> Any:
        """Change the title, text or shortcut: your own replies, and shared ones for admins."""
        return canned_replies.update_reply(actor(), reply_id, data)

    @blp.response(204)
    def delete(self, reply_id: int) -> None:
        """Delete one of your own replies, or (admins) a shared one."""
        canned_replies.delete_reply(actor(), reply_id)


@blp.route("/<int:reply_id>/render")
class CannedReplyRender(MethodView):
    @blp.arguments(RenderRequestSchema)
    @blp.response(200, RenderedSchema)
    def post(self, data: dict[str, Any], reply_id: int) -> Any:
        """The text to insert into a reply on `ticket_id`, placeholders filled in; counts as
        one use of the reply."""
        return {"body": canned_replies.render(actor(), reply_id, data["ticket_id"])}
