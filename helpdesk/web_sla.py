"""SLA set-up for admins: business calendars and SLA policies, as plain forms.

The views turn a form into the ``data`` the services take and show what the services say;
``services.sla_admin`` validates everything. A refused form is shown again as the admin typed
it, with the message next to the field it is about.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.datastructures import MultiDict

from .models import PRIORITY_NAMES, Channel, SlaCalendar, SlaPolicy
from .services import sla_admin, users
from .services.errors import Conflict, Invalid
from .services.permissions import Actor, Permission
from .webui import bp, field_errors, form_number, me_allowed

# Offered in the time zone field; any IANA name may be typed.
TIMEZONES = (
    "Asia/Seoul",
    "Asia/Tokyo",
    "Asia/Shanghai",
    "Asia/Singapore",
    "Asia/Kolkata",
    "UTC",
    "Europe/London",
    "Europe/Berlin",
    "Europe/Paris",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "Australia/Sydney",
)
# Offered in the holiday country select (names come from the viewer's locale).
HOLIDAY_COUNTRIES = ("KR", "JP", "CN", "TW", "SG", "US", "CA", "GB", "DE", "FR", "AU", "IN")
DEFAULT_HOURS = ["09:00-18:00"] * 5 + ["", ""]
_DATE_SEPARATORS = re.compile(r"[\s,;]+")


def _commas(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


# --- the list ------------------------------------------------------------------------------


@bp.app_template_filter("sla_minutes")
def sla_minutes(minutes: int | None) -> str:
    """Business minutes as people read them: "30m", "8h", "1h 30m"."""
    if not minutes:
        return "—"
    hours, rest = divmod(int(minutes), 60)
    if hours and rest:
        return _("{h}h {m}m").replace("{h}", str(hours)).replace("{m}", str(rest))
    if hours:
        return _("{h}h").replace("{h}", str(hours))
    return _("{m}m").replace("{m}", str(rest))


def _weekday_names(width: str = "abbreviated") -> list[str]:
    """Monday first, in the viewer's language."""
    days = get_locale().days["format"][width]  # type: ignore[union-attr]
    return [str(days[i]) for i in range(7)]


def _country_name(code: str | None) -> str:
    if not code:
        return ""
    return str(get_locale().territories.get(code, code))  # type: ignore[union-attr]


def _week_summary(calendar: SlaCalendar) -> list[str]:
    """Weekly hours, consecutive days with the same shifts together: "Mon–Fri 09:00-18:00"."""
    if calendar.always_open:
        return [_("24/7")]
    names = _weekday_names()
    runs: list[tuple[int, int, list[str]]] = []
    for day, shifts in enumerate(calendar.hours):
        if runs and runs[-1][2] == shifts and runs[-1][1] == day - 1:
            runs[-1] = (runs[-1][0], day, shifts)
        else:
            runs.append((day, day, shifts))
    return [
        f"{names[first]}{'–' + names[last] if last > first else ''} {', '.join(shifts)}"
        for first, last, shifts in runs
        if shifts
    ]


@bp.get("/admin/sla")
@login_required
def sla_admin_page():  # type: ignore[no-untyped-def]
    actor = me_allowed(Permission.SLA_ADMIN)
    calendars = sla_admin.list_calendars(actor)
    return render_template(
        "sla_admin.html",
        calendars=calendars,
        policies=sla_admin.list_policies(actor),
        calendar_names={c.id: c.name for c in calendars},
        group_names={g.id: g.name for g in users.list_groups(actor)},
        week_summary=_week_summary,
        country_name=_country_name,
    )


# --- calendars -----------------------------------------------------------------------------


