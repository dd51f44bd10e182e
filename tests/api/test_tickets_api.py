"""REST API v1, tickets: create, read, change, merge, conversation, history, list and paging."""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import time_machine
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from helpdesk.events import TicketUpdated
from helpdesk.extensions import db
from helpdesk.models import Ticket
from helpdesk.services import messages, tickets
from helpdesk.services.permissions import SYSTEM
from tests.api.helpers import API, assert_error, user_with_token, walk_pages
from tests.factories import actor, make_customer, make_group, make_ticket, make_user

KST = timezone(timedelta(hours=9))


def when(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    assert parsed.tzinfo is not None, f"timestamp without offset: {value}"
    return parsed


@pytest.fixture
def agent(app):
    return user_with_token("agent")


@pytest.fixture
def headers(agent):
    return agent[1]


# --- create ------------------------------------------------------------------------------------


def test_create_ticket_by_customer_id(client, headers):
    customer = make_customer("Lee Jiwoo")
    group = make_group("Billing")
    response = client.post(
        f"{API}/tickets",
        headers=headers,
        json={
            "subject": "  Card   declined ",
            "body": "My card was declined twice.",
            "customer_id": customer.id,
            "channel": "email",
            "priority": "high",
            "group_id": group.id,
            "tags": ["Billing", "VIP", "vip"],
        },
    )
    assert response.status_code == 201, response.get_json()
    created = response.get_json()
    assert created["subject"] == "Card declined"
    assert created["number"] >= 1001
    assert created["status"] == "new"
    assert created["priority"] == "high"
    assert created["channel"] == "email"
    assert created["customer"] == {"id": customer.id, "name": "Lee Jiwoo"}
    assert created["group"] == {"id": group.id, "name": "Billing"}
    assert created["assignee"] is None
    assert created["tags"] == ["billing", "vip"]
    assert created["message_count"] == 1
    assert created["version"] == 1
    assert created["merged_into_id"] is None
    assert created["first_response_at"] is None and created["solved_at"] is None
    assert when(created["created_at"]) == when(created["updated_at"])

    fetched = client.get(f"{API}/tickets/{created['id']}", headers=headers)
    assert fetched.status_code == 200
    assert fetched.get_json() == created

    [first] = client.get(f"{API}/tickets/{created['id']}/messages", headers=headers).get_json()
    assert first["direction"] == "in" and first["is_public"] is True
    assert first["kind"] == "email"
    assert first["author_customer_id"] == customer.id and first["author_user_id"] is None
    assert first["body_text"] == "My card was declined twice."


def test_create_ticket_defaults_to_api_channel_and_normal_priority(client, headers):
    customer = make_customer()
    response = client.post(
        f"{API}/tickets",
        headers=headers,
        json={
            "subject": "Hello",
            "body_html": "<p>Hi <b>there</b></p>",
            "customer_id": customer.id,
        },
    )
    assert response.status_code == 201, response.get_json()
    created = response.get_json()
    assert (created["channel"], created["priority"], created["tags"]) == ("api", "normal", [])
    [first] = client.get(f"{API}/tickets/{created['id']}/messages", headers=headers).get_json()
    assert first["body_html"] == "<p>Hi <b>there</b></p>"
    assert first["body_text"] == "Hi there"


def test_create_ticket_with_assignee_starts_open(client, agent):
    user, headers = agent
    response = client.post(
        f"{API}/tickets",
        headers=headers,
        json={
            "subject": "x",
            "body": "y",
            "customer_id": make_customer().id,
            "assignee_id": user.id,
        },
    )
    assert response.status_code == 201
    assert response.get_json()["status"] == "open"
    assert response.get_json()["assignee"] == {"id": user.id, "name": user.name}


def test_create_ticket_by_korean_phone_identity_round_trips_korean_text(client, headers):
    subject = "환불 요청드립니다 — 주문 #2024-0001"
    body = "안녕하세요.\n지난주에 주문한 상품을 환불하고 싶습니다.\n감사합니다."
    response = client.post(
        f"{API}/tickets",
        headers=headers,
        json={
            "subject": subject,
            "body": body,
            "channel": "phone",
            "customer": {"kind": "phone", "value": "010-1234-5678", "name": "김민수"},
            "tags": ["환불"],
        },
    )
    assert response.status_code == 201, response.get_json()
    created = response.get_json()
    assert created["subject"] == subject
    assert created["customer"]["name"] == "김민수"
    assert created["tags"] == ["환불"]
    customer_id = created["customer"]["id"]

    customer = client.get(f"{API}/customers/{customer_id}", headers=headers).get_json()
    assert customer["identities"] == [{"kind": "phone", "value": "+821012345678"}]

    # The same number written internationally resolves to the same customer.
    again = client.post(
        f"{API}/tickets",
        headers=headers,
        json={
            "subject": "또 문의",
            "body": "추가 질문",
            "customer": {"kind": "phone", "value": "+82 10 1234 5678"},
        },
    )
    assert again.status_code == 201
    assert again.get_json()["customer"]["id"] == customer_id

    fetched = client.get(f"{API}/tickets/{created['id']}", headers=headers).get_json()
    assert fetched["subject"] == subject
    [first] = client.get(f"{API}/tickets/{created['id']}/messages", headers=headers).get_json()
    assert first["body_text"] == body
    assert first["kind"] == "phone"
    assert "지난주에 주문한 상품을 환불하고 싶습니다." in first["body_html"]
    assert response.content_type.startswith("application/json")


INVALID_CREATES: list[tuple[dict[str, Any], str]] = [
    ({}, "subject"),
    ({"subject": "x", "customer_id": "CUSTOMER"}, "body"),
    ({"subject": "x", "body": "   ", "customer_id": "CUSTOMER"}, "body"),
    ({"subject": "x", "body": "y"}, "customer"),
    (
        {
            "subject": "x",
            "body": "y",
            "customer_id": "CUSTOMER",
            "customer": {"kind": "email", "value": "a@b.co"},
        },
        "customer",
    ),
    ({"subject": "x", "body": "y", "customer_id": 999999}, "customer_id"),
    ({"subject": "x", "body": "y", "customer_id": "abc"}, "customer_id"),
    ({"subject": "x" * 256, "body": "y", "customer_id": "CUSTOMER"}, "subject"),
    ({"subject": "   ", "body": "y", "customer_id": "CUSTOMER"}, "subject"),
    ({"subject": 42, "body": "y", "customer_id": "CUSTOMER"}, "subject"),
    ({"subject": "x", "body": "y", "customer_id": "CUSTOMER", "priority": "huge"}, "priority"),
    ({"subject": "x", "body": "y", "customer_id": "CUSTOMER", "channel": "fax"}, "channel"),
    ({"subject": "x", "body": "y", "customer_id": "CUSTOMER", "status": "open"}, "status"),
    ({"subject": "x", "body": "y", "customer_id": "CUSTOMER", "group_id": 999999}, "group_id"),
    ({"subject": "x", "body": "y", "customer_id": "CUSTOMER", "tags": ["t" * 65]}, "tags"),
    ({"subject": "x", "body": "y", "customer": {"kind": "phone", "value": "12"}}, "value"),
    ({"subject": "x", "body": "y", "customer": {"kind": "fax", "value": "1"}}, "customer"),
    ({"subject": "x", "body": "y", "customer": {"kind": "email"}}, "customer"),
]


def test_create_ticket_rejects_invalid_input_with_field_errors(client, headers):
    customer_id = make_customer().id
    for payload, field in INVALID_CREATES:
        body = {k: customer_id if v == "CUSTOMER" else v for k, v in payload.items()}
        response = client.post(f"{API}/tickets", headers=headers, json=body)
        assert_error(response, 422, "invalid", field)
    listed = client.get(f"{API}/tickets", headers=headers).get_json()
    assert listed["items"] == [], "an invalid request created a ticket"


def test_create_ticket_only_agents_and_admins_can_be_assigned(client, headers):
    sales = make_user("sales")
    response = client.post(
        f"{API}/tickets",
        headers=headers,
        json={
            "subject": "x",
            "body": "y",
            "customer_id": make_customer().id,
            "assignee_id": sales.id,
        },
    )
    assert_error(response, 422, "invalid", "assignee_id")


def test_get_unknown_ticket_is_404(client, headers):
    assert_error(client.get(f"{API}/tickets/999999", headers=headers), 404, "not_found")


# --- change ------------------------------------------------------------------------------------


def test_patch_changes_status_priority_group_assignee_tags_and_subject(client, headers):
    ticket = make_ticket()
    group = make_group("기술지원")
    colleague = make_user("agent")
    response = client.patch(
        f"{API}/tickets/{ticket.id}",
        headers=headers,
        json={
            "status": "pending",
            "priority": "urgent",
            "group_id": group.id,
            "assignee_id": colleague.id,
            "tags": ["VIP", "환불", "vip"],
            "subject": "Renamed",
            "version": 1,
        },
    )
    assert response.status_code == 200, response.get_json()
    changed = client.get(f"{API}/tickets/{ticket.id}", headers=headers).get_json()
    assert changed["status"] == "pending"  # an explicit status wins over "assigning opens"
    assert changed["priority"] == "urgent"
    assert changed["group"] == {"id": group.id, "name": "기술지원"}
    assert changed["assignee"] == {"id": colleague.id, "name": colleague.name}
    assert changed["tags"] == ["vip", "환불"]
    assert changed["subject"] == "Renamed"
    assert changed["version"] == 2
    assert when(changed["updated_at"]) > when(changed["created_at"])

    cleared = client.patch(
        f"{API}/tickets/{ticket.id}",
        headers=headers,
        json={"group_id": None, "assignee_id": None, "tags": [], "status": "solved"},
    )
    assert cleared.status_code == 200
    after = client.get(f"{API}/tickets/{ticket.id}", headers=headers).get_json()
    assert after["group"] is None and after["assignee"] is None and after["tags"] == []
    assert after["status"] == "solved" and after["solved_at"] is not None
    assert after["version"] == 3
    assert cleared.get_json() == after


def test_patch_response_shows_the_new_group_and_assignee(client, agent):
    """The PATCH response is the ticket as saved, not the state before the change."""
    user, headers = agent
    ticket = make_ticket()
    group = make_group()
    response = client.patch(
        f"{API}/tickets/{ticket.id}",
        headers=headers,
        json={"group_id": group.id, "assignee_id": user.id},
    )
    assert response.status_code == 200
    saved = client.get(f"{API}/tickets/{ticket.id}", headers=headers).get_json()
    assert saved["group"] == {"id": group.id, "name": group.name}
    assert saved["assignee"] == {"id": user.id, "name": user.name}
    assert response.get_json() == saved


def test_patch_assigning_a_new_ticket_opens_it(client, agent):
    user, headers = agent
    ticket = make_ticket()
    response = client.patch(
        f"{API}/tickets/{ticket.id}", headers=headers, json={"assignee_id": user.id}
    )
    assert response.status_code == 200 and response.get_json()["status"] == "open"
    saved = client.get(f"{API}/tickets/{ticket.id}", headers=headers).get_json()
    assert saved["status"] == "open" and saved["assignee"]["id"] == user.id


def test_patch_with_stale_version_is_409_and_keeps_the_first_change(client, headers):
    _, other_headers = user_with_token("agent")
    ticket_id = make_ticket().id
    first = client.patch(
        f"{API}/tickets/{ticket_id}", headers=headers, json={"priority": "high", "version": 1}
    )
    assert first.status_code == 200 and first.get_json()["version"] == 2

    stale = client.patch(
        f"{API}/tickets/{ticket_id}", headers=other_headers, json={"priority": "low", "version": 1}
    )
    error = assert_error(stale, 409, "conflict")
    assert "version" in error["message"]
    current = client.get(f"{API}/tickets/{ticket_id}", headers=headers).get_json()
    assert current["priority"] == "high" and current["version"] == 2

    fresh = client.patch(
        f"{API}/tickets/{ticket_id}", headers=other_headers, json={"priority": "low", "version": 2}
    )
    assert fresh.status_code == 200 and fresh.get_json()["priority"] == "low"
    assert fresh.get_json()["version"] == 3


def test_patch_that_changes_nothing_keeps_the_version(client, headers):
    ticket = make_ticket()
    same = client.patch(f"{API}/tickets/{ticket.id}", headers=headers, json={"priority": "normal"})
    assert same.status_code == 200 and same.get_json()["version"] == 1
    empty = client.patch(f"{API}/tickets/{ticket.id}", headers=headers, json={})
    assert empty.status_code == 200 and empty.get_json()["version"] == 1
    history = client.get(f"{API}/tickets/{ticket.id}/history", headers=headers).get_json()
    assert [h["action"] for h in history] == ["ticket.created"]


INVALID_PATCHES: list[tuple[dict[str, Any], str]] = [
    ({"status": "archived"}, "status"),
    ({"status": "new"}, "status"),  # an open ticket cannot go back to new
    ({"priority": "huge"}, "priority"),
    ({"priority": 3}, "priority"),
    ({"number": 5}, "number"),
    ({"group_id": 999999}, "group_id"),
    ({"assignee_id": 999999}, "assignee_id"),
    ({"subject": ""}, "subject"),
    ({"tags": "vip"}, "tags"),
    ({"version": "one"}, "version"),
]


def test_patch_rejects_invalid_changes(client, headers):
    ticket_id = make_ticket().id
    tickets.set_status(SYSTEM, ticket_id, "open")  # version 2
    for payload, field in INVALID_PATCHES:
        response = client.patch(f"{API}/tickets/{ticket_id}", headers=headers, json=payload)
        assert_error(response, 422, "invalid", field)
    current = client.get(f"{API}/tickets/{ticket_id}", headers=headers).get_json()
    assert current["version"] == 2 and current["status"] == "open"
    assert current["priority"] == "normal" and current["group"] is None


def test_patch_closed_ticket_is_409(client, headers):
    ticket_id = make_ticket().id
    tickets.set_status(SYSTEM, ticket_id, "closed")
    response = client.patch(
        f"{API}/tickets/{ticket_id}", headers=headers, json={"priority": "high"}
    )
    assert_error(response, 409, "conflict")


def test_patch_unknown_ticket_is_404(client, headers):
    response = client.patch(f"{API}/tickets/999999", headers=headers, json={"priority": "high"})
    assert_error(response, 404, "not_found")


# --- merge -------------------------------------------------------------------------------------


def test_merge_moves_conversation_and_tags_and_closes_the_source(client, headers):
    customer = make_customer()
    target = make_ticket(customer, tags=["login"])
    source = make_ticket(customer, tags=["sso"], body_text="Still broken")
    response = client.post(
        f"{API}/tickets/{source.id}/merge", headers=headers, json={"target_id": target.id}
    )
    assert response.status_code == 200, response.get_json()
    merged_target = response.get_json()
    assert merged_target["id"] == target.id
    assert merged_target["tags"] == ["login", "sso"]
    assert merged_target["message_count"] == 2
    assert merged_target["version"] == 2

    closed = client.get(f"{API}/tickets/{source.id}", headers=headers).get_json()
    assert closed["status"] == "closed" and closed["merged_into_id"] == target.id
    assert closed["message_count"] == 0
    bodies = [
        m["body_text"]
        for m in client.get(f"{API}/tickets/{target.id}/messages", headers=headers).get_json()
    ]
    assert bodies == ["Please help.", "Still broken"]
    assert client.get(f"{API}/tickets/{source.id}/messages", headers=headers).get_json() == []

    history = client.get(f"{API}/tickets/{source.id}/history", headers=headers).get_json()
    assert history[-1]["action"] == "ticket.merged_away"
    assert history[-1]["changes"] == {
        "status": ["new", "closed"],
        "merged_into_id": [None, target.id],
    }

    again = client.post(
        f"{API}/tickets/{source.id}/merge", headers=headers, json={"target_id": target.id}
    )
    assert_error(again, 409, "conflict")


def test_merge_errors(client, headers):
    one, two, closed = make_ticket(), make_ticket(), make_ticket()
    tickets.set_status(SYSTEM, closed.id, "closed")
    url = f"{API}/tickets/{one.id}/merge"
    assert_error(
        client.post(url, headers=headers, json={"target_id": one.id}), 422, "invalid", "target_id"
    )
    assert_error(client.post(url, headers=headers, json={}), 422, "invalid", "target_id")
    assert_error(
        client.post(url, headers=headers, json={"target_id": "two"}), 422, "invalid", "target_id"
    )
    assert_error(client.post(url, headers=headers, json={"target_id": 999999}), 404, "not_found")
    assert_error(
        client.post(f"{API}/tickets/999999/merge", headers=headers, json={"target_id": two.id}),
        404,
        "not_found",
    )
    assert_error(client.post(url, headers=headers, json={"target_id": closed.id}), 409, "conflict")
    unchanged = client.get(f"{API}/tickets/{one.id}", headers=headers).get_json()
    assert unchanged["status"] == "new" and unchanged["merged_into_id"] is None


# --- conversation ------------------------------------------------------------------------------


def test_messages_are_oldest_first_and_staff_of_every_role_see_notes(client, agent):
    user, headers = agent
    ticket = make_ticket(body_text="Where is my order?")
    reply = client.post(
        f"{API}/tickets/{ticket.id}/replies", headers=headers, json={"body": "On its way."}
    )
    assert reply.status_code == 201
    sales, sales_headers = user_with_token("sales")
    note = client.post(
        f"{API}/tickets/{ticket.id}/notes", headers=sales_headers, json={"body": "VIP 고객입니다"}
    )
    assert note.status_code == 201
    for who in (headers, sales_headers, user_with_token("marketing")[1]):
        conversation = client.get(f"{API}/tickets/{ticket.id}/messages", headers=who).get_json()
        assert [(m["direction"], m["is_public"], m["body_text"]) for m in conversation] == [
            ("in", True, "Where is my order?"),
            ("out", True, "On its way."),
            ("out", False, "VIP 고객입니다"),
        ]
        assert [m["author_user_id"] for m in conversation] == [None, user.id, sales.id]
        assert conversation[2]["kind"] == "note"


def test_first_reply_sets_first_response_and_opens_a_new_ticket(client, agent):
    user, headers = agent
    ticket = make_ticket(channel="chat")
    response = client.post(
        f"{API}/tickets/{ticket.id}/replies",
        headers=headers,
        json={"body": "Hello!\n\nHow can I help?"},
    )
    assert response.status_code == 201, response.get_json()
    message = response.get_json()
    assert message["ticket_id"] == ticket.id
    assert (message["direction"], message["is_public"], message["kind"]) == ("out", True, "chat")
    assert message["author_user_id"] == user.id and message["author_customer_id"] is None
    assert message["body_html"] == "<p>Hello!</p><p>How can I help?</p>"
    assert message["attachments"] == []

    after = client.get(f"{API}/tickets/{ticket.id}", headers=headers).get_json()
    assert after["status"] == "open"
    assert when(after["first_response_at"]) == when(message["created_at"])
    assert after["message_count"] == 2 and after["version"] == 2

    second = client.post(
        f"{API}/tickets/{ticket.id}/replies",
        headers=headers,
        json={"body": "Waiting for you", "status": "pending", "version": 2},
    )
    assert second.status_code == 201
    later = client.get(f"{API}/tickets/{ticket.id}", headers=headers).get_json()
    assert later["status"] == "pending"
    assert later["first_response_at"] == after["first_response_at"]
    assert later["version"] == 3


def test_reply_with_solved_status_sets_solved_at(client, headers):
    ticket = make_ticket()
    response = client.post(
        f"{API}/tickets/{ticket.id}/replies",
        headers=headers,
        json={"body": "Fixed.", "status": "solved"},
    )
    assert response.status_code == 201
    solved = client.get(f"{API}/tickets/{ticket.id}", headers=headers).get_json()
    assert solved["status"] == "solved" and solved["solved_at"] is not None


def test_reply_html_is_sanitized(client, headers):
    ticket = make_ticket()
    response = client.post(
        f"{API}/tickets/{ticket.id}/replies",
        headers=headers,
        json={
            "body_html": '<p onclick="steal()">Hi <a href="javascript:alert(1)">there</a></p>'
            "<script>alert(1)</script>"
        },
    )
    assert response.status_code == 201
    message = response.get_json()
    for dangerous in ("<script", "onclick", "javascript:"):
        assert dangerous not in message["body_html"]
    assert message["body_text"] == "Hi there"


INVALID_REPLIES: list[tuple[dict[str, Any], str]] = [
    ({}, "body"),
    ({"body": "   "}, "body"),
    ({"body": "x", "status": "closed"}, "status"),
    ({"body": "x", "status": "new"}, "status"),
    ({"body": "x", "is_public": False}, "is_public"),
    ({"body": 5}, "body"),
]


def test_reply_rejects_invalid_input(client, headers):
    ticket_id = make_ticket().id
    for payload, field in INVALID_REPLIES:
        response = client.post(f"{API}/tickets/{ticket_id}/replies", headers=headers, json=payload)
        assert_error(response, 422, "invalid", field)
    assert len(messages.list_messages(SYSTEM, ticket_id)) == 1
    assert client.get(f"{API}/tickets/{ticket_id}", headers=headers).get_json()["version"] == 1


def test_reply_conflicts(client, headers):
    ticket_id, target_id = make_ticket().id, make_ticket().id
    stale = client.post(
        f"{API}/tickets/{ticket_id}/replies", headers=headers, json={"body": "x", "version": 7}
    )
    assert_error(stale, 409, "conflict")
    tickets.merge_tickets(SYSTEM, ticket_id, target_id)
    merged = client.post(f"{API}/tickets/{ticket_id}/replies", headers=headers, json={"body": "x"})
    assert_error(merged, 409, "conflict")
    unknown = client.post(f"{API}/tickets/999999/replies", headers=headers, json={"body": "x"})
    assert_error(unknown, 404, "not_found")


def test_note_is_internal_and_does_not_touch_response_time_status_or_version(client, agent):
    user, headers = agent
    ticket = make_ticket()
    response = client.post(
        f"{API}/tickets/{ticket.id}/notes", headers=headers, json={"body": "Called them back"}
    )
    assert response.status_code == 201
    note = response.get_json()
    assert (note["direction"], note["is_public"], note["kind"]) == ("out", False, "note")
    assert note["author_user_id"] == user.id
    after = client.get(f"{API}/tickets/{ticket.id}", headers=headers).get_json()
    assert after["status"] == "new" and after["first_response_at"] is None
    assert after["version"] == 1 and after["message_count"] == 2


def test_notes_are_allowed_on_closed_tickets(client, headers):
    ticket_id = make_ticket().id
    tickets.set_status(SYSTEM, ticket_id, "closed")
    response = client.post(f"{API}/tickets/{ticket_id}/notes", headers=headers, json={"body": "x"})
    assert response.status_code == 201


def test_note_rejects_invalid_input(client, headers):
    ticket_id = make_ticket().id
    url = f"{API}/tickets/{ticket_id}/notes"
    assert_error(client.post(url, headers=headers, json={}), 422, "invalid", "body")
    assert_error(
        client.post(url, headers=headers, json={"body": "x", "status": "solved"}),
        422,
        "invalid",
        "status",
    )
    assert_error(
        client.post(f"{API}/tickets/999999/notes", headers=headers, json={"body": "x"}),
        404,
        "not_found",
    )
    assert len(messages.list_messages(SYSTEM, ticket_id)) == 1


def test_messages_of_unknown_ticket_is_404(client, headers):
    assert_error(client.get(f"{API}/tickets/999999/messages", headers=headers), 404, "not_found")


# --- history -----------------------------------------------------------------------------------


def test_history_lists_every_change_with_before_and_after(client, agent):
    user, headers = agent
    created = client.post(
        f"{API}/tickets",
        headers=headers,
        json={"subject": "x", "body": "y", "customer_id": make_customer().id},
    ).get_json()
    url = f"{API}/tickets/{created['id']}"
    client.patch(url, headers=headers, json={"priority": "urgent", "assignee_id": user.id})
    client.post(f"{url}/replies", headers=headers, json={"body": "On it", "status": "pending"})
    client.post(f"{url}/notes", headers=headers, json={"body": "internal"})

    response = client.get(f"{url}/history", headers=headers)
    assert response.status_code == 200
    history = response.get_json()
    assert [h["action"] for h in history] == [
        "ticket.created",
        "ticket.updated",
        "message.replied",
        "message.noted",
    ]
    assert all(h["actor_user_id"] == user.id for h in history)
    assert history[0]["data"]["number"] == created["number"]
    assert history[1]["changes"] == {
        "priority": ["normal", "urgent"],
        "assignee_id": [None, user.id],
        "status": ["new", "open"],
    }
    assert history[2]["changes"] == {"status": ["open", "pending"]}
    stamps = [when(h["created_at"]) for h in history]
    assert stamps == sorted(stamps)
    ids = [h["id"] for h in history]
    assert ids == sorted(ids)


def test_history_of_unknown_ticket_is_404(client, headers):
    assert_error(client.get(f"{API}/tickets/999999/history", headers=headers), 404, "not_found")


# --- listing: filters, sorting, cursor pagination ----------------------------------------------

BASE = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
STATUSES = ["new", "open", "pending", "on-hold", "solved", "closed"]


@dataclass
class Queue:
    """20 tickets with varied fields and several identical timestamps (to exercise ties)."""

    me: int
    other: int
    groups: list[int]
    customers: list[int]
    since: datetime
    headers: dict[str, str]

    @staticmethod
    def rows() -> list[Ticket]:
        session = db.session()
        session.expire_all()
        return list(session.scalars(select(Ticket).options(selectinload(Ticket.tags))))


@pytest.fixture
def queue(client) -> Queue:
    me, headers = user_with_token("agent")
    other = make_user("agent")
    groups = [make_group().id, make_group().id]
    customers = [make_customer(), make_customer()]
    created: list[int] = []
    with time_machine.travel(BASE, tick=False) as clock:
        for i in range(20):
            # Pairs of tickets share one timestamp, so the id tie-breaker matters.
            clock.move_to(BASE + timedelta(minutes=i // 2))
            status = STATUSES[i % 6]
            assignee = None if status == "new" else [me.id, other.id, None][i % 3]
            ticket = make_ticket(
                customers[1 if i % 5 == 4 else 0],
                channel=["email", "chat", "phone", "web"][i % 4],
                assignee_id=assignee,
                group_id=[groups[0], groups[1], None][(i // 2) % 3],
                tags=[["vip"], ["환불"], [], ["vip", "환불"]][i % 4],
            )
            if status not in ("new", ticket.status):
                tickets.set_status(SYSTEM, ticket.id, status)
            created.append(ticket.id)
        # Later activity on some older tickets, again in tied pairs, so that "updated" order
        # differs from "created" order.
        for n, index in enumerate([3, 0, 7, 12, 1, 8]):
            clock.move_to(BASE + timedelta(hours=1, minutes=n // 2))
            messages.add_note(actor(other), created[index], body_text=f"touch {n}")
    rows = Queue.rows()
    assert sorted(t.id for t in rows) == sorted(created)
    assert len({t.updated_at for t in rows}) < len(rows)  # there are ties
    return Queue(
        me=me.id,
        other=other.id,
        groups=groups,
        customers=[c.id for c in customers],
        since=BASE + timedelta(minutes=5),
        headers=headers,
    )


def _tags(t: Ticket) -> set[str]:
    return {tag.name for tag in t.tags}


# (query parameters, the same filter written in Python) built from the queue's ids.
COMBOS: list[tuple[str, Callable[[Queue], dict[str, Any]], Callable[[Queue, Ticket], bool]]] = [
    ("all", lambda q: {}, lambda q, t: True),
    ("one status", lambda q: {"status": "open"}, lambda q, t: t.status == "open"),
    (
        "several statuses",
        lambda q: {"status": "open,pending,on-hold"},
        lambda q, t: t.status in ("open", "pending", "on-hold"),
    ),
    (
        "my open work",
        lambda q: {"status": "new,open,pending,on-hold", "assignee": "me"},
        lambda q, t: t.status not in ("solved", "closed") and t.assignee_id == q.me,
    ),
    ("unassigned", lambda q: {"assignee": "none"}, lambda q, t: t.assignee_id is None),
    (
        "a colleague, two statuses",
        lambda q: {"assignee": str(q.other), "status": "open,pending,solved"},
        lambda q, t: t.assignee_id == q.other and t.status in ("open", "pending", "solved"),
    ),
    (
        "group and statuses",
        lambda q: {"group": q.groups[0], "status": "solved,closed,new"},
        lambda q, t: t.group_id == q.groups[0] and t.status in ("solved", "closed", "new"),
    ),
    (
        "group unassigned",
        lambda q: {"group": q.groups[1], "assignee": "none"},
        lambda q, t: t.group_id == q.groups[1] and t.assignee_id is None,
    ),
    (
        "customer",
        lambda q: {"customer": q.customers[1]},
        lambda q, t: t.customer_id == q.customers[1],
    ),
    ("tag (any case)", lambda q: {"tag": "VIP"}, lambda q, t: "vip" in _tags(t)),
    (
        "korean tag and statuses",
        lambda q: {"tag": "환불", "status": "pending,on-hold,closed,open"},
        lambda q, t: "환불" in _tags(t) and t.status in ("pending", "on-hold", "closed", "open"),
    ),
    ("channel", lambda q: {"channel": "chat"}, lambda q, t: t.channel == "chat"),
    (
        "updated since (KST offset)",
        lambda q: {"updated_since": q.since.astimezone(KST).isoformat()},
        lambda q, t: t.updated_at >= q.since,
    ),
    (
        "updated since and statuses",
        lambda q: {"updated_since": q.since.isoformat(), "status": "new,solved,open"},
        lambda q, t: t.updated_at >= q.since and t.status in ("new", "solved", "open"),
    ),
]


def _expected(
    q: Queue, rows: list[Ticket], sort: str, keep: Callable[[Queue, Ticket], bool]
) -> list[int]:
    chosen = [t for t in rows if keep(q, t)]
    column = sort.lstrip("-")
    chosen.sort(key=lambda t: (getattr(t, column), t.id), reverse=sort.startswith("-"))
    return [t.id for t in chosen]


def test_cursor_pagination_walks_every_filter_and_sort_without_gaps_or_duplicates(client, queue):
    rows = Queue.rows()
    for sort in ("-updated_at", "updated_at", "-created_at", "created_at"):
        for index, (name, params, keep) in enumerate(COMBOS):
            expected = _expected(queue, rows, sort, keep)
            if name != "all":
                assert 0 < len(expected) < len(rows), f"{name}: must select a proper subset"
            limit = 3 + index % 3
            query = {**params(queue), "sort": sort, "limit": limit}
            ids, pages = walk_pages(client, f"{API}/tickets", queue.headers, query)
            label = f"{name} (sort {sort}, limit {limit})"
            assert len(ids) == len(set(ids)), f"{label}: duplicates across pages"
            assert ids == expected, label
            assert len(pages) == max(1, math.ceil(len(expected) / limit)), label
            assert all(len(p["items"]) == limit for p in pages[:-1]), label
    # One ticket per page, all the way through.
    ids, pages = walk_pages(client, f"{API}/tickets", queue.headers, {"limit": 1})
    assert ids == _expected(queue, rows, "-updated_at", lambda q, t: True)
    assert len(pages) == len(rows)


def test_default_sort_is_newest_activity_first(client, queue):
    page = client.get(f"{API}/tickets", headers=queue.headers, query_string={"limit": 100})
    expected = _expected(queue, Queue.rows(), "-updated_at", lambda q, t: True)
    assert [t["id"] for t in page.get_json()["items"]] == expected
    assert page.get_json()["next_cursor"] is None
    # and the order really differs from creation order (later activity moved tickets up)
    assert expected != sorted(expected, reverse=True)


def test_list_items_have_the_ticket_representation(client, headers):
    ticket = make_ticket(tags=["vip"])
    [item] = client.get(f"{API}/tickets", headers=headers).get_json()["items"]
    assert item == client.get(f"{API}/tickets/{ticket.id}", headers=headers).get_json()


def test_updated_since_is_inclusive_and_offset_aware(client, headers):
    with time_machine.travel(BASE, tick=False) as clock:
        old = make_ticket()
        clock.move_to(BASE + timedelta(hours=2))
        new = make_ticket()
    for since in (
        "2025-03-01T11:00:00+00:00",
        "2025-03-01T20:00:00+09:00",  # the same instant, written in KST
        "2025-03-01T11:00:00Z",
    ):
        items = client.get(
            f"{API}/tickets", headers=headers, query_string={"updated_since": since}
        ).get_json()["items"]
        assert [t["id"] for t in items] == [new.id], since
    before = client.get(
        f"{API}/tickets",
        headers=headers,
        query_string={"updated_since": "2025-03-01T17:59:59+09:00"},
    ).get_json()["items"]
    assert [t["id"] for t in before] == [new.id, old.id]


def test_updated_since_must_be_an_aware_timestamp(client, headers):
    for value in ("2025-03-01T11:00:00", "2025-03-01", "yesterday", "2025-13-01T00:00:00Z"):
        response = client.get(
            f"{API}/tickets", headers=headers, query_string={"updated_since": value}
        )
        assert_error(response, 422, "invalid", "updated_since")


INVALID_LIST_PARAMS: list[tuple[dict[str, Any], str]] = [
    ({"limit": 0}, "limit"),
    ({"limit": 101}, "limit"),
    ({"limit": -1}, "limit"),
    ({"limit": "ten"}, "limit"),
    ({"sort": "id"}, "sort"),
    ({"sort": "-number"}, "sort"),
    ({"status": "archived"}, "status"),
    ({"status": "open,archived"}, "status"),
    ({"assignee": "someone"}, "assignee"),
    ({"assignee": "-3"}, "assignee"),
    ({"group": "billing"}, "group"),
    ({"customer": "kim"}, "customer"),
    ({"channel": "fax"}, "channel"),
    ({"stauts": "open"}, "stauts"),  # a typo must not silently list everything
]


def test_list_rejects_invalid_parameters(client, headers):
    make_ticket()
    for params, field in INVALID_LIST_PARAMS:
        response = client.get(f"{API}/tickets", headers=headers, query_string=params)
        assert_error(response, 422, "invalid", field)


def test_limit_bounds_are_inclusive(client, headers):
    for _ in range(3):
        make_ticket()
    one = client.get(f"{API}/tickets", headers=headers, query_string={"limit": 1}).get_json()
    assert len(one["items"]) == 1 and one["next_cursor"]
    hundred = client.get(f"{API}/tickets", headers=headers, query_string={"limit": 100})
    assert hundred.status_code == 200 and len(hundred.get_json()["items"]) == 3


def _b64(raw: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(raw).encode()).decode().rstrip("=")


def test_a_cursor_from_another_sort_order_is_rejected(client, headers):
    for _ in range(3):
        make_ticket()
    first = client.get(
        f"{API}/tickets", headers=headers, query_string={"limit": 1, "sort": "-updated_at"}
    ).get_json()
    cursor = first["next_cursor"]
    assert cursor
    for other in ("updated_at", "-created_at", "created_at"):
        response = client.get(
            f"{API}/tickets", headers=headers, query_string={"sort": other, "cursor": cursor}
        )
        assert_error(response, 422, "invalid", "cursor")
    ok = client.get(
        f"{API}/tickets", headers=headers, query_string={"sort": "-updated_at", "cursor": cursor}
    )
    assert ok.status_code == 200


MALFORMED_CURSORS = [
    ("-updated_at", "not-a-cursor!"),
    ("-updated_at", "%%%"),
    ("-updated_at", _b64({"sort": "-updated_at"})),
    ("-updated_at", _b64(["-updated_at", "2025-03-01T09:00:00+00:00"])),
    ("-updated_at", _b64(["-updated_at", "not a date", 3])),
    ("-updated_at", _b64(["-updated_at", None, 3])),
    ("-updated_at", _b64(["-updated_at", "2025-03-01T09:00:00+00:00", "3"])),
    ("-created_at", _b64(["-created_at", 3, 3.5])),
]


def test_a_malformed_cursor_is_422_with_a_cursor_field(client, headers):
    make_ticket()
    for sort, cursor in MALFORMED_CURSORS:
        response = client.get(
            f"{API}/tickets", headers=headers, query_string={"sort": sort, "cursor": cursor}
        )
        assert_error(response, 422, "invalid", "cursor")


def test_a_cursor_with_a_naive_timestamp_is_422_not_500(client, headers):
    """Well-formed, but never issued by the server (its timestamps always carry an offset)."""
    make_ticket()
    for sort in ("-updated_at", "updated_at"):
        cursor = _b64([sort, "2025-03-01T09:00:00", 3])
        response = client.get(
            f"{API}/tickets", headers=headers, query_string={"sort": sort, "cursor": cursor}
        )
        assert_error(response, 422, "invalid", "cursor")


def test_a_cursor_with_an_out_of_range_id_is_422(client, headers):
    """Never issued by the server: an id no integer column can hold must not reach the query."""
    make_ticket()
    for sort, cursor in [
        ("updated_at", _b64(["updated_at", "2025-03-01T09:00:00+00:00", 10**30])),
        ("-created_at", _b64(["-created_at", 10**30, 10**30])),
        ("created_at", _b64(["created_at", -(10**30), -(10**30)])),
    ]:
        response = client.get(
            f"{API}/tickets", headers=headers, query_string={"sort": sort, "cursor": cursor}
        )
        assert_error(response, 422, "invalid", "cursor")


def test_organization_filter(client, headers):
    from helpdesk.services import customers

    org = customers.create_organization(SYSTEM, "Hanbit Co.")
    member = make_customer(organization_id=org.id)
    mine = make_ticket(member)
    make_ticket()
    items = client.get(
        f"{API}/tickets", headers=headers, query_string={"organization": org.id}
    ).get_json()["items"]
    assert [t["id"] for t in items] == [mine.id]
    assert items[0]["organization_id"] == org.id


# --- live updates: API writes publish the same domain events as the staff pages ---------------


def test_api_writes_publish_events_and_failed_writes_publish_none(client, agent, published):
    user, headers = agent
    customer_id = make_customer().id
    published.clear()
    created = client.post(
        f"{API}/tickets",
        headers=headers,
        json={"subject": "Live", "body": "x", "customer_id": customer_id},
    ).get_json()
    url = f"{API}/tickets/{created['id']}"
    client.patch(url, headers=headers, json={"priority": "high", "version": 1})
    client.post(f"{url}/replies", headers=headers, json={"body": "Hi"})
    names = [e.name for e in published]
    assert names == [
        "ticket.created",
        "ticket.updated",
        "message.added",
        "ticket.updated",  # the reply opened the new ticket
    ]
    assert all(e.actor_user_id == user.id for e in published)
    assert isinstance(published[1], TicketUpdated)
    assert published[1].changes == {"priority": ["normal", "high"]}
    assert published[1].ticket["version"] == 2

    published.clear()
    _, sales_headers = user_with_token("sales")
    client.patch(url, headers=headers, json={"priority": "low", "version": 1})  # stale: 409
    client.patch(url, headers=sales_headers, json={"priority": "low"})  # 403
    client.patch(url, headers=headers, json={"priority": "huge"})  # 422
    client.post(f"{url}/replies", headers=headers, json={"body": " "})  # 422
    assert published == []


def test_list_rows_have_exactly_the_shape_of_a_single_ticket(app, client):
    """The list is written straight from queue rows; it must match TicketSchema field for field."""
    from helpdesk.services import messages
    from tests.factories import actor as actor_of
    from tests.factories import make_group, make_ticket, make_user, token_for

    agent = make_user()
    group = make_group()
    ticket = make_ticket(
        tags=["b", "a"], group_id=group.id, assignee_id=agent.id, priority="urgent"
    )
    messages.reply_to_ticket(actor_of(agent), ticket.id, body_text="done", status="solved")
    bare = make_ticket()
    headers = {"Authorization": f"Bearer {token_for(agent)}"}
    listed = {
        t["id"]: t for t in client.get("/api/v1/tickets", headers=headers).get_json()["items"]
    }
    for one in (ticket, bare):
        single = client.get(f"/api/v1/tickets/{one.id}", headers=headers).get_json()
        assert listed[one.id] == single
        assert list(listed[one.id]) == list(single)  # same field order too


def test_repeated_status_parameters_combine_like_a_comma_list(app, client):
    from tests.factories import make_ticket, make_user, token_for

    agent = make_user()
    new = make_ticket()
    pending = make_ticket()
    solved = make_ticket()
    from helpdesk.services import tickets as ticket_service
    from tests.factories import actor as actor_of

    ticket_service.set_status(actor_of(agent), pending.id, "pending")
    ticket_service.set_status(actor_of(agent), solved.id, "solved")
    headers = {"Authorization": f"Bearer {token_for(agent)}"}

    def ids(query: str) -> set[int]:
        response = client.get(f"/api/v1/tickets?{query}", headers=headers)
        assert response.status_code == 200, response.get_json()
        return {t["id"] for t in response.get_json()["items"]}

    assert ids("status=new&status=pending") == {new.id, pending.id}
    assert ids("status=new,pending") == {new.id, pending.id}
    assert ids("status=new&status=pending,solved") == {new.id, pending.id, solved.id}
    bad = client.get("/api/v1/tickets?status=new&status=bogus", headers=headers)
    assert bad.status_code == 422


def test_customer_search_refuses_unknown_parameters(app, client):
    from tests.factories import make_user, token_for

    headers = {"Authorization": f"Bearer {token_for(make_user())}"}
    response = client.get("/api/v1/customers?kind=email&value=a@b.co&vlaue=x", headers=headers)
    assert response.status_code == 422
    assert "vlaue" in response.get_json()["error"]["fields"]


def _file(name: str, content: bytes, content_type: str = "application/pdf") -> dict[str, str]:
    return {
        "filename": name,
        "content_type": content_type,
        "content_base64": base64.b64encode(content).decode(),
    }


def test_replies_notes_and_new_tickets_take_files_and_they_download(client, headers):
    customer = make_customer()
    created = client.post(
        f"{API}/tickets",
        headers=headers,
        json={
            "subject": "Invoice",
            "customer_id": customer.id,
            "attachments": [_file("청구서.pdf", b"%PDF-1 invoice")],
        },
    )
    assert created.status_code == 201
    ticket_id = created.get_json()["id"]
    reply = client.post(
        f"{API}/tickets/{ticket_id}/replies",
        headers=headers,
        json={"body": "Corrected.", "attachments": [_file("fixed.pdf", b"%PDF-1 fixed")]},
    )
    note = client.post(
        f"{API}/tickets/{ticket_id}/notes",
        headers=headers,
        json={"attachments": [_file("calc.csv", b"a,b", "text/csv")]},
    )
    assert reply.status_code == 201 and note.status_code == 201
    conversation = client.get(f"{API}/tickets/{ticket_id}/messages", headers=headers).get_json()
    files = [(a["filename"], a["size"]) for m in conversation for a in m["attachments"]]
    assert files == [("청구서.pdf", 14), ("fixed.pdf", 12), ("calc.csv", 3)]
    attachment_id = note.get_json()["attachments"][0]["id"]
    download = client.get(f"{API}/attachments/{attachment_id}", headers=headers)
    assert download.status_code == 200 and download.data == b"a,b"
    assert "attachment" in download.headers["Content-Disposition"]
    assert_error(client.get(f"{API}/attachments/999999", headers=headers), 404, "not_found")


def test_files_that_are_not_base64_too_many_or_too_big_are_refused(app, client, headers):
    ticket_id = make_ticket().id
    path = f"{API}/tickets/{ticket_id}/replies"
    bad = {"body": "x", "attachments": [{"filename": "a.txt", "content_base64": "%%%"}]}
    assert_error(client.post(path, headers=headers, json=bad), 422, "invalid", "attachments")
    many = {"body": "x", "attachments": [_file(f"{n}.txt", b"x") for n in range(21)]}
    assert_error(client.post(path, headers=headers, json=many), 422, "invalid", "attachments")
    app.config["HELPDESK"].attachment_max_bytes = 10
    big = {"body": "x", "attachments": [_file("big.bin", b"x" * 11)]}
    error = assert_error(client.post(path, headers=headers, json=big), 422, "invalid")
    assert "limit is 10 bytes" in error["message"]
    assert len(messages.list_messages(SYSTEM, ticket_id)) == 1


def test_a_logged_call_is_internal_of_kind_phone_and_counts_as_a_call_on_the_profile(
    client, headers
):
    ticket = make_ticket()
    sales = user_with_token("sales")[1]
    logged = client.post(
        f"{API}/tickets/{ticket.id}/calls",
        headers=sales,  # sales call customers too
        json={"body": "고객이 전화로 환불 일정을 물어보셨습니다."},
    )
    assert logged.status_code == 201
    call = logged.get_json()
    assert (call["kind"], call["is_public"], call["direction"]) == ("phone", False, "out")
    item = client.get(f"{API}/tickets/{ticket.id}", headers=headers).get_json()
    assert item["status"] == "new"  # a call changes no status by itself
    calls = client.get(
        f"{API}/customers/{ticket.customer_id}/timeline",
        headers=headers,
        query_string={"kind": "calls"},
    ).get_json()
    assert [e["message"]["id"] for e in calls["items"]] == [call["id"]]
    assert_error(
        client.post(f"{API}/tickets/{ticket.id}/calls", headers=headers, json={"body": " "}),
        422,
        "invalid",
        "body",
    )
