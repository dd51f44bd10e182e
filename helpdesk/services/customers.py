"""Customers and organizations, found and created through their channel identities."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, cast

from flask_babel import lazy_gettext as _l
from sqlalchemy import Table, bindparam, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from ..events import CustomerChanged, publish
from ..models import Customer, CustomerIdentity, IdentityKind, Organization, utcnow
from . import audit
from .errors import Conflict, Invalid, NotFound
from .identities import normalize_identity
from .permissions import Actor, Permission, require
from .snapshots import customer_snapshot
from .transaction import current_session, transaction


def _clean_name(name: str | None, fallback: str) -> str:
    name = (name or "").strip()
    return (name or fallback)[:200]


def find_customer(actor: Actor, kind: str, value: str) -> Customer | None:
    """The customer owning the identity ``kind``/``value``, if any."""
    require(actor, Permission.CUSTOMER_READ)
    normalized = normalize_identity(kind, value)
    stmt = (
        select(Customer)
        .join(CustomerIdentity)
        .where(CustomerIdentity.kind == kind, CustomerIdentity.value == normalized)
    )
    return current_session().scalar(stmt)


def get_customer(actor: Actor, customer_id: int) -> Customer:
    require(actor, Permission.CUSTOMER_READ)
    if actor.kind == "customer" and actor.customer_id != customer_id:
        raise NotFound(_l("Customer %(id)s not found.", id=customer_id))
    customer = current_session().get(Customer, customer_id)
    if customer is None:
        raise NotFound(_l("Customer %(id)s not found.", id=customer_id))
    return customer


def create_customer(
    actor: Actor,
    *,
    name: str,
    identities: list[tuple[str, str]],
    organization_id: int | None = None,
    locale: str | None = None,
    tier: str | None = None,
) -> Customer:
    """Create a customer with at least one identity; an identity already taken is a conflict.

    ``tier`` is the service level the business gives them ("gold", "vip"), for SLA policies.
    """
    require(actor, Permission.CUSTOMER_WRITE)
    tier = (tier or "").strip().lower() or None
    if tier is not None and not re.fullmatch(r"[\w.-]{1,32}", tier):
        raise Invalid(
            _l("A tier is one short word, like gold or vip."), fields={"tier": ["invalid"]}
        )
    if not identities:
        raise Invalid(
            _l("A customer needs at least one identity."), fields={"identities": ["required"]}
        )
    normalized = [
        (kind, normalize_identity(kind, value), value.strip()) for kind, value in identities
    ]
    if len({(kind, value) for kind, value, _ in normalized}) != len(normalized):
        raise Invalid(
            _l("The same identity is listed twice."), fields={"identities": ["duplicate"]}
        )
    if locale is not None and locale not in ("en", "ko"):
        raise Invalid(_l("Locale must be en or ko."), fields={"locale": ["one of en, ko"]})
    with transaction() as session:
        if organization_id is not None and session.get(Organization, organization_id) is None:
            raise Invalid(_l("Unknown organization."), fields={"organization_id": ["unknown"]})
        if organization_id is None:
            pairs = [(kind, value) for kind, value, _ in normalized]
            organization_id = _organization_by_domain(session, pairs)
        for kind, value, _ in normalized:
            if _identity_owner(session, kind, value) is not None:
                raise Conflict(
                    _l(
                        "The %(kind)s identity %(value)s already belongs to a customer.",
                        kind=kind,
                        value=value,
                    )
                )
        customer = Customer(
            name=_clean_name(name, normalized[0][2]),
            organization_id=organization_id,
            locale=locale,
            tier=tier,
            identities=[
                CustomerIdentity(kind=kind, value=value, display=display)
                for kind, value, display in normalized
            ],
        )
        session.add(customer)
        _flush_identities(session)
        audit.record(session, actor, "customer.created", customer_id=customer.id)
        publish(
            session,
            CustomerChanged(customer_snapshot(customer), created=True, actor_user_id=actor.user_id),
        )
    return customer


def resolve_customer(
    actor: Actor, kind: str, value: str, *, name: str | None = None
) -> tuple[Customer, bool]:
    """Find the customer behind an identity or create one; return it and whether it is new.

    Safe against two channels seeing the same new identity at once: the loser of the insert
    race rolls back its savepoint and uses the winner's customer.
    """
    require(actor, Permission.CUSTOMER_WRITE)
    normalized = normalize_identity(kind, value)
    with transaction() as session:
        existing = _identity_owner(session, kind, normalized)
        if existing is not None:
            return existing, False
        return _create_for_identity(session, actor, kind, normalized, value, name)


def resolve_customers(
    actor: Actor, identities: Sequence[tuple[str, str, str | None]]
) -> list[Customer]:
    """``resolve_customer`` for many ``(kind, value, name)`` at once (a batch of inbound mail):
    one query finds the customers already known; each new identity creates its customer once,
    however often it appears."""
    require(actor, Permission.CUSTOMER_WRITE)
    wanted = [
        (kind, normalize_identity(kind, value), value, name) for kind, value, name in identities
    ]
    with transaction() as session:
        known: dict[tuple[str, str], Customer] = {}
        for kind in {k for k, _, _, _ in wanted}:
            values = list({n for k, n, _, _ in wanted if k == kind})
            for start in range(0, len(values), 500):
                rows = session.execute(
                    select(Customer, CustomerIdentity.value)
                    .join(CustomerIdentity)
                    .where(
                        CustomerIdentity.kind == kind,
                        CustomerIdentity.value.in_(values[start : start + 500]),
                    )
                )
                known.update({(kind, value): customer for customer, value in rows})
        new: dict[tuple[str, str], tuple[str, str, str, str | None]] = {}
        for kind, normalized, value, name in wanted:
            if (kind, normalized) not in known:  # the first mention names the customer
                new.setdefault((kind, normalized), (kind, normalized, value, name))
        known.update(_create_together(session, actor, list(new.values())))
    return [known[(kind, normalized)] for kind, normalized, _, _ in wanted]


def _create_together(
    session: Session, actor: Actor, new: list[tuple[str, str, str, str | None]]
) -> dict[tuple[str, str], Customer]:
    """A customer for each new ``(kind, normalized, value, name)``, written together. If
    another request claims one of the identities meanwhile, each is created alone, where
    the one claimed resolves to its owner."""
    if not new:
        return {}
    organizations = _organizations_by_domain(session, [(k, n) for k, n, _, _ in new])
    try:
        with session.begin_nested():
            customers = _insert_customers(
                session,
                [
                    (
                        _clean_name(name, value.strip()),
                        organizations.get(_domain(kind, normalized) or ""),
                        (kind, normalized, value.strip()),
                    )
                    for kind, normalized, value, name in new
                ],
            )
    except IntegrityError:
        return {
            (k, n): _create_for_identity(session, actor, k, n, v, name)[0] for k, n, v, name in new
        }
    for (kind, normalized, _, _), customer in zip(new, customers, strict=True):
        _announce_created(session, actor, customer, kind, normalized)
    return {(k, n): c for (k, n, _, _), c in zip(new, customers, strict=True)}


def _create_for_identity(
    session: Session, actor: Actor, kind: str, normalized: str, value: str, name: str | None
) -> tuple[Customer, bool]:
    try:
        with session.begin_nested():
            customer = _insert_customer(
                session,
                name=_clean_name(name, value.strip()),
                organization_id=_organization_by_domain(session, [(kind, normalized)]),
                identity=(kind, normalized, value.strip()),
            )
    except IntegrityError:
        winner = _identity_owner(session, kind, normalized)
        if winner is None:
            raise
        return winner, False
    _announce_created(session, actor, customer, kind, normalized)
    return customer, True


def _announce_created(
    session: Session, actor: Actor, customer: Customer, kind: str, normalized: str
) -> None:
    audit.record(
        session,
        actor,
        "customer.created",
        customer_id=customer.id,
        data={"identity": {"kind": kind, "value": normalized}},
    )
    publish(
        session,
        CustomerChanged(customer_snapshot(customer), created=True, actor_user_id=actor.user_id),
    )


def add_identity(actor: Actor, customer_id: int, kind: str, value: str) -> CustomerIdentity:
    require(actor, Permission.CUSTOMER_WRITE)
    normalized = normalize_identity(kind, value)
    with transaction() as session:
        customer = session.get(Customer, customer_id)
        if customer is None:
            raise NotFound(_l("Customer %(id)s not found.", id=customer_id))
        owner = _identity_owner(session, kind, normalized)
        if owner is not None:
            raise Conflict(
                _l(
                    "The %(kind)s identity %(value)s already belongs to customer %(id)s.",
                    kind=kind,
                    value=normalized,
                    id=owner.id,
                )
            )
        identity = CustomerIdentity(
            customer_id=customer_id, kind=kind, value=normalized, display=value.strip()
        )
        session.add(identity)
        _flush_identities(session)
        audit.record(
            session,
            actor,
            "customer.identity_added",
            customer_id=customer_id,
            changes={"identities": [None, f"{kind}:{normalized}"]},
        )
        session.refresh(customer, ["identities"])
        publish(session, CustomerChanged(customer_snapshot(customer), actor_user_id=actor.user_id))
    return identity


def create_organization(actor: Actor, name: str, domain: str | None = None) -> Organization:
    require(actor, Permission.CUSTOMER_WRITE)
    name = (name or "").strip()
    if not name:
        raise Invalid(_l("An organization name is required."), fields={"name": ["required"]})
    with transaction() as session:
        if session.scalar(select(Organization.id).where(Organization.name == name)) is not None:
            raise Conflict(_l("An organization named %(name)s already exists.", name=name))
        org = Organization(name=name, domain=(domain or "").strip().lower() or None)
        session.add(org)
        session.flush()
        audit.record(session, actor, "organization.created", data={"organization_id": org.id})
    return org


def _organization_by_domain(session: Session, identities: list[tuple[str, str]]) -> int | None:
    """The organization whose domain is the domain of one of these email addresses: a new
    customer writing from ``@hanbit.kr`` joins 한빛상사 if its domain is hanbit.kr."""
    found = _organizations_by_domain(session, identities)
    return min(found.values()) if found else None


def _organizations_by_domain(session: Session, identities: list[tuple[str, str]]) -> dict[str, int]:
    """The organization of each email domain among ``identities`` that has one (the oldest
    organization when two claim a domain)."""
    domains = list({d for kind, value in identities if (d := _domain(kind, value))})
    found: dict[str, int] = {}
    for start in range(0, len(domains), 500):
        rows = session.execute(
            select(Organization.domain, Organization.id)
            .where(Organization.domain.in_(domains[start : start + 500]))
            .order_by(Organization.id)
        )
        for domain, organization_id in rows:
            if domain is not None:
                found.setdefault(domain, organization_id)
    return found


def _domain(kind: str, value: str) -> str | None:
    return value.rpartition("@")[2] if kind == IdentityKind.EMAIL else None


def _flush_identities(session: Session) -> None:
    """Another request may have claimed the identity since we checked: report a conflict."""
    try:
        session.flush()
    except IntegrityError as exc:
        raise Conflict(_l("This identity was just added to another customer.")) from exc


_INSERT_CUSTOMERS = insert(cast(Table, Customer.__table__)).returning(
    Customer.__table__.c.id, sort_by_parameter_order=True
)
_INSERT_IDENTITIES = insert(cast(Table, CustomerIdentity.__table__)).returning(
    CustomerIdentity.__table__.c.id, sort_by_parameter_order=True
)


def _insert_customer(
    session: Session, *, name: str, organization_id: int | None, identity: tuple[str, str, str]
) -> Customer:
    return _insert_customers(session, [(name, organization_id, identity)])[0]


def _insert_customers(
    session: Session, new: Sequence[tuple[str, int | None, tuple[str, str, str]]]
) -> list[Customer]:
    """Write new customers, each with one identity ``(kind, normalized, display)``, as two
    plain inserts, and return them as ORM objects built from the values written: most new
    customers arrive with an email, in bulk, where the unit of work cost more than the rest
    of the ticket."""
    now = utcnow()
    rows: list[dict[str, Any]] = [
        {
            "name": name,
            "organization_id": organization_id,
            "locale": None,
            "tier": None,
            "merged_into_id": None,
            "owner_id": None,
            "attributes": {},
            "created_at": now,
            "updated_at": now,
        }
        for name, organization_id, _ in new
    ]
    connection = session.connection()
    for values, customer_id in zip(
        rows, connection.execute(_INSERT_CUSTOMERS, rows).scalars(), strict=True
    ):
        values["id"] = customer_id
    identities: list[dict[str, Any]] = [
        {
            "customer_id": values["id"],
            "kind": kind,
            "value": normalized,
            "display": display,
            "created_at": now,
        }
        for values, (_, _, (kind, normalized, display)) in zip(rows, new, strict=True)
    ]
    for values, identity_id in zip(
        identities, connection.execute(_INSERT_IDENTITIES, identities).scalars(), strict=True
    ):
        values["id"] = identity_id
    customers = []
    for values, identity_values in zip(rows, identities, strict=True):
        identity = CustomerIdentity(**identity_values)
        customer = Customer(**values)
        for obj in (customer, identity):
            make_transient_to_detached(obj)
            session.add(obj)
        set_committed_value(customer, "identities", [identity])
        set_committed_value(customer, "tags", [])
        set_committed_value(identity, "customer", customer)
        customers.append(customer)
    return customers


# Built once: every inbound message and most new tickets resolve an identity.
_IDENTITY_OWNER = (
    select(Customer)
    .join(CustomerIdentity)
    .where(CustomerIdentity.kind == bindparam("kind"), CustomerIdentity.value == bindparam("value"))
)


def _identity_owner(session: Session, kind: str, normalized: str) -> Customer | None:
    return session.scalar(_IDENTITY_OWNER, {"kind": kind, "value": normalized})
