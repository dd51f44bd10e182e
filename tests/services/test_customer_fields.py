"""Profile fields on a customer: tags, account manager, tier, custom attributes, name and
language; who may change them; the audit trail and the live event an open profile hears."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from helpdesk.events import CustomerChanged
from helpdesk.extensions import db
from helpdesk.models import AuditEvent, Customer
from helpdesk.realtime import rooms_for
from helpdesk.services import customer_fields
from helpdesk.services.errors import Conflict, Forbidden, Invalid, NotFound
from helpdesk.services.permissions import SYSTEM, Actor
from tests.api.helpers import set_columns
from tests.factories import actor, make_customer, make_user


def _fresh(customer_id: int) -> Customer:
    db.session.expire_all()
    return db.session.get(Customer, customer_id)


def test_an_agent_sets_tags_owner_tier_and_attributes_and_the_profile_hears_it(app, published):
    agent, manager = make_user(), make_user("sales", name="박서준")
    customer = make_customer(name="이수진")
    published.clear()

    customer_fields.update_profile(
        actor(agent),
        customer.id,
        {
            "name": "  이수진  (한빛) ",
            "locale": "ko",
            "tier": " Gold ",
            "owner_id": manager.id,
            "tags": ["VIP", "churn-risk", "vip", "  "],
            "attributes": {"plan": "pro", "seats": 40, "trial": False, "mrr": 99.5},
        },
    )

    saved = _fresh(customer.id)
    assert (saved.name, saved.locale, saved.tier, saved.owner_id) == (
        "이수진 (한빛)",
        "ko",
        "gold",
        manager.id,
    )
    assert saved.attributes == {"plan": "pro", "seats": 40, "trial": False, "mrr": 99.5}
    assert customer_fields.tags_of(SYSTEM, customer.id) == ["churn-risk", "vip"]
    entry = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "customer.updated")
    ).one()
    assert entry.customer_id == customer.id and entry.actor_user_id == agent.id
    assert entry.changes["tags"] == [[], ["churn-risk", "vip"]]
    assert entry.changes["owner_id"] == [None, manager.id]
    assert entry.changes["tier"] == [None, "gold"]

    [event] = [e for e in published if isinstance(e, CustomerChanged)]
    assert event.customer["tags"] == ["churn-risk", "vip"]
    assert event.customer["owner_id"] == manager.id
    assert event.customer["attributes"]["seats"] == 40
    assert event.actor_user_id == agent.id
    [(name, room, payload)] = rooms_for(event)
    assert (name, room) == ("customer.changed", f"customer:{customer.id}")
    assert payload["customer"]["tier"] == "gold"


def test_attributes_patch_merges_and_a_null_removes_a_key(app):
    customer = make_customer()
    customer_fields.update_profile(SYSTEM, customer.id, {"attributes": {"plan": "pro", "seats": 4}})
    customer_fields.update_profile(
        SYSTEM,
        customer.id,
        {"attributes": {"seats": 5, "plan": None, "region": "서울"}},
        merge_attributes=True,
    )
    assert _fresh(customer.id).attributes == {"seats": 5, "region": "서울"}
    customer_fields.update_profile(SYSTEM, customer.id, {"attributes": {"only": True}})
    assert _fresh(customer.id).attributes == {"only": True}  # without merge: the complete set


def test_nothing_changed_writes_no_audit_entry_and_no_event(app, published):
    customer = make_customer(tier="gold")
    published.clear()
    customer_fields.update_profile(SYSTEM, customer.id, {"tier": "GOLD", "tags": []})
    assert published == []
    assert (
        db.session.scalar(select(AuditEvent.id).where(AuditEvent.action == "customer.updated"))
        is None
    )


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"attributes": {"Plan": "pro"}}, "attributes"),  # upper case
        ({"attributes": {"요금제": "pro"}}, "attributes"),
        ({"attributes": {"x" * 41: 1}}, "attributes"),
        ({"attributes": {"plan": {"nested": 1}}}, "attributes"),
        ({"attributes": {"plan": ["a"]}}, "attributes"),
        ({"attributes": {"plan": "x" * 501}}, "attributes"),
        ({"attributes": {"plan": None}}, "attributes"),  # a complete set has no nulls
        ({"attributes": {f"k{n}": n for n in range(51)}}, "attributes"),
        ({"attributes": "plan=pro"}, "attributes"),
        ({"tags": [f"t{n}" for n in range(31)]}, "tags"),
        ({"tags": "vip"}, "tags"),
        ({"tier": "gold tier"}, "tier"),
        ({"locale": "fr"}, "locale"),
        ({"name": "   "}, "name"),
        ({"owner_id": 999999}, "owner_id"),
        ({"owner_id": "me"}, "owner_id"),
        ({"email": "x@example.com"}, "email"),
    ],
)
def test_bad_values_are_refused_naming_the_field(app, changes, field):
    customer = make_customer()
    with pytest.raises(Invalid) as caught:
        customer_fields.update_profile(SYSTEM, customer.id, changes)
    assert field in caught.value.fields


def test_the_owner_must_be_an_active_staff_member(app):
    customer, leaver = make_customer(), make_user()
    set_columns(leaver, is_active=False)
    with pytest.raises(Invalid) as caught:
        customer_fields.update_profile(SYSTEM, customer.id, {"owner_id": leaver.id})
    assert "owner_id" in caught.value.fields
    customer_fields.update_profile(SYSTEM, customer.id, {"owner_id": make_user("marketing").id})
    customer_fields.update_profile(SYSTEM, customer.id, {"owner_id": None})
    assert _fresh(customer.id).owner_id is None


def test_only_agents_and_admins_edit_profiles(app):
    customer = make_customer()
    for role in ("sales", "marketing"):
        with pytest.raises(Forbidden):
            customer_fields.update_profile(actor(make_user(role)), customer.id, {"tier": "vip"})
    with pytest.raises(Forbidden):
        customer_fields.update_profile(Actor.customer(customer.id), customer.id, {"tier": "vip"})
    customer_fields.update_profile(actor(make_user("admin")), customer.id, {"tier": "vip"})
    assert _fresh(customer.id).tier == "vip"
    with pytest.raises(NotFound):
        customer_fields.update_profile(SYSTEM, 999999, {"tier": "vip"})


def test_a_merged_away_customer_is_not_edited(app):
    from helpdesk.services import customer_merge

    survivor, duplicate = make_customer(), make_customer()
    customer_merge.merge_customers(SYSTEM, duplicate.id, survivor.id)
    with pytest.raises(Conflict):
        customer_fields.update_profile(SYSTEM, duplicate.id, {"tags": ["vip"]})
