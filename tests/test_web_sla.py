"""The SLA set-up pages: business calendars and policies, edited by admins through forms."""

from __future__ import annotations

import re
from datetime import date
from html import unescape
from typing import Any

from sqlalchemy import func, select

from helpdesk.extensions import db
from helpdesk.models import SlaCalendar, SlaPolicy
from helpdesk.services import customers, sla_admin
from helpdesk.services.permissions import SYSTEM
from tests.conftest import csrf_token, login, post_form
from tests.factories import make_group, make_user

WEEKDAYS_SPLIT = "09:00-12:00, 13:00-18:00"


def _admin(client, **kw: Any):
    admin = make_user("admin", locale="en", **kw)
    login(client, admin.email)
    return admin


def _calendar_form(**changes: Any) -> dict[str, Any]:
    form: dict[str, Any] = {
        "name": "Seoul office",
        "timezone": "Asia/Seoul",
        **{f"hours-{day}": WEEKDAYS_SPLIT for day in range(5)},
        "hours-5": "",
        "hours-6": "",
        "holiday_country": "KR",
        "holiday_subdivision": "",
        "extra_holidays": "",
        "removed_holidays": "",
    }
    form.update(changes)
    return form


def _count(model: type[SlaCalendar] | type[SlaPolicy]) -> int:
    db.session.rollback()  # read what the requests committed, not this session's snapshot
    return int(db.session.scalar(select(func.count()).select_from(model)) or 0)


def _stored(model: type[SlaCalendar] | type[SlaPolicy], name: str) -> Any:
    db.session.rollback()
    return db.session.scalar(select(model).where(model.name == name))


def _field_errors(page: str) -> list[str]:
    return [unescape(e) for e in re.findall(r'class="field-error" role="alert">(.*?)</p>', page)]


def _flashes(page: str) -> list[str]:
    return [unescape(f) for f in re.findall(r'class="flash error" role="status">(.*?)</p>', page)]


def _calendar(name: str = "Office", **data: Any) -> SlaCalendar:
    values: dict[str, Any] = {
        "name": name,
        "timezone": "Asia/Seoul",
        "hours": [["09:00-18:00"]] * 5 + [[], []],
    }
    values.update(data)
    return sla_admin.save_calendar(SYSTEM, values)


def test_admin_creates_a_calendar_with_split_shifts_and_korean_holidays(app, client):
    _admin(client)
    year = date.today().year
    assert 'href="/admin/sla"' in client.get("/tickets").get_data(as_text=True)  # nav link
    form = client.get("/admin/sla/calendars/new").get_data(as_text=True)
    assert '<datalist id="timezones">' in form and '<option value="Asia/Seoul">' in form
    assert '<option value="KR"' in form and "South Korea" in form

    response = post_form(
        client,
        "/admin/sla/calendars/new",
        _calendar_form(
            extra_holidays=f"{year}-12-24\n{year}-12-31",
            removed_holidays=f"{year}-10-09",  # Hangul Day, worked anyway
        ),
    )
    assert response.status_code == 302 and response.headers["Location"] == "/admin/sla"

    stored = _stored(SlaCalendar, "Seoul office")
    assert stored.timezone == "Asia/Seoul" and not stored.always_open
    assert stored.hours == [["09:00-12:00", "13:00-18:00"]] * 5 + [[], []]
    assert stored.holiday_country == "KR"
    assert stored.extra_holidays == [f"{year}-12-24", f"{year}-12-31"]
    assert stored.removed_holidays == [f"{year}-10-09"]

    listing = client.get("/admin/sla").get_data(as_text=True)
    assert "Calendar saved." in listing
    row = re.search(r'<tr data-calendar-id="\d+">(.*?)</tr>', listing, re.S)
    assert row is not None
    assert "Seoul office" in row.group(1) and "Asia/Seoul" in row.group(1)
    assert "Mon–Fri 09:00-12:00, 13:00-18:00" in row.group(1)
    assert "South Korea" in row.group(1)

    # The edit page lists the holidays of this year and next: Korea's, plus and minus the
    # calendar's own.
    page = client.get(f"/admin/sla/calendars/{stored.id}").get_data(as_text=True)
    assert f'value="{WEEKDAYS_SPLIT}"' in page
    holidays = page.split('id="holidays-heading"', 1)[1]
    assert f'data-year="{year}"' in holidays and f'data-year="{year + 1}"' in holidays
    assert f'datetime="{year}-01-01"' in holidays and f'datetime="{year + 1}-01-01"' in holidays
    assert f'datetime="{year}-12-24"' in holidays and "Company day off" in holidays
    assert f'datetime="{year}-10-09"' not in holidays
    assert f'datetime="{year + 1}-10-09"' in holidays  # removed for one year only


