"""One service call, one transaction."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session

from ..db import write_intent
from ..extensions import db

_DEPTH = "dangol_tx_depth"


@contextmanager
def transaction() -> Iterator[Session]:
    """Run the block in one database transaction and commit it, or roll it back on error.

    Nested use joins the outer transaction, so a service may call another service and the
    whole call still commits once. Events published inside are delivered after that commit.
    """
    session = db.session()
    depth = session.info.get(_DEPTH, 0)
    if depth == 0 and session.in_transaction() and db.dialect == "sqlite":
        # A request may already hold a read transaction (loading the current user). On SQLite
        # end it so the write begins afresh with BEGIN IMMEDIATE, which waits for the writer
        # lock instead of failing on a stale snapshot. PostgreSQL has no such upgrade problem
        # (rows are locked as they are written), so there the write simply continues it and
        # saves two round trips.
        session.commit()
    session.info[_DEPTH] = depth + 1
    try:
        with write_intent():
            yield session
            if depth == 0:
                session.commit()
    except BaseException:
        if depth == 0:
            session.rollback()
        raise
    finally:
        session.info[_DEPTH] = depth


def current_session() -> Session:
    """The session of the running thread, for read-only service calls."""
    return db.session()


@contextmanager
def savepoint(session: Session) -> Iterator[None]:
    """A savepoint whose rollback also forgets the objects built for rows written inside it.

    Hot writes (new tickets, new customers) insert their rows directly and put ORM objects for
    them into the session. When a savepoint rolls back, SQLAlchemy forgets only the objects it
    inserted itself; these would stay, and collide with rows written later under the same ids.
    """
    known = set(session.identity_map.keys())
    try:
        with session.begin_nested():
            yield
    except BaseException:
        for key in set(session.identity_map.keys()) - known:
            stale = session.identity_map.get(key)
            if stale is not None:
                session.expunge(stale)
        raise
