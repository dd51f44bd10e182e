"""Business events on a customer's history (orders, purchases, contract changes, calls),
pushed in from other systems through the API or a CSV import.

An event names its customer by id or by an identity (``("email", "kim@example.kr")``, a phone
number in any format); an unknown identity creates the customer, as inbound mail does. A
``(source, external_id)`` seen before returns the stored event: a system that retries a
delivery never doubles an order.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, select, tuple_
from sqlalchemy.orm import Session

from ..events import CustomerChanged, CustomerEventAdded, publish
from ..models import Customer, CustomerEvent, utcnow
from ..models.base import UTCDateTime
from . import audit
from .customers import get_customer, resolve_customer
from .errors import Invalid
from .permissions import Actor, Permission, require
from .snapshots import customer_snapshot
from .transaction import current_session, transaction

KIND = re.compile(r"^[a-z][a-z0-9_.-]{0,31}$")
MAX_DATA_KEYS = 30


def _bad(field: str, message: Any) -> Invalid:
    return Invalid(message, fields={field: ["invalid"]})


def clean_event(data: Mapping[str, Any]) -> dict[str, Any]:
    """Validated event fields (``kind``, ``title``, ``occurred_at``, ``data``, ``source``,
    ``external_id``), or ``Invalid`` naming the field."""
    kind = str(data.get("kind") or "").strip().lower()
    if not KIND.match(kind):
        raise _bad("kind", _l("An event kind is a short word such as order or contract."))
    title = " ".join(str(data.get("title") or "").split())
    if not 1 <= len(title) <= 200:
        raise _bad("title", _l("A title of 1 to 200 characters is required."))
    occurred = data.get("occurred_at")
    if isinstance(occurred, str):
        try:
            occurred = datetime.fromisoformat(occurred.strip())
        except ValueError:
            occurred = None
    if not isinstance(occurred, datetime) or occurred.utcoffset() is None:
        raise _bad(
            "occurred_at", _l("When it happened, with a time zone: 2026-11-23T10:00:00+09:00.")
        )
    extra = data.get("data") or {}
    if not isinstance(extra, Mapping) or len(extra) > MAX_DATA_KEYS:
        raise _bad("data", _l("Event data is an object of at most 30 values."))
    source = str(data.get("source") or "api").strip()[:64] or "api"
    external_id = str(data.get("external_id") or "").strip()[:128] or None
    return {
        "kind": kind,
        "title": title,
        "occurred_at": occurred,
        "data": {str(k)[:64]: v for k, v in extra.items()},
        "source": source,
        "external_id": external_id,
    }


def _existing(session: Session, source: str, external_id: str | None) -> CustomerEvent | None:
    if external_id is None:
        return None
    return session.scalar(
        select(CustomerEvent).where(
            tuple_(CustomerEvent.source, CustomerEvent.external_id) == (source, external_id)
        )
    )


def store_event(
    session: Session, actor: Actor, customer: Customer, values: dict[str, Any]
) -> tuple[CustomerEvent, bool]:
    """Write one validated event for ``customer`` in the caller's transaction; returns it and
    whether it is new."""
    found = _existing(session, values["source"], values["external_id"])  # a retried delivery
    if found is not None:
        return found, False
    event = CustomerEvent(customer_id=customer.id, created_at=utcnow(), **values)
    session.add(event)
    session.flush()
    audit.record(
        session,
        actor,
        "customer.event_added",
        customer_id=customer.id,
        data={"event_id": event.id, "kind": event.kind, "title": event.title},
    )
    return event, True


def add_event(
    actor: Actor,
    data: Mapping[str, Any],
    *,
    customer_id: int | None = None,
    identity: tuple[str, str] | None = None,
) -> tuple[CustomerEvent, bool]:
    """Add an event to a customer's history; returns it and whether it is new."""
    require(actor, Permission.CUSTOMER_WRITE)
    values = clean_event(data)
    if (customer_id is None) == (identity is None):
        raise _bad("customer", _l("Give either a customer id or a customer identity."))
    with transaction() as session:
        if identity is not None:
            customer, _ = resolve_customer(actor, *identity)
        else:
            customer = get_customer(actor, customer_id)  # type: ignore[arg-type]
        if customer.merged_into_id is not None:
            customer = get_customer(actor, customer.merged_into_id)
        event, created = store_event(session, actor, customer, values)
        if created:
            session.expire(customer, ["identities"])
            publish(
                session, CustomerChanged(customer_snapshot(customer), actor_user_id=actor.user_id)
            )
            publish(
                session,
                CustomerEventAdded(customer.id, event_snapshot(event), actor_user_id=actor.user_id),
            )
    return event, created


def event_snapshot(event: CustomerEvent) -> dict[str, Any]:
    """An event as the API shows it, for live profiles."""
    return {
        "id": event.id,
        "customer_id": event.customer_id,
        "kind": event.kind,
        "title": event.title,
        "occurred_at": event.occurred_at.astimezone(UTC).isoformat(),
        "data": dict(event.data or {}),
        "source": event.source,
        "external_id": event.external_id,
    }


def _cursor(event: CustomerEvent) -> str:
    raw = f"{event.occurred_at.isoformat()}|{event.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        moment, event_id = raw.rsplit("|", 1)
        when = datetime.fromisoformat(moment)
        if when.utcoffset() is None:
            raise ValueError("no offset")
        return when, int(event_id)
    except (ValueError, UnicodeDecodeError, binascii.Error) as exc:
        raise _bad("cursor", _l("The cursor is invalid.")) from exc


def list_events(
    actor: Actor, customer_id: int, *, cursor: str | None = None, limit: int = 25
) -> tuple[list[CustomerEvent], str | None]:
    """A customer's events, newest first, a page at a time."""
    get_customer(actor, customer_id)
    require(actor, Permission.CUSTOMER_READ)
    if not 1 <= limit <= 100:
        raise _bad("limit", _l("limit must be between 1 and %(max)s.", max=100))
    stmt = select(CustomerEvent).where(CustomerEvent.customer_id == customer_id)
    if cursor:
        when, event_id = _decode(cursor)
        bound = tuple_(bindparam("when", when, type_=UTCDateTime()), bindparam("id", event_id))
        stmt = stmt.where(tuple_(CustomerEvent.occurred_at, CustomerEvent.id) < bound)
    stmt = stmt.order_by(CustomerEvent.occurred_at.desc(), CustomerEvent.id.desc())
    rows = list(current_session().scalars(stmt.limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, _cursor(rows[-1]) if more and rows else None
