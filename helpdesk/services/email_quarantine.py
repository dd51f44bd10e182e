"""Inbound mail that could not become a ticket message: kept whole, with the reason, for admins.

Nothing fetched is ever dropped: a message too large, unparsable, from an address that is not
one, or a bounce about mail we never sent lands here. The raw bytes go to the blob store
(see ``EmailQuarantine``); fetched again (after a UIDVALIDITY change) it is not kept twice.
"""

from __future__ import annotations

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import EmailChannel, EmailQuarantine, utcnow
from . import audit
from .attachments import blob_path, store_blob
from .errors import Conflict, NotFound
from .permissions import Actor, Permission, require
from .transaction import current_session, transaction

HELD, RELEASED, DELETED = "held", "released", "deleted"


def quarantine(
    session: Session, channel: EmailChannel, uid: int, raw: bytes, reason: str
) -> tuple[EmailQuarantine, bool]:
    """Keep ``raw`` with ``reason`` (inside the caller's transaction); return the row and
    whether it is new (False: the same bytes were already quarantined on this channel)."""
    limit = max(current_app.config["HELPDESK"].email_max_bytes, len(raw))
    digest = store_blob(raw, max_bytes=limit)
    existing = session.scalar(
        select(EmailQuarantine).where(
            EmailQuarantine.channel_id == channel.id, EmailQuarantine.sha256 == digest
        )
    )
    if existing is not None:
        return existing, False
    row = EmailQuarantine(
        channel_id=channel.id,
        uid=uid,
        reason=reason[:2000],
        sha256=digest,
        size=len(raw),
        state=HELD,
    )
    session.add(row)
    session.flush()
    return row, True


def list_quarantine(
    actor: Actor,
    channel_id: int | None = None,
    *,
    state: str = HELD,
    before_id: int | None = None,
    limit: int | None = None,
) -> list[EmailQuarantine]:
    """Quarantined messages in ``state`` (held by default), newest first, of one channel or
    of all. ``before_id`` and ``limit`` page through them (ids only grow, so a page never
    shifts when new mail is quarantined meanwhile)."""
    require(actor, Permission.CHANNEL_ADMIN)
    stmt = select(EmailQuarantine).where(EmailQuarantine.state == state)
    if channel_id is not None:
        stmt = stmt.where(EmailQuarantine.channel_id == channel_id)
    if before_id is not None:
        stmt = stmt.where(EmailQuarantine.id < before_id)
    stmt = stmt.order_by(EmailQuarantine.id.desc())
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(current_session().scalars(stmt))


def get_quarantined(actor: Actor, quarantine_id: int) -> EmailQuarantine:
    """One quarantined message's record (whatever its state), with the reason it was kept."""
    require(actor, Permission.CHANNEL_ADMIN)
    row = current_session().get(EmailQuarantine, quarantine_id)
    if row is None:
        raise NotFound(_l("Quarantined message %(id)s not found.", id=quarantine_id))
    return row


def quarantined_source(actor: Actor, quarantine_id: int) -> bytes:
    """The raw message as it was fetched, for download."""
    return blob_path(get_quarantined(actor, quarantine_id).sha256).read_bytes()


def resolve_quarantined(actor: Actor, quarantine_id: int, state: str = DELETED) -> EmailQuarantine:
    """Mark a held message released (dealt with by hand) or deleted, and return it; its
    bytes stay until the row goes, so the decision can be undone. Audited.

    Only a held message can be resolved: the row is locked and checked, so an admin releasing
    it while another stores it again ("Store again") cannot both win."""
    require(actor, Permission.CHANNEL_ADMIN)
    with transaction() as session:
        row = session.get(
            EmailQuarantine, quarantine_id, with_for_update=True, populate_existing=True
        )
        if row is None:
            raise NotFound(_l("Quarantined message %(id)s not found.", id=quarantine_id))
        if row.state != HELD:
            raise Conflict(_l("Message %(id)s was already dealt with.", id=quarantine_id))
        before = row.state
        row.state = RELEASED if state == RELEASED else DELETED
        row.resolved_at = utcnow()
        audit.record(
            session,
            actor,
            "channel.quarantine_resolved",
            changes={"state": [before, row.state]},
            data={"quarantine_id": row.id, "channel_id": row.channel_id},
        )
    return row
