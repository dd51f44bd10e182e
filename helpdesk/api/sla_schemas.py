"""Request and response shapes of the SLA API. The services validate the content; these
schemas describe it for OpenAPI and reject unknown keys."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from ..models import PRIORITY_NAMES, Channel
from ..services.sla_admin import PAUSABLE, STAGES
from ..services.sla_report import DIMENSIONS

_SHIFTS = fields.List(
    fields.List(fields.Str(metadata={"example": "09:00-18:00"})),
    metadata={"description": "Seven lists of shifts, Monday first; a shift may pass midnight"},
)


_DATE = fields.Str(metadata={"format": "date", "example": "2026-12-31"})


class CalendarSchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    id = fields.Int(dump_only=True)
    name = fields.Str(required=True, validate=validate.Length(1, 100))
    timezone = fields.Str(load_default="UTC", metadata={"example": "Asia/Seoul"})
    always_open = fields.Bool(load_default=False, metadata={"description": "24/7"})
    hours = _SHIFTS
    holiday_country = fields.Str(
        allow_none=True,
        metadata={"description": "ISO country whose public holidays close the calendar, e.g. KR"},
    )
    holiday_subdivision = fields.Str(allow_none=True)
    # ISO dates as text, the way they are stored; the service checks them.
    extra_holidays = fields.List(_DATE, metadata={"description": "Company days off"})
    removed_holidays = fields.List(
        _DATE, metadata={"description": "Public holidays the team works anyway"}
    )


class HolidaySchema(ma.Schema):
    date = _DATE
    name = fields.Str()


class HolidayArgs(ma.Schema):
    year = fields.Int(required=True, validate=validate.Range(1900, 2200))


class ConditionsSchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    priorities = fields.List(fields.Str(validate=validate.OneOf(list(PRIORITY_NAMES.values()))))
    group_ids = fields.List(fields.Int())
    channels = fields.List(fields.Str(validate=validate.OneOf([c.value for c in Channel])))
    tags = fields.List(fields.Str(), metadata={"description": "Any of these tags"})
    organization_ids = fields.List(fields.Int())
    customer_tiers = fields.List(fields.Str())


class EscalationSchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    notify = fields.Bool(metadata={"description": "Tell the assignee and the group's leads"})
    raise_priority = fields.Bool(metadata={"description": "One step up, at most urgent"})
    group_id = fields.Int(allow_none=True, metadata={"description": "Reassign to this group"})


class PolicySchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    id = fields.Int(dump_only=True)
    name = fields.Str(required=True, validate=validate.Length(1, 100))
    position = fields.Int(load_default=0, metadata={"description": "Lower is tried first"})
    is_active = fields.Bool(load_default=True)
    calendar_id = fields.Int(required=True)
    conditions = fields.Nested(ConditionsSchema, load_default=dict)
    first_response_minutes = fields.Int(
        allow_none=True, metadata={"description": "Business minutes"}
    )
    next_response_minutes = fields.Int(allow_none=True)
    resolution_minutes = fields.Int(allow_none=True)
    warning_percent = fields.Int(load_default=80, validate=validate.Range(1, 99))
    pause_statuses = fields.List(fields.Str(validate=validate.OneOf(PAUSABLE)))
    escalations = fields.Dict(
        keys=fields.Str(validate=validate.OneOf(STAGES)),
        values=fields.Nested(EscalationSchema),
        load_default=dict,
    )


class TargetSchema(ma.Schema):
    id = fields.Int()
    kind = fields.Str()
    cycle = fields.Int()
    policy_id = fields.Int(allow_none=True)
    state = fields.Str(
        metadata={"enum": ["running", "warning", "paused", "achieved", "breached", "cancelled"]}
    )
    target_minutes = fields.Int()
    started_at = fields.DateTime()
    due_at = fields.DateTime()
    warn_at = fields.DateTime()
    achieved_at = fields.DateTime(allow_none=True)
    breached_at = fields.DateTime(allow_none=True)
    cancelled_at = fields.DateTime(allow_none=True)
    paused_seconds = fields.Int(metadata={"description": "Business time spent paused"})
    overrun_seconds = fields.Int(allow_none=True, metadata={"description": "Business time late"})


class ReportArgs(ma.Schema):
    start = fields.DateTime(required=True, data_key="from")
    end = fields.DateTime(required=True, data_key="to")
    by = fields.Str(load_default="policy", validate=validate.OneOf(DIMENSIONS))


class ReportRowSchema(ma.Schema):
    key = fields.Raw(
        allow_none=True, metadata={"description": "Policy, group or user id, or channel"}
    )
    name = fields.Str(allow_none=True)
    kind = fields.Str()
    met = fields.Int()
    breached = fields.Int()
    open = fields.Int()
    compliance = fields.Float(allow_none=True, metadata={"description": "met / (met + breached)"})
