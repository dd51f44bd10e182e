"""Setting up SLAs: business calendars and policies (admins only), validated here once.

Every change bumps the rules version (``sla_rules.rules_changed``) in its transaction; the SLA
ticker then re-matches open tickets, so that a policy edit moves their due times too.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import PRIORITY_NAMES, Channel, Group, Organization, SlaCalendar, SlaPolicy, Status
from ..models.base import utcnow
from . import audit
from .business_time import WEEKDAYS, CalendarError, Shift, public_holidays
from .errors import Conflict, Invalid, NotFound
from .permissions import Actor, Permission, require
from .sla_rules import CONDITION_KEYS, DEFAULT_PAUSE_STATUSES, calendar_of, rules_changed
from .ticket_fields import normalize_tags
from .transaction import current_session, transaction

MAX_TARGET_MINUTES = 366 * 24 * 60
STAGES = ("warning", "breach")
PAUSABLE = (Status.NEW.value, Status.OPEN.value, Status.PENDING.value, Status.ON_HOLD.value)
_TIER = re.compile(r"^[\w.-]{1,32}$")


def _bad(field: str, message: Any, detail: str = "invalid") -> Invalid:
    return Invalid(message, fields={field: [detail]})


def _name(data: Mapping[str, Any]) -> str:
    name = " ".join(str(data.get("name") or "").split())
    if not 1 <= len(name) <= 100:
        raise _bad("name", _l("A name of 1 to 100 characters is required."), "required")
    return name


def _dates(data: Mapping[str, Any], key: str) -> list[str]:
    try:
        return sorted({date.fromisoformat(str(d)).isoformat() for d in data.get(key) or []})
    except ValueError as exc:
        raise _bad(key, _l("Dates are written as YYYY-MM-DD.")) from exc


# --- calendars -----------------------------------------------------------------------------


def calendar_dict(row: SlaCalendar) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "timezone": row.timezone,
        "always_open": row.always_open,
        "hours": row.hours,
        "holiday_country": row.holiday_country,
        "holiday_subdivision": row.holiday_subdivision,
        "extra_holidays": row.extra_holidays,
        "removed_holidays": row.removed_holidays,
    }


def _apply_calendar(row: SlaCalendar, data: Mapping[str, Any]) -> None:
    row.name = _name(data)
    # A 24/7 calendar is open in every zone: its zone is only a label, UTC unless given.
    zone = str(data.get("timezone") or "").strip() or ("UTC" if data.get("always_open") else "")
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise _bad(
            "timezone", _l("Unknown time zone: %(zone)s (e.g. Asia/Seoul).", zone=zone)
        ) from exc
    row.timezone = zone
    row.always_open = bool(data.get("always_open"))
    hours = data.get("hours") or [[] for _ in WEEKDAYS]
    if not isinstance(hours, list) or len(hours) != 7:
        raise _bad("hours", _l("Give the hours of seven weekdays, Monday first."))
    try:
        row.hours = [[str(Shift.parse(str(s))) for s in day] for day in hours]
    except CalendarError as exc:
        raise _bad("hours", _l("Hours are shifts like 09:00-18:00: %(error)s", error=exc)) from exc
    country = str(data.get("holiday_country") or "").strip().upper() or None
    subdivision = str(data.get("holiday_subdivision") or "").strip().upper() or None
    if country is not None:
        try:
            public_holidays(country, [date.today().year], subdivision)
        except CalendarError as exc:
            raise _bad(
                "holiday_country", _l("Unknown holiday country or region: %(error)s", error=exc)
            ) from exc
    row.holiday_country, row.holiday_subdivision = country, subdivision if country else None
    row.extra_holidays = _dates(data, "extra_holidays")
    row.removed_holidays = _dates(data, "removed_holidays")
    if row.always_open:
        row.hours, row.holiday_country, row.holiday_subdivision = [[] for _ in WEEKDAYS], None, None
        row.extra_holidays, row.removed_holidays = [], []
    try:
        calendar_of(row)
    except CalendarError as exc:
        raise _bad("hours", _l("This calendar cannot be used: %(error)s", error=exc)) from exc


def list_calendars(actor: Actor) -> list[SlaCalendar]:
    require(actor, Permission.TICKET_READ)
    return list(current_session().scalars(select(SlaCalendar).order_by(SlaCalendar.name)))


def get_calendar(actor: Actor, calendar_id: int) -> SlaCalendar:
    require(actor, Permission.TICKET_READ)
    row = current_session().get(SlaCalendar, calendar_id)
    if row is None:
        raise NotFound(_l("Calendar %(id)s not found.", id=calendar_id))
    return row


def _unique(
    session: Session, model: type[SlaCalendar] | type[SlaPolicy], name: str, own: int | None
) -> None:
    with session.no_autoflush:  # the row being saved already holds the new name
        found = session.scalar(select(model.id).where(func.lower(model.name) == name.lower()))
    if found is not None and found != own:
        raise Conflict(_l("The name %(name)s is already taken.", name=name))


def save_calendar(
    actor: Actor, data: Mapping[str, Any], calendar_id: int | None = None
) -> SlaCalendar:
    """Create a calendar, or replace calendar ``calendar_id`` with ``data``."""
    require(actor, Permission.SLA_ADMIN)
    with transaction() as session:
        row = (
            SlaCalendar(created_at=utcnow())
            if calendar_id is None
            else get_calendar(actor, calendar_id)
        )
        _apply_calendar(row, data)
        _unique(session, SlaCalendar, row.name, calendar_id)
        row.updated_at = utcnow()
        session.add(row)
        session.flush()
        audit.record(session, actor, "sla.calendar.saved", data=calendar_dict(row))
        rules_changed(session)
    return row


def delete_calendar(actor: Actor, calendar_id: int) -> None:
    require(actor, Permission.SLA_ADMIN)
    with transaction() as session:
        row = get_calendar(actor, calendar_id)
        used = session.scalar(select(func.count()).where(SlaPolicy.calendar_id == calendar_id))
        if used:
            raise Conflict(_l("Policies still use the calendar %(name)s.", name=row.name))
        audit.record(session, actor, "sla.calendar.deleted", data={"id": row.id, "name": row.name})
        session.delete(row)
        rules_changed(session)


def calendar_holidays(actor: Actor, calendar_id: int, year: int) -> list[dict[str, str]]:
    """The calendar's holidays in ``year``: the country's, plus extra, minus removed ones."""
    row = get_calendar(actor, calendar_id)
    found: dict[date, str] = {}
    if row.holiday_country:
        language = str(get_locale() or "en")
        try:
            found = public_holidays(row.holiday_country, [year], row.holiday_subdivision, language)
        except CalendarError:  # names in this language unknown: the country's own
            found = public_holidays(row.holiday_country, [year], row.holiday_subdivision)
    for extra in row.extra_holidays:
        day = date.fromisoformat(extra)
        if day.year == year:
            found.setdefault(day, "")
    for removed in row.removed_holidays:
        found.pop(date.fromisoformat(removed), None)
    return [{"date": d.isoformat(), "name": found[d]} for d in sorted(found)]


# --- policies ------------------------------------------------------------------------------


def policy_dict(row: SlaPolicy) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "position": row.position,
        "is_active": row.is_active,
        "calendar_id": row.calendar_id,
        "conditions": row.conditions,
        "first_response_minutes": row.first_response_minutes,
        "next_response_minutes": row.next_response_minutes,
        "resolution_minutes": row.resolution_minutes,
        "warning_percent": row.warning_percent,
        "pause_statuses": row.pause_statuses,
        "escalations": row.escalations,
    }


def _ids(
    session: Session, model: type[Group] | type[Organization], field: str, raw: Any
) -> list[int]:
    try:
        ids = sorted({int(i) for i in raw})
    except (TypeError, ValueError) as exc:
        raise _bad(field, _l("Give a list of ids.")) from exc
    known = set(session.scalars(select(model.id).where(model.id.in_(ids))))
    if unknown := [i for i in ids if i not in known]:
        raise _bad(field, _l("Unknown ids: %(ids)s.", ids=unknown), "unknown")
    return ids


def _conditions(session: Session, raw: Any) -> dict[str, list[Any]]:
    if not isinstance(raw, Mapping):
        raise _bad("conditions", _l("Conditions are an object of lists."))
    if unknown := set(raw) - set(CONDITION_KEYS):
        raise _bad(
            "conditions", _l("Unknown conditions: %(keys)s.", keys=", ".join(sorted(unknown)))
        )
    out: dict[str, list[Any]] = {}
    for key, values in raw.items():
        if not values:
            continue
        if not isinstance(values, list | tuple):
            raise _bad(f"conditions.{key}", _l("Conditions are an object of lists."))
        if key == "priorities":
            out[key] = _choices(key, values, list(PRIORITY_NAMES.values()))
        elif key == "channels":
            out[key] = _choices(key, values, [c.value for c in Channel])
        elif key == "tags":
            try:
                out[key] = normalize_tags([str(v) for v in values])
            except Invalid as exc:
                raise _bad(f"conditions.{key}", exc.message) from exc
        elif key == "group_ids":
            out[key] = _ids(session, Group, f"conditions.{key}", values)
        elif key == "organization_ids":
            out[key] = _ids(session, Organization, f"conditions.{key}", values)
        else:
            tiers = sorted({str(v).strip().lower() for v in values})
            if not all(_TIER.match(t) for t in tiers):
                raise _bad(f"conditions.{key}", _l("Tiers are short words like gold or vip."))
            out[key] = tiers
    return out


def _choices(key: str, values: Any, allowed: list[str]) -> list[str]:
    """``values`` in the order of ``allowed``, or ``Invalid`` naming the unknown ones."""
    given = {str(v) for v in values}
    if unknown := sorted(given - set(allowed)):
        raise _bad(
            f"conditions.{key}",
            _l(
                "Unknown values: %(values)s (use %(allowed)s).",
                values=", ".join(unknown),
                allowed=", ".join(allowed),
            ),
            "unknown",
        )
    return [v for v in allowed if v in given]


def _minutes(data: Mapping[str, Any], key: str) -> int | None:
    raw = data.get(key)
    if raw in (None, "", 0):
        return None
    try:
        minutes = int(raw)
    except (TypeError, ValueError) as exc:
        raise _bad(key, _l("Targets are whole minutes.")) from exc
    if not 1 <= minutes <= MAX_TARGET_MINUTES:
        raise _bad(key, _l("A target is 1 minute to one year."), "out of range")
    return minutes


def _escalations(session: Session, raw: Any) -> dict[str, dict[str, Any]]:
    if not isinstance(raw, Mapping) or set(raw) - set(STAGES):
        raise _bad("escalations", _l("Escalations are given for warning and breach."))
    out: dict[str, dict[str, Any]] = {}
    for stage in STAGES:
        step = raw.get(stage) or {}
        if not isinstance(step, Mapping) or set(step) - {"notify", "raise_priority", "group_id"}:
            raise _bad(
                f"escalations.{stage}",
                _l("An escalation may notify, raise the priority and reassign to a group."),
            )
        group_id = step.get("group_id")
        if group_id not in (None, ""):
            group_id = _ids(session, Group, f"escalations.{stage}.group_id", [group_id])[0]
        else:
            group_id = None
        out[stage] = {
            "notify": bool(step.get("notify", True)),
            "raise_priority": bool(step.get("raise_priority", False)),
            "group_id": group_id,
        }
    return out


def _apply_policy(session: Session, row: SlaPolicy, data: Mapping[str, Any]) -> None:
    row.name = _name(data)
    calendar_id = data.get("calendar_id")
    if not isinstance(calendar_id, int) or session.get(SlaCalendar, calendar_id) is None:
        raise _bad("calendar_id", _l("Choose an existing calendar."), "unknown")
    row.calendar_id = calendar_id
    position = data.get("position") or 0
    if isinstance(position, bool) or not isinstance(position, int) or not 0 <= position <= 10**6:
        raise _bad("position", _l("The position is a whole number from 0 to 1,000,000."))
    row.position = position
    row.is_active = bool(data.get("is_active", True))
    row.conditions = _conditions(session, data.get("conditions") or {})
    row.first_response_minutes = _minutes(data, "first_response_minutes")
    row.next_response_minutes = _minutes(data, "next_response_minutes")
    row.resolution_minutes = _minutes(data, "resolution_minutes")
    if not (row.first_response_minutes or row.next_response_minutes or row.resolution_minutes):
        raise _bad("first_response_minutes", _l("Set at least one target."), "required")
    percent = data.get("warning_percent", 80)
    if isinstance(percent, bool) or not isinstance(percent, int) or not 1 <= percent <= 99:
        raise _bad("warning_percent", _l("The warning comes at 1 to 99 percent of a target."))
    row.warning_percent = percent
    pauses = data.get("pause_statuses")
    pauses = list(DEFAULT_PAUSE_STATUSES) if pauses is None else [str(s) for s in pauses]
    if not set(pauses) <= set(PAUSABLE):
        raise _bad("pause_statuses", _l("Only new, open, pending and on-hold can pause the clock."))
    row.pause_statuses = [s for s in PAUSABLE if s in pauses]
    row.escalations = _escalations(session, data.get("escalations") or {})


def list_policies(actor: Actor) -> list[SlaPolicy]:
    require(actor, Permission.TICKET_READ)
    stmt = select(SlaPolicy).order_by(SlaPolicy.position, SlaPolicy.id)
    return list(current_session().scalars(stmt))


def get_policy(actor: Actor, policy_id: int) -> SlaPolicy:
    require(actor, Permission.TICKET_READ)
    row = current_session().get(SlaPolicy, policy_id)
    if row is None:
        raise NotFound(_l("SLA policy %(id)s not found.", id=policy_id))
    return row


def save_policy(actor: Actor, data: Mapping[str, Any], policy_id: int | None = None) -> SlaPolicy:
    """Create a policy, or replace policy ``policy_id`` with ``data``."""
    require(actor, Permission.SLA_ADMIN)
    with transaction() as session:
        row = SlaPolicy(created_at=utcnow()) if policy_id is None else get_policy(actor, policy_id)
        _apply_policy(session, row, data)
        _unique(session, SlaPolicy, row.name, policy_id)
        row.updated_at = utcnow()
        session.add(row)
        session.flush()
        audit.record(session, actor, "sla.policy.saved", data=policy_dict(row))
        rules_changed(session)
    return row


def delete_policy(actor: Actor, policy_id: int) -> None:
    """Delete a policy; its tickets are re-matched by the ticker, their history stays."""
    require(actor, Permission.SLA_ADMIN)
    with transaction() as session:
        row = get_policy(actor, policy_id)
        audit.record(session, actor, "sla.policy.deleted", data={"id": row.id, "name": row.name})
        session.delete(row)
        rules_changed(session)
