"""Duplicate customers: suggestions, merging two into one (mail to the old address follows),
and undoing a merge from its audit record."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from helpdesk.extensions import db
from helpdesk.models import AuditEvent, Customer, Message, Ticket
from helpdesk.services import customer_merge, customers, email_ingest, messages
from helpdesk.services.errors import Conflict, Forbidden, Invalid
from helpdesk.services.permissions import SYSTEM
from tests.email_helpers import mail, make_channel
from tests.factories import actor, make_customer, make_ticket, make_user


def _fresh(model, id_):
    db.session.expire_all()
    return db.session.get(model, id_)


def test_merge_moves_identities_tickets_and_messages_and_new_mail_follows(app):
    channel = make_channel()
    org = customers.create_organization(SYSTEM, "한빛상사")
    survivor = make_customer(name="이수진", email="sujin.lee@hanbit.kr", organization_id=org.id)
    duplicate = customers.create_customer(
        SYSTEM,
        name="Sujin Lee",
        identities=[("email", "sujin@gmail.com"), ("phone", "010-2345-6789")],
        tier="vip",
    )
    old_ticket = make_ticket(duplicate, subject="예전 문의")
    messages.add_customer_message(SYSTEM, old_ticket.id, body_text="추가 질문입니다")

    kept = customer_merge.merge_customers(actor(make_user()), duplicate.id, survivor.id)

    assert kept.id == survivor.id and kept.tier == "vip"  # an empty field is filled
    assert _fresh(Customer, duplicate.id).merged_into_id == survivor.id
    assert _fresh(Ticket, old_ticket.id).customer_id == survivor.id
    authors = set(
        db.session.scalars(
            select(Message.author_customer_id).where(Message.ticket_id == old_ticket.id)
        )
    )
    assert authors <= {survivor.id, None}
    # Identities moved: the phone and the old address now find the survivor...
    assert customers.find_customer(SYSTEM, "phone", "+82 10-2345-6789").id == survivor.id
    result = email_ingest.ingest(channel.id, 1, mail(sender="sujin@gmail.com", message_id="n@x"))
    assert _fresh(Ticket, result.ticket_id).customer_id == survivor.id
    # ...and a ticket opened for the merged customer's id lands on the survivor too.
    assert make_ticket(duplicate).customer_id == survivor.id


def test_a_merge_is_undone_from_its_record(app):
    survivor, duplicate = make_customer(), make_customer(email="dup@example.kr")
    theirs, ours = make_ticket(duplicate), make_ticket(survivor)
    customer_merge.merge_customers(SYSTEM, duplicate.id, survivor.id)
    after_merge = make_ticket(survivor)  # new since the merge: stays with the survivor

    customer_merge.unmerge_customers(SYSTEM, duplicate.id)

    assert _fresh(Customer, duplicate.id).merged_into_id is None
    assert _fresh(Ticket, theirs.id).customer_id == duplicate.id
    assert _fresh(Ticket, ours.id).customer_id == survivor.id
    assert _fresh(Ticket, after_merge.id).customer_id == survivor.id
    assert customers.find_customer(SYSTEM, "email", "dup@example.kr").id == duplicate.id
    actions = db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.action.like("customer.%merge%"))
    )
    assert sorted(actions) == ["customer.merged", "customer.merged_away", "customer.unmerged"]
    with pytest.raises(Conflict):
        customer_merge.unmerge_customers(SYSTEM, duplicate.id)  # nothing left to undo


def test_merges_refuse_themselves_chains_and_readers(app):
    a, b, c = make_customer(), make_customer(), make_customer()
    with pytest.raises(Invalid):
        customer_merge.merge_customers(SYSTEM, a.id, a.id)
    with pytest.raises(Forbidden):
        customer_merge.merge_customers(actor(make_user("sales")), a.id, b.id)
    customer_merge.merge_customers(SYSTEM, a.id, b.id)
    with pytest.raises(Conflict):
        customer_merge.merge_customers(SYSTEM, c.id, a.id)  # into a merged customer
    with pytest.raises(Conflict):
        customer_merge.merge_customers(SYSTEM, a.id, c.id)  # merged twice


def test_duplicates_by_mailbox_and_by_similar_name_in_the_organization(app):
    org = customers.create_organization(SYSTEM, "Acme Corp")
    daniel = make_customer(
        name="Daniel Park", email="daniel.park@gmail.com", organization_id=org.id
    )
    plus = make_customer(name="D. Park", email="danielpark+shop@googlemail.com")
    alike = make_customer(name="daniel  park", email="dp@acme.example", organization_id=org.id)
    make_customer(name="Daniel Kim", email="daniel.kim@acme.example", organization_id=org.id)
    make_customer(name="Daniel Park", email="other@else.example")  # same name, no organization

    found = {
        c.customer.id: c.reasons for c in customer_merge.duplicate_candidates(SYSTEM, daniel.id)
    }
    assert found == {plus.id: ["email"], alike.id: ["name"]}
    customer_merge.merge_customers(SYSTEM, plus.id, daniel.id)
    assert [c.customer.id for c in customer_merge.duplicate_candidates(SYSTEM, daniel.id)] == [
        alike.id
    ]


def test_merge_unions_tags_moves_notes_and_events_and_unmerge_restores_them(app):
    from datetime import UTC, datetime

    from helpdesk.models import CustomerEvent, CustomerNote
    from helpdesk.services import customer_events, customer_fields, customer_notes

    manager = make_user("sales")
    survivor, duplicate = make_customer(), make_customer(email="dup2@example.kr")
    customer_fields.update_profile(
        SYSTEM,
        survivor.id,
        {"tags": ["vip"], "attributes": {"plan": "pro", "seats": 10}},
    )
    customer_fields.update_profile(
        SYSTEM,
        duplicate.id,
        {
            "tags": ["vip", "churn-risk"],
            "attributes": {"plan": "free", "region": "부산"},
            "owner_id": manager.id,
        },
    )
    note = customer_notes.add_note(actor(manager), duplicate.id, "called about renewal")
    event, _ = customer_events.add_event(
        SYSTEM,
        {"kind": "order", "title": "주문", "occurred_at": datetime(2026, 5, 1, tzinfo=UTC)},
        customer_id=duplicate.id,
    )

    customer_merge.merge_customers(SYSTEM, duplicate.id, survivor.id)

    kept = _fresh(Customer, survivor.id)
    assert customer_fields.tags_of(SYSTEM, survivor.id) == ["churn-risk", "vip"]
    assert kept.attributes == {"plan": "pro", "seats": 10, "region": "부산"}  # survivor wins
    assert kept.owner_id == manager.id  # an empty field is filled
    assert _fresh(CustomerNote, note.id).customer_id == survivor.id
    assert _fresh(CustomerEvent, event.id).customer_id == survivor.id

    customer_merge.unmerge_customers(SYSTEM, duplicate.id)

    back = _fresh(Customer, survivor.id)
    assert customer_fields.tags_of(SYSTEM, survivor.id) == ["vip"]
    assert back.attributes == {"plan": "pro", "seats": 10}
    assert back.owner_id is None
    assert customer_fields.tags_of(SYSTEM, duplicate.id) == ["churn-risk", "vip"]
    assert _fresh(Customer, duplicate.id).attributes == {"plan": "free", "region": "부산"}
    assert _fresh(CustomerNote, note.id).customer_id == duplicate.id
    assert _fresh(CustomerEvent, event.id).customer_id == duplicate.id


def test_unmerge_keeps_what_was_changed_on_the_survivor_since(app):
    from helpdesk.services import customer_fields

    survivor, duplicate = make_customer(), make_customer()
    customer_fields.update_profile(
        SYSTEM, duplicate.id, {"tags": ["lead"], "attributes": {"region": "부산"}}
    )
    customer_merge.merge_customers(SYSTEM, duplicate.id, survivor.id)
    customer_fields.update_profile(
        SYSTEM, survivor.id, {"attributes": {"region": "서울"}}, merge_attributes=True
    )
    customer_merge.unmerge_customers(SYSTEM, duplicate.id)
    assert _fresh(Customer, survivor.id).attributes == {"region": "서울"}  # edited since: kept
    assert customer_fields.tags_of(SYSTEM, survivor.id) == []
