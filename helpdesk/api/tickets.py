"""``/api/v1/tickets``: list, create, read, change, merge; messages, replies, notes and logged
calls; and ``/api/v1/attachments`` to download their files."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, send_file, url_for
from flask.views import MethodView
from flask_babel import lazy_gettext as _l
from flask_smorest import Blueprint

from ..models import Priority
from ..services import attachments, audit, follows, messages, ticket_reads, tickets
from ..services.errors import Invalid
from ..services.ticket_queries import TicketFilter, TicketPage, list_tickets
from .auth import actor, authenticate_request
from .schemas import (
    AuditEventSchema,
    CallSchema,
    FollowStateSchema,
    MergeSchema,
    MessageSchema,
    NoteSchema,
    ReplySchema,
    TicketCreateSchema,
    TicketListArgs,
    TicketPageSchema,
    TicketSchema,
    TicketUpdateSchema,
)

blp = Blueprint(
    "tickets", __name__, url_prefix="/tickets", description="Tickets and their conversation"
)
blp.before_request(authenticate_request)
attachments_blp = Blueprint(
    "attachments", __name__, url_prefix="/attachments", description="Files of messages"
)
attachments_blp.before_request(authenticate_request)


_DATES = ("created_at", "updated_at", "first_response_at", "solved_at", "last_customer_message_at")


def page_response(page: TicketPage) -> Response:
    """The JSON of a ticket page, written straight from the queue rows.

    The rows already have the shape of ``TicketSchema`` (a test keeps the two identical), so the
    hottest endpoint skips a marshmallow pass over every row; the schema still documents it.
    """
    items = []
    ticket_reads.annotate_unread(actor(), page.tickets)  # one lookup for the page
    for row in page.tickets:
        item = dict(row)
        for name in _DATES:
            if item[name] is not None:
                item[name] = item[name].isoformat()
        items.append(item)
    return jsonify({"items": items, "next_cursor": page.next_cursor})


def _assignee_filter(raw: str | None, flt: TicketFilter) -> None:
    if raw is None:
        return
    if raw == "none":
        flt.unassigned = True
    elif raw == "me":
        flt.assignee_id = actor().user_id
    elif raw.isdigit():
        flt.assignee_id = int(raw)
    else:
        raise Invalid(
            _l("assignee is a user id, 'me' or 'none'."), fields={"assignee": ["invalid"]}
        )


@blp.route("")
class Tickets(MethodView):
    # unknown=None: let the schema's Meta (RAISE) decide; webargs would otherwise EXCLUDE unknown
    # query parameters, so a typo such as ``stauts=open`` silently listed every ticket.
    @blp.arguments(TicketListArgs, location="query", unknown=None)
    @blp.response(200, TicketPageSchema)
    def get(self, args: dict[str, Any]) -> Response:
        """List tickets, newest activity first, one page per call (cursor pagination)."""
        flt = TicketFilter(
            statuses=args["status"],
            group_id=args.get("group"),
            customer_id=args.get("customer"),
            organization_id=args.get("organization"),
            tag=args.get("tag"),
            channel=args.get("channel"),
            priority=args.get("priority"),
            updated_since=args.get("updated_since"),
        )
        _assignee_filter(args.get("assignee"), flt)
        page = list_tickets(
            actor(), flt, sort=args["sort"], cursor=args.get("cursor"), limit=args["limit"]
        )
        return page_response(page)

    @blp.arguments(TicketCreateSchema)
    @blp.response(201, TicketSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Open a ticket; the body is the customer's first message."""
        customer = data.get("customer")
        ticket = tickets.create_ticket(
            actor(),
            subject=data["subject"],
            body_text=data.get("body"),
            body_html=data.get("body_html"),
            channel=data["channel"],
            customer_id=data.get("customer_id"),
            customer_identity=(customer["kind"], customer["value"]) if customer else None,
            customer_name=customer.get("name") if customer else None,
            priority=Priority[data["priority"].upper()],
            group_id=data.get("group_id"),
            assignee_id=data.get("assignee_id"),
            tags=data["tags"],
            attachments=data["attachments"],
        )
        # created with its customer, group, assignee and tags loaded
        return ticket, {"Location": url_for("tickets.TicketItem", ticket_id=ticket.id)}


