"""``/api/v1/customers``: create, read, change, find by identity, a customer's tickets, service
summary and timeline, notes, duplicates and merges."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import request, url_for
from flask.views import MethodView
from flask_smorest import Blueprint

from ..services import (
    customer_events,
    customer_fields,
    customer_import,
    customer_merge,
    customer_notes,
    customer_profile,
    customers,
    follows,
)
from ..services.customer_timeline import TimelineEntry
from ..services.ticket_queries import TicketFilter, list_tickets
from .auth import actor, authenticate_request
from .schemas import (
    CustomerCreateSchema,
    CustomerEventArgs,
    CustomerEventCreateSchema,
    CustomerEventPageSchema,
    CustomerEventSchema,
    CustomerImportArgs,
    CustomerMergeSchema,
    CustomerNoteSchema,
    CustomerNoteWriteSchema,
    CustomerSchema,
    CustomerSearchArgs,
    CustomerTicketArgs,
    CustomerUpdateSchema,
    DuplicateSchema,
    FollowStateSchema,
    IdentitySchema,
    ImportReportSchema,
    ServiceSummarySchema,
    TicketPageSchema,
    TimelineArgs,
    TimelinePageSchema,
)
from .tickets import page_response

blp = Blueprint(
    "customers", __name__, url_prefix="/customers", description="Customers and identities"
)
blp.before_request(authenticate_request)


@blp.route("")
class Customers(MethodView):
    @blp.arguments(CustomerSearchArgs, location="query", unknown=None)
    @blp.response(200, CustomerSchema(many=True))
    def get(self, args: dict[str, Any]) -> Any:
        """Find the customer behind an identity (`kind=phone&value=010-1234-5678`)."""
        found = customers.find_customer(actor(), args["kind"], args["value"])
        return [found] if found else []

    @blp.arguments(CustomerCreateSchema)
    @blp.response(201, CustomerSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Create a customer with one or more identities (409 if one is already taken)."""
        customer = customers.create_customer(
            actor(),
            name=data["name"],
            identities=[(i["kind"], i["value"]) for i in data["identities"]],
            organization_id=data.get("organization_id"),
            locale=data.get("locale"),
            tier=data.get("tier"),
        )
        location = url_for("customers.CustomerItem", customer_id=customer.id)
        return customer, {"Location": location}


@blp.route("/<int:customer_id>")
class CustomerItem(MethodView):
    @blp.response(200, CustomerSchema)
    def get(self, customer_id: int) -> Any:
        """One customer with identities, organization, tags, account manager and attributes."""
        return customers.get_customer(actor(), customer_id)

    @blp.arguments(CustomerUpdateSchema)
    @blp.response(200, CustomerSchema)
    def patch(self, data: dict[str, Any], customer_id: int) -> Any:
        """Change profile fields: name, locale, tier, owner_id (account manager), tags (the
        complete list) and attributes (merged in; null removes a key). Fields left out stay."""
        return customer_fields.update_profile(actor(), customer_id, data, merge_attributes=True)


@blp.route("/<int:customer_id>/identities")
class CustomerIdentities(MethodView):
    @blp.arguments(IdentitySchema)
    @blp.response(201, CustomerSchema)
    def post(self, data: dict[str, Any], customer_id: int) -> Any:
        """Add an identity (email, phone, chat, slack, social) to a customer."""
        customers.add_identity(actor(), customer_id, data["kind"], data["value"])
        return customers.get_customer(actor(), customer_id)


@blp.route("/<int:customer_id>/tickets")
class CustomerTickets(MethodView):
    @blp.arguments(CustomerTicketArgs, location="query", unknown=None)
    @blp.response(200, TicketPageSchema)
    def get(self, args: dict[str, Any], customer_id: int) -> Any:
        """The customer's tickets, newest activity first."""
        customers.get_customer(actor(), customer_id)
        page = list_tickets(
            actor(),
            TicketFilter(customer_id=customer_id),
            cursor=args.get("cursor"),
            limit=args["limit"],
        )
        return page_response(page)


def _seconds(value: timedelta | None) -> int | None:
    return None if value is None else round(value.total_seconds())


@blp.route("/<int:customer_id>/summary")
class CustomerSummary(MethodView):
    @blp.response(200, ServiceSummarySchema)
    def get(self, customer_id: int) -> Any:
        """What to know before a call: open and lifetime tickets, last contact, average first
        response and resolution times (seconds)."""
        summary = customer_profile.service_summary(actor(), customer_id)
        return {
            "open_tickets": summary.open_tickets,
            "lifetime_tickets": summary.lifetime_tickets,
            "last_contact_at": summary.last_contact_at,
            "avg_first_response_seconds": _seconds(summary.avg_first_response),
            "avg_resolution_seconds": _seconds(summary.avg_resolution),
            "breached_slas": summary.breached_slas,
        }


@blp.route("/<int:customer_id>/timeline")
class CustomerTimeline(MethodView):
    @blp.arguments(TimelineArgs, location="query", unknown=None)
    @blp.response(200, TimelinePageSchema)
    def get(self, args: dict[str, Any], customer_id: int) -> Any:
        """Every message on every ticket of the customer, newest first; ``kind`` is ``public``
        (conversations), ``notes`` (internal notes) or ``all``."""
        entries, next_cursor = customer_profile.customer_timeline(
            actor(), customer_id, kind=args["kind"], cursor=args.get("cursor"), limit=args["limit"]
        )
        return {"items": [_timeline_item(e) for e in entries], "next_cursor": next_cursor}


