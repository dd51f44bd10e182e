"""Ticket rules: creation, changes, versions, merge, audit trail and events."""

from __future__ import annotations

import pytest

from helpdesk.events import TicketCreated, TicketMerged, TicketUpdated
from helpdesk.models import Status
from helpdesk.services import audit, messages, tickets
from helpdesk.services.errors import Conflict, Forbidden, Invalid, NotFound
from helpdesk.services.permissions import SYSTEM
from helpdesk.services.ticket_create import NewTicket, open_tickets
from tests.factories import actor, make_customer, make_group, make_ticket, make_user


def test_new_tickets_get_consecutive_human_numbers(app):
    first, second = make_ticket(), make_ticket()
    assert first.number >= 1001
    assert second.number == first.number + 1


def test_create_ticket_resolves_customer_by_identity_and_records_first_message(app):
    ticket = tickets.create_ticket(
        SYSTEM,
        subject="  환불   요청 ",
        body_text="환불하려면 어떻게 하나요?",
        channel="email",
        customer_identity=("email", "Kim@Example.KR"),
        customer_name="김민수",
        tags=["환불", "VIP", "vip"],
    )
    again = tickets.create_ticket(
        SYSTEM,
        subject="또 문의",
        body_text="추가 질문",
        channel="email",
        customer_identity=("email", "kim@example.kr"),
    )
    loaded = tickets.get_ticket(SYSTEM, ticket.id)
    assert loaded.subject == "환불 요청"
    assert loaded.customer.name == "김민수"
    assert again.customer_id == ticket.customer_id
    assert [t.name for t in loaded.tags] == ["vip", "환불"]
    assert loaded.status == Status.NEW
    [message] = messages.list_messages(SYSTEM, ticket.id)
    assert message.direction == "in" and message.kind == "email" and message.is_public
    assert message.author_customer_id == ticket.customer_id
    assert message.body_html == "<p>환불하려면 어떻게 하나요?</p>"


def test_create_ticket_validates_input(app):
    customer = make_customer()
    with pytest.raises(Invalid) as err:
        tickets.create_ticket(SYSTEM, subject=" ", body_text="x", customer_id=customer.id)
    assert err.value.fields == {"subject": ["required"]}
    with pytest.raises(Invalid):
        tickets.create_ticket(SYSTEM, subject="x", body_text="x", customer_id=999999)
    with pytest.raises(Invalid):
        tickets.create_ticket(
            SYSTEM, subject="x", body_text="x", customer_id=customer.id, priority="huge"
        )
    with pytest.raises(Invalid):
        tickets.create_ticket(
            SYSTEM, subject="x", body_text="x", customer_id=customer.id, channel="fax"
        )
    sales = make_user("sales")
    with pytest.raises(Invalid) as err:
        tickets.create_ticket(
            SYSTEM, subject="x", body_text="x", customer_id=customer.id, assignee_id=sales.id
        )
    assert "assignee_id" in err.value.fields


def test_update_records_before_and_after_in_audit_and_event(app, published):
    agent, group = make_user("agent"), make_group("결제 Billing")
    ticket = make_ticket()
    published.clear()
    updated = tickets.update_ticket(
        actor(agent),
        ticket.id,
        {"priority": "urgent", "group_id": group.id, "assignee_id": agent.id, "tags": ["a"]},
    )
    assert updated.version == 2
    assert updated.status == "open"  # assigning a new ticket opens it
    [event] = published
    assert isinstance(event, TicketUpdated)
    assert event.changes == {
        "priority": ["normal", "urgent"],
        "group_id": [None, group.id],
        "assignee_id": [None, agent.id],
        "status": ["new", "open"],
        "tags": [[], ["a"]],
    }
    assert event.ticket["assignee_id"] == agent.id and event.actor_user_id == agent.id
    history = audit.ticket_history(actor(agent), ticket.id)
    assert [h.action for h in history] == ["ticket.created", "ticket.updated"]
    assert history[-1].changes["priority"] == ["normal", "urgent"]
    assert history[-1].actor_user_id == agent.id


def test_no_op_update_changes_nothing(app, published):
    agent = make_user()
    ticket = make_ticket()
    published.clear()
    same = tickets.update_ticket(actor(agent), ticket.id, {"priority": "normal"})
    assert same.version == 1 and published == []


def test_stale_version_is_a_conflict_not_an_overwrite(app):
    a, b = make_user(), make_user()
    ticket = make_ticket()
    tickets.set_priority(actor(a), ticket.id, "high", expected_version=1)
    with pytest.raises(Conflict):
        tickets.set_priority(actor(b), ticket.id, "low", expected_version=1)
    assert tickets.get_ticket(actor(a), ticket.id).priority == 3


