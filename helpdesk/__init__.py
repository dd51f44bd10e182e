"""Dangol: an omnichannel, collaborative help-desk.

``create_app`` builds the Flask application: configuration, database, extensions, blueprints,
the Socket.IO fan-out of domain events and the error pages. Nothing runs at import time.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask

from .config import Settings


def create_app(settings: Settings | None = None, **overrides: Any) -> Flask:
    """Build the application from ``settings`` (default: the environment)."""
    settings = settings or Settings.from_env(**overrides)
    settings.instance_path.mkdir(parents=True, exist_ok=True)
    app = Flask(
        __name__,
        instance_path=str(settings.instance_path),
        static_folder=None,  # our static/ lives at the repository top; see views.static
    )
    app.config.update(
        HELPDESK=settings,
        SECRET_KEY=settings.secret_key,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        SESSION_COOKIE_NAME="dangol_session",
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SECURE=settings.secure_cookies,
        # Room for one file at the limit sent as base64 through the API, or several smaller
        # files with a form; each file is checked against the limit by the service.
        MAX_CONTENT_LENGTH=2 * settings.attachment_max_bytes + 1024 * 1024,
        TRUSTED_HOSTS=settings.trusted_hosts,
        WTF_CSRF_TIME_LIMIT=None,
        BABEL_DEFAULT_LOCALE=settings.default_locale,
        BABEL_DEFAULT_TIMEZONE="UTC",
        RATELIMIT_STORAGE_URI=settings.redis_url or "memory://",
        RATELIMIT_HEADERS_ENABLED=True,
    )
    app.config.update(settings.extra)
    app.json.sort_keys = False  # type: ignore[attr-defined]  # keep schema field order
    logging.basicConfig(level=settings.log_level)

    from .extensions import db

    db.configure(settings.database_url)
    from .services.sla_rules import forget_rules

    forget_rules()  # compiled SLA rules belong to the database they were read from
    # Commit hooks that write with every change (search queue, follower notifications).
    from . import activity, auth, i18n, labels, portal, realtime, security, webui
    from .api import init_api
    from .services import follows, search_sync  # noqa: F401

    activity.init_app(app)
    security.init_app(app)
    i18n.init_app(app)
    labels.init_app(app)
    auth.init_app(app)
    init_api(app)
    webui.init_app(app)
    portal.init_app(app)
    realtime.init_app(app)

    @app.teardown_appcontext
    def _remove_session(_exc: BaseException | None) -> None:
        db.session.remove()

    return app
