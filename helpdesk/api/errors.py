"""One place that turns every error into the API's JSON shape or a page for browsers."""

from __future__ import annotations

from typing import Any

from flask import Flask, flash, jsonify, redirect, render_template, request
from flask_babel import gettext
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from ..security import wants_json
from ..services.errors import ServiceError


def error_body(code: str, message: str, fields: dict[str, Any] | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if fields:
        error["fields"] = fields
    return {"error": error}


def _flatten(messages: dict[str, Any]) -> dict[str, Any]:
    """webargs groups errors by location ({"json": {...}, "query": {...}}); callers want fields."""
    flat: dict[str, Any] = {}
    for location in messages.values():
        if isinstance(location, dict):
            flat.update(location)
    return flat


def init_app(app: Flask) -> None:
    @app.errorhandler(ServiceError)
    def _service_error(exc: ServiceError):  # type: ignore[no-untyped-def]
        if wants_json():
            # RFC 9110 section 15.5.2: a 401 must say which scheme to use.
            headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else {}
            return jsonify(error_body(exc.code, exc.message, exc.fields)), exc.status, headers
        if request.method == "POST" and request.referrer:
            flash(exc.message, "error")
            return redirect(request.referrer)
        return render_template("error.html", code=exc.status, message=exc.message), exc.status

    @app.errorhandler(422)
    def _validation_error(exc: HTTPException):  # type: ignore[no-untyped-def]
        data = getattr(exc, "data", None) or {}
        fields = _flatten(data.get("messages", {}))
        if wants_json():
            return jsonify(error_body("invalid", gettext("The request is not valid."), fields)), 422
        return render_template("error.html", code=422, message=None), 422

    @app.errorhandler(CSRFError)
    def _csrf_error(exc: CSRFError):  # type: ignore[no-untyped-def]
        # A session-authenticated API write without a valid token is refused, not malformed.
        if wants_json():
            return jsonify(error_body("csrf_failed", exc.description or "CSRF check failed.")), 403
        return render_template("error.html", code=400, message=exc.description), 400

    @app.errorhandler(400)
    def _bad_request(exc: HTTPException):  # type: ignore[no-untyped-def]
        data = getattr(exc, "data", None) or {}
        fields = _flatten(data.get("messages", {}))
        if wants_json():
            message = (
                gettext("The request body is not valid JSON.")
                if "json" in data.get("messages", {})
                else (exc.description or gettext("Bad request."))
            )
            return jsonify(error_body("bad_request", message, fields)), 400
        return render_template("error.html", code=400, message=exc.description), 400
