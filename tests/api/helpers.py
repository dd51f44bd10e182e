"""Helpers for the REST API tests: bearer headers, error-shape checks, paging and DB tweaks."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from helpdesk.extensions import db
from helpdesk.models import User
from tests.factories import make_user, token_for

API = "/api/v1"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def user_with_token(role: str = "agent", **kw: Any) -> tuple[User, dict[str, str]]:
    """A new user of ``role`` and the headers that authenticate as them."""
    user = make_user(role, **kw)
    return user, bearer(token_for(user))


def assert_error(
    response: TestResponse, status: int, code: str | None = None, *fields: str
) -> dict[str, Any]:
    """Check the API error contract and return the ``error`` object.

    ``{"error": {"code", "message", "fields"?}}``, JSON, the given status, and (when given)
    the given code and field names present in ``fields``.
    """
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
    assert response.is_json, response.content_type
    body = response.get_json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert set(error) <= {"code", "message", "fields"}, error
    assert isinstance(error["code"], str) and error["code"]
    assert isinstance(error["message"], str) and error["message"]
    if code is not None:
        assert error["code"] == code, error
    if "fields" in error:  # optional, but never an empty placeholder
        assert isinstance(error["fields"], dict) and error["fields"], error
    if fields:
        assert set(fields) <= set(error.get("fields") or {}), error
    text = response.get_data(as_text=True)
    assert "Traceback" not in text and 'File "' not in text
    return error


def walk_pages(
    client: FlaskClient,
    path: str,
    headers: dict[str, str],
    params: dict[str, Any],
    *,
    max_pages: int = 200,
) -> tuple[list[int], list[dict[str, Any]]]:
    """Follow ``next_cursor`` to the end; return the ticket ids in order and every page body."""
    ids: list[int] = []
    pages: list[dict[str, Any]] = []
    cursor: str | None = None
    for _ in range(max_pages):
        query = dict(params)
        if cursor is not None:
            query["cursor"] = cursor
        response = client.get(path, headers=headers, query_string=query)
        assert response.status_code == 200, response.get_json()
        page = response.get_json()
        assert len(page["items"]) <= int(params.get("limit", 25))
        pages.append(page)
        ids.extend(item["id"] for item in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return ids, pages
        # a page that announces more must not be empty
        assert page["items"], page
    raise AssertionError("pagination did not terminate")


def set_columns(obj: Any, **values: Any) -> None:
    """Write columns directly (for states no service produces, e.g. an inactive user)."""
    session = db.session()
    merged = session.merge(obj)
    for key, value in values.items():
        setattr(merged, key, value)
    session.commit()
