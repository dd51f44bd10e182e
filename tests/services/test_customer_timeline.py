"""The unified customer timeline: messages on every channel, internal notes, profile notes,
business events and SLA breaches, newest first, filterable, paged without loss or repeats,
and every stream read on an index."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import event as sa_event

from helpdesk.extensions import db
from helpdesk.models import SlaTarget
from helpdesk.services import customer_events, customer_notes, customer_profile, messages
from helpdesk.services.errors import Invalid
from helpdesk.services.permissions import SYSTEM, Actor
from tests.factories import actor, make_customer, make_ticket, make_user

T0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


def _breach(ticket_id: int, at: datetime) -> SlaTarget:
    """A first-response target breached at ``at`` (what the SLA ticker records)."""
    target = SlaTarget(
        ticket_id=ticket_id,
        kind="first_response",
        target_minutes=60,
        started_at=at - timedelta(hours=1),
        due_at=at,
        warn_at=at - timedelta(minutes=10),
        breached_at=at,
    )
    db.session.add(target)
    db.session.commit()
    return target


def _event(customer_id: int, title: str, at: datetime, kind: str = "order") -> None:
    customer_events.add_event(
        SYSTEM,
        {"kind": kind, "title": title, "occurred_at": at.isoformat()},
        customer_id=customer_id,
    )


def _label(entry) -> str:
    if entry.kind == "message":
        return entry.message.body_text
    if entry.kind == "note":
        return entry.note.body
    if entry.kind == "event":
        return entry.event.title
    return f"breach #{entry.ticket_number}"


def _story(app):
    """One customer's history across kinds, an hour apart, oldest first."""
    agent, rep = make_user(), make_user("sales")
    customer = make_customer()
    with time_machine.travel(T0, tick=False):
        ticket = make_ticket(customer, channel="email", body_text="email question")
    _event(customer.id, "order #1", T0 + timedelta(hours=1))
    with time_machine.travel(T0 + timedelta(hours=2), tick=False):
        messages.add_note(actor(agent), ticket.id, body_text="internal ticket note")
    _breach(ticket.id, T0 + timedelta(hours=3))
    with time_machine.travel(T0 + timedelta(hours=4), tick=False):
        customer_notes.add_note(actor(rep), customer.id, "profile note")
    with time_machine.travel(T0 + timedelta(hours=5), tick=False):
        make_ticket(customer, channel="phone", body_text="phone call")
    with time_machine.travel(T0 + timedelta(hours=6), tick=False):
        make_ticket(customer, channel="chat", body_text="chat hello")
    # Pushed in late, but it happened before everything else: ordered by when it happened.
    _event(customer.id, "contract signed", T0 - timedelta(days=30), kind="contract")
    make_ticket(body_text="someone else's")
    return customer, rep, ticket


ALL = [
    "chat hello",
    "phone call",
    "profile note",
    "breach",
    "internal ticket note",
    "order #1",
    "email question",
    "contract signed",
]


def _labels(entries) -> list[str]:
    return [_label(e).split(" #")[0] if e.kind == "sla_breach" else _label(e) for e in entries]


def test_everything_newest_first_and_each_filter(app):
    customer, rep, ticket = _story(app)
    entries, cursor = customer_profile.customer_timeline(actor(rep), customer.id)
    assert _labels(entries) == ALL and cursor is None
    assert [e.kind for e in entries][:4] == ["message", "message", "note", "sla_breach"]
    assert entries[3].ticket_number == ticket.number

    def only(kind: str) -> list[str]:
        return _labels(customer_profile.customer_timeline(actor(rep), customer.id, kind=kind)[0])

    assert only("messages") == [
        "chat hello",
        "phone call",
        "internal ticket note",
        "email question",
    ]
    assert only("public") == ["chat hello", "phone call", "email question"]
    assert only("notes") == ["profile note", "internal ticket note"]
    assert only("calls") == ["phone call"]
    assert only("chats") == ["chat hello"]
    assert only("events") == ["order #1", "contract signed"]
    assert only("sla") == ["breach"]


