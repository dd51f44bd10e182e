"""Customer sign-in to the portal by an emailed magic link (signed, single use, expiring).

``request_link`` queues the link email in the same transaction as the link itself (the
``PortalLoginToken`` row is the queued mail; ``portal_auth_mail`` sends it), and does nothing
visible for an address nobody has, or for a customer who asked too often: the page says the
same in every case, so it tells nobody which addresses we know.

The token is ``HMAC(secret key, nonce)`` with a random nonce per link, so the database holds
no usable link (only the nonce and the token's SHA-256). ``redeem_link`` marks the link used
with a compare-and-set in the transaction that signs in, so of two clicks (or a scanner and a
person) exactly one succeeds.

A signed-in customer is remembered by the email address the link went to. Every request
resolves it again (``signed_in_customer``) to whoever owns that address now: after a merge that
is the surviving customer, and an address removed from a customer signs that session out.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.orm import Session

from ..models import (
    Customer,
    CustomerIdentity,
    EmailChannel,
    IdentityKind,
    OutboxStatus,
    PortalLoginToken,
    utcnow,
)
from . import audit
from .errors import Invalid, NotFound
from .identities import normalize_identity
from .permissions import SYSTEM, Actor
from .transaction import current_session, transaction

log = logging.getLogger(__name__)

LINK_LIFETIME = timedelta(minutes=20)
LINKS_PER_HOUR = 5  # per customer; the portal view also limits requests per network address
LOCALES = ("ko", "en")
_CONTEXT = b"dangol/portal-sign-in/v1:"
_MAX_MERGE_HOPS = 10


class LinkProblem(enum.StrEnum):
    UNKNOWN = "unknown"  # no such link (mistyped, or its customer was deleted)
    EXPIRED = "expired"
    USED = "used"


class LinkRefused(NotFound):
    """The link cannot sign anyone in; ``problem`` says why, for a helpful page."""

    def __init__(self, problem: LinkProblem) -> None:
        messages = {
            LinkProblem.UNKNOWN: _l("This sign-in link is not valid."),
            LinkProblem.EXPIRED: _l("This sign-in link has expired."),
            LinkProblem.USED: _l("This sign-in link has already been used."),
        }
        super().__init__(messages[problem])
        self.problem = problem


@dataclass(frozen=True)
class PortalCustomer:
    """Who is signed in to the portal."""

    id: int
    name: str
    email: str


# --- tokens --------------------------------------------------------------------------------


def derive_token(nonce: str) -> str:
    """The secret part of a link: only a holder of the instance secret key can compute it."""
    key = current_app.config["HELPDESK"].secret_key.encode()
    digest = hmac.new(key, _CONTEXT + nonce.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# --- customers -----------------------------------------------------------------------------


def _survivor(session: Session, customer: Customer | None) -> Customer | None:
    """The customer itself, or the one it was merged into (through chains of merges)."""
    for _ in range(_MAX_MERGE_HOPS):
        if customer is None or customer.merged_into_id is None:
            return customer
        customer = session.get(Customer, customer.merged_into_id)
    return None


def _email_owner(session: Session, email: str) -> Customer | None:
    stmt = (
        select(Customer)
        .join(CustomerIdentity)
        .where(CustomerIdentity.kind == IdentityKind.EMAIL, CustomerIdentity.value == email)
    )
    return _survivor(session, session.scalar(stmt))


def _normalized_email(email: str) -> str | None:
    try:
        return normalize_identity(IdentityKind.EMAIL, email)
    except Invalid:
        return None


def signed_in_customer(email: str | None) -> PortalCustomer | None:
    """Whoever owns ``email`` now (the address a session signed in with), if anyone."""
    normalized = _normalized_email(email or "")
    if normalized is None:
        return None
    customer = _email_owner(current_session(), normalized)
    if customer is None:
        return None
    return PortalCustomer(customer.id, customer.name, normalized)


def customer_actor(customer: PortalCustomer) -> Actor:
    return Actor.customer(customer.id)


# --- requesting a link ---------------------------------------------------------------------


def _sending_channel(session: Session) -> EmailChannel | None:
    stmt = select(EmailChannel).where(EmailChannel.is_active.is_(True)).order_by(EmailChannel.id)
    return session.scalars(stmt.limit(1)).first()


def request_link(email: str, locale: str, link_base: str, *, now: datetime | None = None) -> bool:
    """Queue a sign-in link to ``email`` if a customer has that address.

    ``link_base`` is the absolute address the token is appended to (``<link_base>/<token>``);
    ``locale`` is the language of the email. Returns whether a link was queued, for tests and
    logs only: callers must show the same page either way. Nothing is queued for an unknown
    address, a customer who already asked ``LINKS_PER_HOUR`` times in the last hour, or when no
    email channel is active to send through.
    """
    normalized = _normalized_email(email)
    if normalized is None:
        return False
    locale = locale if locale in LOCALES else LOCALES[0]
    now = now or utcnow()
    with transaction() as session:
        owner = _email_owner(session, normalized)
        if owner is None:
            return False
        # Locked so that two requests at once cannot both pass the count (PostgreSQL; SQLite
        # has one writer anyway).
        session.get(Customer, owner.id, with_for_update=True)
        recent = session.scalar(
            select(func.count())
            .select_from(PortalLoginToken)
            .where(
                PortalLoginToken.customer_id == owner.id,
                PortalLoginToken.created_at > now - timedelta(hours=1),
            )
        )
        if (recent or 0) >= LINKS_PER_HOUR:
            log.info("portal sign-in: customer %s asked too often; no link queued", owner.id)
            return False
        channel = _sending_channel(session)
        if channel is None:
            log.warning("portal sign-in: no active email channel to send the link through")
            return False
        nonce = secrets.token_hex(16)
        session.add(
            PortalLoginToken(
                customer_id=owner.id,
                email=normalized,
                token_hash=hash_token(derive_token(nonce)),
                nonce=nonce,
                locale=locale,
                link_base=link_base.rstrip("/")[:500],
                expires_at=now + LINK_LIFETIME,
                created_at=now,
                channel_id=channel.id,
                status=OutboxStatus.QUEUED,
                attempts=0,
                next_attempt_at=now,
            )
        )
        audit.record(
            session,
            SYSTEM,
            "customer.portal_link_requested",
            customer_id=owner.id,
            data={"email": normalized},
        )
    return True


# --- opening a link ------------------------------------------------------------------------


def _link_row(session: Session, token: str) -> Any:
    if not token or len(token) > 128:
        return None
    stmt = select(
        PortalLoginToken.id,
        PortalLoginToken.email,
        PortalLoginToken.expires_at,
        PortalLoginToken.used_at,
    ).where(PortalLoginToken.token_hash == hash_token(token))
    return session.execute(stmt).first()


def check_link(token: str, *, now: datetime | None = None) -> LinkProblem | None:
    """Why ``token`` would not sign in, or ``None`` if it would; changes nothing (the page a
    link opens asks for a click first, so mail scanners that fetch links do not spend it)."""
    session = current_session()
    row = _link_row(session, token)
    problem = _problem(session, row, now or utcnow())
    session.rollback()
    return problem


def _problem(session: Session, row: Any, now: datetime) -> LinkProblem | None:
    if row is None or _email_owner(session, row.email) is None:
        return LinkProblem.UNKNOWN
    if row.used_at is not None:
        return LinkProblem.USED
    if row.expires_at <= now:
        return LinkProblem.EXPIRED
    return None


def redeem_link(token: str, *, now: datetime | None = None) -> PortalCustomer:
    """Spend ``token`` and return who it signs in: the current owner of the address it was
    sent to (the survivor of a merge). Raises ``LinkRefused`` for an unknown, expired or
    used link; of two concurrent calls with one token, exactly one succeeds."""
    now = now or utcnow()
    with transaction() as session:
        row = _link_row(session, token)
        problem = _problem(session, row, now)
        if problem is not None:
            raise LinkRefused(problem)
        spent = session.execute(
            update(PortalLoginToken)
            .where(
                PortalLoginToken.id == row.id,
                PortalLoginToken.used_at.is_(None),
                PortalLoginToken.expires_at > now,
            )
            .values(used_at=now)
            .execution_options(synchronize_session=False)
        )
        if cast(CursorResult[Any], spent).rowcount != 1:
            raise LinkRefused(LinkProblem.USED)  # the other click won
        customer = _email_owner(session, row.email)
        assert customer is not None  # checked above, in this transaction
        audit.record(
            session,
            Actor.customer(customer.id),
            "customer.portal_signed_in",
            customer_id=customer.id,
            data={"email": row.email},
        )
        signed_in = PortalCustomer(customer.id, customer.name, row.email)
    return signed_in
