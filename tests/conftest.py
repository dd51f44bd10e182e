"""Fixtures: an app per test on a real database (SQLite always, PostgreSQL when configured).

Set ``HELPDESK_TEST_DATABASE_URL`` to a PostgreSQL URL and every test that uses the ``app``
fixture runs twice, once per backend. Both databases are created by the real Alembic
migrations. SQLite tests get a copy of a migrated template file; PostgreSQL tests share one
migrated database and empty its tables afterwards.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, delete, text

from helpdesk import create_app, events
from helpdesk.cli import _alembic_config
from helpdesk.config import Settings
from helpdesk.extensions import db
from helpdesk.models import Base

PG_URL = os.environ.get("HELPDESK_TEST_DATABASE_URL", "").strip()
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])


def pytest_report_header() -> str:
    if PG_URL:
        return f"databases: sqlite, postgresql ({PG_URL})"
    return "databases: sqlite only (set HELPDESK_TEST_DATABASE_URL to also run on PostgreSQL)"


def migrate(url: str) -> None:
    from alembic import command

    command.upgrade(_alembic_config(url), "head")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    migrate(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_database() -> str:
    """The PostgreSQL test database, reset to an empty schema and migrated once per session."""
    engine = create_engine(PG_URL)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    migrate(PG_URL)
    return PG_URL


def _empty_tables() -> None:
    assert db.engine is not None
    with db.engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(delete(table))


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        target = tmp_path / "dangol.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), target)
        return f"sqlite:///{target}"
    return str(request.getfixturevalue("pg_database"))


def make_settings(tmp_path: Path, database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "instance_path": tmp_path / "instance",
        "database_url": database_url,
        "secret_key": "test-secret",
        "password_hash_fast": True,
        "login_rate_limit": "1000 per minute",
        "redis_url": None,
    }
    values.update(overrides)
    return Settings.from_env(**values)


@pytest.fixture
def app_overrides() -> dict[str, Any]:
    """Override in a test module to change settings (e.g. a tight login rate limit)."""
    return {}


@pytest.fixture
def app(tmp_path: Path, database_url: str, app_overrides: dict[str, Any]) -> Iterator[Flask]:
    application = create_app(make_settings(tmp_path, database_url, **app_overrides))
    application.config["TESTING"] = True
    with application.app_context():
        yield application
    db.session.remove()
    if database_url.startswith("postgresql"):
        _empty_tables()
    db.dispose()


class FreshContextClient(FlaskClient):
    """Gives every request its own app context (and so its own ``g``), as in production.

    Without this, requests made while the test holds the app context would share ``g`` and
    with it the cached signed-in user and locale.
    """

    def open(self, *args: Any, **kwargs: Any) -> Any:
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    app.test_client_class = FreshContextClient
    return app.test_client()


class FreshContextSocket:
    """A Socket.IO test client whose every call runs in its own app context, as each socket
    event does in production: otherwise ``g`` (and Flask-Login's cached user in it) would be
    shared with the test and with other sockets, and two agents would look like one."""

    def __init__(self, app: Flask, flask_client: FlaskClient) -> None:
        from helpdesk.extensions import socketio

        self._app = app
        with app.app_context():
            self._client = socketio.test_client(app, flask_test_client=flask_client)

    @property
    def eio_sid(self) -> str:
        return str(self._client.eio_sid)

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)

        def fresh(*args: Any, **kwargs: Any) -> Any:
            with self._app.app_context():
                return method(*args, **kwargs)

        return fresh


@pytest.fixture
def published() -> Iterator[list[events.DomainEvent]]:
    """Every domain event delivered (after commit) during the test, in order."""
    seen: list[events.DomainEvent] = []
    events.subscribe("test-recorder", seen.append)
    yield seen
    events.unsubscribe("test-recorder")


_CSRF = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"'
)


def csrf_token(client: FlaskClient, path: str) -> str:
    """Read the CSRF token of the form on ``path``, as a browser would."""
    html = client.get(path).get_data(as_text=True)
    match = _CSRF.search(html)
    assert match, f"no CSRF token on {path}"
    return match.group(1) or match.group(2)


def post_form(
    client: FlaskClient, path: str, form: dict[str, Any], token_from: str | None = None
) -> Any:
    """Post ``form`` with the CSRF token of the page a browser would post it from."""
    return client.post(path, data=dict(form, csrf_token=csrf_token(client, token_from or path)))


def login(client: FlaskClient, email: str, password: str = "correct-horse") -> Any:
    token = csrf_token(client, "/login")
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token})
