"""REST API v1: who may call it (tokens, sessions) and the one JSON error format."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from helpdesk.extensions import db
from helpdesk.models import ApiToken, Ticket, utcnow
from helpdesk.services import tickets, tokens
from helpdesk.services.permissions import SYSTEM
from tests.api.helpers import API, assert_error, bearer, set_columns, user_with_token
from tests.conftest import csrf_token, login
from tests.factories import PASSWORD, make_customer, make_ticket, make_user

PROTECTED = [
    ("GET", "/tickets"),
    ("POST", "/tickets"),
    ("GET", "/tickets/1"),
    ("PATCH", "/tickets/1"),
    ("GET", "/customers/1"),
    ("POST", "/customers"),
    ("GET", "/users/me"),
]


def _me(client, headers):
    return client.get(f"{API}/users/me", headers=headers)


def _assert_401(response):
    error = assert_error(response, 401, "unauthorized")
    assert response.headers.get("WWW-Authenticate", "").lower().startswith("bearer")
    return error


# --- 401 ---------------------------------------------------------------------------------------


def test_no_credentials_is_401(client):
    make_ticket()
    for method, path in PROTECTED:
        response = client.open(f"{API}{path}", method=method, json={} if method != "GET" else None)
        _assert_401(response)


MALFORMED_HEADERS = [
    "Token {token}",
    "Basic dXNlcjpwYXNz",
    "Bearer",
    "Bearer ",
    "Bearer    ",
    "{token}",
    "Bearer{token}",
    "Bearer {token} extra",
]


def test_malformed_authorization_header_is_401(client):
    user = make_user()
    token = tokens.create_token(SYSTEM, user.id, "cli")[1]
    assert _me(client, bearer(token)).status_code == 200
    for header in MALFORMED_HEADERS:
        _assert_401(_me(client, {"Authorization": header.format(token=token)}))


def test_the_scheme_is_case_insensitive(client):
    user, _ = user_with_token()
    token = tokens.create_token(SYSTEM, user.id, "cli")[1]
    response = _me(client, {"Authorization": f"bearer {token}"})
    assert response.status_code == 200 and response.get_json()["id"] == user.id


def test_unknown_token_is_401(client):
    user_with_token()
    for secret in ("dgl_" + "x" * 43, "not-even-our-prefix", "dgl_", "dgl_" + "한" * 10):
        _assert_401(_me(client, bearer(secret)))


def test_revoked_token_is_401_and_other_tokens_keep_working(client):
    user = make_user()
    revoked, revoked_secret = tokens.create_token(SYSTEM, user.id, "laptop")
    _, other_secret = tokens.create_token(SYSTEM, user.id, "ci")
    revoked_id = revoked.id
    assert _me(client, bearer(revoked_secret)).status_code == 200
    tokens.revoke_token(SYSTEM, revoked_id)
    _assert_401(_me(client, bearer(revoked_secret)))
    assert _me(client, bearer(other_secret)).get_json()["id"] == user.id


def test_expired_token_is_401(client):
    user = make_user()
    _, secret = tokens.create_token(SYSTEM, user.id, "short", expires_in_days=1)
    start = utcnow()
    assert _me(client, bearer(secret)).status_code == 200
    with time_machine.travel(start + timedelta(hours=23), tick=False):
        assert _me(client, bearer(secret)).status_code == 200
    with time_machine.travel(start + timedelta(days=1, seconds=5), tick=False):
        _assert_401(_me(client, bearer(secret)))


def test_token_whose_expiry_is_in_the_past_is_401(client):
    user = make_user()
    token, secret = tokens.create_token(SYSTEM, user.id, "old")
    set_columns(token, expires_at=utcnow() - timedelta(seconds=1))
    _assert_401(_me(client, bearer(secret)))


def test_token_of_an_inactive_user_is_401(client):
    user, headers = user_with_token()
    assert _me(client, headers).status_code == 200
    set_columns(user, is_active=False)
    _assert_401(_me(client, headers))


def test_token_failures_do_not_say_why(client):
    """Unknown, revoked, expired and deactivated all get the same answer (no oracle)."""
    revoked_user, expired_user, inactive_user = make_user(), make_user(), make_user()
    revoked, revoked_secret = tokens.create_token(SYSTEM, revoked_user.id, "r")
    tokens.revoke_token(SYSTEM, revoked.id)
    expired, expired_secret = tokens.create_token(SYSTEM, expired_user.id, "e")
    set_columns(expired, expires_at=utcnow() - timedelta(days=1))
    _, inactive_secret = tokens.create_token(SYSTEM, inactive_user.id, "i")
    set_columns(inactive_user, is_active=False)
    answers = {
        _assert_401(_me(client, bearer(secret)))["message"]
        for secret in ("dgl_unknown", revoked_secret, expired_secret, inactive_secret)
    }
    assert len(answers) == 1


def test_using_a_token_records_when_it_was_last_used(client):
    user = make_user()
    token, secret = tokens.create_token(SYSTEM, user.id, "cli")
    token_id = token.id
    assert token.last_used_at is None
    _me(client, bearer(secret))
    used = db.session().scalar(select(ApiToken).where(ApiToken.id == token_id))
    assert used.last_used_at is not None


def test_a_bad_bearer_token_is_not_rescued_by_a_session(client):
    make_user("agent", email="kim@dangol.test")
    login(client, "kim@dangol.test", PASSWORD)
    assert _me(client, {}).status_code == 200
    _assert_401(_me(client, bearer("dgl_wrong")))


# --- sessions: the staff UI calling the API ----------------------------------------------------


def test_session_works_for_reads_and_needs_csrf_for_writes(client):
    agent = make_user("agent", email="park@dangol.test")
    ticket = make_ticket()
    ticket_id, number, customer_id = ticket.id, ticket.number, ticket.customer_id
    assert login(client, "park@dangol.test", PASSWORD).status_code == 302

    me = client.get(f"{API}/users/me")
    assert me.status_code == 200 and me.get_json()["email"] == "park@dangol.test"
    assert client.get(f"{API}/tickets/{ticket_id}").get_json()["id"] == ticket_id

    new = {"subject": "From the UI", "body": "x", "customer_id": customer_id}
    no_csrf = client.post(f"{API}/tickets", json=new)
    error = assert_error(no_csrf, 403, "csrf_failed")
    assert "CSRF" in error["message"]
    bad_csrf = client.post(f"{API}/tickets", json=new, headers={"X-CSRFToken": "forged"})
    assert_error(bad_csrf, 403, "csrf_failed")
    patch = client.patch(f"{API}/tickets/{ticket_id}", json={"priority": "urgent"})
    assert_error(patch, 403, "csrf_failed")
    note = client.post(f"{API}/tickets/{ticket_id}/notes", json={"body": "x"})
    assert_error(note, 403, "csrf_failed")
    assert db.session().scalar(select(Ticket.priority).where(Ticket.id == ticket_id)) == 2
    assert len(db.session().scalars(select(Ticket.id)).all()) == 1

    token = csrf_token(client, f"/tickets/{number}")
    created = client.post(f"{API}/tickets", json=new, headers={"X-CSRFToken": token})
    assert created.status_code == 201, created.get_json()
    changed = client.patch(
        f"{API}/tickets/{ticket_id}", json={"priority": "urgent"}, headers={"X-CSRFToken": token}
    )
    assert changed.status_code == 200 and changed.get_json()["priority"] == "urgent"
    history = client.get(f"{API}/tickets/{ticket_id}/history").get_json()
    assert history[-1]["actor_user_id"] == agent.id


def test_session_users_get_their_roles_permissions(client):
    make_user("sales", email="sales@dangol.test")
    ticket = make_ticket()
    ticket_id, number = ticket.id, ticket.number
    login(client, "sales@dangol.test", PASSWORD)
    token = csrf_token(client, f"/tickets/{number}")
    response = client.patch(
        f"{API}/tickets/{ticket_id}", json={"priority": "urgent"}, headers={"X-CSRFToken": token}
    )
    assert_error(response, 403, "forbidden")
    note = client.post(
        f"{API}/tickets/{ticket_id}/notes", json={"body": "x"}, headers={"X-CSRFToken": token}
    )
    assert note.status_code == 201


def test_after_logout_the_session_no_longer_authenticates(client):
    make_user("agent", email="lee@dangol.test")
    ticket = make_ticket()
    number = ticket.number
    login(client, "lee@dangol.test", PASSWORD)
    token = csrf_token(client, f"/tickets/{number}")
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    _assert_401(client.get(f"{API}/users/me"))


# --- 400 / 404 / 405 / 422 ---------------------------------------------------------------------


@pytest.fixture
def headers(app):
    return user_with_token("agent")[1]


MALFORMED_JSON = ['{"subject": "x",', "not json", "{'single': 'quotes'}", '{"a": 1}}']


def test_malformed_json_is_400(client, headers):
    ticket_id = make_ticket().id
    for method, path in [
        ("POST", "/tickets"),
        ("PATCH", f"/tickets/{ticket_id}"),
        ("POST", f"/tickets/{ticket_id}/replies"),
        ("POST", f"/tickets/{ticket_id}/notes"),
        ("POST", f"/tickets/{ticket_id}/merge"),
        ("POST", "/customers"),
    ]:
        for raw in MALFORMED_JSON:
            response = client.open(
                API + path,
                method=method,
                headers=headers,
                data=raw,
                content_type="application/json",
            )
            error = assert_error(response, 400, "bad_request")
            assert "JSON" in error["message"], (method, path, raw)
    assert client.get(f"{API}/tickets/{ticket_id}", headers=headers).get_json()["version"] == 1


def test_validation_errors_name_every_bad_field(client, headers):
    response = client.post(
        f"{API}/tickets",
        headers=headers,
        json={"subject": 5, "customer_id": "abc", "priority": "huge", "extra": True},
    )
    error = assert_error(response, 422, "invalid", "subject", "customer_id", "priority", "extra")
    for messages in error["fields"].values():
        assert isinstance(messages, list) and all(isinstance(m, str) for m in messages)


def test_a_json_body_that_is_not_an_object_is_422(client, headers):
    response = client.post(f"{API}/tickets", headers=headers, json=["subject", "body"])
    assert_error(response, 422, "invalid")


def test_service_validation_errors_use_the_same_shape(client, headers):
    response = client.post(
        f"{API}/customers",
        headers=headers,
        json={"name": "x", "identities": [{"kind": "email", "value": "not-an-email"}]},
    )
    error = assert_error(response, 422, "invalid", "value")
    assert "not-an-email" in error["message"]


NOT_FOUND = [
    ("GET", "/tickets/999999", None),
    ("PATCH", "/tickets/999999", {"priority": "high"}),
    ("GET", "/tickets/999999/messages", None),
    ("GET", "/tickets/999999/history", None),
    ("POST", "/tickets/999999/replies", {"body": "x"}),
    ("POST", "/tickets/999999/notes", {"body": "x"}),
    ("POST", "/tickets/999999/merge", {"target_id": "TICKET"}),
    ("GET", "/customers/999999", None),
    ("GET", "/customers/999999/tickets", None),
    ("POST", "/customers/999999/identities", {"kind": "email", "value": "new@example.com"}),
]


def test_unknown_records_are_404(client, headers):
    ticket_id = make_ticket().id
    for method, path, body in NOT_FOUND:
        if body and body.get("target_id") == "TICKET":
            body = {"target_id": ticket_id}  # an existing target: only the source is unknown
        response = client.open(f"{API}{path}", method=method, headers=headers, json=body)
        error = assert_error(response, 404, "not_found")
        assert "999999" in error["message"], (method, path)


def test_unknown_routes_are_json_404(client, headers):
    for path in ("/nope", "/tickets/abc", "/tickets/1/nope", "/users/1", "/v2", "/tickets/-1"):
        assert_error(client.get(f"{API}{path}", headers=headers), 404, "not_found")
        assert_error(client.get(f"{API}{path}"), 404, "not_found")
    assert_error(client.get("/api/v2/tickets"), 404, "not_found")


WRONG_METHODS = [
    ("DELETE", "/tickets/1", {"GET", "PATCH"}),
    ("PUT", "/tickets/1", {"GET", "PATCH"}),
    ("PUT", "/tickets", {"GET", "POST"}),
    ("DELETE", "/customers/1", {"GET"}),
    ("POST", "/users/me", {"GET"}),
    ("GET", "/tickets/1/replies", {"POST"}),
    ("PATCH", "/tickets/1/merge", {"POST"}),
]


def test_wrong_method_is_json_405(client, headers):
    make_ticket()
    for method, path, _ in WRONG_METHODS:
        response = client.open(f"{API}{path}", method=method, headers=headers)
        assert_error(response, 405, "method_not_allowed")


def test_405_says_which_methods_are_allowed(client, headers):
    """RFC 9110 section 15.5.6: a 405 response must carry an Allow header."""
    make_ticket()
    for method, path, allowed in WRONG_METHODS:
        response = client.open(f"{API}{path}", method=method, headers=headers)
        assert response.status_code == 405
        allow = {m.strip() for m in response.headers.get("Allow", "").split(",") if m.strip()}
        assert allowed <= allow, (method, path, dict(response.headers))


# --- 500 and /healthz --------------------------------------------------------------------------


def test_an_unexpected_error_is_a_json_500_without_details(client, headers, monkeypatch, caplog):
    ticket = make_ticket()

    def explode(*args, **kwargs):
        raise RuntimeError("secret detail: password=hunter2")

    monkeypatch.setattr(tickets, "get_ticket", explode)
    with caplog.at_level(logging.ERROR):
        response = client.get(f"{API}/tickets/{ticket.id}", headers=headers)
    error = assert_error(response, 500, "internal_error")
    body = response.get_data(as_text=True)
    assert "secret detail" not in body and "hunter2" not in body
    assert "RuntimeError" not in body and "Traceback" not in body and ".py" not in body
    assert error["message"] == "Something went wrong on our side."
    # ... while operators get the whole story in the log.
    logged = "\n".join(r.getMessage() + str(r.exc_info) for r in caplog.records)
    assert "secret detail" in logged


def test_a_database_error_is_a_json_500_without_sql(client, headers, monkeypatch):
    customer = make_customer()

    def broken(*args, **kwargs):
        raise OperationalError("SELECT secret_column FROM tickets", {}, Exception("db gone"))

    monkeypatch.setattr(tickets, "create_ticket", broken)
    response = client.post(
        f"{API}/tickets",
        headers=headers,
        json={"subject": "x", "body": "y", "customer_id": customer.id},
    )
    assert_error(response, 500, "internal_error")
    body = response.get_data(as_text=True)
    assert "secret_column" not in body and "db gone" not in body


def test_healthz_reports_the_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_healthz_reports_an_unreachable_database_without_details(client, monkeypatch):
    class Unreachable:
        def __call__(self):
            raise OperationalError("SELECT 1", {}, Exception("connection refused on 10.0.0.5"))

        def remove(self):
            pass

    monkeypatch.setattr(db, "session", Unreachable())
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "error", "database": "unreachable"}
    assert "10.0.0.5" not in response.get_data(as_text=True)
