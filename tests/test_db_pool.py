"""PostgreSQL connections: pinged only after idling, and replaced when the server dropped them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text

from helpdesk import db as db_module

from .conftest import PG_URL

pytestmark = pytest.mark.skipif(
    not PG_URL, reason="needs PostgreSQL: set HELPDESK_TEST_DATABASE_URL"
)


@pytest.fixture
def engine(pg_database: str) -> Iterator[Engine]:
    engine = db_module.build_engine(pg_database, pool_size=1, max_overflow=0)
    yield engine
    engine.dispose()


def _backend_pid(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _count_pings(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    pings: list[int] = []
    real = engine.dialect.do_ping

    def counting(dbapi_connection):  # type: ignore[no-untyped-def]
        pings.append(1)
        return real(dbapi_connection)

    monkeypatch.setattr(engine.dialect, "do_ping", counting)
    return pings


def test_a_connection_used_a_moment_ago_is_not_pinged(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _backend_pid(engine)
    pings = _count_pings(engine, monkeypatch)
    assert [_backend_pid(engine) for _ in range(3)] == [first] * 3
    assert pings == []


def test_an_idle_connection_killed_by_the_server_is_replaced(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    dead = _backend_pid(engine)  # the pool's only connection, now idle in the pool
    killer = db_module.build_engine(PG_URL)
    with killer.begin() as conn:
        assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": dead}).scalar()
    killer.dispose()
    monkeypatch.setattr(db_module, "IDLE_BEFORE_PING_SECONDS", 0.0)
    pings = _count_pings(engine, monkeypatch)
    assert _backend_pid(engine) != dead  # the request after the outage just works
    assert pings  # found by the ping, not by the request's own statement
