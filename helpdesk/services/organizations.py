"""Organizations as staff see them: the company, its people (customers) and their tickets.

Reading is for staff who read customers (``CUSTOMER_READ``); a customer on the portal never
reads an organization here. The shared ticket view is ``ticket_queries.list_tickets`` with an
organization filter (keyset on ``ix_tickets_organization_updated``).
"""

from __future__ import annotations

import base64
import binascii

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from ..models import Customer, Organization
from .errors import Invalid, NotFound
from .permissions import Actor, Permission, require
from .ticket_queries import TicketFilter, TicketPage, list_tickets
from .transaction import current_session

MAX_MEMBERS_PAGE = 100


def get_organization(actor: Actor, organization_id: int) -> Organization:
    require(actor, Permission.CUSTOMER_READ)
    if not actor.is_staff and actor.kind != "system":
        raise NotFound(_l("Organization %(id)s not found.", id=organization_id))
    org = current_session().get(Organization, organization_id)
    if org is None:
        raise NotFound(_l("Organization %(id)s not found.", id=organization_id))
    return org


def member_count(actor: Actor, organization_id: int) -> int:
    get_organization(actor, organization_id)
    return int(
        current_session().scalar(
            select(func.count())
            .select_from(Customer)
            .where(Customer.organization_id == organization_id, Customer.merged_into_id.is_(None))
        )
        or 0
    )


def _encode(customer_id: int) -> str:
    return base64.urlsafe_b64encode(f"m{customer_id}".encode()).decode().rstrip("=")


def _decode(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if not raw.startswith("m"):
            raise ValueError("not a member cursor")
        value = int(raw[1:])
        if not 0 < value < 2**63:
            raise ValueError("out of range")
        return value
    except (ValueError, UnicodeDecodeError, binascii.Error) as exc:
        raise Invalid(_l("The cursor is invalid."), fields={"cursor": ["invalid"]}) from exc


def list_members(
    actor: Actor, organization_id: int, *, cursor: str | None = None, limit: int = 50
) -> tuple[list[Customer], str | None]:
    """The organization's customers (merged-away ones left out), in the order they joined,
    a page at a time (keyset on the customer id)."""
    get_organization(actor, organization_id)
    if not 1 <= limit <= MAX_MEMBERS_PAGE:
        raise Invalid(
            _l("limit must be between 1 and %(max)s.", max=MAX_MEMBERS_PAGE),
            fields={"limit": ["range"]},
        )
    stmt = select(Customer).where(
        Customer.organization_id == organization_id, Customer.merged_into_id.is_(None)
    )
    if cursor:
        stmt = stmt.where(Customer.id > _decode(cursor))
    rows = list(current_session().scalars(stmt.order_by(Customer.id).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (_encode(rows[-1].id) if more and rows else None)


def organization_tickets(
    actor: Actor, organization_id: int, *, cursor: str | None = None, limit: int = 25
) -> TicketPage:
    """The tickets of everyone in the organization, most recently updated first."""
    get_organization(actor, organization_id)
    return list_tickets(
        actor, TicketFilter(organization_id=organization_id), cursor=cursor, limit=limit
    )
