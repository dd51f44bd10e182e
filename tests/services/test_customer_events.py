"""Business events on the customer history: added by id or identity, idempotent by external id,
paged newest first; CSV imports of customers and events are all or nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from helpdesk.extensions import db
from helpdesk.models import Customer, CustomerEvent
from helpdesk.services import customer_events, customer_import, customers
from helpdesk.services.errors import Forbidden, Invalid
from helpdesk.services.permissions import SYSTEM
from tests.factories import actor, make_customer, make_user


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def test_events_by_identity_are_idempotent_and_paged_newest_first(app):
    start = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
    for n in range(5):
        _, created = customer_events.add_event(
            SYSTEM,
            {
                "kind": "order",
                "title": f"주문 #{n}",
                "occurred_at": (start + timedelta(days=n)).isoformat(),
                "data": {"amount": 12000 + n, "currency": "KRW"},
                "external_id": f"order-{n}",
                "source": "shop",
            },
            identity=("phone", "010-1234-5678"),
        )
        assert created
    _, created = customer_events.add_event(
        SYSTEM,
        {
            "kind": "order",
            "title": "주문 #0",
            "occurred_at": start,
            "external_id": "order-0",
            "source": "shop",
        },
        identity=("phone", "+82 10 1234 5678"),
    )
    assert not created and _count(CustomerEvent) == 5
    customer = customers.find_customer(SYSTEM, "phone", "01012345678")
    first, cursor = customer_events.list_events(SYSTEM, customer.id, limit=3)
    rest, end = customer_events.list_events(SYSTEM, customer.id, cursor=cursor, limit=3)
    assert [e.title for e in first + rest] == [f"주문 #{n}" for n in (4, 3, 2, 1, 0)]
    assert end is None and first[0].data == {"amount": 12004, "currency": "KRW"}


def test_bad_events_and_readers_are_refused(app):
    customer = make_customer()
    for bad, field in (
        ({"kind": "Big Order!", "title": "x", "occurred_at": "2026-11-01T09:00:00+09:00"}, "kind"),
        ({"kind": "order", "title": "", "occurred_at": "2026-11-01T09:00:00+09:00"}, "title"),
        ({"kind": "order", "title": "x", "occurred_at": "2026-11-01 09:00"}, "occurred_at"),
    ):
        with pytest.raises(Invalid) as caught:
            customer_events.add_event(SYSTEM, bad, customer_id=customer.id)
        assert field in caught.value.fields
    with pytest.raises(Forbidden):
        customer_events.add_event(
            actor(make_user("marketing")),
            {"kind": "call", "title": "x", "occurred_at": "2026-11-01T09:00:00+09:00"},
            customer_id=customer.id,
        )


CUSTOMERS_CSV = (
    "name,email,phone,organization,tier,locale\n"
    "김민수,minsu@hanbit.kr,010-2222-3333,한빛상사,gold,ko\n"
    "Ann Lee,ann@acme.example,,Acme,,en\n"
)


def test_a_clean_customer_file_imports_and_a_second_run_changes_nothing(app):
    report = customer_import.import_customers(SYSTEM, CUSTOMERS_CSV.encode("utf-8-sig"))
    assert (report.ok, report.rows, report.created) == (True, 2, 2)
    minsu = customers.find_customer(SYSTEM, "phone", "01022223333")
    assert minsu.name == "김민수" and minsu.tier == "gold" and minsu.organization is not None
    again = customer_import.import_customers(SYSTEM, CUSTOMERS_CSV.encode())
    assert (again.created, again.unchanged) == (0, 2) and _count(Customer) == 2


def test_korean_excel_files_are_read_and_one_bad_row_imports_nothing(app):
    broken = CUSTOMERS_CSV + "박서준,not-an-email,,,,\n" + "최영호,,,,platinum!,\n"
    report = customer_import.import_customers(SYSTEM, broken.encode("cp949"))
    assert not report.ok
    assert [(p.row, p.field) for p in report.problems] == [(3, "email"), (4, "email"), (4, "tier")]
    assert _count(Customer) == 0  # nothing half-imported


def test_events_file_names_customers_by_email_or_id(app):
    known = make_customer(email="kim@example.kr")
    rows = (
        "email,customer_id,kind,title,occurred_at,amount,currency,external_id\n"
        f"kim@example.kr,,order,주문 A,2026-11-01T10:00:00+09:00,30000,KRW,A\n"
        f",{known.id},contract,연간 계약 갱신,2026-11-02T10:00:00+09:00,,,B\n"
        "new@example.kr,,order,주문 C,2026-11-03T10:00:00+09:00,1000,KRW,C\n"
    )
    report = customer_import.import_events(SYSTEM, rows.encode())
    assert (report.ok, report.created) == (True, 3)
    events, _ = customer_events.list_events(SYSTEM, known.id)
    assert [e.title for e in events] == ["연간 계약 갱신", "주문 A"]
    bad = "customer_id,kind,title,occurred_at\n999999,order,x,2026-11-03T10:00:00+09:00\n"
    refused = customer_import.import_events(SYSTEM, bad.encode())
    assert [(p.row, p.field) for p in refused.problems] == [(1, "customer_id")]
    assert _count(CustomerEvent) == 3


def test_the_profile_page_lists_the_latest_events(app, client):
    from tests.conftest import login

    sales = make_user("sales", locale="en")
    customer = make_customer()
    customer_events.add_event(
        SYSTEM,
        {
            "kind": "order",
            "title": "Annual plan",
            "occurred_at": "2026-11-01T10:00:00+09:00",
            "data": {"amount": 990000, "currency": "KRW"},
        },
        customer_id=customer.id,
    )
    login(client, sales.email)
    page = client.get(f"/customers/{customer.id}").get_data(as_text=True)
    assert 'data-event-kind="order"' in page and "Annual plan" in page and "990000 KRW" in page


def test_a_new_event_reaches_the_open_profile_and_a_repeat_does_not(app, published):
    from helpdesk.events import CustomerEventAdded
    from helpdesk.realtime import rooms_for

    customer = make_customer()
    published.clear()
    values = {
        "kind": "order",
        "title": "주문 #9",
        "occurred_at": "2026-11-23T10:00:00+09:00",
        "data": {"amount": 129000, "currency": "KRW"},
        "source": "shop",
        "external_id": "o-9",
    }
    event, _ = customer_events.add_event(SYSTEM, values, customer_id=customer.id)
    [added] = [e for e in published if isinstance(e, CustomerEventAdded)]
    assert rooms_for(added) == [
        (
            "customer.event",
            f"customer:{customer.id}",
            {
                "event": {
                    "id": event.id,
                    "customer_id": customer.id,
                    "kind": "order",
                    "title": "주문 #9",
                    "occurred_at": "2026-11-23T01:00:00+00:00",
                    "data": {"amount": 129000, "currency": "KRW"},
                    "source": "shop",
                    "external_id": "o-9",
                }
            },
        )
    ]
    published.clear()
    customer_events.add_event(SYSTEM, values, customer_id=customer.id)
    assert published == []
