"""``/api/v1/organizations``: an organization, its people and the tickets they share."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from ..services import organizations
from .auth import actor, authenticate_request
from .schemas import (
    CustomerTicketArgs,
    OrganizationMemberPageSchema,
    OrganizationMembersArgs,
    OrganizationSchema,
    TicketPageSchema,
)
from .tickets import page_response

blp = Blueprint("organizations", __name__, url_prefix="/organizations", description="Organizations")
blp.before_request(authenticate_request)


@blp.route("/<int:organization_id>")
class OrganizationItem(MethodView):
    @blp.response(200, OrganizationSchema)
    def get(self, organization_id: int) -> Any:
        """One organization: name, domain and how many customers it has."""
        org = organizations.get_organization(actor(), organization_id)
        return {
            "id": org.id,
            "name": org.name,
            "domain": org.domain,
            "created_at": org.created_at,
            "member_count": organizations.member_count(actor(), organization_id),
        }


@blp.route("/<int:organization_id>/members")
class OrganizationMembers(MethodView):
    @blp.arguments(OrganizationMembersArgs, location="query")
    @blp.response(200, OrganizationMemberPageSchema)
    def get(self, args: dict[str, Any], organization_id: int) -> Any:
        """The organization's customers in the order they joined (`cursor` from
        `next_cursor`)."""
        rows, next_cursor = organizations.list_members(
            actor(), organization_id, cursor=args.get("cursor"), limit=args["limit"]
        )
        return {"items": rows, "next_cursor": next_cursor}


@blp.route("/<int:organization_id>/tickets")
class OrganizationTickets(MethodView):
    @blp.arguments(CustomerTicketArgs, location="query", unknown=None)
    @blp.response(200, TicketPageSchema)
    def get(self, args: dict[str, Any], organization_id: int) -> Any:
        """The tickets of everyone in the organization, most recently updated first."""
        page = organizations.organization_tickets(
            actor(), organization_id, cursor=args.get("cursor"), limit=args["limit"]
        )
        return page_response(page)
