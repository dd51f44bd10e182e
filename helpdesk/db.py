"""Engine and session handling.

One ``Database`` per process. Sessions are scoped to the current thread (a request, a worker
loop); the web app removes them at the end of each request. SQLite gets WAL, a busy timeout and
foreign keys on every connection so that the web process and its background threads can share
the file safely.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, scoped_session, sessionmaker

AUTOCHECKPOINT_PAGES = 10_000  # ~40 MB of WAL


def checkpoint(engine: Engine) -> tuple[int, int, int]:
    """Run a PASSIVE WAL checkpoint (never blocks readers or writers).

    Returns SQLite's ``(busy, frames in the WAL, frames checkpointed)``.
    """
    with engine.connect() as connection:
        row = connection.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)").one()
    return int(row[0]), int(row[1]), int(row[2])


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        # The driver's own transaction handling would issue BEGIN lazily and deferred; we take
        # control so that a write transaction starts with BEGIN IMMEDIATE and never deadlocks
        # on the upgrade from a read lock.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # Checkpoints (which fsync) run in the background loop (worker.SqliteCheckpointer), not
        # in the request that happens to cross the threshold; this large threshold is only the
        # safety net for processes without loops.
        cursor.execute(f"PRAGMA wal_autocheckpoint={AUTOCHECKPOINT_PAGES}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):  # type: ignore[no-untyped-def]
        connection.exec_driver_sql("BEGIN IMMEDIATE" if _write_intent.get() else "BEGIN")


class _WriteIntent(threading.local):
    depth = 0

    def get(self) -> bool:
        return self.depth > 0


_write_intent = _WriteIntent()


@contextmanager
def write_intent() -> Iterator[None]:
    """Mark the transactions begun inside this block as writers (SQLite: BEGIN IMMEDIATE)."""
    _write_intent.depth += 1
    try:
        yield
    finally:
        _write_intent.depth -= 1


def build_engine(url: str, **kwargs: object) -> Engine:
    """Create an engine with the settings Dangol relies on for each backend."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"timeout": 10}, **kwargs)  # type: ignore[arg-type]
        _configure_sqlite(engine)
        return engine
    options: dict[str, object] = {"pool_size": 10, "max_overflow": 20, **kwargs}
    engine = create_engine(url, **options)  # type: ignore[arg-type]
    _ping_when_idle(engine)
    return engine


IDLE_BEFORE_PING_SECONDS = 2.0


def _ping_when_idle(engine: Engine) -> None:
    """Test a pooled connection before use only when it has sat idle for a while.

    ``pool_pre_ping`` would cost a round trip on every checkout, that is on every request; a
    connection that was in use a moment ago is alive, while one that idled through a server
    restart or a firewall timeout is replaced here before a request sees it.
    """
    dialect = engine.dialect

    @event.listens_for(engine, "connect")
    def _on_connect(_dbapi_connection, record):  # type: ignore[no-untyped-def]
        record.info["last_checkin"] = time.monotonic()

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection, record):  # type: ignore[no-untyped-def]
        if record is not None:
            record.info["last_checkin"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection, record, _proxy):  # type: ignore[no-untyped-def]
        idle = time.monotonic() - record.info.get("last_checkin", 0.0)
        if idle < IDLE_BEFORE_PING_SECONDS:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as exc:  # any failure: the pool drops it and connects afresh
            raise DisconnectionError("stale pooled connection") from exc


class Database:
    """The process's engine plus a thread-scoped session registry."""

    def __init__(self) -> None:
        self.engine: Engine | None = None
        self._factory = sessionmaker(expire_on_commit=False)
        self.session: scoped_session[Session] = scoped_session(self._factory)

    def configure(self, url: str) -> None:
        if self.engine is not None:
            self.session.remove()
            self.engine.dispose()
        self.engine = build_engine(url)
        self._factory.configure(bind=self.engine)

    @property
    def dialect(self) -> str:
        assert self.engine is not None, "database not configured"
        return self.engine.dialect.name

    def dispose(self) -> None:
        self.session.remove()
        if self.engine is not None:
            self.engine.dispose()
            self.engine = None