def _calendar_values(row: SlaCalendar | None) -> dict[str, Any]:
    """The calendar form's fields, as text, for a stored calendar or a new one."""
    if row is None:
        return {
            "name": "",
            "timezone": current_user.timezone or "UTC",
            "always_open": False,
            "hours": list(DEFAULT_HOURS),
            "holiday_country": "",
            "holiday_subdivision": "",
            "extra_holidays": "",
            "removed_holidays": "",
        }
    hours = list(row.hours or [])
    return {
        "name": row.name,
        "timezone": row.timezone,
        "always_open": row.always_open,
        "hours": [", ".join(hours[i]) if i < len(hours) else "" for i in range(7)],
        "holiday_country": row.holiday_country or "",
        "holiday_subdivision": row.holiday_subdivision or "",
        "extra_holidays": "\n".join(row.extra_holidays or []),
        "removed_holidays": "\n".join(row.removed_holidays or []),
    }


def _calendar_posted(form: MultiDict[str, str]) -> dict[str, Any]:
    return {
        "name": form.get("name", ""),
        "timezone": form.get("timezone", "").strip(),
        "always_open": "always_open" in form,
        "hours": [form.get(f"hours-{day}", "") for day in range(7)],
        "holiday_country": form.get("holiday_country", "").strip(),
        "holiday_subdivision": form.get("holiday_subdivision", "").strip(),
        "extra_holidays": form.get("extra_holidays", ""),
        "removed_holidays": form.get("removed_holidays", ""),
    }


def _calendar_data(values: dict[str, Any]) -> dict[str, Any]:
    """The form's fields as ``sla_admin.save_calendar`` takes them."""
    return {
        "name": values["name"],
        "timezone": values["timezone"],
        "always_open": values["always_open"],
        "hours": [_commas(day) for day in values["hours"]],
        "holiday_country": values["holiday_country"] or None,
        "holiday_subdivision": values["holiday_subdivision"] or None,
        "extra_holidays": [d for d in _DATE_SEPARATORS.split(values["extra_holidays"]) if d],
        "removed_holidays": [d for d in _DATE_SEPARATORS.split(values["removed_holidays"]) if d],
    }


def _holidays(actor: Actor, calendar_id: int) -> list[tuple[int, list[dict[str, str]]]]:
    """This year's and next year's holidays of a stored calendar."""
    names = _weekday_names()
    years = []
    for year in (date.today().year, date.today().year + 1):
        days = sla_admin.calendar_holidays(actor, calendar_id, year)
        for day in days:
            day["weekday"] = names[date.fromisoformat(day["date"]).weekday()]
        years.append((year, days))
    return years


def _render_calendar(
    actor: Actor,
    values: dict[str, Any],
    calendar: SlaCalendar | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
):  # type: ignore[no-untyped-def]
    countries = list(HOLIDAY_COUNTRIES)
    if values["holiday_country"] and values["holiday_country"].upper() not in countries:
        countries.append(values["holiday_country"].upper())  # set elsewhere, e.g. the API
    page = render_template(
        "sla_calendar.html",
        calendar=calendar,
        values=values,
        errors=errors or {},
        weekdays=_weekday_names("wide"),
        timezones=TIMEZONES,
        countries=[(code, _country_name(code)) for code in countries],
        holidays=_holidays(actor, calendar.id) if calendar is not None else [],
    )
    return page, status


def _save_calendar(actor: Actor, calendar: SlaCalendar | None):  # type: ignore[no-untyped-def]
    values = _calendar_posted(request.form)
    try:
        sla_admin.save_calendar(
            actor, _calendar_data(values), calendar.id if calendar is not None else None
        )
    except Invalid as exc:
        flash(exc.message, "error")
        return _render_calendar(actor, values, calendar, field_errors(exc), 422)
    except Conflict as exc:
        flash(exc.message, "error")
        return _render_calendar(actor, values, calendar, field_errors(exc), 409)
    flash(_("Calendar saved."), "success")
    return redirect(url_for("web.sla_admin_page"))


@bp.route("/admin/sla/calendars/new", methods=["GET", "POST"])
@login_required
def sla_calendar_new():  # type: ignore[no-untyped-def]
    actor = me_allowed(Permission.SLA_ADMIN)
    if request.method == "POST":
        return _save_calendar(actor, None)
    return _render_calendar(actor, _calendar_values(None))


