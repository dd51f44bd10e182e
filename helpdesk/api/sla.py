"""``/api/v1/sla``: business calendars and SLA policies (admins change them; staff read them),
a ticket's SLA history, and compliance reports. Thin views over ``services.sla_*``."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from flask import url_for
from flask.views import MethodView
from flask_smorest import Blueprint

from ..services import sla_admin, sla_clock, sla_report, tickets
from .auth import actor, authenticate_request
from .sla_schemas import (
    CalendarSchema,
    HolidayArgs,
    HolidaySchema,
    PolicySchema,
    ReportArgs,
    ReportRowSchema,
    TargetSchema,
)

blp = Blueprint(
    "sla",
    __name__,
    url_prefix="/sla",
    description="SLA calendars, policies, ticket targets and compliance reports",
)
blp.before_request(authenticate_request)


@blp.route("/calendars")
class Calendars(MethodView):
    @blp.response(200, CalendarSchema(many=True))
    def get(self) -> Any:
        """Every business calendar, by name."""
        return sla_admin.list_calendars(actor())

    @blp.arguments(CalendarSchema)
    @blp.response(201, CalendarSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Create a calendar (admins)."""
        row = sla_admin.save_calendar(actor(), data)
        return row, {"Location": url_for("sla.CalendarItem", calendar_id=row.id)}


@blp.route("/calendars/<int:calendar_id>")
class CalendarItem(MethodView):
    @blp.response(200, CalendarSchema)
    def get(self, calendar_id: int) -> Any:
        """One calendar."""
        return sla_admin.get_calendar(actor(), calendar_id)

    @blp.arguments(CalendarSchema)
    @blp.response(200, CalendarSchema)
    def put(self, data: dict[str, Any], calendar_id: int) -> Any:
        """Replace a calendar (admins). Open tickets' due times follow within seconds."""
        return sla_admin.save_calendar(actor(), data, calendar_id)

    @blp.response(204)
    def delete(self, calendar_id: int) -> None:
        """Delete a calendar no policy uses (admins)."""
        sla_admin.delete_calendar(actor(), calendar_id)


@blp.route("/calendars/<int:calendar_id>/holidays")
class CalendarHolidays(MethodView):
    @blp.arguments(HolidayArgs, location="query")
    @blp.response(200, HolidaySchema(many=True))
    def get(self, args: dict[str, Any], calendar_id: int) -> Any:
        """The days the calendar is closed for holidays in a year."""
        return sla_admin.calendar_holidays(actor(), calendar_id, args["year"])


@blp.route("/policies")
class Policies(MethodView):
    @blp.response(200, PolicySchema(many=True))
    def get(self) -> Any:
        """Every policy in the order they are tried; the first that matches a ticket wins."""
        return sla_admin.list_policies(actor())

    @blp.arguments(PolicySchema)
    @blp.response(201, PolicySchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Create a policy (admins). Open tickets are re-matched within seconds."""
        row = sla_admin.save_policy(actor(), data)
        return row, {"Location": url_for("sla.PolicyItem", policy_id=row.id)}


@blp.route("/policies/<int:policy_id>")
class PolicyItem(MethodView):
    @blp.response(200, PolicySchema)
    def get(self, policy_id: int) -> Any:
        """One policy."""
        return sla_admin.get_policy(actor(), policy_id)

    @blp.arguments(PolicySchema)
    @blp.response(200, PolicySchema)
    def put(self, data: dict[str, Any], policy_id: int) -> Any:
        """Replace a policy (admins)."""
        return sla_admin.save_policy(actor(), data, policy_id)

    @blp.response(204)
    def delete(self, policy_id: int) -> None:
        """Delete a policy (admins); its tickets' SLA history stays."""
        sla_admin.delete_policy(actor(), policy_id)


@blp.route("/tickets/<int:ticket_id>")
class TicketTargets(MethodView):
    @blp.response(200, TargetSchema(many=True))
    def get(self, ticket_id: int) -> Any:
        """A ticket's SLA history: every target it ran, with due, achieved and breach times."""
        return sla_clock.ticket_targets(tickets.get_ticket(actor(), ticket_id))


@blp.route("/report")
class Report(MethodView):
    @blp.arguments(ReportArgs, location="query")
    @blp.response(200, ReportRowSchema(many=True))
    def get(self, args: dict[str, Any]) -> Any:
        """Compliance over a period (`from`, `to`) by policy, group, agent or channel."""
        start, end = (
            d if d.tzinfo else d.replace(tzinfo=UTC) for d in (args["start"], args["end"])
        )
        return sla_report.compliance(actor(), start, end, args["by"])
