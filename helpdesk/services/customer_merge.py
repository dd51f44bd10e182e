"""Duplicate customers: suggesting them, merging two into one, and undoing a merge.

A merge moves the source's identities, tickets, the messages it wrote, its profile notes and its
business events to the survivor; fills the survivor's empty organization, tier, locale and
account manager from the source; gives the survivor the source's tags too (a union) and the
attributes it lacks (the survivor's value wins a conflict); and leaves the source pointing at
the survivor (``merged_into_id``). The source keeps its own tags and attributes. Every moved
row id, filled field, added tag and added attribute is kept in the audit entry, which is what
``unmerge_customers`` replays backwards. Since identities move,
mail or chat from the old addresses resolves to the survivor from then on.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from ..events import CustomerChanged, publish
from ..models import (
    AuditEvent,
    Customer,
    CustomerEvent,
    CustomerIdentity,
    CustomerNote,
    IdentityKind,
    Message,
    Ticket,
    customer_tags,
    utcnow,
)
from . import audit, search_sync
from .customer_fields import MAX_ATTRIBUTES, load_tags, profile_snapshot
from .errors import Conflict, Invalid, NotFound
from .permissions import Actor, Permission, require
from .sla_ticker import rematch_customer
from .transaction import current_session, transaction

MERGED, UNMERGED = "customer.merged", "customer.unmerged"
FILLED_FIELDS = ("organization_id", "tier", "locale", "owner_id")
# Rows that move to the survivor and back: (model, its customer column, key in the record).
_MOVED = (
    (CustomerIdentity, CustomerIdentity.customer_id, "identity_ids"),
    (Ticket, Ticket.customer_id, "ticket_ids"),
    (Message, Message.author_customer_id, "message_ids"),
    (CustomerNote, CustomerNote.customer_id, "note_ids"),
    (CustomerEvent, CustomerEvent.customer_id, "event_ids"),
)
NAME_SIMILARITY = 0.85
MAX_ORG_MEMBERS_COMPARED = 2000
_GMAIL = ("gmail.com", "googlemail.com")


def _lock(session: Session, customer_id: int) -> Customer:
    customer = session.get(Customer, customer_id, with_for_update=True, populate_existing=True)
    if customer is None:
        raise NotFound(_l("Customer %(id)s not found.", id=customer_id))
    return customer


def _ids(session: Session, stmt: Any) -> list[int]:
    return list(session.scalars(stmt))


def merge_customers(actor: Actor, source_id: int, target_id: int) -> Customer:
    """Merge customer ``source_id`` into ``target_id`` (the survivor, returned)."""
    require(actor, Permission.CUSTOMER_WRITE)
    if source_id == target_id:
        raise Invalid(
            _l("A customer cannot be merged into itself."), fields={"target_id": ["same customer"]}
        )
    with transaction() as session:
        first, second = sorted((source_id, target_id))  # lock order: no deadlock between merges
        locked = {first: _lock(session, first), second: _lock(session, second)}
        source, target = locked[source_id], locked[target_id]
        for customer in (source, target):
            if customer.merged_into_id is not None:
                raise Conflict(
                    _l("%(name)s was already merged into another customer.", name=customer.name)
                )
        moved: dict[str, list[int]] = {}
        for model, column, key in _MOVED:
            moved[key] = _ids(session, select(model.id).where(column == source.id))
            session.execute(
                update(model)
                .where(column == source.id)
                .values({column.key: target.id})
                .execution_options(synchronize_session=False)
            )
        filled = {}
        for name in FILLED_FIELDS:
            if getattr(target, name) is None and getattr(source, name) is not None:
                filled[name] = getattr(source, name)
                setattr(target, name, getattr(source, name))
        tags = load_tags(session, [source.id, target.id])
        tag_ids_added = _add_tags(session, source.id, target.id)
        attributes_added = _add_attributes(source, target)
        source.merged_into_id = target.id
        source.updated_at = target.updated_at = utcnow()
        if source.tier != target.tier or "tier" in filled:  # SLA policies may match on it
            rematch_customer(session, target.id)
        search_sync.queue(session, "ticket", moved["ticket_ids"])  # searchable by their customer
        data = {
            "source_id": source.id,
            "target_id": target.id,
            "filled": filled,
            "tag_ids_added": tag_ids_added,
            "attributes_added": attributes_added,
            **moved,
        }
        audit.record(session, actor, MERGED, customer_id=target.id, data=data)
        audit.record(
            session,
            actor,
            "customer.merged_away",
            customer_id=source.id,
            data={"target_id": target.id},
        )
        session.expire(target, ["identities"])
        session.expire(source, ["identities"])
        tags[target.id] = sorted(set(tags[target.id]) | set(tags[source.id]))
        for customer in (target, source):
            snapshot = profile_snapshot(customer, tags[customer.id])
            publish(session, CustomerChanged(snapshot, actor_user_id=actor.user_id))
    return target


def _add_tags(session: Session, source_id: int, target_id: int) -> list[int]:
    """Give the survivor the source's tags it lacks; return their ids (for an unmerge)."""
    have = set(
        session.scalars(
            select(customer_tags.c.tag_id).where(customer_tags.c.customer_id == target_id)
        )
    )
    added = sorted(
        tag_id
        for tag_id in session.scalars(
            select(customer_tags.c.tag_id).where(customer_tags.c.customer_id == source_id)
        )
        if tag_id not in have
    )
    if added:
        session.execute(
            insert(customer_tags), [{"customer_id": target_id, "tag_id": t} for t in added]
        )
    return added