@bp.route("/admin/sla/calendars/<int:calendar_id>", methods=["GET", "POST"])
@login_required
def sla_calendar_edit(calendar_id: int):  # type: ignore[no-untyped-def]
    actor = me_allowed(Permission.SLA_ADMIN)
    calendar = sla_admin.get_calendar(actor, calendar_id)
    if request.method == "POST":
        return _save_calendar(actor, calendar)
    return _render_calendar(actor, _calendar_values(calendar), calendar)


@bp.post("/admin/sla/calendars/<int:calendar_id>/delete")
@login_required
def sla_calendar_delete(calendar_id: int):  # type: ignore[no-untyped-def]
    actor = me_allowed(Permission.SLA_ADMIN)
    try:
        sla_admin.delete_calendar(actor, calendar_id)
    except Conflict as exc:  # policies still use it
        flash(exc.message, "error")
        return redirect(url_for("web.sla_calendar_edit", calendar_id=calendar_id))
    flash(_("Calendar deleted."), "success")
    return redirect(url_for("web.sla_admin_page"))


# --- policies ------------------------------------------------------------------------------


def _policy_values(row: SlaPolicy | None, position: int = 0) -> dict[str, Any]:
    """The policy form's fields, as text and lists of text, for a stored policy or a new one."""
    if row is None:
        return {
            "name": "",
            "position": str(position),
            "is_active": True,
            "calendar_id": "",
            "first_response_minutes": "",
            "next_response_minutes": "",
            "resolution_minutes": "",
            "warning_percent": "80",
            "pause_statuses": ["pending", "on-hold"],
            "priorities": [],
            "channels": [],
            "group_ids": [],
            "organization_ids": [],
            "tags": "",
            "customer_tiers": "",
            "escalations": {
                stage: {"notify": True, "raise_priority": False, "group_id": ""}
                for stage in sla_admin.STAGES
            },
        }
    conditions = row.conditions or {}
    escalations = row.escalations or {}

    def text(value: int | None) -> str:
        return "" if value is None else str(value)

    return {
        "name": row.name,
        "position": str(row.position),
        "is_active": row.is_active,
        "calendar_id": str(row.calendar_id),
        "first_response_minutes": text(row.first_response_minutes),
        "next_response_minutes": text(row.next_response_minutes),
        "resolution_minutes": text(row.resolution_minutes),
        "warning_percent": str(row.warning_percent),
        "pause_statuses": list(row.pause_statuses or []),
        "priorities": list(conditions.get("priorities") or []),
        "channels": list(conditions.get("channels") or []),
        "group_ids": [str(i) for i in conditions.get("group_ids") or []],
        "organization_ids": [str(i) for i in conditions.get("organization_ids") or []],
        "tags": ", ".join(conditions.get("tags") or []),
        "customer_tiers": ", ".join(conditions.get("customer_tiers") or []),
        "escalations": {
            stage: {
                "notify": bool((escalations.get(stage) or {}).get("notify", True)),
                "raise_priority": bool((escalations.get(stage) or {}).get("raise_priority")),
                "group_id": text((escalations.get(stage) or {}).get("group_id")),
            }
            for stage in sla_admin.STAGES
        },
    }


