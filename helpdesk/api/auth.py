"""Who is calling the API: a bearer token, or a signed-in staff session (CSRF-checked on writes)."""

from __future__ import annotations

from flask import g, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ..extensions import csrf
from ..services.errors import Unauthorized
from ..services.permissions import Actor
from ..services.tokens import user_for_token

_SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def authenticate_request() -> None:
    """Blueprint hook: set ``g.api_user`` and ``g.actor`` or raise ``Unauthorized``."""
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise Unauthorized(_l("Use 'Authorization: Bearer <token>'."))
        user = user_for_token(secret.strip())
        if user is None:
            raise Unauthorized(_l("The API token is invalid, expired or revoked."))
        g.api_user = user
    elif current_user.is_authenticated:
        if request.method not in _SAFE_METHODS:
            csrf.protect()
        g.api_user = current_user._get_current_object()
    else:
        raise Unauthorized(_l("Authentication required: send a bearer token."))
    g.actor = Actor.of(g.api_user)


def actor() -> Actor:
    return g.actor  # type: ignore[no-any-return]
