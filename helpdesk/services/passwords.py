"""Password hashing with Argon2id."""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, has_app_context


@cache
def _hasher(fast: bool) -> PasswordHasher:
    # The fast variant exists only so the test suite does not spend minutes hashing.
    return (
        PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1) if fast else PasswordHasher()
    )


def _current() -> PasswordHasher:
    fast = has_app_context() and current_app.config["HELPDESK"].password_hash_fast
    return _hasher(bool(fast))


def hash_password(password: str) -> str:
    return _current().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _current().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@cache
def _dummy_hash(fast: bool) -> str:
    return _hasher(fast).hash("dangol-timing-equalizer")


def dummy_verify(password: str) -> None:
    """Verify against a throw-away hash, so a login for an unknown email takes as long."""
    fast = bool(has_app_context() and current_app.config["HELPDESK"].password_hash_fast)
    verify_password(_dummy_hash(fast), password)
