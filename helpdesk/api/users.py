"""``/api/v1/users``: the caller's own account."""

from __future__ import annotations

from typing import Any

from flask import g
from flask.views import MethodView
from flask_smorest import Blueprint

from .auth import authenticate_request
from .schemas import UserSchema

blp = Blueprint("users", __name__, url_prefix="/users", description="Staff accounts")
blp.before_request(authenticate_request)


@blp.route("/me")
class Me(MethodView):
    @blp.response(200, UserSchema)
    def get(self) -> Any:
        """The user the token (or session) belongs to."""
        return g.api_user
