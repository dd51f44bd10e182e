"""Personal API tokens: random, shown once, stored as SHA-256.

Tokens carry 256 bits of randomness, so a fast hash is enough (no salt or work factor is
needed against guessing) and lets every API request find its token with one index lookup.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, select

from ..models import ApiToken, User, utcnow
from . import audit
from .errors import Forbidden, Invalid, NotFound
from .permissions import Actor, Permission, require
from .transaction import current_session, transaction

PREFIX = "dgl_"
# Writing last_used_at on every request would turn each read into a write.
_TOUCH_EVERY = timedelta(minutes=5)


# Built once: every API request runs it, and building the statement cost as much as running it.
_TOKEN_BY_HASH = select(ApiToken).where(ApiToken.token_hash == bindparam("token_hash"))


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(
    actor: Actor, user_id: int, name: str, *, expires_in_days: int | None = None
) -> tuple[ApiToken, str]:
    """Create a token for ``user_id`` (yourself, or anyone if admin); return it and its secret."""
    if actor.kind != "system" and actor.user_id != user_id:
        require(actor, Permission.USER_ADMIN)
    name = (name or "").strip()
    if not name:
        raise Invalid(_l("A token name is required."), fields={"name": ["required"]})
    if expires_in_days is not None and expires_in_days <= 0:
        raise Invalid(
            _l("Expiry must be a positive number of days."),
            fields={"expires_in_days": ["must be > 0"]},
        )
    secret = PREFIX + secrets.token_urlsafe(32)
    with transaction() as session:
        if session.get(User, user_id) is None:
            raise NotFound(_l("User %(id)s not found.", id=user_id))
        token = ApiToken(
            user_id=user_id,
            name=name[:100],
            token_hash=hash_token(secret),
            prefix=secret[: len(PREFIX) + 4],
            expires_at=utcnow() + timedelta(days=expires_in_days) if expires_in_days else None,
        )
        session.add(token)
        session.flush()
        audit.record(
            session, actor, "token.created", data={"token_id": token.id, "user_id": user_id}
        )
    return token, secret


def user_for_token(secret: str) -> User | None:
    """The active user owning this live token, or ``None``."""
    if not secret.startswith(PREFIX):
        return None
    session = current_session()
    token = session.scalar(_TOKEN_BY_HASH, {"token_hash": hash_token(secret)})
    now = utcnow()
    if token is None or token.revoked_at is not None:
        return None
    if token.expires_at is not None and token.expires_at <= now:
        return None
    if not token.user.is_active:
        return None
    if token.last_used_at is None or now - token.last_used_at > _TOUCH_EVERY:
        with transaction():
            token.last_used_at = now
    return token.user


def revoke_token(actor: Actor, token_id: int) -> None:
    with transaction() as session:
        token = session.get(ApiToken, token_id)
        if token is None:
            raise NotFound(_l("Token %(id)s not found.", id=token_id))
        if actor.user_id != token.user_id and not (actor.kind == "system" or actor.role == "admin"):
            raise Forbidden(_l("You may only revoke your own tokens."))
        token.revoked_at = utcnow()
        audit.record(session, actor, "token.revoked", data={"token_id": token_id})
