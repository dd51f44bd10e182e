"""Collision detection over Socket.IO: who is viewing or typing on a ticket, relayed live."""

from __future__ import annotations

from tests.conftest import FreshContextClient, FreshContextSocket, login
from tests.factories import make_ticket, make_user


def _agent_socket(app, user):
    app.test_client_class = FreshContextClient
    client = app.test_client()
    login(client, user.email)
    sock = FreshContextSocket(app, client)
    assert sock.is_connected()
    return sock


def _presence(sock):
    return [e["args"][0] for e in sock.get_received() if e["name"] == "presence"]


def test_typing_is_relayed_to_the_others_on_the_ticket_with_the_sessions_identity(app):
    jimin, alex = make_user(name="김지민"), make_user(name="Alex")
    ticket, other = make_ticket(), make_ticket()
    a, b = _agent_socket(app, jimin), _agent_socket(app, alex)
    for sock in (a, b):
        assert sock.emit("subscribe", {"room": f"ticket:{ticket.id}"}, callback=True)["ok"]
    watcher_elsewhere = _agent_socket(app, make_user())
    watcher_elsewhere.emit("subscribe", {"room": f"ticket:{other.id}"}, callback=True)
    for sock in (a, b, watcher_elsewhere):
        sock.get_received()

    # A client cannot claim to be someone else: extra fields are ignored.
    answer = a.emit(
        "presence",
        {"ticket_id": ticket.id, "state": "typing", "user_id": alex.id, "name": "Mallory"},
        callback=True,
    )
    assert answer == {"ok": True}

    [seen] = _presence(b)
    assert seen["ticket_id"] == ticket.id
    assert (seen["user_id"], seen["name"], seen["state"]) == (jimin.id, "김지민", "typing")
    assert seen["reply"] is False
    assert seen["conn"] and seen["conn"] != a.eio_sid  # an opaque tag, never the socket id
    assert _presence(a) == []  # not echoed to the sender
    b.emit("presence", {"ticket_id": ticket.id, "state": "viewing"}, callback=True)
    [back] = _presence(a)
    assert (back["user_id"], back["name"]) == (alex.id, "Alex")
    assert back["conn"] != seen["conn"]
    assert _presence(watcher_elsewhere) == []  # other tickets hear nothing


def test_presence_needs_a_subscription_and_a_known_state(app):
    agent = make_user()
    ticket = make_ticket()
    sock = _agent_socket(app, agent)
    answer = sock.emit("presence", {"ticket_id": ticket.id, "state": "viewing"}, callback=True)
    assert answer == {"ok": False, "error": "not subscribed"}
    sock.emit("subscribe", {"room": f"ticket:{ticket.id}"}, callback=True)
    answer = sock.emit("presence", {"ticket_id": ticket.id, "state": "dancing"}, callback=True)
    assert answer["ok"] is False


def test_leaving_or_disconnecting_tells_the_others(app):
    jimin, alex = make_user(name="Jimin"), make_user(name="Alex")
    ticket = make_ticket()
    a, b = _agent_socket(app, jimin), _agent_socket(app, alex)
    room = f"ticket:{ticket.id}"
    for sock in (a, b):
        sock.emit("subscribe", {"room": room}, callback=True)
    b.get_received()

    a.emit("unsubscribe", {"room": room}, callback=True)
    [left] = _presence(b)
    assert (left["name"], left["state"]) == ("Jimin", "left")

    a.emit("subscribe", {"room": room}, callback=True)
    b.get_received()
    a.disconnect()
    [gone] = _presence(b)
    assert (gone["user_id"], gone["state"]) == (jimin.id, "left")