def test_a_24_7_calendar_is_listed_as_such(app, client):
    _admin(client)
    response = post_form(
        client,
        "/admin/sla/calendars/new",
        _calendar_form(name="Around the clock", timezone="UTC", always_open="1"),
    )
    assert response.status_code == 302
    stored = _stored(SlaCalendar, "Around the clock")
    assert stored.always_open and stored.hours == [[]] * 7 and stored.holiday_country is None
    listing = client.get("/admin/sla").get_data(as_text=True)
    row = re.search(rf'<tr data-calendar-id="{stored.id}">(.*?)</tr>', listing, re.S)
    assert row is not None and "24/7" in row.group(1)


def test_a_bad_calendar_form_is_shown_again_with_the_error_and_nothing_is_saved(app, client):
    _admin(client)
    overlapping = "09:00-13:00, 12:00-18:00"
    response = post_form(
        client, "/admin/sla/calendars/new", _calendar_form(**{"hours-2": overlapping})
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Traceback" not in page
    [flash] = _flashes(page)
    assert flash.startswith("This calendar cannot be used:") and "overlap" in flash
    assert _field_errors(page) == [flash]  # next to the weekly hours
    assert f'value="{overlapping}"' in page and 'value="Seoul office"' in page  # as typed
    assert _count(SlaCalendar) == 0

    response = post_form(
        client,
        "/admin/sla/calendars/new",
        _calendar_form(timezone="Mars/Olympus_Mons"),
        token_from="/admin/sla/calendars/new",
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    [flash] = _flashes(page)
    assert "Mars/Olympus_Mons" in flash
    assert 'value="Mars/Olympus_Mons"' in page and f'value="{WEEKDAYS_SPLIT}"' in page
    assert '<option value="KR" selected>' in page
    assert _count(SlaCalendar) == 0

    response = post_form(
        client, "/admin/sla/calendars/new", _calendar_form(extra_holidays="2026-13-01")
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert _field_errors(page) == ["Dates are written as YYYY-MM-DD."]
    assert ">2026-13-01</textarea>" in page
    assert _count(SlaCalendar) == 0

    _calendar("Seoul office")
    response = post_form(client, "/admin/sla/calendars/new", _calendar_form(name="SEOUL office"))
    assert response.status_code == 409
    assert _flashes(response.get_data(as_text=True)) == ["The name SEOUL office is already taken."]
    assert _count(SlaCalendar) == 1


def test_admin_edits_a_calendar(app, client):
    _admin(client)
    calendar = _calendar("Berlin", timezone="Europe/Berlin", holiday_country="DE")
    path = f"/admin/sla/calendars/{calendar.id}"
    form = _calendar_form(name="Berlin office", timezone="Europe/Berlin", holiday_country="DE")
    form["hours-5"] = "10:00-14:00"
    response = post_form(client, path, form)
    assert response.status_code == 302
    stored = _stored(SlaCalendar, "Berlin office")
    assert stored.id == calendar.id and stored.hours[5] == ["10:00-14:00"]
    assert stored.holiday_country == "DE"
    assert "Sat 10:00-14:00" in client.get("/admin/sla").get_data(as_text=True)


def _policy_form(calendar_id: int, /, **changes: Any) -> dict[str, Any]:
    form: dict[str, Any] = {
        "name": "VIP urgent",
        "position": "5",
        "is_active": "1",
        "calendar_id": str(calendar_id),
        "first_response_minutes": "60",
        "next_response_minutes": "30",
        "resolution_minutes": "480",
        "warning_percent": "75",
        "pause_statuses": ["pending"],
        "priorities": ["urgent", "high"],
        "channels": ["email", "chat"],
        "tags": "VIP, refund",
        "customer_tiers": "Gold",
        "warning-notify": "1",
        "breach-notify": "1",
        "breach-raise_priority": "1",
    }
    form.update(changes)
    return {k: v for k, v in form.items() if v is not None}


def test_admin_creates_and_edits_a_policy(app, client):
    _admin(client)
    calendar = _calendar()
    tier2, leads = make_group("Tier 2"), make_group("Leads")
    new = client.get("/admin/sla/policies/new").get_data(as_text=True)
    # A new policy pauses on pending and on-hold, and notifies on both stages.
    assert re.search(r'name="pause_statuses" value="pending" checked', new)
    assert re.search(r'name="pause_statuses" value="on-hold" checked', new)
    assert not re.search(r'name="pause_statuses" value="open" checked', new)
    assert re.search(r'name="warning-notify" value="1" aria-label="[^"]*" checked', new)
    assert f'<option value="{calendar.id}" selected>' in new  # the only calendar

    form = _policy_form(
        calendar.id, group_ids=[str(tier2.id)], **{"warning-group_id": str(leads.id)}
    )
    response = post_form(client, "/admin/sla/policies/new", form)
    assert response.status_code == 302 and response.headers["Location"] == "/admin/sla"

    policy = _stored(SlaPolicy, "VIP urgent")
    assert policy.position == 5 and policy.is_active and policy.calendar_id == calendar.id
    assert (policy.first_response_minutes, policy.next_response_minutes) == (60, 30)
    assert policy.resolution_minutes == 480 and policy.warning_percent == 75
    assert policy.pause_statuses == ["pending"]
    assert policy.conditions == {
        "priorities": ["high", "urgent"],
        "channels": ["email", "chat"],
        "group_ids": [tier2.id],
        "tags": ["vip", "refund"],
        "customer_tiers": ["gold"],
    }
    assert policy.escalations == {
        "warning": {"notify": True, "raise_priority": False, "group_id": leads.id},
        "breach": {"notify": True, "raise_priority": True, "group_id": None},
    }

    listing = client.get("/admin/sla").get_data(as_text=True)
    assert "Policy saved." in listing
    row = re.search(rf'<tr data-policy-id="{policy.id}" class="">(.*?)</tr>', listing, re.S)
    assert row is not None
    cells = [" ".join(c.split()) for c in re.findall(r'class="target">(.*?)</td>', row.group(1))]
    assert cells == ["1h", "30m", "8h"]
    assert "Priority: High, Urgent" in row.group(1) and "Channel: Email, Chat" in row.group(1)
    assert "Group: Tier 2" in row.group(1) and "Tags: vip, refund" in row.group(1)
    assert "Office" in row.group(1) and ">Active<" in row.group(1)

    # The edit form shows what is stored; the admin turns it off, drops the resolution target
    # and some conditions, and reassigns on breach instead.
    path = f"/admin/sla/policies/{policy.id}"
    page = client.get(path).get_data(as_text=True)
    assert 'name="first_response_minutes" type="number"' in page and 'value="60"' in page
    assert re.search(r'name="priorities" value="urgent" checked', page)
    assert re.search(rf'<option value="{tier2.id}" selected>Tier 2</option>', page)
    assert re.search(r'name="breach-raise_priority" value="1" aria-label="[^"]*" checked', page)
    form = _policy_form(
        calendar.id,
        is_active=None,
        next_response_minutes="90",
        resolution_minutes="",
        priorities=["urgent"],
        channels=[],
        tags="",
        pause_statuses=["pending", "on-hold"],
        **{"breach-group_id": str(leads.id), "breach-raise_priority": None},
    )
    response = post_form(client, path, form)
    assert response.status_code == 302

    policy = _stored(SlaPolicy, "VIP urgent")
    assert not policy.is_active
    assert (policy.next_response_minutes, policy.resolution_minutes) == (90, None)
    assert policy.conditions == {"priorities": ["urgent"], "customer_tiers": ["gold"]}
    assert policy.pause_statuses == ["pending", "on-hold"]
    assert policy.escalations["breach"] == {
        "notify": True,
        "raise_priority": False,
        "group_id": leads.id,
    }
    assert policy.escalations["warning"]["group_id"] is None  # not chosen on this post
    listing = client.get("/admin/sla").get_data(as_text=True)
    row = re.search(rf'<tr data-policy-id="{policy.id}" class="inactive">(.*?)</tr>', listing, re.S)
    assert row is not None and ">Inactive<" in row.group(1)
    cells = [" ".join(c.split()) for c in re.findall(r'class="target">(.*?)</td>', row.group(1))]
    assert cells == ["1h", "1h 30m", "—"]


def test_policies_are_listed_in_the_order_they_are_tried(app, client):
    _admin(client)
    calendar = _calendar()
    for name, position in (("Late", 20), ("Early", 1), ("Middle", 10)):
        sla_admin.save_policy(
            SYSTEM,
            {
                "name": name,
                "position": position,
                "calendar_id": calendar.id,
                "resolution_minutes": 60,
            },
        )
    listing = client.get("/admin/sla").get_data(as_text=True)
    names = re.findall(r'<a href="/admin/sla/policies/\d+">(.*?)</a>', listing)
    assert names == ["Early", "Middle", "Late"]
    assert "Every ticket" in listing  # no conditions


def test_editing_keeps_conditions_the_form_does_not_show(app, client):
    _admin(client)
    calendar = _calendar()
    org = customers.create_organization(SYSTEM, "Acme")
    policy = sla_admin.save_policy(
        SYSTEM,
        {
            "name": "Acme",
            "calendar_id": calendar.id,
            "conditions": {"organization_ids": [org.id]},
            "first_response_minutes": 60,
        },
    )
    path = f"/admin/sla/policies/{policy.id}"
    page = client.get(path).get_data(as_text=True)
    assert f'name="organization_ids" value="{org.id}"' in page
    form = {
        "name": "Acme",
        "position": "0",
        "is_active": "1",
        "calendar_id": str(calendar.id),
        "first_response_minutes": "120",
        "warning_percent": "80",
        "organization_ids": str(org.id),
    }
    assert post_form(client, path, form).status_code == 302
    stored = _stored(SlaPolicy, "Acme")
    assert stored.first_response_minutes == 120
    assert stored.conditions == {"organization_ids": [org.id]}


def test_a_bad_policy_form_is_shown_again_with_the_error_and_nothing_is_saved(app, client):
    _admin(client)
    calendar = _calendar()
    path = "/admin/sla/policies/new"
    no_target = _policy_form(
        calendar.id, first_response_minutes="", next_response_minutes="", resolution_minutes=""
    )
    response = post_form(client, path, no_target)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert _flashes(page) == ["Set at least one target."] == _field_errors(page)
    assert 'value="VIP urgent"' in page and 'value="Gold"' in page  # as typed
    assert re.search(r'name="channels" value="chat" checked', page)
    assert not re.search(r'name="pause_statuses" value="on-hold" checked', page)

    for changes, message in (
        ({"warning_percent": "150"}, "The warning comes at 1 to 99 percent of a target."),
        ({"first_response_minutes": "-5"}, "A target is 1 minute to one year."),
        ({"position": "first"}, "The position is a whole number."),
        ({"calendar_id": ""}, "Choose an existing calendar."),
        ({"customer_tiers": "gold!!"}, "Tiers are short words like gold or vip."),
    ):
        response = post_form(client, path, _policy_form(calendar.id, **changes))
        page = response.get_data(as_text=True)
        assert response.status_code == 422, changes
        assert _flashes(page) == [message] == _field_errors(page)
    assert _count(SlaPolicy) == 0


def test_deleting_a_calendar_in_use_flashes_the_conflict(app, client):
    _admin(client)
    calendar = _calendar("Seoul")
    policy = sla_admin.save_policy(
        SYSTEM, {"name": "All", "calendar_id": calendar.id, "first_response_minutes": 60}
    )
    path = f"/admin/sla/calendars/{calendar.id}"
    response = post_form(client, f"{path}/delete", {}, token_from=path)
    assert response.status_code == 302 and response.headers["Location"] == path
    page = client.get(path).get_data(as_text=True)
    assert _flashes(page) == ["Policies still use the calendar Seoul."]
    assert _count(SlaCalendar) == 1

    policy_path = f"/admin/sla/policies/{policy.id}"
    response = post_form(client, f"{policy_path}/delete", {}, token_from=policy_path)
    assert response.status_code == 302 and _count(SlaPolicy) == 0
    response = post_form(client, f"{path}/delete", {}, token_from=path)
    assert response.status_code == 302 and response.headers["Location"] == "/admin/sla"
    assert "Calendar deleted." in client.get("/admin/sla").get_data(as_text=True)
    assert _count(SlaCalendar) == 0


def test_agents_are_refused_the_pages_and_the_changes(app, client):
    calendar = _calendar("Seoul")
    policy = sla_admin.save_policy(
        SYSTEM, {"name": "All", "calendar_id": calendar.id, "first_response_minutes": 60}
    )
    agent = make_user("agent")
    login(client, agent.email)
    assert "/admin/sla" not in client.get("/tickets").get_data(as_text=True)  # no nav link
    token = csrf_token(client, "/tickets")
    for path in (
        "/admin/sla",
        "/admin/sla/calendars/new",
        f"/admin/sla/calendars/{calendar.id}",
        "/admin/sla/policies/new",
        f"/admin/sla/policies/{policy.id}",
    ):
        response = client.get(path)
        assert response.status_code == 403, path
        assert "You are not allowed to do this (sla.admin)." in response.get_data(as_text=True)

    posts = {
        "/admin/sla/calendars/new": _calendar_form(name="Sneaky"),
        f"/admin/sla/calendars/{calendar.id}": _calendar_form(name="Sneaky"),
        f"/admin/sla/calendars/{calendar.id}/delete": {},
        "/admin/sla/policies/new": _policy_form(calendar.id, name="Sneaky"),
        f"/admin/sla/policies/{policy.id}": _policy_form(calendar.id, name="Sneaky"),
        f"/admin/sla/policies/{policy.id}/delete": {},
    }
    for path, form in posts.items():
        response = client.post(path, data=dict(form, csrf_token=token))
        assert response.status_code == 403, path
    assert _count(SlaCalendar) == 1 and _count(SlaPolicy) == 1
    assert _stored(SlaCalendar, "Seoul") is not None and _stored(SlaPolicy, "All") is not None


def test_pages_need_sign_in_and_unknown_ids_are_404(app, client):
    response = client.get("/admin/sla")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    _admin(client)
    response = client.get("/admin/sla/calendars/999")
    assert response.status_code == 404 and "Calendar 999 not found." in response.get_data(
        as_text=True
    )
    assert client.get("/admin/sla/policies/999").status_code == 404


def test_the_korean_list_page(app, client):
    admin = make_user("admin", locale="ko")
    login(client, admin.email)
    calendar = _calendar("서울 본사", holiday_country="KR")
    sla_admin.save_policy(
        SYSTEM,
        {
            "name": "긴급 문의",
            "calendar_id": calendar.id,
            "conditions": {"priorities": ["urgent"]},
            "first_response_minutes": 30,
            "next_response_minutes": 90,
        },
    )
    response = client.get("/admin/sla")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and '<html lang="ko">' in page
    assert "서울 본사" in page and "긴급 문의" in page
    assert "첫 응답" in page and "다음 응답" in page  # target names
    assert "30분" in page and "1시간 30분" in page  # targets in business time, in Korean
    assert "우선순위: 긴급" in page  # the condition, with the priority's Korean label
    assert "월–금 09:00-18:00" in page  # weekdays in Korean
    assert "대한민국" in page  # the holiday country's Korean name
    assert "로그아웃" in page
