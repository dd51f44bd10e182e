"""Staff notes on a customer's profile: everyone on staff adds them, only the author or an
admin changes them, each change is audited and reaches an open profile."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from helpdesk.events import CustomerNoteChanged
from helpdesk.extensions import db
from helpdesk.models import AuditEvent
from helpdesk.realtime import rooms_for
from helpdesk.services import customer_merge, customer_notes
from helpdesk.services.errors import Forbidden, Invalid, NotFound
from helpdesk.services.permissions import SYSTEM, Actor
from tests.factories import actor, make_customer, make_user


def test_sales_adds_a_note_and_the_profile_hears_it(app, published):
    rep = make_user("sales", name="Park Seojun")
    customer = make_customer()
    published.clear()

    note = customer_notes.add_note(actor(rep), customer.id, "  Prefers calls after 6pm\r\n")

    assert note.body == "Prefers calls after 6pm" and note.author_id == rep.id
    assert [n.body for n in customer_notes.list_notes(actor(rep), customer.id)] == [note.body]
    [event] = published
    assert isinstance(event, CustomerNoteChanged)
    assert rooms_for(event) == [
        (
            "customer.note",
            f"customer:{customer.id}",
            {
                "action": "added",
                "note": {
                    "id": note.id,
                    "customer_id": customer.id,
                    "author_id": rep.id,
                    "author_name": "Park Seojun",
                    "body": "Prefers calls after 6pm",
                    "created_at": note.created_at.isoformat(),
                    "updated_at": note.updated_at.isoformat(),
                },
                "actor_user_id": rep.id,
            },
        )
    ]
    actions = db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.customer_id == customer.id)
    )
    assert "customer.note_added" in list(actions)


def test_only_the_author_or_an_admin_edits_or_deletes(app, published):
    author, colleague, admin = make_user("marketing"), make_user(), make_user("admin")
    customer = make_customer()
    note = customer_notes.add_note(actor(author), customer.id, "첫 메모")

    with pytest.raises(Forbidden):
        customer_notes.edit_note(actor(colleague), note.id, "고쳐 씀")
    with pytest.raises(Forbidden):
        customer_notes.delete_note(actor(colleague), note.id)
    published.clear()
    customer_notes.edit_note(actor(author), note.id, "고친 메모")
    customer_notes.edit_note(actor(admin), note.id, "관리자가 고친 메모")
    assert [e.action for e in published] == ["edited", "edited"]
    assert published[-1].note["body"] == "관리자가 고친 메모"
    db.session.expire_all()
    [saved] = customer_notes.list_notes(actor(colleague), customer.id)
    assert saved.body == "관리자가 고친 메모" and saved.updated_at > saved.created_at

    published.clear()
    customer_notes.delete_note(actor(author), note.id)
    assert customer_notes.list_notes(actor(author), customer.id) == []
    assert [(e.action, e.note) for e in published] == [
        ("deleted", {"id": note.id, "customer_id": customer.id})
    ]
    with pytest.raises(NotFound):
        customer_notes.delete_note(actor(admin), note.id)
    deleted = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "customer.note_deleted")
    ).one()
    assert deleted.data["body"] == "관리자가 고친 메모"  # the history keeps what was said


def test_notes_are_staff_only_and_need_text(app):
    customer = make_customer()
    with pytest.raises(Forbidden):
        customer_notes.add_note(Actor.customer(customer.id), customer.id, "hi")
    with pytest.raises(Forbidden):
        customer_notes.list_notes(Actor.customer(customer.id), customer.id)
    with pytest.raises(Forbidden):
        customer_notes.add_note(SYSTEM, customer.id, "written by nobody")
    staff = actor(make_user("sales"))
    with pytest.raises(Invalid):
        customer_notes.add_note(staff, customer.id, "   ")
    with pytest.raises(Invalid):
        customer_notes.add_note(staff, customer.id, "x" * 10_001)
    with pytest.raises(NotFound):
        customer_notes.add_note(staff, 999999, "hi")


def test_a_note_for_a_merged_away_customer_goes_to_the_survivor(app):
    survivor, duplicate = make_customer(), make_customer()
    customer_merge.merge_customers(SYSTEM, duplicate.id, survivor.id)
    note = customer_notes.add_note(actor(make_user()), duplicate.id, "late note")
    assert note.customer_id == survivor.id
