"""REST API v1 under ``/api/v1``: bearer tokens (or the staff session), JSON errors, OpenAPI.

Handlers parse with flask-smorest/marshmallow, call one service and dump the result. Errors of
every kind leave as ``{"error": {"code", "message", "fields"?}}``; see ``errors.py``.
"""

from __future__ import annotations

import threading
from typing import Any

from flask import Flask
from flask_smorest import Api

from ..extensions import csrf
from .schemas import ErrorSchema

API_PREFIX = "/api/v1"


class DangolApi(Api):
    """flask-smorest's Api with Dangol's error format (handled app-wide in ``errors.py``), and
    the OpenAPI document built when it is first asked for: describing every view cost more
    than the rest of the application's start, paid by every process and every test."""

    ERROR_SCHEMA = ErrorSchema

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._undocumented: list[tuple[Any, str, Any]] = []
        self._documenting = threading.Lock()

    def _register_error_handlers(self) -> None:
        pass

    def register_blueprint(self, blp: Any, *, parameters: Any = None, **options: Any) -> None:
        name = options.get("name", blp.name)
        self._app.extensions["flask-smorest"]["blp_name_to_api"][name] = self
        self._app.register_blueprint(blp, **options)
        self._undocumented.append((blp, name, parameters))

    def document(self) -> None:
        """Describe the registered blueprints' views in the OpenAPI document (once)."""
        with self._documenting:
            while self._undocumented:
                blp, name, parameters = self._undocumented.pop(0)
                blp.register_views_in_doc(
                    self, self._app, self.spec, name=name, parameters=parameters
                )
                self.spec.tag({"name": name, "description": blp.description})

    def _openapi_json(self) -> Any:
        self.document()
        return super()._openapi_json()


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
    from . import (
        canned_replies,
        channels,
        customers,
        errors,
        kb,
        organizations,
        search,
        sla,
        tickets,
        users,
    )

    blueprints = (
        tickets.blp,
        tickets.attachments_blp,
        customers.blp,
        organizations.blp,
        users.blp,
        users.groups_blp,
        channels.blp,
        channels.quarantine_blp,
        sla.blp,
        kb.blp,
        search.blp,
        canned_replies.blp,
    )
    for blueprint in blueprints:
        csrf.exempt(blueprint)  # tokens need no CSRF; session callers are checked in auth.py
        api.register_blueprint(blueprint, url_prefix=f"{API_PREFIX}{blueprint.url_prefix or ''}")
    errors.init_app(app)
