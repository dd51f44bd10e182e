"""Who may do what. Every service checks here; no view or API handler decides on its own."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Literal

from flask_babel import lazy_gettext as _l

from ..models import Role, User
from .errors import Forbidden


class Permission(enum.StrEnum):
    TICKET_READ = "ticket.read"
    TICKET_CREATE = "ticket.create"
    TICKET_UPDATE = "ticket.update"  # status, priority, group, assignee, tags, merge
    TICKET_REPLY = "ticket.reply"  # public replies to the customer
    TICKET_NOTE = "ticket.note"  # internal notes
    CUSTOMER_READ = "customer.read"
    CUSTOMER_WRITE = "customer.write"
    USER_READ = "user.read"
    USER_ADMIN = "user.admin"
    CHANNEL_ADMIN = "channel.admin"  # email channels and their quarantine (admins only)
    SLA_ADMIN = "sla.admin"  # business calendars and SLA policies (admins only)
    KB_READ = "kb.read"  # every knowledge base article, drafts and internal ones included
    KB_WRITE = "kb.write"  # write, publish and delete articles; manage categories


_READERS = {
    Permission.TICKET_READ,
    Permission.TICKET_NOTE,
    Permission.CUSTOMER_READ,
    Permission.USER_READ,
    Permission.KB_READ,
}
_AGENT = _READERS | {
    Permission.TICKET_CREATE,
    Permission.TICKET_UPDATE,
    Permission.TICKET_REPLY,
    Permission.CUSTOMER_WRITE,
    Permission.KB_WRITE,
}

# Sales and marketing read the whole service history and add internal notes; only agents and
# admins change tickets or speak to the customer.
ROLE_PERMISSIONS: dict[str, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.AGENT: frozenset(_AGENT),
    Role.SALES: frozenset(_READERS),
    Role.MARKETING: frozenset(_READERS),
}


@dataclass(frozen=True)
class Actor:
    """Who is calling a service: a staff user, a customer (portal) or the system (connectors)."""

    kind: Literal["user", "customer", "system"]
    user_id: int | None = None
    role: str | None = None
    customer_id: int | None = None

    @classmethod
    def of(cls, user: User) -> Actor:
        return cls("user", user_id=user.id, role=user.role)

    @classmethod
    def customer(cls, customer_id: int) -> Actor:
        return cls("customer", customer_id=customer_id)

    @property
    def is_staff(self) -> bool:
        return self.kind == "user"


SYSTEM = Actor("system")


def can(actor: Actor, permission: Permission) -> bool:
    if actor.kind == "system":
        return True
    if actor.kind == "user" and actor.role is not None:
        return permission in ROLE_PERMISSIONS.get(actor.role, frozenset())
    return False


def require(actor: Actor, permission: Permission) -> None:
    """Raise ``Forbidden`` unless ``actor`` holds ``permission``."""
    if not can(actor, permission):
        raise Forbidden(
            _l("You are not allowed to do this (%(permission)s).", permission=permission.value)
        )
