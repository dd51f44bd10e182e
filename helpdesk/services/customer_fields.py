"""Editing a customer's profile fields: name, locale, tier, account manager (owner), tags and
custom attributes.

Who may: staff holding ``CUSTOMER_WRITE`` (agents and admins), the same people who create
customers, add identities and merge them. Sales and marketing read profiles and add notes
(``customer_notes``) but do not change the record other teams rely on (the tier drives SLA
policies). Every change is one audit entry with ``[before, after]`` per field, and a
``CustomerChanged`` event whose snapshot carries the new fields, so an open profile updates.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ..events import CustomerChanged, publish
from ..models import Customer, Tag, User, customer_tags, utcnow
from . import audit
from .errors import Conflict, Invalid, NotFound
from .permissions import Actor, Permission, require
from .sla_ticker import rematch_customer
from .snapshots import customer_snapshot
from .ticket_fields import normalize_tags, tag_rows
from .transaction import current_session, transaction

EDITABLE = ("name", "locale", "tier", "owner_id", "tags", "attributes")
LOCALES = ("en", "ko")
MAX_TAGS = 30
MAX_ATTRIBUTES = 50
MAX_ATTRIBUTE_TEXT = 500
ATTRIBUTE_KEY = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
_TIER = re.compile(r"[\w.-]{1,32}")

AttributeValue = str | int | float | bool


def _invalid(field: str, message: Any, reason: str = "invalid") -> Invalid:
    return Invalid(message, fields={field: [reason]})


def clean_tier(value: Any) -> str | None:
    tier = str(value or "").strip().lower() or None
    if tier is not None and not _TIER.fullmatch(tier):
        raise _invalid("tier", _l("A tier is one short word, like gold or vip."))
    return tier


def clean_tags(values: Any) -> list[str]:
    """Lower-case, de-duplicated tag names (the ``tags`` vocabulary tickets use too)."""
    if isinstance(values, str) or not isinstance(values, list | tuple):
        raise _invalid("tags", _l("Tags are a list of words."))
    distinct = {" ".join(str(v).split()).lower() for v in values} - {""}
    if len(distinct) > MAX_TAGS:
        raise _invalid(
            "tags", _l("A customer can carry at most %(max)s tags.", max=MAX_TAGS), "too many"
        )
    return normalize_tags([str(v) for v in values])


def _clean_value(key: str, value: Any) -> AttributeValue:
    if isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _invalid("attributes", _l("The value of %(key)s is not a number.", key=key))
        return value
    if isinstance(value, str):
        text = value.strip()
        if len(text) > MAX_ATTRIBUTE_TEXT:
            raise _invalid(
                "attributes",
                _l(
                    "The value of %(key)s is longer than %(max)s characters.",
                    key=key,
                    max=MAX_ATTRIBUTE_TEXT,
                ),
            )
        return text
    raise _invalid(
        "attributes", _l("The value of %(key)s must be text, a number or true/false.", key=key)
    )


def clean_attributes(
    values: Any, *, base: Mapping[str, Any] | None = None
) -> dict[str, AttributeValue]:
    """The attribute set after applying ``values``.

    Without ``base``, ``values`` is the complete new set. With ``base`` it is a patch (JSON
    merge patch): each key is set, and a ``None`` value removes the key. Keys are short
    (``[a-z0-9_-]``, at most 40 characters); values are text (at most 500 characters), numbers
    or true/false; a customer keeps at most 50 attributes.
    """
    if not isinstance(values, Mapping):
        raise _invalid("attributes", _l("Attributes are an object of names and values."))
    result: dict[str, AttributeValue] = dict(base or {})
    for raw_key, value in values.items():
        key = str(raw_key).strip()
        if not ATTRIBUTE_KEY.match(key):
            raise _invalid(
                "attributes",
                _l(
                    "The attribute name %(key)s is not allowed: use up to 40 lower-case letters, "
                    "digits, - and _.",
                    key=key[:40],
                ),
            )
        if value is None:
            if base is None:
                raise _invalid("attributes", _l("The attribute %(key)s has no value.", key=key))
            result.pop(key, None)
            continue
        result[key] = _clean_value(key, value)
    if len(result) > MAX_ATTRIBUTES:
        raise _invalid(
            "attributes",
            _l("A customer can have at most %(max)s attributes.", max=MAX_ATTRIBUTES),
            "too many",
        )
    return result


def _clean_name(value: Any) -> str:
    name = " ".join(str(value or "").split())
    if not 1 <= len(name) <= 200:
        raise _invalid("name", _l("A name of 1 to 200 characters is required."), "required")
    return name


def _clean_locale(value: Any) -> str | None:
    locale = str(value or "").strip() or None
    if locale is not None and locale not in LOCALES:
        raise _invalid("locale", _l("Locale must be en or ko."))
    return locale


def _check_owner(session: Session, value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _invalid("owner_id", _l("Choose the account manager from the staff list."))
    user = session.get(User, value)
    if user is None or not user.is_active:
        raise _invalid("owner_id", _l("Choose the account manager from the staff list."))
    return value


def load_tags(session: Session, customer_ids: list[int]) -> dict[int, list[str]]:
    """Tag names per customer, by name (one query; ``Customer.tags`` never loads lazily)."""
    found: dict[int, list[str]] = {cid: [] for cid in customer_ids}
    if not customer_ids:
        return found
    rows = session.execute(
        select(customer_tags.c.customer_id, Tag.name)
        .join(Tag, Tag.id == customer_tags.c.tag_id)
        .where(customer_tags.c.customer_id.in_(customer_ids))
        .order_by(Tag.name)
    )
    for customer_id, name in rows:
        found[customer_id].append(name)
    return found


def tag_names(customer: Customer) -> list[str]:
    """The tag names of a customer the caller already may read (for response shapes)."""
    if "tags" in customer.__dict__:
        return [t.name for t in customer.tags]
    return load_tags(current_session(), [customer.id])[customer.id]


def tags_of(actor: Actor, customer_id: int) -> list[str]:
    """The customer's tag names, by name."""
    require(actor, Permission.CUSTOMER_READ)
    return load_tags(current_session(), [customer_id])[customer_id]


