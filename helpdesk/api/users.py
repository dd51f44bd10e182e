"""``/api/v1/users`` and ``/api/v1/groups``: staff and teams, to fill assignee and group ids."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import g
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import fields

from ..services import follows, users
from .auth import actor, authenticate_request
from .schemas import Ref, UserSchema

blp = Blueprint("users", __name__, url_prefix="/users", description="Staff accounts")
blp.before_request(authenticate_request)
groups_blp = Blueprint("groups", __name__, url_prefix="/groups", description="Teams")
groups_blp.before_request(authenticate_request)


@blp.route("")
class Users(MethodView):
    @blp.response(200, UserSchema(many=True))
    def get(self) -> Any:
        """Active staff, by name."""
        return users.list_users(actor())


@groups_blp.route("")
class Groups(MethodView):
    @groups_blp.response(200, Ref(many=True))
    def get(self) -> Any:
        """All groups, by name."""
        return users.list_groups(actor())


@blp.route("/me")
class Me(MethodView):
    @blp.response(200, UserSchema)
    def get(self) -> Any:
        """The user the token (or session) belongs to."""
        return g.api_user


class FollowSchema(ma.Schema):
    customer_id = fields.Int(allow_none=True)
    ticket_id = fields.Int(allow_none=True)
    created_at = fields.DateTime()


@blp.route("/me/follows")
class MyFollows(MethodView):
    @blp.response(200, FollowSchema(many=True))
    def get(self) -> Any:
        """The customers and tickets you follow, newest first."""
        return follows.followed(actor())
