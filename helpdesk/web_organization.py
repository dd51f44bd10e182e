"""The organization page: the company, its people and the tickets they share."""

from __future__ import annotations

from flask import render_template, request
from flask_login import login_required

from .services import organizations
from .webui import bp, me


@bp.get("/organizations/<int:organization_id>")
@login_required
def organization_page(organization_id: int):  # type: ignore[no-untyped-def]
    """Name, domain, members (a page of them) and the organization's tickets, most recently
    updated first, with an "Older" link for the next page of each."""
    actor = me()
    org = organizations.get_organization(actor, organization_id)
    members, more_members = organizations.list_members(
        actor, organization_id, cursor=request.args.get("members"), limit=50
    )
    page = organizations.organization_tickets(
        actor, organization_id, cursor=request.args.get("cursor"), limit=25
    )
    return render_template(
        "organization.html",
        org=org,
        members=members,
        member_count=organizations.member_count(actor, organization_id),
        members_cursor=more_members,
        tickets=page.tickets,
        next_cursor=page.next_cursor,
    )