def profile_snapshot(customer: Customer, tags: list[str] | None = None) -> dict[str, Any]:
    """``customer_snapshot`` plus the profile fields a live profile page shows; ``tags`` when
    given or loaded (a page leaves out what the snapshot leaves out)."""
    snapshot = customer_snapshot(customer)
    snapshot.update(
        locale=customer.locale,
        tier=customer.tier,
        owner_id=customer.owner_id,
        attributes=dict(customer.attributes or {}),
        merged_into_id=customer.merged_into_id,
    )
    if tags is None and "tags" in customer.__dict__:
        tags = [t.name for t in customer.tags]
    if tags is not None:
        snapshot["tags"] = tags
    return snapshot


def update_profile(
    actor: Actor,
    customer_id: int,
    changes: Mapping[str, Any],
    *,
    merge_attributes: bool = False,
) -> Customer:
    """Change the profile fields named in ``changes`` (keys of ``EDITABLE``); the others stay.

    ``attributes`` is the complete new set, or with ``merge_attributes`` a patch where
    ``None`` removes a key. ``tags`` is the complete new list. Raises ``Invalid`` naming the
    field, ``NotFound``, ``Conflict`` for a merged-away customer, ``Forbidden``. Returns the
    customer with its tags loaded.
    """
    require(actor, Permission.CUSTOMER_WRITE)
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        field = sorted(unknown)[0]
        raise _invalid(field, _l("%(field)s cannot be changed here.", field=field), "unknown")
    with transaction() as session:
        customer = session.get(
            Customer,
            customer_id,
            with_for_update=True,
            populate_existing=True,
            options=[selectinload(Customer.tags)],
        )
        if customer is None:
            raise NotFound(_l("Customer %(id)s not found.", id=customer_id))
        if customer.merged_into_id is not None:
            raise Conflict(
                _l("%(name)s was merged into another customer; edit that one.", name=customer.name)
            )
        diff: dict[str, list[Any]] = {}

        def change(name: str, before: Any, after: Any) -> None:
            if before != after:
                diff[name] = [before, after]
                setattr(customer, name, after)

        if "name" in changes:
            change("name", customer.name, _clean_name(changes["name"]))
        if "locale" in changes:
            change("locale", customer.locale, _clean_locale(changes["locale"]))
        if "tier" in changes:
            change("tier", customer.tier, clean_tier(changes["tier"]))
        if "owner_id" in changes:
            change("owner_id", customer.owner_id, _check_owner(session, changes["owner_id"]))
        if "attributes" in changes:
            before_attrs = dict(customer.attributes or {})
            after_attrs = clean_attributes(
                changes["attributes"], base=before_attrs if merge_attributes else None
            )
            change("attributes", before_attrs, after_attrs)  # a new dict: the change is seen
        if "tags" in changes:
            names = clean_tags(changes["tags"])
            before_tags = [t.name for t in customer.tags]
            if sorted(names) != before_tags:
                diff["tags"] = [before_tags, sorted(names)]
                customer.tags = tag_rows(session, names)
        if diff:
            customer.updated_at = utcnow()
            audit.record(session, actor, "customer.updated", customer_id=customer.id, changes=diff)
            if "tier" in diff:  # SLA policies may match on it
                rematch_customer(session, customer.id)
            publish(
                session,
                CustomerChanged(profile_snapshot(customer), actor_user_id=actor.user_id),
            )
    return customer