def test_status_rules(app):
    agent = make_user()
    ticket = make_ticket()
    solved = tickets.set_status(actor(agent), ticket.id, "solved")
    assert solved.solved_at is not None
    reopened = tickets.set_status(actor(agent), ticket.id, "open")
    assert reopened.solved_at is None
    with pytest.raises(Invalid):
        tickets.set_status(actor(agent), ticket.id, "new")
    with pytest.raises(Invalid):
        tickets.set_status(actor(agent), ticket.id, "archived")
    tickets.set_status(actor(agent), ticket.id, "closed")
    with pytest.raises(Conflict):
        tickets.set_priority(actor(agent), ticket.id, "high")


@pytest.mark.parametrize("role", ["sales", "marketing"])
def test_sales_and_marketing_cannot_change_tickets(app, role):
    ticket = make_ticket()
    with pytest.raises(Forbidden):
        tickets.set_status(actor(make_user(role)), ticket.id, "solved")
    with pytest.raises(Forbidden):
        tickets.create_ticket(
            actor(make_user(role)), subject="x", body_text="x", customer_id=ticket.customer_id
        )


def test_merge_moves_conversation_and_tags_and_closes_source(app, published):
    agent = make_user()
    customer = make_customer()
    target = make_ticket(customer, tags=["login"])
    source = make_ticket(customer, tags=["sso"], body_text="Still broken")
    messages.add_note(actor(agent), source.id, body_text="dup of the other one")
    published.clear()

    result = tickets.merge_tickets(actor(agent), source.id, target.id)

    assert sorted(t.name for t in result.tags) == ["login", "sso"]
    assert result.message_count == 3
    bodies = [m.body_text for m in messages.list_messages(actor(agent), target.id)]
    assert bodies == ["Please help.", "Still broken", "dup of the other one"]
    merged = tickets.get_ticket(actor(agent), source.id)
    assert merged.status == "closed" and merged.merged_into_id == target.id
    assert messages.list_messages(actor(agent), source.id) == []
    [event] = published
    assert isinstance(event, TicketMerged)
    assert event.source["merged_into_id"] == target.id and event.target["id"] == target.id
    with pytest.raises(Conflict):
        tickets.merge_tickets(actor(agent), source.id, target.id)
    with pytest.raises(Conflict):
        messages.reply_to_ticket(actor(agent), source.id, body_text="hello?")
    actions = [h.action for h in audit.ticket_history(actor(agent), source.id)]
    assert actions[-1] == "ticket.merged_away"


def test_merge_into_itself_is_invalid(app):
    ticket = make_ticket()
    with pytest.raises(Invalid):
        tickets.merge_tickets(actor(make_user()), ticket.id, ticket.id)


def test_created_event_is_delivered_after_commit(app, published):
    ticket = make_ticket(subject="Hello")
    [event] = [e for e in published if isinstance(e, TicketCreated)]
    assert event.ticket["id"] == ticket.id and event.ticket["subject"] == "Hello"
    assert event.ticket["customer_name"].startswith("Customer")


def test_unknown_ticket_is_not_found(app):
    with pytest.raises(NotFound):
        tickets.get_ticket(SYSTEM, 424242)


def test_concurrent_writes_to_one_ticket_never_lose_an_update(app):
    """Two agents answer the same ticket at the same moment: both messages land, and the
    counters and version reflect both (the ticket row is locked for each write)."""
    import threading

    from helpdesk.extensions import db

    agents = [make_user(), make_user()]
    ticket = make_ticket()
    barrier = threading.Barrier(len(agents))
    errors: list[BaseException] = []

    def answer(agent) -> None:
        with app.app_context():
            try:
                barrier.wait()
                for n in range(3):
                    messages.reply_to_ticket(actor(agent), ticket.id, body_text=f"reply {n}")
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=answer, args=(a,)) for a in agents]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    final = tickets.get_ticket(SYSTEM, ticket.id)
    assert final.message_count == 7
    assert final.version == 7
    assert len(messages.list_messages(SYSTEM, ticket.id)) == 7


def test_open_tickets_opens_a_batch_with_one_customer_per_identity(app, published):
    requests = [
        NewTicket(subject="주문 확인", body_text="a", customer_identity=("email", "Kim@Shop.kr")),
        NewTicket(subject="배송", body_text="b", customer_identity=("email", "lee@shop.kr")),
        NewTicket(subject="다시", body_text="c", customer_identity=("email", "kim@shop.kr")),
    ]
    opened = open_tickets(SYSTEM, requests)
    numbers = [t.number for t, _ in opened]
    assert numbers == list(range(numbers[0], numbers[0] + 3))
    assert opened[0][0].customer_id == opened[2][0].customer_id != opened[1][0].customer_id
    for (ticket, message_id), body in zip(opened, "abc", strict=True):
        [message] = messages.list_messages(SYSTEM, ticket.id)
        assert message.id == message_id and message.body_text == body
    assert [e.name for e in published].count("ticket.created") == 3
    assert [e.name for e in published].count("customer.changed") == 2
