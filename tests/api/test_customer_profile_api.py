"""REST API v1, the customer 360: profile fields (PATCH), notes, the unified timeline and
organizations."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from helpdesk.services import customer_events, customer_notes, customers, messages
from helpdesk.services.permissions import SYSTEM
from tests.api.helpers import API, assert_error, user_with_token
from tests.factories import actor, make_customer, make_ticket, make_user


@pytest.fixture
def agent(app):
    return user_with_token("agent")


def test_patch_sets_profile_fields_and_get_shows_them(client, agent):
    manager_id = make_user("sales").id
    customer_id = make_customer(name="이수진").id
    response = client.patch(
        f"{API}/customers/{customer_id}",
        headers=agent[1],
        json={
            "tags": ["VIP", "renewal"],
            "owner_id": manager_id,
            "tier": "gold",
            "attributes": {"plan": "pro", "seats": 40, "trial": False},
        },
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["tags"] == ["renewal", "vip"]
    assert (body["owner_id"], body["tier"]) == (manager_id, "gold")
    assert body["attributes"] == {"plan": "pro", "seats": 40, "trial": False}

    # attributes merge: null removes a key, others stay
    merged = client.patch(
        f"{API}/customers/{customer_id}",
        headers=agent[1],
        json={"attributes": {"trial": None, "region": "서울"}, "locale": "ko"},
    ).get_json()
    assert merged["attributes"] == {"plan": "pro", "seats": 40, "region": "서울"}
    fetched = client.get(f"{API}/customers/{customer_id}", headers=agent[1]).get_json()
    assert fetched["tags"] == ["renewal", "vip"] and fetched["locale"] == "ko"
    assert fetched["attributes"] == merged["attributes"] and fetched["name"] == "이수진"


def test_patch_refusals(client, agent):
    customer_id = make_customer().id
    bad = client.patch(
        f"{API}/customers/{customer_id}", headers=agent[1], json={"attributes": {"Bad Key": 1}}
    )
    assert_error(bad, 422, "invalid", "attributes")
    unknown = client.patch(
        f"{API}/customers/{customer_id}", headers=agent[1], json={"merged_into_id": 1}
    )
    assert_error(unknown, 422)
    owner = client.patch(
        f"{API}/customers/{customer_id}", headers=agent[1], json={"owner_id": 999999}
    )
    assert_error(owner, 422, "invalid", "owner_id")
    sales = user_with_token("sales")[1]
    refused = client.patch(f"{API}/customers/{customer_id}", headers=sales, json={"tier": "vip"})
    assert_error(refused, 403, "forbidden")
    missing = client.patch(f"{API}/customers/999999", headers=agent[1], json={"tier": "vip"})
    assert_error(missing, 404)


def test_notes_are_added_by_anyone_and_changed_by_their_author_or_an_admin(client, agent):
    customer_id = make_customer().id
    rep, rep_headers = user_with_token("marketing")
    rep_id = rep.id
    created = client.post(
        f"{API}/customers/{customer_id}/notes", headers=rep_headers, json={"body": "VIP 행사 초대"}
    )
    assert created.status_code == 201, created.get_json()
    note = created.get_json()
    assert note["body"] == "VIP 행사 초대" and note["author_id"] == rep_id
    listed = client.get(f"{API}/customers/{customer_id}/notes", headers=agent[1]).get_json()
    assert [n["id"] for n in listed] == [note["id"]]

    other = client.patch(
        f"{API}/customers/notes/{note['id']}", headers=agent[1], json={"body": "hijack"}
    )
    assert_error(other, 403, "forbidden")
    assert_error(client.delete(f"{API}/customers/notes/{note['id']}", headers=agent[1]), 403)
    edited = client.patch(
        f"{API}/customers/notes/{note['id']}", headers=rep_headers, json={"body": "초대 완료"}
    )
    assert edited.status_code == 200 and edited.get_json()["body"] == "초대 완료"
    admin = user_with_token("admin")[1]
    assert client.delete(f"{API}/customers/notes/{note['id']}", headers=admin).status_code == 204
    assert client.get(f"{API}/customers/{customer_id}/notes", headers=agent[1]).get_json() == []
    empty = client.post(f"{API}/customers/{customer_id}/notes", headers=agent[1], json={})
    assert_error(empty, 422)


def test_the_timeline_mixes_messages_notes_and_events_keeping_the_message_shape(client, agent):
    staff_user, headers = agent
    customer = make_customer()
    customer_id = customer.id
    ticket = make_ticket(customer, subject="배송 문의", body_text="언제 오나요?")
    number = ticket.number
    customer_events.add_event(
        SYSTEM,
        {"kind": "order", "title": "주문 #77", "occurred_at": datetime(2020, 1, 1, tzinfo=UTC)},
        customer_id=customer.id,
    )
    note_id = customer_notes.add_note(actor(staff_user), customer.id, "전화 선호").id

    page = client.get(f"{API}/customers/{customer_id}/timeline", headers=headers).get_json()
    assert [i["kind"] for i in page["items"]] == ["note", "message", "event"]
    first_note, message, event = page["items"]
    assert first_note["note"]["id"] == note_id and first_note["note"]["body"] == "전화 선호"
    assert message["message"]["body_text"] == "언제 오나요?"
    assert message["ticket"] == {"number": number, "subject": "배송 문의", "status": "new"}
    assert event["event"]["title"] == "주문 #77"
    assert datetime.fromisoformat(event["at"]) == datetime(2020, 1, 1, tzinfo=UTC)
    assert "message" not in first_note and "note" not in message

    events = client.get(
        f"{API}/customers/{customer_id}/timeline?kind=events", headers=headers
    ).get_json()
    assert [i["kind"] for i in events["items"]] == ["event"]
    one = client.get(f"{API}/customers/{customer_id}/timeline?limit=1", headers=headers).get_json()
    rest = client.get(
        f"{API}/customers/{customer_id}/timeline",
        headers=headers,
        query_string={"cursor": one["next_cursor"]},
    ).get_json()
    assert [i["kind"] for i in rest["items"]] == ["message", "event"]
    bad = client.get(f"{API}/customers/{customer_id}/timeline?cursor=broken", headers=headers)
    assert_error(bad, 422, "invalid", "cursor")


def test_organization_members_and_shared_tickets(client, agent):
    headers = agent[1]
    org_id = customers.create_organization(SYSTEM, "한빛상사", "hanbit.kr").id
    kim = make_customer(name="김민수", email="kim@hanbit.kr")
    lee = make_customer(name="이수진", email="lee@hanbit.kr")
    make_customer(name="Outsider")
    older = make_ticket(kim, subject="견적 요청")
    newer = make_ticket(lee, subject="계약서")
    messages.add_customer_message(SYSTEM, older.id, body_text="다시 문의")  # now most recent
    numbers = [older.number, newer.number]

    body = client.get(f"{API}/organizations/{org_id}", headers=headers).get_json()
    assert body["name"] == "한빛상사" and body["domain"] == "hanbit.kr"
    assert body["member_count"] == 2
    first = client.get(f"{API}/organizations/{org_id}/members?limit=1", headers=headers).get_json()
    second = client.get(
        f"{API}/organizations/{org_id}/members",
        headers=headers,
        query_string={"limit": 1, "cursor": first["next_cursor"]},
    ).get_json()
    assert [m["name"] for m in first["items"] + second["items"]] == ["김민수", "이수진"]
    assert second["next_cursor"] is None
    tickets = client.get(f"{API}/organizations/{org_id}/tickets", headers=headers).get_json()
    assert [t["number"] for t in tickets["items"]] == numbers
    assert_error(client.get(f"{API}/organizations/999999", headers=headers), 404)
    sales = user_with_token("sales")[1]
    assert client.get(f"{API}/organizations/{org_id}/tickets", headers=sales).status_code == 200