def _add_attributes(source: Customer, target: Customer) -> dict[str, Any]:
    """Copy the source's attributes the survivor lacks (up to the limit); the survivor keeps
    its own value of a key both have. Returns what was added."""
    mine = dict(target.attributes or {})
    added: dict[str, Any] = {}
    for key, value in (source.attributes or {}).items():
        if key not in mine and len(mine) < MAX_ATTRIBUTES:
            mine[key] = added[key] = value
    if added:
        target.attributes = mine
    return added


def unmerge_customers(actor: Actor, source_id: int) -> Customer:
    """Undo the merge of ``source_id``: what moved to the survivor moves back (identities,
    tickets and messages still there), filled fields are emptied again. Returns the source."""
    require(actor, Permission.CUSTOMER_WRITE)
    with transaction() as session:
        source = _lock(session, source_id)
        if source.merged_into_id is None:
            raise Conflict(_l("%(name)s is not merged.", name=source.name))
        target = _lock(session, source.merged_into_id)
        merges = session.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == MERGED, AuditEvent.customer_id == target.id)
            .order_by(AuditEvent.id.desc())
        )
        entry = next((e for e in merges if (e.data or {}).get("source_id") == source.id), None)
        if entry is None:
            raise Conflict(_l("The record of this merge is missing; it cannot be undone."))
        data = entry.data
        for model, column, key in _MOVED:
            ids = data.get(key) or []
            for start in range(0, len(ids), 500):
                session.execute(
                    update(model)
                    .where(model.id.in_(ids[start : start + 500]), column == target.id)
                    .values({column.key: source.id})
                    .execution_options(synchronize_session=False)
                )
        for name, value in (data.get("filled") or {}).items():
            if name in FILLED_FIELDS and getattr(target, name) == value:
                setattr(target, name, None)
        # What the merge added to the survivor goes, unless someone has changed it since.
        tag_ids = data.get("tag_ids_added") or []
        if tag_ids:
            session.execute(
                delete(customer_tags).where(
                    customer_tags.c.customer_id == target.id, customer_tags.c.tag_id.in_(tag_ids)
                )
            )
        attributes = dict(target.attributes or {})
        for key, value in (data.get("attributes_added") or {}).items():
            if key in attributes and attributes[key] == value:
                del attributes[key]
        if attributes != (target.attributes or {}):
            target.attributes = attributes
        source.merged_into_id = None
        source.updated_at = target.updated_at = utcnow()
        if source.tier != target.tier or "tier" in (data.get("filled") or {}):
            for customer in (source, target):
                rematch_customer(session, customer.id)
        search_sync.queue(session, "ticket", data.get("ticket_ids") or [])
        audit.record(
            session,
            actor,
            UNMERGED,
            customer_id=source.id,
            data={"target_id": target.id, "merge_event_id": entry.id},
        )
        session.expire(target, ["identities"])
        session.expire(source, ["identities"])
        tags = load_tags(session, [source.id, target.id])
        for customer in (source, target):
            snapshot = profile_snapshot(customer, tags[customer.id])
            publish(session, CustomerChanged(snapshot, actor_user_id=actor.user_id))
    return source


