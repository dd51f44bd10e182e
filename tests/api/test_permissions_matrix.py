"""Role x endpoint: every API route and method, for every role, gives exactly the allowed status.

The rule (services/permissions.py): everyone on staff reads everything and adds internal notes;
only agents and admins create, change, merge and reply to tickets and create customers or add
identities; only admins see or touch email channels and their quarantine, and change SLA
calendars and policies (which all staff read). Everyone on staff reads the knowledge base; only
agents and admins write, publish and delete articles and manage its categories. Saved replies
are for those who reply: agents and admins use them and keep personal ones, admins change the
team's shared ones, and sales and marketing do not see them. Without
credentials every route but the OpenAPI document is 401. A refused call must leave no trace: no
audit entry, no new rows.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select

from helpdesk.extensions import db
from helpdesk.models import (
    AuditEvent,
    CannedReply,
    Customer,
    EmailChannel,
    EmailQuarantine,
    KbArticle,
    KbCategory,
    KbRevision,
    Message,
    SearchChange,
    SlaCalendar,
    SlaPolicy,
    Ticket,
)
from helpdesk.services import (
    canned_replies,
    customer_merge,
    customer_notes,
    customers,
    email_ingest,
    kb_articles,
    kb_categories,
    messages,
    sla_admin,
)
from helpdesk.services.attachments import UploadedFile
from helpdesk.services.permissions import SYSTEM, Actor
from tests.api.helpers import API, assert_error, bearer
from tests.email_helpers import make_channel
from tests.factories import make_customer, make_ticket, make_user, token_for

ROLES = ["admin", "agent", "sales", "marketing"]
OFFICE = [["09:00-18:00"]] * 5 + [[], []]
WRITERS = {"admin", "agent"}
ADMINS = {"admin"}


@dataclass
class World:
    ticket: int
    other_ticket: int
    customer: int
    email: str
    channel: int
    quarantined: int
    calendar: int  # no policy uses it
    policy: int
    other_customer: int
    merged: int  # a customer merged into other_customer
    kb_category: int  # no article uses it
    kb_article: int  # a draft in Korean and English
    kb_published: int  # published in Korean
    locale: str
    n: int
    note: int = 0  # a profile note written by another agent
    organization: int = 0
    attachment: int = 0  # a file of an internal note on ``ticket``
    canned: int = 0  # a saved reply shared with the team


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # placeholders: the fields of World, e.g. {ticket}, {customer}, {merged}
    ok: int
    writers_only: bool = False
    admins_only: bool = False
    changes_nothing: bool = False  # a POST that only reads (e.g. a connection test)
    body: Callable[[World], dict[str, Any]] | None = None
    query: Callable[[World], dict[str, Any]] | None = None
    public: bool = False  # served without credentials

    @property
    def id(self) -> str:
        return f"{self.method} {self.path}"


ENDPOINTS = [
    Endpoint("GET", "/tickets", 200, query=lambda w: {"status": "new,open", "limit": 5}),
    Endpoint(
        "POST",
        "/tickets",
        201,
        writers_only=True,
        body=lambda w: {"subject": "Matrix", "body": "Help", "customer_id": w.customer},
    ),
    Endpoint("GET", "/tickets/{ticket}", 200),
    Endpoint(
        "PATCH", "/tickets/{ticket}", 200, writers_only=True, body=lambda w: {"priority": "high"}
    ),
    Endpoint(
        "POST",
        "/tickets/{ticket}/merge",
        200,
        writers_only=True,
        body=lambda w: {"target_id": w.other_ticket},
    ),
    Endpoint("GET", "/tickets/{ticket}/messages", 200),
    Endpoint(
        "POST", "/tickets/{ticket}/replies", 201, writers_only=True, body=lambda w: {"body": "Hi"}
    ),
    Endpoint("POST", "/tickets/{ticket}/notes", 201, body=lambda w: {"body": "Internal"}),
    Endpoint("POST", "/tickets/{ticket}/calls", 201, body=lambda w: {"body": "Called back"}),
    Endpoint("GET", "/tickets/{ticket}/history", 200),
    Endpoint("GET", "/attachments/{attachment}", 200),
    Endpoint("GET", "/canned-replies", 200, writers_only=True, query=lambda w: {"q": "Matrix"}),
    Endpoint(
        "POST",
        "/canned-replies",
        201,
        writers_only=True,
        body=lambda w: {"title": f"Mine {w.n}", "body": "Hi {{customer.name}}", "shortcut": "hi"},
    ),
    Endpoint("GET", "/canned-replies/{canned}", 200, writers_only=True),
    Endpoint(
        "PATCH",
        "/canned-replies/{canned}",
        200,
        admins_only=True,
        body=lambda w: {"title": f"Renamed {w.n}"},
    ),
    Endpoint("DELETE", "/canned-replies/{canned}", 204, admins_only=True),
    Endpoint(
        "POST",
        "/canned-replies/{canned}/render",
        200,
        writers_only=True,
        body=lambda w: {"ticket_id": w.ticket},
    ),
    Endpoint("GET", "/customers", 200, query=lambda w: {"kind": "email", "value": w.email}),
    Endpoint(
        "POST",
        "/customers",
        201,
        writers_only=True,
        body=lambda w: {
            "name": "New",
            "identities": [{"kind": "email", "value": "new@example.com"}],
        },
    ),
    Endpoint("GET", "/customers/{customer}", 200),
    Endpoint(
        "POST",
        "/customers/{customer}/identities",
        201,
        writers_only=True,
        body=lambda w: {"kind": "phone", "value": "010-2222-3333"},
    ),
    Endpoint("GET", "/customers/{customer}/tickets", 200),
    Endpoint("GET", "/customers/{customer}/summary", 200),
    Endpoint("GET", "/customers/{customer}/timeline", 200),
    Endpoint("GET", "/customers/{customer}/duplicates", 200),
    Endpoint(
        "PATCH",
        "/customers/{customer}",
        200,
        writers_only=True,
        body=lambda w: {"tier": "gold", "tags": ["vip"], "attributes": {"plan": "pro"}},
    ),
    Endpoint("GET", "/customers/{customer}/notes", 200),
    Endpoint("POST", "/customers/{customer}/notes", 201, body=lambda w: {"body": "Prefers calls"}),
    Endpoint(
        "PATCH", "/customers/notes/{note}", 200, admins_only=True, body=lambda w: {"body": "Edited"}
    ),
    Endpoint("DELETE", "/customers/notes/{note}", 204, admins_only=True),
    Endpoint("GET", "/organizations/{organization}", 200),
    Endpoint("GET", "/organizations/{organization}/members", 200),
    Endpoint("GET", "/organizations/{organization}/tickets", 200),
    Endpoint(
        "POST",
        "/customers/events",
        201,
        writers_only=True,
        body=lambda w: {
            "customer_id": w.customer,
            "kind": "order",
            "title": "Matrix order",
            "occurred_at": "2026-11-23T10:00:00+09:00",
        },
    ),
    Endpoint("GET", "/customers/{customer}/events", 200),
    # No CSV in the body: refused as invalid (422) once the caller may import at all.
    Endpoint(
        "POST", "/customers/import", 422, writers_only=True, query=lambda w: {"kind": "customers"}
    ),
    Endpoint("POST", "/customers/{customer}/follow", 200),
    Endpoint("DELETE", "/customers/{customer}/follow", 204, changes_nothing=True),
    Endpoint("POST", "/tickets/{ticket}/follow", 200),
    Endpoint("DELETE", "/tickets/{ticket}/follow", 204, changes_nothing=True),
    Endpoint("GET", "/users/me/follows", 200),
    Endpoint("GET", "/search", 200, query=lambda w: {"q": "Matrix"}),
    Endpoint(
        "POST",
        "/customers/{customer}/merge",
        200,
        writers_only=True,
        body=lambda w: {"target_id": w.other_customer},
    ),
    Endpoint("POST", "/customers/{merged}/unmerge", 200, writers_only=True),
    Endpoint("GET", "/users/me", 200),
    Endpoint("GET", "/users", 200),
    Endpoint("GET", "/groups", 200),
    Endpoint("GET", "/channels/email", 200, admins_only=True),
    Endpoint(
        "POST",
        "/channels/email",
        201,
        admins_only=True,
        body=lambda w: {
            "name": f"Matrix {w.n}",
            "address": f"matrix{w.n}@dangol.test",
            "imap_host": "127.0.0.1",
            "imap_username": "matrix",
            "imap_password": "secret",
            "smtp_host": "127.0.0.1",
        },
    ),
    Endpoint("GET", "/channels/email/{channel}", 200, admins_only=True),
    Endpoint(
        "PATCH",
        "/channels/email/{channel}",
        200,
        admins_only=True,
        body=lambda w: {"display_name": "Matrix"},
    ),
    Endpoint("DELETE", "/channels/email/{channel}", 204, admins_only=True),
    # the channel's servers are on port 1: refused at once, reported, nothing written
    Endpoint("POST", "/channels/email/{channel}/test", 200, admins_only=True, changes_nothing=True),
    Endpoint("GET", "/channels/email/quarantine", 200, admins_only=True),
    Endpoint("GET", "/channels/email/quarantine/{quarantined}", 200, admins_only=True),
    Endpoint("GET", "/channels/email/quarantine/{quarantined}/raw", 200, admins_only=True),
    Endpoint("POST", "/channels/email/quarantine/{quarantined}/release", 200, admins_only=True),
    Endpoint("DELETE", "/channels/email/quarantine/{quarantined}", 204, admins_only=True),
    Endpoint("GET", "/sla/calendars", 200),
    Endpoint(
        "POST",
        "/sla/calendars",
        201,
        admins_only=True,
        body=lambda w: {"name": f"New {w.n}", "timezone": "Asia/Seoul", "hours": OFFICE},
    ),
    Endpoint("GET", "/sla/calendars/{calendar}", 200),
    Endpoint(
        "PUT",
        "/sla/calendars/{calendar}",
        200,
        admins_only=True,
        body=lambda w: {"name": f"Renamed {w.n}", "always_open": True},
    ),
    Endpoint("DELETE", "/sla/calendars/{calendar}", 204, admins_only=True),
    Endpoint("GET", "/sla/calendars/{calendar}/holidays", 200, query=lambda w: {"year": 2026}),
    Endpoint("GET", "/sla/policies", 200),
    Endpoint(
        "POST",
        "/sla/policies",
        201,
        admins_only=True,
        body=lambda w: {
            "name": f"New {w.n}",
            "calendar_id": w.calendar,
            "first_response_minutes": 60,
        },
    ),
    Endpoint("GET", "/sla/policies/{policy}", 200),
    Endpoint(
        "PUT",
        "/sla/policies/{policy}",
        200,
        admins_only=True,
        body=lambda w: {
            "name": f"Changed {w.n}",
            "calendar_id": w.calendar,
            "resolution_minutes": 60,
        },
    ),
    Endpoint("DELETE", "/sla/policies/{policy}", 204, admins_only=True),
    Endpoint("GET", "/sla/tickets/{ticket}", 200),
    Endpoint(
        "GET",
        "/sla/report",
        200,
        query=lambda w: {"from": "2026-01-01T00:00:00Z", "to": "2027-01-01T00:00:00Z"},
    ),
    Endpoint("GET", "/kb/categories", 200),
    Endpoint(
        "POST", "/kb/categories", 201, writers_only=True, body=lambda w: {"name_en": f"FAQ {w.n}"}
    ),
    Endpoint("GET", "/kb/categories/{kb_category}", 200),
    Endpoint(
        "PUT",
        "/kb/categories/{kb_category}",
        200,
        writers_only=True,
        body=lambda w: {"name_ko": f"자주 묻는 질문 {w.n}", "position": 3},
    ),
    Endpoint("DELETE", "/kb/categories/{kb_category}", 204, writers_only=True),
    Endpoint("GET", "/kb/articles", 200, query=lambda w: {"locale": "ko", "limit": 5}),
    Endpoint(
        "POST",
        "/kb/articles",
        201,
        writers_only=True,
        body=lambda w: {"translations": {"ko": {"title": f"문서 {w.n}", "body": "내용"}}},
    ),
    Endpoint("GET", "/kb/articles/{kb_article}", 200),
    Endpoint(
        "PUT",
        "/kb/articles/{kb_article}",
        200,
        writers_only=True,
        body=lambda w: {"visibility": "internal", "category_id": w.kb_category},
    ),
    Endpoint("DELETE", "/kb/articles/{kb_article}", 204, writers_only=True),
    Endpoint(
        "PUT",
        "/kb/articles/{kb_article}/translations/{locale}",
        200,
        writers_only=True,
        body=lambda w: {"title": f"Changed {w.n}", "body": "New text"},
    ),
    Endpoint("POST", "/kb/articles/{kb_article}/publish", 200, writers_only=True),
    Endpoint("POST", "/kb/articles/{kb_published}/unpublish", 200, writers_only=True),
    Endpoint("GET", "/kb/articles/{kb_article}/revisions", 200),
    Endpoint("GET", "/openapi.json", 200, public=True),
]


def expected_status(endpoint: Endpoint, role: str) -> int:
    if endpoint.public:
        return endpoint.ok
    if role == "anonymous":
        return 401
    if endpoint.writers_only and role not in WRITERS:
        return 403
    if endpoint.admins_only and role not in ADMINS:
        return 403
    return endpoint.ok


def _counts() -> dict[str, int]:
    session = db.session()
    return {
        model.__name__: session.scalar(select(func.count()).select_from(model)) or 0
        for model in (
            AuditEvent,
            Ticket,
            Message,
            Customer,
            EmailChannel,
            EmailQuarantine,
            SlaCalendar,
            SlaPolicy,
            KbCategory,
            KbArticle,
            KbRevision,
            SearchChange,
            CannedReply,
        )
    }


def _call(client, endpoint: Endpoint, role: str, n: int) -> str | None:
    """Call as ``role`` on fresh data; return what was wrong with the answer, if anything."""
    email = f"matrix{n}@example.com"
    customer = make_customer(email=email)
    channel = make_channel()
    other = make_customer(email=f"other{n}@example.com")
    merged_away = make_customer(email=f"dup{n}@example.com")
    customer_merge.merge_customers(SYSTEM, merged_away.id, other.id)
    words = {"title": f"Article {n}", "body": "Text"}
    kb_published = kb_articles.save_article(SYSTEM, {"translations": {"ko": words}})
    kb_articles.publish(SYSTEM, kb_published.id)
    ticket = make_ticket(customer).id
    noted = messages.add_note(
        Actor.of(make_user()),
        ticket,
        body_text="See the file",
        attachments=[UploadedFile("quote.pdf", "application/pdf", b"%PDF-1")],
    )
    world = World(
        ticket=ticket,
        other_ticket=make_ticket(customer).id,
        customer=customer.id,
        email=email,
        channel=channel.id,
        quarantined=email_ingest.ingest(channel.id, 1, b"\r\n\r\nunparsable").quarantine_id or 0,
        calendar=sla_admin.save_calendar(SYSTEM, {"name": f"Spare {n}", "always_open": True}).id,
        policy=sla_admin.save_policy(
            SYSTEM,
            {
                "name": f"Policy {n}",
                "calendar_id": sla_admin.save_calendar(
                    SYSTEM, {"name": f"Office {n}", "timezone": "Asia/Seoul", "hours": OFFICE}
                ).id,
                "first_response_minutes": 60,
            },
        ).id,
        other_customer=other.id,
        merged=merged_away.id,
        kb_category=kb_categories.save_category(SYSTEM, {"name_en": f"Spare {n}"}).id,
        kb_article=kb_articles.save_article(
            SYSTEM, {"translations": {"ko": words, "en": words}}
        ).id,
        kb_published=kb_published.id,
        locale="en",
        n=n,
        note=customer_notes.add_note(Actor.of(make_user()), customer.id, "Matrix note").id,
        organization=customers.create_organization(SYSTEM, f"Matrix org {n}").id,
        attachment=noted.attachments[0].id,
        canned=canned_replies.create_reply(
            SYSTEM, title=f"Matrix reply {n}", body="Hello", shared=True
        ).id,
    )
    headers = {} if role == "anonymous" else bearer(token_for(make_user(role)))
    body = endpoint.body(world) if endpoint.body else None
    if body and endpoint.path == "/customers":
        body["identities"] = [{"kind": "email", "value": f"new{n}@example.com"}]
    if body and endpoint.path.endswith("/identities"):
        body["value"] = f"010-2222-333{n}"
    before = _counts()
    response = client.open(
        API + endpoint.path.format(**vars(world)),
        method=endpoint.method,
        headers=headers,
        json=body,
        query_string=endpoint.query(world) if endpoint.query else None,
    )
    after = _counts()
    expected = expected_status(endpoint, role)
    if response.status_code != expected:
        return f"{role}: expected {expected}, got {response.status_code} {response.get_json()}"
    if expected in (401, 403):
        code = {401: "unauthorized", 403: "forbidden"}[expected]
        assert_error(response, expected, code)
    read_only = endpoint.method == "GET" or endpoint.changes_nothing
    if (expected >= 400 or read_only) and after != before:
        return f"{role}: a refused or read-only call changed data ({before} -> {after})"
    if expected < 400 and not read_only and after["AuditEvent"] <= before["AuditEvent"]:
        return f"{role}: the write left no audit entry"
    return None


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.id)
def test_permission_matrix(client, endpoint):
    """One row of the matrix: this endpoint called by each role (and by nobody)."""
    wrong = [
        problem
        for n, role in enumerate([*ROLES, "anonymous"])
        if (problem := _call(client, endpoint, role, n)) is not None
    ]
    assert wrong == [], f"{endpoint.id}:\n" + "\n".join(wrong)


def test_the_matrix_expects_both_outcomes():
    """Each write is refused to sales and marketing and allowed to agents and admins."""
    table = {e.id: {r: expected_status(e, r) for r in ROLES} for e in ENDPOINTS}
    assert table["POST /tickets"] == {"admin": 201, "agent": 201, "sales": 403, "marketing": 403}
    assert table["POST /tickets/{ticket}/notes"] == dict.fromkeys(ROLES, 201)
    admins_only = {e.id for e in ENDPOINTS if e.admins_only}
    assert {e for e, row in table.items() if row["agent"] == 403} == admins_only
    for endpoint in admins_only:
        assert [table[endpoint][r] < 400 for r in ROLES] == [True, False, False, False]
    refused = {e for e, row in table.items() if row["sales"] == 403} - admins_only
    assert refused == {
        "POST /tickets",
        "PATCH /tickets/{ticket}",
        "POST /tickets/{ticket}/merge",
        "POST /tickets/{ticket}/replies",
        "POST /customers",
        "PATCH /customers/{customer}",
        "POST /customers/{customer}/identities",
        "POST /customers/{customer}/merge",
        "POST /customers/events",
        "POST /customers/import",
        "POST /customers/{merged}/unmerge",
        "POST /kb/categories",
        "PUT /kb/categories/{kb_category}",
        "DELETE /kb/categories/{kb_category}",
        "POST /kb/articles",
        "PUT /kb/articles/{kb_article}",
        "DELETE /kb/articles/{kb_article}",
        "PUT /kb/articles/{kb_article}/translations/{locale}",
        "POST /kb/articles/{kb_article}/publish",
        "POST /kb/articles/{kb_published}/unpublish",
        "GET /canned-replies",
        "POST /canned-replies",
        "GET /canned-replies/{canned}",
        "POST /canned-replies/{canned}/render",
    }


def _template(path: str) -> str:
    return re.sub(r"<(?:[^:<>]+:)?[^<>]+>|\{[^{}]+\}", "{}", path)


def test_the_matrix_covers_every_api_route_and_method(app):
    routes = {
        (method, _template(rule.rule))
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith(API)
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    covered = {(e.method, _template(API + e.path)) for e in ENDPOINTS}
    assert routes == covered


def test_the_matrix_follows_the_role_table():
    """Guard against the matrix drifting from the rule it is meant to check."""
    from helpdesk.services.permissions import ROLE_PERMISSIONS, Permission

    readers = {Permission.TICKET_READ, Permission.TICKET_NOTE, Permission.CUSTOMER_READ}
    readers |= {Permission.KB_READ}
    for role in ROLES:
        granted = ROLE_PERMISSIONS[role]
        assert readers <= granted
        writes = {Permission.TICKET_CREATE, Permission.TICKET_UPDATE, Permission.TICKET_REPLY}
        writes |= {Permission.CUSTOMER_WRITE, Permission.KB_WRITE}
        assert (writes <= granted) == (role in WRITERS)
        assert (Permission.CHANNEL_ADMIN in granted) == (role in ADMINS)
