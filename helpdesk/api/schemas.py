"""Request and response schemas of REST API v1 (validation and the OpenAPI document)."""

from __future__ import annotations

import base64
import binascii
from datetime import UTC
from typing import Any

import marshmallow as ma
from marshmallow import fields, validate
from webargs.fields import DelimitedList

from ..models import PRIORITY_NAMES, Channel, IdentityKind, Role, Status
from ..services import ticket_reads
from ..services.attachments import UploadedFile
from ..services.customer_fields import tag_names
from ..services.customer_timeline import TIMELINE_KINDS
from ..services.ticket_queries import MAX_LIMIT, SORTS
from .auth import actor

STATUSES = [s.value for s in Status]
PRIORITIES = list(PRIORITY_NAMES.values())
CHANNELS = [c.value for c in Channel]
IDENTITY_KINDS = [k.value for k in IdentityKind]


class AwareDateTime(fields.AwareDateTime):
    """ISO 8601 with an offset; naive input is rejected rather than guessed."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="iso", default_timezone=None, **kwargs)


class StatusList(DelimitedList):
    """``status=open,pending`` and ``status=open&status=pending`` mean the same."""

    is_multiple = True  # webargs then passes every repeated value

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, list):
            value = ",".join(str(v) for v in value)
        return super()._deserialize(value, attr, data, **kwargs)


class ErrorDetail(ma.Schema):
    code = fields.Str(required=True)
    message = fields.Str(required=True)
    # Named with data_key: an attribute called ``fields`` would shadow Schema.fields.
    field_errors = fields.Dict(
        keys=fields.Str(), values=fields.List(fields.Str()), data_key="fields"
    )


class ErrorSchema(ma.Schema):
    error = fields.Nested(ErrorDetail, required=True)


class Ref(ma.Schema):
    id = fields.Int()
    name = fields.Str()


class SlaClockSchema(ma.Schema):
    policy_id = fields.Int(allow_none=True)
    due_at = fields.DateTime(
        allow_none=True, metadata={"description": "The next due time of a running SLA target"}
    )
    warn_at = fields.DateTime(allow_none=True)
    paused = fields.Bool(metadata={"description": "The clock stands still in this status"})


class TicketSchema(ma.Schema):
    id = fields.Int()
    number = fields.Int()
    subject = fields.Str()
    status = fields.Str(metadata={"enum": STATUSES})
    priority = fields.Function(lambda t: PRIORITY_NAMES[t.priority], metadata={"enum": PRIORITIES})
    channel = fields.Str(metadata={"enum": CHANNELS})
    customer = fields.Nested(Ref)
    organization_id = fields.Int(allow_none=True)
    group = fields.Nested(Ref, allow_none=True)
    assignee = fields.Nested(Ref, allow_none=True)
    tags = fields.Function(lambda t: [tag.name for tag in t.tags])
    merged_into_id = fields.Int(allow_none=True)
    message_count = fields.Int()
    version = fields.Int(
        metadata={"description": "Send back as `version` to detect concurrent edits"}
    )
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    first_response_at = fields.DateTime(allow_none=True)
    solved_at = fields.DateTime(allow_none=True)
    sla = fields.Nested(SlaClockSchema)
    last_customer_message_at = fields.DateTime(allow_none=True)
    unread = fields.Function(
        lambda t: ticket_reads.unread_for(actor(), {t.id: t.last_customer_message_at})[t.id],
        metadata={
            "type": "boolean",
            "description": "The customer wrote since you last opened the ticket (staff only)",
        },
    )


class TicketPageSchema(ma.Schema):
    items = fields.List(fields.Nested(TicketSchema))
    next_cursor = fields.Str(
        allow_none=True, metadata={"description": "Pass as `cursor` for the next page"}
    )


class TicketListArgs(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    status = StatusList(fields.Str(validate=validate.OneOf(STATUSES)), load_default=list)
    assignee = fields.Str(metadata={"description": "A user id, `me` or `none` (unassigned)"})
    group = fields.Int()
    customer = fields.Int()
    organization = fields.Int()
    tag = fields.Str()
    channel = fields.Str(validate=validate.OneOf(CHANNELS))
    priority = fields.Str(validate=validate.OneOf(["low", "normal", "high", "urgent"]))
    updated_since = AwareDateTime()
    sort = fields.Str(load_default="-updated_at", validate=validate.OneOf(SORTS))
    cursor = fields.Str()
    limit = fields.Int(load_default=25, validate=validate.Range(1, MAX_LIMIT))


class CustomerRefArgs(ma.Schema):
    kind = fields.Str(required=True, validate=validate.OneOf(IDENTITY_KINDS))
    value = fields.Str(required=True, validate=validate.Length(1, 320))
    name = fields.Str(validate=validate.Length(max=200))


MAX_UPLOADS = 20  # files per message sent through the API


class AttachmentUploadSchema(ma.Schema):
    """A file sent with a message, its content in base64; loads as an ``UploadedFile``."""

    class Meta:
        unknown = ma.RAISE

    filename = fields.Str(required=True, validate=validate.Length(1, 255))
    content_type = fields.Str(
        load_default="application/octet-stream", validate=validate.Length(1, 127)
    )
    content_base64 = fields.Str(
        required=True, metadata={"description": "The file's bytes, base64 (RFC 4648)"}
    )

    @ma.post_load
    def _decode(self, data: dict[str, Any], **_: Any) -> UploadedFile:
        try:
            content = base64.b64decode(data["content_base64"], validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ma.ValidationError("Not valid base64.", "content_base64") from exc
        return UploadedFile(data["filename"], data["content_type"], content)


def _uploads() -> fields.List:
    return fields.List(
        fields.Nested(AttachmentUploadSchema),
        load_default=list,
        validate=validate.Length(max=MAX_UPLOADS),
        metadata={"description": f"Files to attach (at most {MAX_UPLOADS})"},
    )


class TicketCreateSchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    subject = fields.Str(required=True, validate=validate.Length(1, 255))
    body = fields.Str(metadata={"description": "Plain text of the customer's first message"})
    body_html = fields.Str(metadata={"description": "HTML version; sanitized on arrival"})
    channel = fields.Str(load_default="api", validate=validate.OneOf(CHANNELS))
    customer_id = fields.Int()
    customer = fields.Nested(
        CustomerRefArgs, metadata={"description": "Found or created by identity"}
    )
    priority = fields.Str(load_default="normal", validate=validate.OneOf(PRIORITIES))
    group_id = fields.Int(allow_none=True)
    assignee_id = fields.Int(allow_none=True)
    tags = fields.List(fields.Str(validate=validate.Length(1, 64)), load_default=list)
    attachments = _uploads()

    @ma.validates_schema
    def _one_customer(self, data: dict[str, Any], **_: Any) -> None:
        if ("customer_id" in data) == ("customer" in data):
            raise ma.ValidationError("Give exactly one of customer_id and customer.", "customer")
        if not data.get("body") and not data.get("body_html") and not data.get("attachments"):
            raise ma.ValidationError("The first message needs a body.", "body")


class TicketUpdateSchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    subject = fields.Str(validate=validate.Length(1, 255))
    status = fields.Str(validate=validate.OneOf(STATUSES))
    priority = fields.Str(validate=validate.OneOf(PRIORITIES))
    group_id = fields.Int(allow_none=True)
    assignee_id = fields.Int(allow_none=True)
    tags = fields.List(fields.Str(validate=validate.Length(1, 64)))
    version = fields.Int(metadata={"description": "The version you saw; 409 if it changed since"})


class MergeSchema(ma.Schema):
    target_id = fields.Int(required=True)


class AttachmentSchema(ma.Schema):
    id = fields.Int()
    filename = fields.Str()
    content_type = fields.Str()
    size = fields.Int()
    sha256 = fields.Str()


class MessageSchema(ma.Schema):
    id = fields.Int()
    ticket_id = fields.Int()
    direction = fields.Str(metadata={"enum": ["in", "out"]})
    kind = fields.Str()
    is_public = fields.Bool()
    author_user_id = fields.Int(allow_none=True)
    author_customer_id = fields.Int(allow_none=True)
    body_text = fields.Str()
    body_html = fields.Str()
    external_id = fields.Str(allow_none=True)
    created_at = fields.DateTime()
    attachments = fields.List(fields.Nested(AttachmentSchema))


class ServiceSummarySchema(ma.Schema):
    open_tickets = fields.Int()
    lifetime_tickets = fields.Int()
    last_contact_at = fields.DateTime(allow_none=True)
    avg_first_response_seconds = fields.Int(allow_none=True)
    avg_resolution_seconds = fields.Int(allow_none=True)
    breached_slas = fields.Int(metadata={"description": "SLA targets of their tickets breached"})


class TimelineArgs(ma.Schema):
    kind = fields.Str(
        load_default="all",
        validate=validate.OneOf(list(TIMELINE_KINDS)),
        metadata={
            "description": "all; messages (every message); public (conversations); notes "
            "(internal notes on tickets and profile notes); calls; chats; events (business "
            "events); sla (SLA breaches)"
        },
    )
    cursor = fields.Str()
    limit = fields.Int(load_default=30, validate=validate.Range(1, 100))


class TimelineTicketSchema(ma.Schema):
    number = fields.Int()
    subject = fields.Str()
    status = fields.Str()


class TimelineSlaBreachSchema(ma.Schema):
    id = fields.Int()
    ticket_id = fields.Int()
    kind = fields.Str(metadata={"enum": ["first_response", "next_response", "resolution"]})
    due_at = fields.DateTime()
    breached_at = fields.DateTime()


class TimelineEntrySchema(ma.Schema):
    kind = fields.Str(
        metadata={
            "enum": ["message", "note", "event", "sla_breach"],
            "description": "Which of message (with ticket), note, event or sla_breach (with "
            "ticket) is set",
        }
    )
    at = fields.DateTime(metadata={"description": "When it happened; the timeline's order"})
    message = fields.Nested(MessageSchema)
    ticket = fields.Nested(TimelineTicketSchema)
    note = fields.Nested("CustomerNoteSchema", metadata={"description": "A note on the profile"})
    event = fields.Nested("CustomerEventSchema", metadata={"description": "A business event"})
    sla_breach = fields.Nested(TimelineSlaBreachSchema)


class TimelinePageSchema(ma.Schema):
    items = fields.List(fields.Nested(TimelineEntrySchema))
    next_cursor = fields.Str(allow_none=True)


class ReplySchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    body = fields.Str()
    body_html = fields.Str()
    status = fields.Str(validate=validate.OneOf(["open", "pending", "on-hold", "solved"]))
    version = fields.Int()
    seen_message_id = fields.Int(
        metadata={"description": "Refuse (409 replied_meanwhile) if newer public messages exist"}
    )
    attachments = _uploads()

    @ma.validates_schema
    def _some_body(self, data: dict[str, Any], **_: Any) -> None:
        if (
            not (data.get("body") or "").strip()
            and not data.get("body_html")
            and not data.get("attachments")
        ):
            raise ma.ValidationError("A body is required.", "body")


class NoteSchema(ReplySchema):
    class Meta:
        unknown = ma.RAISE
        exclude = ("status", "version")


class CallSchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    body = fields.Str(metadata={"description": "What was said on the call (plain text)"})
    attachments = _uploads()

    @ma.validates_schema
    def _some_body(self, data: dict[str, Any], **_: Any) -> None:
        if not (data.get("body") or "").strip() and not data.get("attachments"):
            raise ma.ValidationError("A body is required.", "body")


class AuditEventSchema(ma.Schema):
    id = fields.Int()
    action = fields.Str()
    actor_user_id = fields.Int(allow_none=True)
    actor_customer_id = fields.Int(allow_none=True)
    changes = fields.Dict()
    data = fields.Dict()
    created_at = fields.DateTime()


class IdentitySchema(ma.Schema):
    kind = fields.Str(required=True, validate=validate.OneOf(IDENTITY_KINDS))
    value = fields.Str(required=True, validate=validate.Length(1, 320))


class CustomerSchema(ma.Schema):
    id = fields.Int()
    name = fields.Str()
    organization = fields.Nested(Ref, allow_none=True)
    locale = fields.Str(allow_none=True)
    tier = fields.Str(allow_none=True, metadata={"description": "Service level, for SLA policies"})
    merged_into_id = fields.Int(
        allow_none=True, metadata={"description": "Set when merged: the customer that survived"}
    )
    identities = fields.List(fields.Nested(IdentitySchema))
    created_at = fields.DateTime()
    owner_id = fields.Int(
        allow_none=True, metadata={"description": "The account manager (a staff user id)"}
    )
    tags = fields.Function(tag_names, metadata={"description": "Tag names, by name"})
    attributes = fields.Function(
        lambda c: dict(c.attributes or {}),
        metadata={"description": "Custom attributes: text, numbers or true/false by name"},
    )
    updated_at = fields.DateTime()


class CustomerUpdateSchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    name = fields.Str(validate=validate.Length(1, 200))
    locale = fields.Str(allow_none=True, validate=validate.OneOf(["en", "ko"]))
    tier = fields.Str(allow_none=True, metadata={"description": "e.g. gold or vip"})
    owner_id = fields.Int(
        allow_none=True, metadata={"description": "An active staff user; null for none"}
    )
    tags = fields.List(
        fields.Str(validate=validate.Length(1, 64)),
        metadata={"description": "The complete new list (at most 30)"},
    )
    attributes = fields.Dict(
        keys=fields.Str(),
        values=fields.Raw(allow_none=True),
        metadata={
            "description": "Merged into the current attributes; a null value removes the key. "
            "Names: up to 40 of a-z 0-9 _ -; values: text (up to 500), number or boolean; "
            "at most 50 attributes."
        },
    )


class CustomerNoteSchema(ma.Schema):
    id = fields.Int()
    customer_id = fields.Int()
    author_id = fields.Int(allow_none=True)
    body = fields.Str(metadata={"description": "Plain text"})
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class CustomerNoteWriteSchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    body = fields.Str(required=True, validate=validate.Length(1, 10_000))


class OrganizationSchema(ma.Schema):
    id = fields.Int()
    name = fields.Str()
    domain = fields.Str(allow_none=True)
    created_at = fields.DateTime()
    member_count = fields.Int(metadata={"description": "Customers in it (merged ones left out)"})


class OrganizationMembersArgs(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    cursor = fields.Str()
    limit = fields.Int(load_default=50, validate=validate.Range(1, 100))


class OrganizationMemberPageSchema(ma.Schema):
    items = fields.List(fields.Nested(CustomerSchema))
    next_cursor = fields.Str(allow_none=True)


class DuplicateSchema(ma.Schema):
    customer = fields.Nested(CustomerSchema)
    reasons = fields.List(fields.Str(metadata={"enum": ["email", "name"]}))


class CustomerMergeSchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    target_id = fields.Int(required=True, metadata={"description": "The customer that survives"})


class CustomerCreateSchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    name = fields.Str(required=True, validate=validate.Length(1, 200))
    identities = fields.List(
        fields.Nested(IdentitySchema), required=True, validate=validate.Length(min=1)
    )
    organization_id = fields.Int(allow_none=True)
    locale = fields.Str(allow_none=True, validate=validate.OneOf(["en", "ko"]))
    tier = fields.Str(
        allow_none=True, metadata={"description": "e.g. gold or vip; SLA policies can match it"}
    )


class CustomerSearchArgs(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    kind = fields.Str(required=True, validate=validate.OneOf(IDENTITY_KINDS))
    value = fields.Str(required=True)


class CustomerTicketArgs(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    cursor = fields.Str()
    limit = fields.Int(load_default=25, validate=validate.Range(1, MAX_LIMIT))


class UserSchema(ma.Schema):
    id = fields.Int()
    email = fields.Str()
    name = fields.Str()
    role = fields.Str(metadata={"enum": [r.value for r in Role]})
    locale = fields.Str()
    timezone = fields.Str()
    groups = fields.List(fields.Nested(Ref))


def as_utc(value: Any) -> Any:
    return value.astimezone(UTC) if value is not None else None


class FollowStateSchema(ma.Schema):
    following = fields.Bool()
    started = fields.Bool(metadata={"description": "False if you already followed it"})


class CustomerEventCreateSchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    customer_id = fields.Int()
    customer = fields.Nested(CustomerRefArgs, metadata={"description": "Found or created"})
    kind = fields.Str(required=True, metadata={"example": "order"})
    title = fields.Str(required=True, validate=validate.Length(1, 200))
    occurred_at = fields.Str(
        required=True, metadata={"description": "ISO 8601 with a zone", "format": "date-time"}
    )
    data = fields.Dict(metadata={"description": "amount, currency, url... (at most 30 values)"})
    source = fields.Str(load_default="api", metadata={"description": "The sending system"})
    external_id = fields.Str(metadata={"description": "Its id there: a repeat is not added"})


class CustomerEventSchema(ma.Schema):
    id = fields.Int()
    customer_id = fields.Int()
    kind = fields.Str()
    title = fields.Str()
    occurred_at = fields.DateTime()
    data = fields.Dict()
    source = fields.Str()
    external_id = fields.Str(allow_none=True)


class CustomerEventArgs(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    cursor = fields.Str()
    limit = fields.Int(load_default=25, validate=validate.Range(1, 100))


class CustomerEventPageSchema(ma.Schema):
    items = fields.List(fields.Nested(CustomerEventSchema))
    next_cursor = fields.Str(allow_none=True)


class CustomerImportArgs(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    kind = fields.Str(required=True, validate=validate.OneOf(["customers", "events"]))


class ImportProblemSchema(ma.Schema):
    row = fields.Int()
    field = fields.Str()
    reason = fields.Str()


class ImportReportSchema(ma.Schema):
    rows = fields.Int()
    created = fields.Int()
    unchanged = fields.Int()
    problems = fields.List(fields.Nested(ImportProblemSchema))