@blp.route("/<int:ticket_id>")
class TicketItem(MethodView):
    @blp.response(200, TicketSchema)
    def get(self, ticket_id: int) -> Any:
        """One ticket."""
        return tickets.get_ticket(actor(), ticket_id)

    @blp.arguments(TicketUpdateSchema)
    @blp.response(200, TicketSchema)
    def patch(self, data: dict[str, Any], ticket_id: int) -> Any:
        """Change status, priority, group, assignee, tags or subject. Send `version` to avoid
        overwriting a colleague's change (409 if the ticket changed since you read it)."""
        expected = data.pop("version", None)
        tickets.update_ticket(actor(), ticket_id, data, expected_version=expected)
        return tickets.get_ticket(actor(), ticket_id)


@blp.route("/<int:ticket_id>/merge")
class TicketMerge(MethodView):
    @blp.arguments(MergeSchema)
    @blp.response(200, TicketSchema)
    def post(self, data: dict[str, Any], ticket_id: int) -> Any:
        """Merge this ticket into `target_id`; returns the target."""
        target = tickets.merge_tickets(actor(), ticket_id, data["target_id"])
        return tickets.get_ticket(actor(), target.id)


@blp.route("/<int:ticket_id>/messages")
class TicketMessages(MethodView):
    @blp.response(200, MessageSchema(many=True))
    def get(self, ticket_id: int) -> Any:
        """The conversation, oldest first (internal notes included for staff)."""
        return messages.list_messages(actor(), ticket_id)


@blp.route("/<int:ticket_id>/replies")
class TicketReplies(MethodView):
    @blp.arguments(ReplySchema)
    @blp.response(201, MessageSchema)
    def post(self, data: dict[str, Any], ticket_id: int) -> Any:
        """A public reply to the customer, optionally setting the status in the same step."""
        return messages.reply_to_ticket(
            actor(),
            ticket_id,
            body_text=data.get("body"),
            body_html=data.get("body_html"),
            attachments=data["attachments"],
            status=data.get("status"),
            expected_version=data.get("version"),
            seen_message_id=data.get("seen_message_id"),
        )


@blp.route("/<int:ticket_id>/notes")
class TicketNotes(MethodView):
    @blp.arguments(NoteSchema)
    @blp.response(201, MessageSchema)
    def post(self, data: dict[str, Any], ticket_id: int) -> Any:
        """An internal note, never shown to the customer."""
        return messages.add_note(
            actor(),
            ticket_id,
            body_text=data.get("body"),
            body_html=data.get("body_html"),
            attachments=data["attachments"],
        )


@blp.route("/<int:ticket_id>/calls")
class TicketCalls(MethodView):
    @blp.arguments(CallSchema)
    @blp.response(201, MessageSchema)
    def post(self, data: dict[str, Any], ticket_id: int) -> Any:
        """A record of a phone call with the customer: internal like a note, kind `phone`."""
        return messages.log_call(
            actor(), ticket_id, body_text=data.get("body"), attachments=data["attachments"]
        )


@blp.route("/<int:ticket_id>/history")
class TicketHistory(MethodView):
    @blp.response(200, AuditEventSchema(many=True))
    def get(self, ticket_id: int) -> Any:
        """Every change to the ticket: who, what, before and after, when."""
        tickets.get_ticket(actor(), ticket_id)
        return audit.ticket_history(actor(), ticket_id)


@blp.route("/<int:ticket_id>/follow")
class TicketFollow(MethodView):
    @blp.response(200, FollowStateSchema)
    def post(self, ticket_id: int) -> Any:
        """Follow this ticket: its new messages reach you (bell, email)."""
        started = follows.follow(actor(), ticket_id=ticket_id)
        return {"following": True, "started": started}

    @blp.response(204)
    def delete(self, ticket_id: int) -> None:
        """Stop following this ticket."""
        follows.unfollow(actor(), ticket_id=ticket_id)


@attachments_blp.route("/<int:attachment_id>")
class AttachmentFile(MethodView):
    @attachments_blp.response(
        200, content_type="application/octet-stream", description="The file's bytes"
    )
    def get(self, attachment_id: int) -> Any:
        """Download a file of a message (its id is in the message's `attachments`)."""
        found = attachments.get_attachment(actor(), attachment_id)
        return send_file(
            attachments.blob_path(found.sha256),
            mimetype=found.content_type,
            as_attachment=True,
            download_name=found.filename,
            max_age=0,
        )
