"""Unread markers: a ticket is unread for an agent while its customer wrote after the agent
last opened it; colleagues' and the agent's own work never make it unread."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import event, select, text

from helpdesk.extensions import db
from helpdesk.models import TicketRead, utcnow
from helpdesk.services import messages, ticket_reads, tickets
from helpdesk.services.errors import Forbidden, NotFound
from helpdesk.services.permissions import SYSTEM, Actor
from helpdesk.services.ticket_queries import list_tickets
from tests.factories import actor, make_customer, make_ticket, make_user


def _unread(agent, *ticket_list) -> list[bool]:
    flags = ticket_reads.unread_flags(actor(agent), [t.id for t in ticket_list])
    return [flags[t.id] for t in ticket_list]


def test_a_customer_message_makes_a_read_ticket_unread_again_for_every_agent(app):
    jimin, alex = make_user(name="김지민"), make_user(name="Alex Kim")
    ticket = make_ticket(subject="환불 문의")
    assert _unread(jimin, ticket) == [True]  # nobody has read the customer's first message

    assert ticket_reads.mark_read(actor(jimin), ticket.id) is True
    assert _unread(jimin, ticket) == [False]
    assert _unread(alex, ticket) == [True]  # each agent has their own marker

    # Work on the ticket (a reply, a note, a field change, by her or a colleague) is not news.
    with time_machine.travel(utcnow() + timedelta(minutes=1)):
        messages.reply_to_ticket(actor(jimin), ticket.id, body_text="확인해 보겠습니다")
        messages.add_note(actor(alex), ticket.id, body_text="결제팀 확인 필요")
        tickets.set_priority(actor(alex), ticket.id, "high")
    assert _unread(jimin, ticket) == [False]

    with time_machine.travel(utcnow() + timedelta(minutes=2)):
        messages.add_customer_message(SYSTEM, ticket.id, body_text="아직 답이 없네요")
    assert _unread(jimin, ticket) == [True]
    with time_machine.travel(utcnow() + timedelta(minutes=3)):
        assert ticket_reads.mark_read(actor(jimin), ticket.id) is True
    assert _unread(jimin, ticket) == [False]


def test_opening_a_ticket_again_writes_nothing(app):
    agent = make_user()
    ticket = make_ticket()
    ticket_reads.mark_read(actor(agent), ticket.id)
    first = db.session.scalar(select(TicketRead.read_at).where(TicketRead.ticket_id == ticket.id))
    with time_machine.travel(utcnow() + timedelta(hours=1)):
        assert ticket_reads.mark_read(actor(agent), ticket.id) is False
    db.session.expire_all()
    again = db.session.scalar(select(TicketRead.read_at).where(TicketRead.ticket_id == ticket.id))
    assert again == first


def test_mark_as_unread_forgets_only_the_agents_own_reads(app):
    jimin, alex = make_user(), make_user()
    one, two = make_ticket(), make_ticket()
    for agent in (jimin, alex):
        for ticket in (one, two):
            ticket_reads.mark_read(actor(agent), ticket.id)

    assert ticket_reads.mark_unread(actor(jimin), [one.id, one.id, 999_999]) == 1
    assert _unread(jimin, one, two) == [True, False]
    assert _unread(alex, one, two) == [False, False]
    assert ticket_reads.mark_unread(actor(jimin), []) == 0


def test_a_queue_page_is_marked_with_one_primary_key_lookup(app):
    agent = make_user()
    customer = make_customer()
    read, unread = make_ticket(customer), make_ticket(customer)
    ticket_reads.mark_read(actor(agent), read.id)
    page = list_tickets(actor(agent))

    statements: list[str] = []

    def count(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        statements.append(statement)

    engine = db.session().get_bind()
    event.listen(engine, "before_cursor_execute", count)
    try:
        ticket_reads.annotate_unread(actor(agent), page.tickets)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(statements) == 1
    flags = {row["id"]: row["unread"] for row in page.tickets}
    assert flags == {read.id: False, unread.id: True}

    if engine.dialect.name == "sqlite":  # the plan: the primary key, never a table scan
        plan = db.session.execute(
            text(
                "EXPLAIN QUERY PLAN SELECT ticket_id, read_at FROM ticket_reads "
                "WHERE user_id = :u AND ticket_id IN (1, 2, 3)"
            ),
            {"u": agent.id},
        ).all()
        details = " ".join(str(row[-1]) for row in plan)
        assert "SEARCH ticket_reads" in details and "SCAN ticket_reads" not in details


def test_only_staff_have_unread_markers(app):
    ticket = make_ticket()
    customer_actor = Actor.customer(ticket.customer_id)
    with pytest.raises(Forbidden):
        ticket_reads.mark_read(customer_actor, ticket.id)
    with pytest.raises(Forbidden):
        ticket_reads.mark_unread(SYSTEM, [ticket.id])
    rows = [{"id": ticket.id, "last_customer_message_at": utcnow()}]
    ticket_reads.annotate_unread(customer_actor, rows)
    assert rows[0]["unread"] is False
    with pytest.raises(NotFound):
        ticket_reads.mark_read(actor(make_user()), 999_999)
