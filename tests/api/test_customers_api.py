"""REST API v1, customers: create, read, find by identity, add identities, their tickets."""

from __future__ import annotations

from datetime import datetime

import pytest

from helpdesk.services import customers
from helpdesk.services.permissions import SYSTEM
from tests.api.helpers import API, assert_error, user_with_token, walk_pages
from tests.factories import make_customer, make_ticket


@pytest.fixture
def headers(app):
    return user_with_token("agent")[1]


def test_create_customer_normalizes_identities(client, headers):
    response = client.post(
        f"{API}/customers",
        headers=headers,
        json={
            "name": "박지민",
            "locale": "ko",
            "identities": [
                {"kind": "email", "value": "  JiMin.Park@Example.KR "},
                {"kind": "phone", "value": "010-9876-5432"},
                {"kind": "social", "value": "Instagram:@JiminP"},
            ],
        },
    )
    assert response.status_code == 201, response.get_json()
    created = response.get_json()
    assert created["name"] == "박지민"
    assert created["locale"] == "ko"
    assert created["organization"] is None
    assert created["identities"] == [
        {"kind": "email", "value": "jimin.park@example.kr"},
        {"kind": "phone", "value": "+821098765432"},
        {"kind": "social", "value": "instagram:jiminp"},
    ]
    assert datetime.fromisoformat(created["created_at"]).tzinfo is not None

    fetched = client.get(f"{API}/customers/{created['id']}", headers=headers)
    assert fetched.status_code == 200
    assert fetched.get_json() == created


def test_create_customer_in_an_organization(client, headers):
    org = customers.create_organization(SYSTEM, "한빛 주식회사")
    org_id = org.id
    response = client.post(
        f"{API}/customers",
        headers=headers,
        json={
            "name": "Kim",
            "organization_id": org_id,
            "identities": [{"kind": "email", "value": "kim@hanbit.kr"}],
        },
    )
    assert response.status_code == 201
    assert response.get_json()["organization"] == {"id": org_id, "name": "한빛 주식회사"}
    unknown = client.post(
        f"{API}/customers",
        headers=headers,
        json={
            "name": "Lee",
            "organization_id": 999999,
            "identities": [{"kind": "email", "value": "lee@hanbit.kr"}],
        },
    )
    assert_error(unknown, 422, "invalid", "organization_id")


def test_an_identity_that_is_taken_is_409(client, headers):
    owner = make_customer(email="taken@example.com")
    owner_id = owner.id
    response = client.post(
        f"{API}/customers",
        headers=headers,
        json={"name": "Impostor", "identities": [{"kind": "email", "value": "TAKEN@example.com"}]},
    )
    error = assert_error(response, 409, "conflict")
    assert "taken@example.com" in error["message"]
    found = client.get(
        f"{API}/customers",
        headers=headers,
        query_string={"kind": "email", "value": "taken@example.com"},
    ).get_json()
    assert [c["id"] for c in found] == [owner_id]


def test_the_same_identity_twice_in_one_request_is_rejected_not_a_500(client, headers):
    response = client.post(
        f"{API}/customers",
        headers=headers,
        json={
            "name": "Twice",
            "identities": [
                {"kind": "email", "value": "twice@example.com"},
                {"kind": "email", "value": "Twice@Example.com"},
            ],
        },
    )
    assert response.status_code in (409, 422), response.get_data(as_text=True)
    assert_error(response, response.status_code)
    found = client.get(
        f"{API}/customers",
        headers=headers,
        query_string={"kind": "email", "value": "twice@example.com"},
    ).get_json()
    assert found == []


INVALID_CUSTOMERS = [
    ({"identities": [{"kind": "email", "value": "a@b.co"}]}, "name"),
    ({"name": "", "identities": [{"kind": "email", "value": "a@b.co"}]}, "name"),
    ({"name": "x"}, "identities"),
    ({"name": "x", "identities": []}, "identities"),
    ({"name": "x", "identities": [{"kind": "fax", "value": "1"}]}, "identities"),
    ({"name": "x", "identities": [{"kind": "email", "value": "nope"}]}, "value"),
    ({"name": "x", "identities": [{"kind": "phone", "value": "123"}]}, "value"),
    ({"name": "x", "identities": [{"kind": "slack", "value": "no-colon"}]}, "value"),
    ({"name": "x", "locale": "fr", "identities": [{"kind": "email", "value": "a@b.co"}]}, "locale"),
    ({"name": "x", "vip": True, "identities": [{"kind": "email", "value": "a@b.co"}]}, "vip"),
]


