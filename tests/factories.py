"""Test data built through the service layer, the same way production data is."""

from __future__ import annotations

import itertools
from typing import Any

from helpdesk.models import Customer, Group, Ticket, User
from helpdesk.services import customers, tickets, tokens, users
from helpdesk.services.permissions import SYSTEM, Actor

PASSWORD = "correct-horse"
_seq = itertools.count(1)


def make_user(role: str = "agent", **kw: Any) -> User:
    n = next(_seq)
    values: dict[str, Any] = {
        "email": f"{role}{n}@dangol.test",
        "name": f"{role.title()} {n}",
        "password": PASSWORD,
        "role": role,
    }
    values.update(kw)
    return users.create_user(SYSTEM, **values)


def make_group(name: str | None = None) -> Group:
    return users.create_group(SYSTEM, name or f"Group {next(_seq)}")


def make_customer(name: str | None = None, email: str | None = None, **kw: Any) -> Customer:
    n = next(_seq)
    return customers.create_customer(
        SYSTEM,
        name=name or f"Customer {n}",
        identities=[("email", email or f"c{n}@example.com")],
        **kw,
    )


def make_ticket(customer: Customer | None = None, **kw: Any) -> Ticket:
    values: dict[str, Any] = {
        "subject": f"Question {next(_seq)}",
        "body_text": "Please help.",
        "channel": "email",
    }
    values.update(kw)
    if "customer_identity" not in values:
        values["customer_id"] = (customer or make_customer()).id
    return tickets.create_ticket(SYSTEM, **values)


def token_for(user: User) -> str:
    return tokens.create_token(SYSTEM, user.id, "tests")[1]


def actor(user: User) -> Actor:
    return Actor.of(user)
