"""REST API v1 under ``/api/v1``: bearer tokens (or the staff session), JSON errors, OpenAPI.

Handlers parse with flask-smorest/marshmallow, call one service and dump the result. Errors of
every kind leave as ``{"error": {"code", "message", "fields"?}}``; see ``errors.py``.
"""

from __future__ import annotations

from flask import Flask
from flask_smorest import Api

from ..extensions import csrf
from .schemas import ErrorSchema

API_PREFIX = "/api/v1"


class DangolApi(Api):
    """flask-smorest's Api with Dangol's error format (handled app-wide in ``errors.py``)."""

    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self) -> None:
        pass


def init_api(app: Flask) -> None:
    app.config.update(
        API_TITLE="Dangol REST API",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX=API_PREFIX,
        OPENAPI_JSON_PATH="openapi.json",
    )
    api = DangolApi()
    api.init_app(
        app,
        spec_kwargs={
            "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
            "security": [{"bearer": []}],
        },
    )
    from . import channels, customers, errors, kb, organizations, search, sla, tickets, users

    blueprints = (
        tickets.blp,
        customers.blp,
        organizations.blp,
        users.blp,
        users.groups_blp,
        channels.blp,
        channels.quarantine_blp,
        sla.blp,
        kb.blp,
        search.blp,
    )
    for blueprint in blueprints:
        csrf.exempt(blueprint)  # tokens need no CSRF; session callers are checked in auth.py
        api.register_blueprint(blueprint, url_prefix=f"{API_PREFIX}{blueprint.url_prefix or ''}")
    errors.init_app(app)