def _policy_posted(form: MultiDict[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {
        name: form.get(name, "")
        for name in (
            "name",
            "position",
            "calendar_id",
            "first_response_minutes",
            "next_response_minutes",
            "resolution_minutes",
            "warning_percent",
            "tags",
            "customer_tiers",
        )
    }
    values["is_active"] = "is_active" in form
    for name in ("pause_statuses", "priorities", "channels", "group_ids", "organization_ids"):
        values[name] = form.getlist(name)
    values["escalations"] = {
        stage: {
            "notify": f"{stage}-notify" in form,
            "raise_priority": f"{stage}-raise_priority" in form,
            "group_id": form.get(f"{stage}-group_id", ""),
        }
        for stage in sla_admin.STAGES
    }
    return values


def _policy_data(values: dict[str, Any]) -> dict[str, Any]:
    """The form's fields as ``sla_admin.save_policy`` takes them; an empty target is none."""
    position = form_number(values["position"])
    if isinstance(position, str):
        # The service would take the text for a number and fail; say what is wrong instead.
        raise Invalid(_("The position is a whole number."), fields={"position": ["invalid"]})
    data: dict[str, Any] = {
        "name": values["name"],
        "position": position or 0,
        "is_active": values["is_active"],
        "calendar_id": form_number(values["calendar_id"]),
        "first_response_minutes": form_number(values["first_response_minutes"]),
        "next_response_minutes": form_number(values["next_response_minutes"]),
        "resolution_minutes": form_number(values["resolution_minutes"]),
        "pause_statuses": values["pause_statuses"],
        "conditions": {
            "priorities": values["priorities"],
            "channels": values["channels"],
            "group_ids": values["group_ids"],
            "organization_ids": values["organization_ids"],  # kept as set through the API
            "tags": _commas(values["tags"]),
            "customer_tiers": _commas(values["customer_tiers"]),
        },
        "escalations": {
            stage: {
                "notify": step["notify"],
                "raise_priority": step["raise_priority"],
                "group_id": form_number(step["group_id"]),
            }
            for stage, step in values["escalations"].items()
        },
    }
    percent = form_number(values["warning_percent"])
    if percent is not None:  # empty: the service's default
        data["warning_percent"] = percent
    return data


def _render_policy(
    actor: Actor,
    values: dict[str, Any],
    policy: SlaPolicy | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
):  # type: ignore[no-untyped-def]
    page = render_template(
        "sla_policy.html",
        policy=policy,
        values=values,
        errors=errors or {},
        calendars=sla_admin.list_calendars(actor),
        groups=users.list_groups(actor),
        priorities=list(PRIORITY_NAMES.values()),
        channels=[c.value for c in Channel],
        pausable=sla_admin.PAUSABLE,
        stages=sla_admin.STAGES,
    )
    return page, status


def _save_policy(actor: Actor, policy: SlaPolicy | None):  # type: ignore[no-untyped-def]
    values = _policy_posted(request.form)
    try:
        sla_admin.save_policy(
            actor, _policy_data(values), policy.id if policy is not None else None
        )
    except Invalid as exc:
        flash(exc.message, "error")
        return _render_policy(actor, values, policy, field_errors(exc), 422)
    except Conflict as exc:
        flash(exc.message, "error")
        return _render_policy(actor, values, policy, field_errors(exc), 409)
    flash(_("Policy saved."), "success")
    return redirect(url_for("web.sla_admin_page"))


@bp.route("/admin/sla/policies/new", methods=["GET", "POST"])
@login_required
def sla_policy_new():  # type: ignore[no-untyped-def]
    actor = me_allowed(Permission.SLA_ADMIN)
    if request.method == "POST":
        return _save_policy(actor, None)
    positions = [p.position for p in sla_admin.list_policies(actor)]
    values = _policy_values(None, max(positions) + 1 if positions else 0)
    calendars = sla_admin.list_calendars(actor)
    if len(calendars) == 1:
        values["calendar_id"] = str(calendars[0].id)
    return _render_policy(actor, values)


@bp.route("/admin/sla/policies/<int:policy_id>", methods=["GET", "POST"])
@login_required
def sla_policy_edit(policy_id: int):  # type: ignore[no-untyped-def]
    actor = me_allowed(Permission.SLA_ADMIN)
    policy = sla_admin.get_policy(actor, policy_id)
    if request.method == "POST":
        return _save_policy(actor, policy)
    return _render_policy(actor, _policy_values(policy), policy)


@bp.post("/admin/sla/policies/<int:policy_id>/delete")
@login_required
def sla_policy_delete(policy_id: int):  # type: ignore[no-untyped-def]
    sla_admin.delete_policy(me_allowed(Permission.SLA_ADMIN), policy_id)
    flash(_("Policy deleted."), "success")
    return redirect(url_for("web.sla_admin_page"))
