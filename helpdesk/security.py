"""Security baseline: CSRF on forms, security headers, rate-limit storage, error pages."""

from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template, request
from flask_talisman import Talisman
from werkzeug.exceptions import HTTPException, SecurityError

from .extensions import csrf, limiter

log = logging.getLogger(__name__)

CSP = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": ["'self'", "data:"],
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.path == "/healthz"


def _extra_headers(exc: HTTPException) -> list[tuple[str, str]]:
    """Headers the error itself carries (``Allow`` on 405, ``Retry-After`` on 429...)."""
    return [(k, v) for k, v in exc.get_headers() if k.lower() != "content-type"]


def init_app(app: Flask) -> None:
    settings = app.config["HELPDESK"]
    csrf.init_app(app)
    limiter.init_app(app)
    Talisman(
        app,
        force_https=settings.secure_cookies,
        strict_transport_security=settings.secure_cookies,
        session_cookie_secure=settings.secure_cookies,
        session_cookie_http_only=True,
        content_security_policy=CSP,
        frame_options="DENY",
        referrer_policy="same-origin",
    )

    def _discard_failed_transaction() -> None:
        # The error page reads too (the signed-in user, the bell): a transaction the failed
        # request left aborted would turn the page itself into a second error.
        from .extensions import db

        db.session.rollback()

    @app.errorhandler(SecurityError)
    def _untrusted_host(exc: SecurityError):  # type: ignore[no-untyped-def]
        # A Host outside TRUSTED_HOSTS: the request has no URL adapter, so no page can be
        # rendered (every page builds links); a plain answer, and nothing more is done.
        return "400 Bad Request: unknown host", 400, {"Content-Type": "text/plain"}

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):  # type: ignore[no-untyped-def]
        if wants_json():
            body = {
                "error": {
                    "code": (exc.name or "error").lower().replace(" ", "_"),
                    "message": exc.description or exc.name,
                }
            }
            return jsonify(body), exc.code or 500, _extra_headers(exc)
        _discard_failed_transaction()
        page = render_template("error.html", code=exc.code, message=exc.description)
        return page, exc.code, _extra_headers(exc)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):  # type: ignore[no-untyped-def]
        # Logged with its traceback for operators; users only ever see a plain message.
        log.exception("unhandled error on %s %s", request.method, request.path)
        if wants_json():
            return jsonify(
                {
                    "error": {
                        "code": "internal_error",
                        "message": "Something went wrong on our side.",
                    }
                }
            ), 500
        _discard_failed_transaction()
        return render_template("error.html", code=500, message=None), 500
