"""The SLA API as an integrator uses it: set up a calendar and a policy, watch a ticket's clock,
read its history and the compliance report."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import time_machine

from helpdesk.services import sla_ticker
from tests.api.helpers import API, assert_error, user_with_token
from tests.factories import make_customer

KST = ZoneInfo("Asia/Seoul")
OFFICE = [["09:00-12:00", "13:00-18:00"]] * 5 + [[], []]


def _setup(client, headers):
    calendar = client.post(
        f"{API}/sla/calendars",
        headers=headers,
        json={
            "name": "Seoul office",
            "timezone": "Asia/Seoul",
            "hours": OFFICE,
            "holiday_country": "KR",
            "extra_holidays": ["2026-12-31"],
        },
    )
    assert calendar.status_code == 201, calendar.get_json()
    assert calendar.headers["Location"].endswith(f"/sla/calendars/{calendar.get_json()['id']}")
    policy = client.post(
        f"{API}/sla/policies",
        headers=headers,
        json={
            "name": "VIP email",
            "calendar_id": calendar.get_json()["id"],
            "conditions": {"channels": ["email"], "customer_tiers": ["vip"]},
            "first_response_minutes": 30,
            "resolution_minutes": 240,
            "escalations": {"breach": {"notify": True, "raise_priority": True}},
        },
    )
    assert policy.status_code == 201, policy.get_json()
    return calendar.get_json(), policy.get_json()


def test_a_vip_email_ticket_runs_the_policy_and_reports_its_breach(client):
    _, admin = user_with_token("admin")
    calendar, policy = _setup(client, admin)
    assert policy["pause_statuses"] == ["pending", "on-hold"]  # the default
    created_vip = client.post(
        f"{API}/customers",
        headers=admin,
        json={
            "name": "김VIP",
            "identities": [{"kind": "email", "value": "vip@example.kr"}],
            "tier": "VIP",
        },
    )
    assert created_vip.get_json()["tier"] == "vip"
    vip_id, regular_id = created_vip.get_json()["id"], make_customer().id
    with time_machine.travel(datetime(2026, 11, 23, 11, 45, tzinfo=KST), tick=False):
        created = [
            client.post(
                f"{API}/tickets",
                headers=admin,
                json={
                    "subject": "배송",
                    "body": "언제 오나요?",
                    "customer_id": c,
                    "channel": "email",
                },
            ).get_json()
            for c in (vip_id, regular_id)
        ]
    vip_ticket, regular_ticket = created
    # 11:45 + 30 business minutes, lunch 12:00-13:00 excluded: 13:15 KST = 04:15 UTC.
    assert vip_ticket["sla"] == {
        "policy_id": policy["id"],
        "due_at": "2026-11-23T04:15:00+00:00",
        "warn_at": "2026-11-23T04:09:00+00:00",
        "paused": False,
    }
    assert regular_ticket["sla"]["policy_id"] is None

    sla_ticker.tick(datetime(2026, 11, 23, 13, 20, tzinfo=KST))
    history = client.get(f"{API}/sla/tickets/{vip_ticket['id']}", headers=admin).get_json()
    assert [(t["kind"], t["state"]) for t in history] == [
        ("first_response", "breached"),
        ("resolution", "running"),
    ]
    assert (
        client.get(f"{API}/tickets/{vip_ticket['id']}", headers=admin).get_json()["priority"]
        == "high"
    )

    report = client.get(
        f"{API}/sla/report",
        headers=admin,
        query_string={"from": "2026-11-01T00:00:00Z", "to": "2026-12-01T00:00:00Z"},
    ).get_json()
    assert report == [
        {
            "key": policy["id"],
            "name": "VIP email",
            "kind": "first_response",
            "met": 0,
            "breached": 1,
            "open": 0,
            "compliance": 0.0,
        },
        {
            "key": policy["id"],
            "name": "VIP email",
            "kind": "resolution",
            "met": 0,
            "breached": 0,
            "open": 1,
            "compliance": None,
        },
    ]
    by_channel = client.get(
        f"{API}/sla/report",
        headers=admin,
        query_string={
            "from": "2026-11-01T00:00:00Z",
            "to": "2026-12-01T00:00:00Z",
            "by": "channel",
        },
    ).get_json()
    assert {(r["key"], r["kind"]) for r in by_channel} == {
        ("email", "first_response"),
        ("email", "resolution"),
    }
    holidays = client.get(
        f"{API}/sla/calendars/{calendar['id']}/holidays", headers=admin, query_string={"year": 2026}
    ).get_json()
    assert {"date": "2026-12-31", "name": ""} in holidays
    assert {"date": "2026-09-25", "name": "Chuseok"} in holidays


def test_bad_set_up_is_refused_with_the_field_to_fix(client):
    _, admin = user_with_token("admin")
    calendar, _ = _setup(client, admin)
    overlapping = client.post(
        f"{API}/sla/calendars",
        headers=admin,
        json={
            "name": "Broken",
            "timezone": "Asia/Seoul",
            "hours": [["09:00-13:00", "12:00-18:00"]] + [[]] * 6,
        },
    )
    assert_error(overlapping, 422, "invalid", "hours")
    unknown_zone = client.post(
        f"{API}/sla/calendars",
        headers=admin,
        json={"name": "Mars", "timezone": "Mars/Base", "hours": OFFICE},
    )
    assert_error(unknown_zone, 422)
    no_target = client.post(
        f"{API}/sla/policies", headers=admin, json={"name": "Empty", "calendar_id": calendar["id"]}
    )
    assert_error(no_target, 422, "invalid", "first_response_minutes")
    unknown_key = client.post(
        f"{API}/sla/policies",
        headers=admin,
        json={"name": "Odd", "calendar_id": calendar["id"], "conditions": {"weather": ["rain"]}},
    )
    assert_error(unknown_key, 422)
    in_use = client.delete(f"{API}/sla/calendars/{calendar['id']}", headers=admin)
    assert_error(in_use, 409, "conflict")
    bad_period = client.get(
        f"{API}/sla/report",
        headers=admin,
        query_string={"from": "2026-12-01T00:00:00Z", "to": "2026-11-01T00:00:00Z"},
    )
    assert_error(bad_period, 422, "invalid", "to")
