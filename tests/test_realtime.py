"""Socket.IO: who may connect, which rooms they join, and the exact events service calls emit."""

from __future__ import annotations

import time

import pytest
import redis

from helpdesk import create_app
from helpdesk.events import TicketCreated
from helpdesk.realtime import QUEUE_ROOM, rooms_for, socketio_channel
from helpdesk.services import messages, tickets
from tests.conftest import FreshContextSocket, login, make_settings
from tests.factories import actor, make_customer, make_ticket, make_user


def socket_for(app, client):
    return FreshContextSocket(app, client)


def received(sock, name):
    return [event["args"][0] for event in sock.get_received() if event["name"] == name]


def test_anonymous_connections_are_refused(app, client):
    sock = socket_for(app, client)
    assert not sock.is_connected()


def test_signed_in_staff_receive_queue_events_after_commit(app, client):
    agent = make_user()
    login(client, agent.email)
    sock = socket_for(app, client)
    assert sock.is_connected()
    sock.get_received()

    ticket = make_ticket(subject="실시간 테스트")

    [payload] = received(sock, "ticket.created")
    assert payload["ticket"]["id"] == ticket.id
    assert payload["ticket"]["subject"] == "실시간 테스트"
    assert payload["ticket"]["status"] == "new"
    assert payload["actor_user_id"] is None


def test_ticket_room_carries_messages_and_needs_a_readable_ticket(app, client):
    agent, sales = make_user(), make_user("sales")
    ticket = make_ticket()
    login(client, sales.email)
    sock = socket_for(app, client)
    assert sock.emit("subscribe", {"room": f"ticket:{ticket.id}"}, callback=True) == {
        "ok": True,
        "room": f"ticket:{ticket.id}",
    }
    assert sock.emit("subscribe", {"room": "ticket:999999"}, callback=True) == {
        "ok": False,
        "error": "not_found",
    }
    assert sock.emit("subscribe", {"room": "queue:secret"}, callback=True)["ok"] is False
    sock.get_received()

    note = messages.add_note(actor(agent), ticket.id, body_text="내부 메모")

    events = [e for e in sock.get_received() if e["name"] == "message.added"]
    # once through the ticket room; the customer room was not joined
    assert len(events) == 1
    payload = events[0]["args"][0]
    assert payload["message"]["id"] == note.id and payload["message"]["is_public"] is False
    assert payload["actor_user_id"] == agent.id


def test_each_event_goes_to_queue_ticket_and_customer_rooms(app):
    customer = make_customer()
    ticket = make_ticket(customer)
    snapshot = {"id": ticket.id, "customer_id": customer.id}
    routed = rooms_for(TicketCreated(snapshot, actor_user_id=7))
    assert [(name, room) for name, room, _ in routed] == [
        ("ticket.created", QUEUE_ROOM),
        ("ticket.created", f"ticket:{ticket.id}"),
        ("ticket.created", f"customer:{customer.id}"),
    ]
    assert routed[0][2] == {"ticket": snapshot, "actor_user_id": 7}


def test_updates_reach_the_queue_with_the_changes(app, client):
    agent = make_user()
    ticket = make_ticket()
    login(client, agent.email)
    sock = socket_for(app, client)
    sock.get_received()
    tickets.set_priority(actor(agent), ticket.id, "urgent")
    [payload] = received(sock, "ticket.updated")
    assert payload["changes"] == {"priority": ["normal", "urgent"]}
    assert payload["ticket"]["priority"] == "urgent" and payload["ticket"]["version"] == 2


@pytest.fixture
def redis_client():
    client = redis.Redis.from_url("redis://127.0.0.1:6379/15")
    try:
        client.ping()
    except redis.ConnectionError:
        pytest.fail("Redis is not running on 127.0.0.1:6379 (CI starts it; see README).")
    yield client
    client.close()


def test_with_redis_events_are_published_for_every_process(
    app, tmp_path, database_url, redis_client
):
    # A second app on the same database, as another process would be, publishing through Redis.
    app = create_app(make_settings(tmp_path, database_url, redis_url="redis://127.0.0.1:6379/15"))
    pubsub = redis_client.pubsub()
    pubsub.subscribe(socketio_channel("redis://127.0.0.1:6379/15"))
    pubsub.get_message(timeout=1)  # subscription confirmation
    with app.app_context():
        ticket = make_ticket(subject="via redis")
        deadline = time.monotonic() + 5
        payloads: list[bytes] = []
        while time.monotonic() < deadline and not any(b"ticket.created" in p for p in payloads):
            message = pubsub.get_message(timeout=0.5)
            if message and message["type"] == "message":
                payloads.append(message["data"])
    pubsub.close()
    assert any(b"ticket.created" in p and b"via redis" in p for p in payloads), ticket.id
    # back to an in-process manager for the tests that follow
    create_app(make_settings(tmp_path, database_url))


def test_a_page_in_several_rooms_gets_each_event_once(app, client):
    agent = make_user()
    ticket = make_ticket()
    login(client, agent.email)
    sock = socket_for(app, client)  # in the queue room
    sock.emit("subscribe", {"room": f"ticket:{ticket.id}"}, callback=True)
    sock.emit("subscribe", {"room": f"customer:{ticket.customer_id}"}, callback=True)
    sock.get_received()

    tickets.set_priority(actor(agent), ticket.id, "high")

    [update] = received(sock, "ticket.updated")
    assert update["changes"] == {"priority": ["normal", "high"]}


def test_notifications_reach_only_their_user(app, client):
    jimin, alex = make_user(), make_user()
    login(client, jimin.email)
    mine = socket_for(app, client)
    other_client = app.test_client()
    login(other_client, alex.email)
    theirs = socket_for(app, other_client)
    ticket = make_ticket()
    mine.get_received()
    theirs.get_received()

    tickets.update_ticket(actor(alex), ticket.id, {"assignee_id": jimin.id})

    [note] = received(mine, "notification")
    assert note["notification"]["kind"] == "assigned"
    assert note["notification"]["number"] == ticket.number
    assert received(theirs, "notification") == []


def test_delivery_changes_go_to_the_ticket_room_only(app):
    from helpdesk.events import MessageDeliveryChanged

    routed = rooms_for(MessageDeliveryChanged(5, 9, "failed", "550 5.1.1 No such user"))
    assert routed == [
        (
            "message.delivery",
            "ticket:5",
            {"message_id": 9, "status": "failed", "error": "550 5.1.1 No such user"},
        )
    ]


def test_installations_on_other_redis_databases_use_other_channels():
    # Pub/sub is server-wide: without this, two installations would hear each other's events.
    assert socketio_channel("redis://127.0.0.1:6379/15") == "dangol-socketio:15"
    assert socketio_channel("redis://127.0.0.1:6379/0") == "dangol-socketio"
    assert socketio_channel("redis://127.0.0.1:6379") == "dangol-socketio"
