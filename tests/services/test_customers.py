"""Customers resolve through identities: one person, one customer, whatever the channel."""

from __future__ import annotations

import threading

import pytest

from helpdesk.events import CustomerChanged
from helpdesk.extensions import db
from helpdesk.services import customers
from helpdesk.services.errors import Conflict, Forbidden, Invalid, NotFound
from helpdesk.services.identities import normalize_identity
from helpdesk.services.permissions import SYSTEM
from tests.factories import actor, make_customer, make_user

KOREAN_MOBILE_WRITTEN_FIVE_WAYS = [
    "010-1234-5678",
    "01012345678",
    "+82 10 1234 5678",
    "+82-(0)10-1234-5678",
    "82 10 1234 5678",
]


@pytest.mark.parametrize("written", KOREAN_MOBILE_WRITTEN_FIVE_WAYS)
def test_korean_mobile_numbers_normalize_to_e164(written):
    assert normalize_identity("phone", written) == "+821012345678"


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        ("phone", "02-555-0199", "+8225550199"),
        ("phone", "1588-1234", "+8215881234"),
        ("email", "  Kim.MinSu@Example.KR ", "kim.minsu@example.kr"),
        ("slack", "t0acme:u0daniel", "T0ACME:U0DANIEL"),
        ("social", "Twitter:@YoungHo_Choi", "twitter:youngho_choi"),
        ("chat", "visitor-7f3a", "visitor-7f3a"),
    ],
)
def test_identity_normalization(kind, value, expected):
    assert normalize_identity(kind, value) == expected


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("email", "not-an-email"),
        ("phone", "12"),
        ("phone", "hello"),
        ("slack", "no colon"),
        ("social", "handle-only"),
        ("chat", ""),
        ("fax", "123"),
    ],
)
def test_bad_identities_are_rejected_with_a_field_error(kind, value):
    with pytest.raises(Invalid) as err:
        normalize_identity(kind, value)
    assert err.value.fields


def test_one_customer_whichever_way_the_number_is_written(app):
    first, created = customers.resolve_customer(SYSTEM, "phone", "010-1234-5678", name="김민수")
    assert created
    for written in KOREAN_MOBILE_WRITTEN_FIVE_WAYS:
        again, created = customers.resolve_customer(SYSTEM, "phone", written)
        assert (again.id, created) == (first.id, False)
    assert customers.find_customer(SYSTEM, "phone", "+82 10-1234-5678").id == first.id


def test_create_customer_with_identities_and_conflict(app, published):
    org = customers.create_organization(SYSTEM, "한빛상사", domain="hanbit.example")
    customer = customers.create_customer(
        SYSTEM,
        name="이수진",
        identities=[("email", "Sujin@Hanbit.example"), ("phone", "010-2345-6789")],
        organization_id=org.id,
        locale="ko",
    )
    assert {(i.kind, i.value) for i in customer.identities} == {
        ("email", "sujin@hanbit.example"),
        ("phone", "+821023456789"),
    }
    assert customer.organization.name == "한빛상사"
    assert isinstance(published[-1], CustomerChanged) and published[-1].created
    with pytest.raises(Conflict):
        customers.create_customer(
            SYSTEM, name="Someone", identities=[("email", "SUJIN@hanbit.example")]
        )
    with pytest.raises(Invalid):
        customers.create_customer(SYSTEM, name="x", identities=[])
    with pytest.raises(Invalid):
        customers.create_customer(
            SYSTEM, name="x", identities=[("email", "a@b.co")], organization_id=999
        )


def test_add_identity_links_a_new_channel_and_refuses_a_taken_one(app):
    a, b = make_customer(), make_customer()
    customers.add_identity(SYSTEM, a.id, "slack", "T1:U1")
    assert customers.find_customer(SYSTEM, "slack", "t1:u1").id == a.id
    with pytest.raises(Conflict):
        customers.add_identity(SYSTEM, b.id, "slack", "T1:U1")
    with pytest.raises(NotFound):
        customers.add_identity(SYSTEM, 99999, "slack", "T1:U2")


@pytest.mark.parametrize("role", ["sales", "marketing"])
def test_sales_read_but_do_not_write_customers(app, role):
    customer = make_customer()
    reader = actor(make_user(role))
    assert customers.get_customer(reader, customer.id).id == customer.id
    with pytest.raises(Forbidden):
        customers.create_customer(reader, name="x", identities=[("email", "x@example.com")])


def test_concurrent_first_contacts_create_one_customer(app):
    """Two channels see the same new address at the same moment: one customer results."""
    results: list[int] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def contact() -> None:
        with app.app_context():
            try:
                barrier.wait()
                customer, _ = customers.resolve_customer(SYSTEM, "email", "race@example.com")
                results.append(customer.id)
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=contact) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert len(results) == 2 and results[0] == results[1]


def test_new_email_customers_join_the_organization_of_their_domain(app):
    hanbit = customers.create_organization(SYSTEM, "한빛상사", domain="Hanbit.kr")
    found, created = customers.resolve_customer(SYSTEM, "email", "Minsu.Kim@HANBIT.kr")
    assert created and found.organization_id == hanbit.id
    stranger, _ = customers.resolve_customer(SYSTEM, "email", "someone@gmail.com")
    assert stranger.organization_id is None
    by_phone, _ = customers.resolve_customer(SYSTEM, "phone", "010-5555-1234")
    assert by_phone.organization_id is None
    listed = customers.create_customer(
        SYSTEM, name="Lee", identities=[("phone", "010-5555-9999"), ("email", "lee@hanbit.kr")]
    )
    assert listed.organization_id == hanbit.id


def test_customers_resolved_together_are_created_once_each_in_order(app):
    hanbit = customers.create_organization(SYSTEM, "한빛상사", domain="hanbit.kr")
    known, _ = customers.resolve_customer(SYSTEM, "email", "park@example.kr")
    found = customers.resolve_customers(
        SYSTEM,
        [
            ("email", "Kim@Hanbit.kr", "김민수"),
            ("email", "park@example.kr", None),
            ("email", "kim@hanbit.kr", "Someone else"),
            ("phone", "010-5555-1234", None),
        ],
    )
    assert found[1].id == known.id and found[0].id == found[2].id
    assert found[0].name == "김민수" and found[0].organization_id == hanbit.id
    assert found[3].organization_id is None and found[3].id not in (found[0].id, known.id)
    assert [i.value for i in found[0].identities] == ["kim@hanbit.kr"]


def test_an_identity_claimed_meanwhile_resolves_to_its_owner_in_a_batch(app, monkeypatch):
    """Another request creates one of the batch's customers after the batch looked: the
    batch's insert fails, and each identity is then created alone or found."""
    lookup = customers._organizations_by_domain
    claimed: list[int] = []

    def claim_first(session, identities):
        if not claimed:  # as if another request committed this customer just now
            rival = customers._insert_customer(
                session,
                name="Rival",
                organization_id=None,
                identity=("email", "lee@x.kr", "lee@x.kr"),
            )
            claimed.append(rival.id)
        return lookup(session, identities)

    monkeypatch.setattr(customers, "_organizations_by_domain", claim_first)
    found = customers.resolve_customers(
        SYSTEM, [("email", "kim@x.kr", "Kim"), ("email", "lee@x.kr", "Lee")]
    )
    assert found[1].id == claimed[0] and found[1].name == "Rival"
    assert found[0].name == "Kim" and found[0].id != claimed[0]
    db.session.expire_all()
    assert customers.find_customer(SYSTEM, "email", "kim@x.kr").id == found[0].id
