"""Staff notes on a customer's profile ("prefers calls after 6pm"), not tied to one ticket.

Everyone on staff who may write internal notes (``TICKET_NOTE``: agents, admins, sales,
marketing) adds notes; only the author or an admin (``USER_ADMIN``) edits or deletes one.
Notes are plain text and staff-only, like internal notes on tickets. Each change is audited
and announced to the customer's room (``CustomerNoteChanged``) after commit.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..events import CustomerNoteChanged, publish
from ..models import Customer, CustomerNote, User, utcnow
from . import audit
from .errors import Forbidden, Invalid, NotFound
from .permissions import Actor, Permission, can, require
from .transaction import current_session, transaction

MAX_NOTE = 10_000


def _clean_body(body: Any) -> str:
    text = str(body or "").replace("\r\n", "\n").strip()
    if not text:
        raise Invalid(_l("Write a note first."), fields={"body": ["required"]})
    if len(text) > MAX_NOTE:
        raise Invalid(
            _l("A note is at most %(max)s characters.", max=MAX_NOTE), fields={"body": ["too long"]}
        )
    return text


def _require_staff(actor: Actor) -> None:
    require(actor, Permission.TICKET_NOTE)  # customers (portal) never hold it


def note_snapshot(note: CustomerNote, author_name: str | None = None) -> dict[str, Any]:
    return {
        "id": note.id,
        "customer_id": note.customer_id,
        "author_id": note.author_id,
        "author_name": author_name,
        "body": note.body,
        "created_at": note.created_at.isoformat(),
        "updated_at": note.updated_at.isoformat(),
    }


def may_change(actor: Actor, note: CustomerNote) -> bool:
    """Whether ``actor`` may edit or delete ``note``: its author, or an admin."""
    if can(actor, Permission.USER_ADMIN):
        return True
    return actor.is_staff and note.author_id is not None and note.author_id == actor.user_id


def _author_name(actor: Actor) -> str | None:
    if actor.user_id is None:
        return None
    user = current_session().get(User, actor.user_id)
    return user.name if user is not None else None


def add_note(actor: Actor, customer_id: int, body: str) -> CustomerNote:
    """Add a note to a customer's profile (a merged-away customer's goes to the survivor).
    Written by a person, like internal notes on tickets: the system adds none."""
    _require_staff(actor)
    if not actor.is_staff:
        raise Forbidden(_l("Only staff can write internal notes."))
    text = _clean_body(body)
    with transaction() as session:
        customer = session.get(Customer, customer_id)
        if customer is None:
            raise NotFound(_l("Customer %(id)s not found.", id=customer_id))
        if customer.merged_into_id is not None:
            customer_id = customer.merged_into_id
        now = utcnow()
        note = CustomerNote(
            customer_id=customer_id,
            author_id=actor.user_id,
            body=text,
            created_at=now,
            updated_at=now,
        )
        session.add(note)
        session.flush()
        audit.record(
            session,
            actor,
            "customer.note_added",
            customer_id=customer_id,
            data={"note_id": note.id},
        )
        publish(
            session,
            CustomerNoteChanged(
                customer_id,
                "added",
                note_snapshot(note, _author_name(actor)),
                actor_user_id=actor.user_id,
            ),
        )
    return note


def _changeable(actor: Actor, note_id: int) -> CustomerNote:
    note = current_session().get(CustomerNote, note_id, with_for_update=True)
    if note is None:
        raise NotFound(_l("Note %(id)s not found.", id=note_id))
    if not may_change(actor, note):
        raise Forbidden(_l("Only its author or an admin may change this note."))
    return note


def edit_note(actor: Actor, note_id: int, body: str) -> CustomerNote:
    _require_staff(actor)
    text = _clean_body(body)
    with transaction() as session:
        note = _changeable(actor, note_id)
        if note.body == text:
            return note
        before = note.body
        note.body = text
        note.updated_at = utcnow()
        audit.record(
            session,
            actor,
            "customer.note_edited",
            customer_id=note.customer_id,
            changes={"body": [before, text]},
            data={"note_id": note.id},
        )
        author = session.get(User, note.author_id) if note.author_id else None
        publish(
            session,
            CustomerNoteChanged(
                note.customer_id,
                "edited",
                note_snapshot(note, author.name if author else None),
                actor_user_id=actor.user_id,
            ),
        )
    return note


def delete_note(actor: Actor, note_id: int) -> None:
    _require_staff(actor)
    with transaction() as session:
        note = _changeable(actor, note_id)
        customer_id = note.customer_id
        audit.record(
            session,
            actor,
            "customer.note_deleted",
            customer_id=customer_id,
            data={"note_id": note.id, "author_id": note.author_id, "body": note.body},
        )
        session.delete(note)
        publish(
            session,
            CustomerNoteChanged(
                customer_id,
                "deleted",
                {"id": note_id, "customer_id": customer_id},
                actor_user_id=actor.user_id,
            ),
        )


def get_note(actor: Actor, note_id: int) -> CustomerNote:
    _require_staff(actor)
    note = current_session().get(CustomerNote, note_id)
    if note is None:
        raise NotFound(_l("Note %(id)s not found.", id=note_id))
    return note


def list_notes(actor: Actor, customer_id: int, *, limit: int = 100) -> list[CustomerNote]:
    """A customer's notes, newest first (at most ``limit``; the timeline pages through all)."""
    _require_staff(actor)
    if current_session().get(Customer, customer_id) is None:
        raise NotFound(_l("Customer %(id)s not found.", id=customer_id))
    stmt = (
        select(CustomerNote)
        .where(CustomerNote.customer_id == customer_id)
        .order_by(CustomerNote.created_at.desc(), CustomerNote.id.desc())
        .limit(max(1, min(limit, 100)))
    )
    return list(current_session().scalars(stmt))