# --- duplicates ----------------------------------------------------------------------------


@dataclass
class Candidate:
    customer: Customer
    reasons: list[str] = field(default_factory=list)


def _canonical_email(address: str) -> tuple[str, str]:
    """``kim.minsu+shop@gmail.com`` and ``kimminsu@googlemail.com`` are one mailbox."""
    local, _, domain = address.lower().partition("@")
    local = local.split("+", 1)[0]
    if domain in _GMAIL:
        local, domain = local.replace(".", ""), "gmail.com"
    return local, domain


def _name_key(name: str) -> str:
    text = unicodedata.normalize("NFKC", name).casefold()
    return re.sub(r"[\s.,·\-_()]+", "", text)


def duplicate_candidates(actor: Actor, customer_id: int, *, limit: int = 10) -> list[Candidate]:
    """Customers that are probably the same person: an email address that reaches the same
    mailbox (plus-addressing, Gmail dots), or a very similar name in the same organization."""
    require(actor, Permission.CUSTOMER_READ)
    session = current_session()
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise NotFound(_l("Customer %(id)s not found.", id=customer_id))
    found: dict[int, Candidate] = {}

    def add(other: Customer, reason: str) -> None:
        if other.id != customer.id and other.merged_into_id is None:
            found.setdefault(other.id, Candidate(other)).reasons.append(reason)

    emails = session.scalars(
        select(CustomerIdentity.value).where(
            CustomerIdentity.customer_id == customer.id,
            CustomerIdentity.kind == IdentityKind.EMAIL,
        )
    ).all()
    for address in emails:
        local, domain = _canonical_email(address)
        if not local:
            continue
        # Addresses that may reach the same mailbox start alike (Gmail ignores dots, so only
        # the first letters are sure); each candidate is then compared in canonical form.
        prefix = local[:3] if domain == "gmail.com" else local
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        rows = session.execute(
            select(CustomerIdentity.value, Customer)
            .join(Customer, Customer.id == CustomerIdentity.customer_id)
            .where(
                CustomerIdentity.kind == IdentityKind.EMAIL,
                CustomerIdentity.value.like(f"{escaped}%", escape="\\"),
                CustomerIdentity.customer_id != customer.id,
            )
            .limit(MAX_ORG_MEMBERS_COMPARED)
        )
        for other_address, owner in rows:
            if _canonical_email(other_address) == (local, domain):
                add(owner, "email")
    if customer.organization_id is not None:
        key = _name_key(customer.name)
        members = session.scalars(
            select(Customer)
            .where(Customer.organization_id == customer.organization_id, Customer.id != customer.id)
            .limit(MAX_ORG_MEMBERS_COMPARED)
        )
        for member in members:
            other = _name_key(member.name)
            if other == key or difflib.SequenceMatcher(None, key, other).ratio() >= NAME_SIMILARITY:
                add(member, "name")
    return sorted(found.values(), key=lambda c: (-len(c.reasons), c.customer.id))[:limit]