def test_create_customer_rejects_invalid_input(client, headers):
    for payload, field in INVALID_CUSTOMERS:
        response = client.post(f"{API}/customers", headers=headers, json=payload)
        assert_error(response, 422, "invalid", field)
    found = client.get(
        f"{API}/customers", headers=headers, query_string={"kind": "email", "value": "a@b.co"}
    ).get_json()
    assert found == []


def test_get_unknown_customer_is_404(client, headers):
    assert_error(client.get(f"{API}/customers/999999", headers=headers), 404, "not_found")


def test_search_by_identity_in_any_written_form(client, headers):
    created = client.post(
        f"{API}/customers",
        headers=headers,
        json={
            "name": "최유나",
            "identities": [
                {"kind": "phone", "value": "010-1234-5678"},
                {"kind": "email", "value": "yuna@example.kr"},
            ],
        },
    ).get_json()
    make_customer()  # someone else
    for kind, value in [
        ("phone", "010-1234-5678"),
        ("phone", "01012345678"),
        ("phone", "+82 10-1234-5678"),
        ("phone", "+821012345678"),
        ("email", "YUNA@example.KR"),
    ]:
        response = client.get(
            f"{API}/customers", headers=headers, query_string={"kind": kind, "value": value}
        )
        assert response.status_code == 200, response.get_json()
        assert response.get_json() == [created], (kind, value)


def test_search_that_finds_nobody_is_an_empty_list(client, headers):
    make_customer(email="someone@example.com")
    for kind, value in [("email", "nobody@example.com"), ("phone", "010-0000-0000")]:
        response = client.get(
            f"{API}/customers", headers=headers, query_string={"kind": kind, "value": value}
        )
        assert response.status_code == 200 and response.get_json() == []


def test_search_rejects_invalid_queries(client, headers):
    for params, field in [
        ({"kind": "email"}, "value"),
        ({"value": "a@b.co"}, "kind"),
        ({"kind": "fax", "value": "1"}, "kind"),
        ({"kind": "phone", "value": "abc"}, "value"),
        ({"kind": "email", "value": "not-an-email"}, "value"),
    ]:
        response = client.get(f"{API}/customers", headers=headers, query_string=params)
        assert_error(response, 422, "invalid", field)


def test_add_identity(client, headers):
    customer = make_customer(email="first@example.com")
    customer_id = customer.id
    response = client.post(
        f"{API}/customers/{customer_id}/identities",
        headers=headers,
        json={"kind": "slack", "value": "t012ab:u045cd"},
    )
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["id"] == customer_id
    assert response.get_json()["identities"] == [
        {"kind": "email", "value": "first@example.com"},
        {"kind": "slack", "value": "T012AB:U045CD"},
    ]
    found = client.get(
        f"{API}/customers",
        headers=headers,
        query_string={"kind": "slack", "value": "T012AB:U045CD"},
    ).get_json()
    assert [c["id"] for c in found] == [customer_id]


def test_add_identity_errors(client, headers):
    mine = make_customer(email="mine@example.com")
    make_customer(email="theirs@example.com")
    url = f"{API}/customers/{mine.id}/identities"
    taken = client.post(url, headers=headers, json={"kind": "email", "value": "Theirs@example.com"})
    assert_error(taken, 409, "conflict")
    again = client.post(url, headers=headers, json={"kind": "email", "value": "mine@example.com"})
    assert_error(again, 409, "conflict")
    invalid = client.post(url, headers=headers, json={"kind": "phone", "value": "12"})
    assert_error(invalid, 422, "invalid", "value")
    missing = client.post(url, headers=headers, json={"kind": "email"})
    assert_error(missing, 422, "invalid", "value")
    unknown = client.post(
        f"{API}/customers/999999/identities",
        headers=headers,
        json={"kind": "email", "value": "new@example.com"},
    )
    assert_error(unknown, 404, "not_found")
    after = client.get(url.removesuffix("/identities"), headers=headers).get_json()
    assert after["identities"] == [{"kind": "email", "value": "mine@example.com"}]