@pytest.mark.parametrize("limit", [1, 2, 3, 5])
def test_pages_walk_every_entry_once_even_when_times_tie(app, limit):
    customer = make_customer()
    ticket = make_ticket(customer)
    staff = actor(make_user())
    # Everything at the same instant: only the (kind, id) tie-break orders them.
    with time_machine.travel(T0, tick=False):
        messages.add_note(staff, ticket.id, body_text="tied note")
        messages.add_customer_message(SYSTEM, ticket.id, body_text="tied message")
        customer_notes.add_note(staff, customer.id, "tied profile note")
        customer_notes.add_note(staff, customer.id, "tied profile note 2")
    _event(customer.id, "tied order", T0)
    _event(customer.id, "tied order 2", T0)
    _breach(ticket.id, T0)
    everything, _ = customer_profile.customer_timeline(staff, customer.id, limit=100)
    seen, cursor, pages = [], None, 0
    while True:
        page, cursor = customer_profile.customer_timeline(
            staff, customer.id, limit=limit, cursor=cursor
        )
        assert len(page) <= limit and (page or cursor is None)
        seen.extend((e.kind, e.id) for e in page)
        pages += 1
        if cursor is None:
            break
    assert seen == [(e.kind, e.id) for e in everything]
    assert len(set(seen)) == len(seen) == 8  # 7 tied entries and the ticket's first message


def test_customers_and_the_system_never_see_internal_entries(app):
    customer, _rep, _ = _story(app)
    outside = [e.kind for e in customer_profile.customer_timeline(SYSTEM, customer.id)[0]]
    assert "note" not in outside and "sla_breach" not in outside
    public = customer_profile.customer_timeline(SYSTEM, customer.id, kind="notes")[0]
    assert public == []


def test_a_cursor_of_the_old_messages_only_timeline_still_works(app):
    customer = make_customer()
    first = make_ticket(customer, body_text="first")
    make_ticket(customer, body_text="second")
    message_id = messages.list_messages(SYSTEM, first.id)[0].id
    legacy = base64.urlsafe_b64encode(str(message_id + 1).encode()).decode().rstrip("=")
    page, _ = customer_profile.customer_timeline(actor(make_user()), customer.id, cursor=legacy)
    assert [_label(e) for e in page] == ["first"]
    for bad in ("%%%", "bm90LWpzb24", base64.urlsafe_b64encode(b'["x","note",1]').decode()):
        with pytest.raises(Invalid):
            customer_profile.customer_timeline(SYSTEM, customer.id, cursor=bad)
    with pytest.raises(Invalid):
        customer_profile.customer_timeline(SYSTEM, customer.id, kind="everything")
    with pytest.raises(Invalid):
        customer_profile.customer_timeline(SYSTEM, customer.id, limit=101)


def test_the_portal_cannot_read_another_customers_timeline(app):
    customer, other = make_customer(), make_customer()
    with pytest.raises(Exception) as caught:
        customer_profile.customer_timeline(Actor.customer(customer.id), other.id)
    assert caught.value.__class__.__name__ in ("NotFound", "Forbidden")


def test_every_stream_reads_on_an_index(app, database_url):
    """EXPLAIN each query of a page (SQLite): no table is scanned whole, so a page costs the
    same with a million events (the bench target is p95 <= 30 ms)."""
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite query plans")
    customer, rep, _ = _story(app)
    _, cursor = customer_profile.customer_timeline(actor(rep), customer.id, limit=3)
    statements: list[tuple[str, object]] = []

    def capture(conn, cursor_, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append((statement, parameters))

    engine = db.session.get_bind()
    sa_event.listen(engine, "before_cursor_execute", capture)
    try:
        customer_profile.customer_timeline(actor(rep), customer.id, limit=3, cursor=cursor)
    finally:
        sa_event.remove(engine, "before_cursor_execute", capture)
    tables = ("messages", "customer_notes", "customer_events", "sla_targets", "tickets")
    streams = [s for s in statements if any(f"FROM {t}" in s[0] for t in tables[:4])]
    assert len(streams) == 4
    raw = db.session.connection().connection.driver_connection
    for statement, parameters in streams:
        plan = [row[3] for row in raw.execute(f"EXPLAIN QUERY PLAN {statement}", parameters)]
        for step in plan:
            for table in tables:
                assert not step.startswith(f"SCAN {table}") or "INDEX" in step, (statement, plan)
        assert any("INDEX" in step for step in plan), plan


def test_a_filtered_page_stops_at_the_limit_and_points_to_the_next(app):
    customer = make_customer()
    for n in range(12):
        _event(customer.id, f"order {n}", T0 + timedelta(minutes=n))
    page, cursor = customer_profile.customer_timeline(SYSTEM, customer.id, kind="events", limit=5)
    assert [e.event.title for e in page] == [f"order {n}" for n in range(11, 6, -1)]
    rest, end = customer_profile.customer_timeline(
        SYSTEM, customer.id, kind="events", limit=10, cursor=cursor
    )
    assert [e.event.title for e in rest] == [f"order {n}" for n in range(6, -1, -1)]
    assert end is None