def _timeline_item(entry: TimelineEntry) -> dict[str, Any]:
    """One entry: ``kind`` and ``at``, and the object of its kind (a message keeps the shape of
    the messages-only timeline: ``message`` and ``ticket``)."""
    item: dict[str, Any] = {"kind": entry.kind, "at": entry.at}
    if entry.ticket_number is not None:
        item["ticket"] = {
            "number": entry.ticket_number,
            "subject": entry.ticket_subject,
            "status": entry.ticket_status,
        }
    if entry.message is not None:
        item["message"] = entry.message
    elif entry.note is not None:
        item["note"] = entry.note
    elif entry.event is not None:
        item["event"] = entry.event
    elif entry.sla_target is not None:
        item["sla_breach"] = entry.sla_target
    return item


@blp.route("/<int:customer_id>/notes")
class CustomerNotes(MethodView):
    @blp.response(200, CustomerNoteSchema(many=True))
    def get(self, customer_id: int) -> Any:
        """Staff notes on the customer's profile, newest first (the latest 100)."""
        return customer_notes.list_notes(actor(), customer_id)

    @blp.arguments(CustomerNoteWriteSchema)
    @blp.response(201, CustomerNoteSchema)
    def post(self, data: dict[str, Any], customer_id: int) -> Any:
        """Add a note (plain text) to the customer's profile; every staff member may."""
        return customer_notes.add_note(actor(), customer_id, data["body"])


@blp.route("/notes/<int:note_id>")
class CustomerNoteItem(MethodView):
    @blp.arguments(CustomerNoteWriteSchema)
    @blp.response(200, CustomerNoteSchema)
    def patch(self, data: dict[str, Any], note_id: int) -> Any:
        """Rewrite a note: its author or an admin only."""
        return customer_notes.edit_note(actor(), note_id, data["body"])

    @blp.response(204)
    def delete(self, note_id: int) -> None:
        """Delete a note: its author or an admin only."""
        customer_notes.delete_note(actor(), note_id)


@blp.route("/<int:customer_id>/duplicates")
class CustomerDuplicates(MethodView):
    @blp.response(200, DuplicateSchema(many=True))
    def get(self, customer_id: int) -> Any:
        """Customers that are probably the same person: an address reaching the same mailbox
        (plus-addressing, Gmail dots) or a very similar name in the same organization."""
        found = customer_merge.duplicate_candidates(actor(), customer_id)
        return [{"customer": c.customer, "reasons": c.reasons} for c in found]


@blp.route("/<int:customer_id>/merge")
class CustomerMerge(MethodView):
    @blp.arguments(CustomerMergeSchema)
    @blp.response(200, CustomerSchema)
    def post(self, data: dict[str, Any], customer_id: int) -> Any:
        """Merge this customer into `target_id`, which keeps everything and is returned.
        Identities, tickets and messages move; mail to the old addresses reaches the survivor."""
        return customer_merge.merge_customers(actor(), customer_id, data["target_id"])


@blp.route("/<int:customer_id>/unmerge")
class CustomerUnmerge(MethodView):
    @blp.response(200, CustomerSchema)
    def post(self, customer_id: int) -> Any:
        """Undo the merge of this (merged-away) customer; it is returned with what it had."""
        return customer_merge.unmerge_customers(actor(), customer_id)


@blp.route("/<int:customer_id>/follow")
class CustomerFollow(MethodView):
    @blp.response(200, FollowStateSchema)
    def post(self, customer_id: int) -> Any:
        """Follow this customer: new messages on any of their tickets reach you (bell, email)."""
        started = follows.follow(actor(), customer_id=customer_id)
        return {"following": True, "started": started}

    @blp.response(204)
    def delete(self, customer_id: int) -> None:
        """Stop following this customer."""
        follows.unfollow(actor(), customer_id=customer_id)


@blp.route("/events")
class CustomerEvents(MethodView):
    @blp.arguments(CustomerEventCreateSchema)
    @blp.response(201, CustomerEventSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Add a business event (order, purchase, contract change, call) to a customer's history.

        Name the customer by `customer_id` or by `customer` `{kind, value}`; an unknown
        identity creates the customer. A repeated `(source, external_id)` returns the stored
        event with 200 instead of adding it twice."""
        ref = data.pop("customer", None)
        event, created = customer_events.add_event(
            actor(),
            data,
            customer_id=data.pop("customer_id", None),
            identity=(ref["kind"], ref["value"]) if ref else None,
        )
        return event, 201 if created else 200


@blp.route("/<int:customer_id>/events")
class CustomerEventList(MethodView):
    @blp.arguments(CustomerEventArgs, location="query")
    @blp.response(200, CustomerEventPageSchema)
    def get(self, args: dict[str, Any], customer_id: int) -> Any:
        """The customer's business events, newest first (`cursor` from `next_cursor`)."""
        rows, next_cursor = customer_events.list_events(
            actor(), customer_id, cursor=args.get("cursor"), limit=args["limit"]
        )
        return {"items": rows, "next_cursor": next_cursor}


@blp.route("/import")
class CustomerImport(MethodView):
    @blp.arguments(CustomerImportArgs, location="query")
    @blp.response(200, ImportReportSchema)
    @blp.alt_response(422, schema=ImportReportSchema, description="Problems; nothing imported")
    def post(self, args: dict[str, Any]) -> Any:
        """Import a CSV file (the request body) of `customers` or `events`, all or nothing.

        Customers: name, email, phone, organization, tier, locale. Events: email / phone /
        customer_id, kind, title, occurred_at, external_id, amount, currency, url. UTF-8 or
        Korean Excel (cp949). With any problem the answer lists them all and nothing is
        written."""
        run = (
            customer_import.import_customers
            if args["kind"] == "customers"
            else customer_import.import_events
        )
        report = run(actor(), request.get_data())
        body = {
            "rows": report.rows,
            "created": report.created,
            "unchanged": report.unchanged,
            "problems": [vars(p) for p in report.problems],
        }
        return body, 200 if report.ok else 422