def test_a_customers_tickets_page_through_newest_activity_first(client, headers):
    customer = make_customer()
    theirs = [make_ticket(customer).id for _ in range(5)]
    make_ticket()  # another customer's
    # Activity on the oldest ticket moves it to the front.
    client.patch(f"{API}/tickets/{theirs[0]}", headers=headers, json={"priority": "high"})
    ids, pages = walk_pages(client, f"{API}/customers/{customer.id}/tickets", headers, {"limit": 2})
    assert ids == [theirs[0], theirs[4], theirs[3], theirs[2], theirs[1]]
    assert len(pages) == 3
    assert all(item["customer"]["id"] == customer.id for page in pages for item in page["items"])


def test_a_customers_tickets_errors(client, headers):
    customer = make_customer()
    make_ticket(customer)
    url = f"{API}/customers/{customer.id}/tickets"
    assert_error(
        client.get(url, headers=headers, query_string={"limit": 0}), 422, "invalid", "limit"
    )
    assert_error(
        client.get(url, headers=headers, query_string={"limit": 101}), 422, "invalid", "limit"
    )
    assert_error(
        client.get(url, headers=headers, query_string={"cursor": "garbage"}),
        422,
        "invalid",
        "cursor",
    )
    assert_error(client.get(f"{API}/customers/999999/tickets", headers=headers), 404, "not_found")
    empty = client.get(f"{API}/customers/{make_customer().id}/tickets", headers=headers)
    assert empty.get_json() == {"items": [], "next_cursor": None}


def test_customer_summary_and_timeline_for_a_sales_rep(app, client):
    from datetime import UTC, datetime, timedelta

    import time_machine

    from helpdesk.services import messages
    from tests.factories import actor, make_customer, make_ticket, make_user, token_for

    agent, sales = make_user(), make_user("sales")
    customer = make_customer(name="이수진")
    start = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False):
        ticket = make_ticket(customer, subject="배송 문의", body_text="언제 오나요?")
    with time_machine.travel(start + timedelta(minutes=30), tick=False):
        messages.reply_to_ticket(actor(agent), ticket.id, body_text="내일 도착합니다")
    messages.add_note(actor(sales), ticket.id, body_text="재계약 예정")
    headers = {"Authorization": f"Bearer {token_for(sales)}"}

    summary = client.get(f"/api/v1/customers/{customer.id}/summary", headers=headers).get_json()
    assert summary["open_tickets"] == 1 and summary["lifetime_tickets"] == 1
    assert summary["avg_first_response_seconds"] == 1800
    assert summary["avg_resolution_seconds"] is None and summary["breached_slas"] == 0

    page = client.get(
        f"/api/v1/customers/{customer.id}/timeline?limit=2", headers=headers
    ).get_json()
    assert [i["message"]["body_text"] for i in page["items"]] == ["재계약 예정", "내일 도착합니다"]
    assert page["items"][0]["ticket"] == {
        "number": ticket.number,
        "subject": "배송 문의",
        "status": "open",
    }
    rest = client.get(
        f"/api/v1/customers/{customer.id}/timeline?limit=2&cursor={page['next_cursor']}",
        headers=headers,
    ).get_json()
    assert [i["message"]["body_text"] for i in rest["items"]] == ["언제 오나요?"]
    assert rest["next_cursor"] is None
    public = client.get(
        f"/api/v1/customers/{customer.id}/timeline?kind=public", headers=headers
    ).get_json()
    assert "재계약 예정" not in [i["message"]["body_text"] for i in public["items"]]
    bad = client.get(f"/api/v1/customers/{customer.id}/timeline?kind=secret", headers=headers)
    assert bad.status_code == 422
