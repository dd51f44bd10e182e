"""Socket.IO: authenticated connections, rooms, and the fan-out of committed domain events.

Rooms: ``queue:all`` (every staff member's open queue), ``ticket:<id>``, ``customer:<id>`` and
``user:<id>``. A connection must be a signed-in staff session; it joins ``queue:all`` and its
own ``user:`` room, and joins a ticket or customer room only after the service layer says the
user may read it. With ``HELPDESK_REDIS_URL`` set, every process (web or worker) publishes
through Redis, so an event reaches browsers connected to any web process.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from typing import Any
from urllib.parse import urlsplit

import socketio as socketio_server
from flask import Flask, current_app, request
from flask_login import current_user
from flask_socketio import disconnect, join_room, leave_room, rooms

from . import events
from .events import (
    CustomerChanged,
    CustomerEventAdded,
    CustomerNoteChanged,
    DomainEvent,
    MessageAdded,
    MessageDeliveryChanged,
    NotificationCreated,
    TicketCreated,
    TicketMerged,
    TicketUpdated,
)
from .extensions import socketio
from .services import customers, tickets
from .services.errors import ServiceError
from .services.permissions import Actor

log = logging.getLogger(__name__)

QUEUE_ROOM = "queue:all"
SOCKETIO_CHANNEL = "dangol-socketio"  # the Redis pub/sub channel shared by all processes


def socketio_channel(redis_url: str) -> str:
    """The pub/sub channel of the installation on ``redis_url``.

    Redis pub/sub ignores database numbers, so two installations sharing one Redis server on
    different databases would hear each other's events; the database number keeps them apart.
    """
    path = urlsplit(redis_url).path.strip("/")
    return f"{SOCKETIO_CHANNEL}:{path}" if path.isdigit() and path != "0" else SOCKETIO_CHANNEL


def rooms_for(event: DomainEvent) -> list[tuple[str, str, dict[str, Any]]]:
    """Where each committed event goes: ``(event name, room, payload)`` triples.

    Everything here is staff-only today; the customer portal will get its own rooms carrying
    public messages only, so internal notes can never reach a customer's socket.
    """
    out: list[tuple[str, str, dict[str, Any]]] = []
    if isinstance(event, TicketCreated | TicketUpdated):
        payload: dict[str, Any] = {"ticket": event.ticket, "actor_user_id": event.actor_user_id}
        if isinstance(event, TicketUpdated):
            payload["changes"] = event.changes
        ticket = event.ticket
        out.append((event.name, QUEUE_ROOM, payload))
        out.append((event.name, f"ticket:{ticket['id']}", payload))
        out.append((event.name, f"customer:{ticket['customer_id']}", payload))
    elif isinstance(event, MessageAdded):
        payload = {
            "ticket": event.ticket,
            "message": event.message,
            "actor_user_id": event.actor_user_id,
        }
        out.append((event.name, f"ticket:{event.ticket['id']}", payload))
        out.append((event.name, f"customer:{event.ticket['customer_id']}", payload))
        out.append(
            (
                "ticket.updated",
                QUEUE_ROOM,
                {"ticket": event.ticket, "changes": {}, "actor_user_id": event.actor_user_id},
            )
        )
    elif isinstance(event, TicketMerged):
        payload = {
            "source": event.source,
            "target": event.target,
            "actor_user_id": event.actor_user_id,
        }
        for room in (
            QUEUE_ROOM,
            f"ticket:{event.source['id']}",
            f"ticket:{event.target['id']}",
            f"customer:{event.target['customer_id']}",
        ):
            out.append((event.name, room, payload))
    elif isinstance(event, MessageDeliveryChanged):
        out.append(
            (
                event.name,
                f"ticket:{event.ticket_id}",
                {"message_id": event.message_id, "status": event.status, "error": event.error},
            )
        )
    elif isinstance(event, NotificationCreated):
        out.append((event.name, f"user:{event.user_id}", {"notification": event.notification}))
    elif isinstance(event, CustomerChanged):
        out.append(
            (
                event.name,
                f"customer:{event.customer['id']}",
                {"customer": event.customer, "created": event.created},
            )
        )
    elif isinstance(event, CustomerNoteChanged):
        out.append(
            (
                event.name,
                f"customer:{event.customer_id}",
                {"action": event.action, "note": event.note, "actor_user_id": event.actor_user_id},
            )
        )
    elif isinstance(event, CustomerEventAdded):
        out.append((event.name, f"customer:{event.customer_id}", {"event": event.event}))
    return out


def _fan_out(event: DomainEvent) -> None:
    # One emit per payload to all its rooms at once: a page in two of them (the queue and the
    # ticket it shows) gets the event once, not once per room.
    batches: dict[tuple[str, int], tuple[dict[str, Any], list[str]]] = {}
    for name, room, payload in rooms_for(event):
        batches.setdefault((name, id(payload)), (payload, []))[1].append(room)
    for (name, _), (payload, targets) in batches.items():
        socketio.emit(name, payload, to=targets)


def _actor() -> Actor | None:
    if current_user and current_user.is_authenticated:
        return Actor.of(current_user._get_current_object())
    return None


@socketio.on("connect")
def _connect(_auth: Any = None) -> bool:
    actor = _actor()
    if actor is None:
        return False  # refuses the connection
    join_room(QUEUE_ROOM)
    join_room(f"user:{actor.user_id}")
    return True


@socketio.on("subscribe")
def _subscribe(data: Any) -> dict[str, Any]:
    """Join ``ticket:<id>`` or ``customer:<id>`` if the service layer lets this user read it."""
    actor = _actor()
    if actor is None:
        disconnect()
        return {"ok": False, "error": "unauthorized"}
    room = str((data or {}).get("room", ""))
    kind, _, raw_id = room.partition(":")
    if kind not in ("ticket", "customer") or not raw_id.isdigit():
        return {"ok": False, "error": "unknown room"}
    try:
        if kind == "ticket":
            tickets.get_ticket(actor, int(raw_id))
        else:
            customers.get_customer(actor, int(raw_id))
    except ServiceError as exc:
        return {"ok": False, "error": exc.code}
    join_room(room)
    return {"ok": True, "room": room}


PRESENCE_STATES = ("viewing", "typing", "left")


def _connection_tag(sid: str) -> str:
    """An opaque name for a connection: the Socket.IO sid itself must not reach other users."""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, sid.encode(), hashlib.sha256).hexdigest()[:16]


def _announce(room: str, state: str, *, reply: bool = False) -> None:
    sid = request.sid  # type: ignore[attr-defined]
    socketio.emit(
        "presence",
        {
            "ticket_id": int(room.partition(":")[2]),
            "user_id": current_user.id,
            "name": current_user.name,
            "conn": _connection_tag(sid),
            "state": state,
            "reply": reply,
        },
        to=room,
        skip_sid=sid,
    )


@socketio.on("presence")
def _presence(data: Any) -> dict[str, Any]:
    """Relay who is viewing or typing on a ticket to the others in its room.

    Nothing is stored: each page announces itself on arrival and every 20 s, answers a newcomer
    once (``reply``) and forgets peers it has not heard from for a minute, so presence works the
    same across processes (Redis). Name and user id come from the session, never the client.
    """
    if _actor() is None:
        disconnect()
        return {"ok": False, "error": "unauthorized"}
    data = data if isinstance(data, dict) else {}
    room = f"ticket:{data.get('ticket_id')}"
    state = data.get("state")
    if state not in PRESENCE_STATES or room not in rooms():
        return {"ok": False, "error": "not subscribed"}
    _announce(room, str(state), reply=bool(data.get("reply")))
    return {"ok": True}


@socketio.on("disconnect")
def _disconnect(*_args: Any) -> None:
    """Tell the ticket rooms this connection watched that it has gone."""
    if not (current_user and current_user.is_authenticated):
        return
    for room in rooms():
        if room.startswith("ticket:"):
            _announce(room, "left")


@socketio.on("unsubscribe")
def _unsubscribe(data: Any) -> dict[str, Any]:
    room = str((data or {}).get("room", ""))
    if room.startswith("ticket:") and room in rooms() and _actor() is not None:
        _announce(room, "left")
    if room.startswith(("ticket:", "customer:")):
        leave_room(room, sid=request.sid)  # type: ignore[attr-defined]
    return {"ok": True}


def init_app(app: Flask) -> None:
    settings = app.config["HELPDESK"]
    # Built here rather than from ``message_queue=``: Flask-SocketIO keeps the options of an
    # earlier init_app, so a process that builds a second app without Redis would keep the
    # first one's queue.
    manager = (
        socketio_server.RedisManager(
            settings.redis_url, channel=socketio_channel(settings.redis_url)
        )
        if settings.redis_url
        else None
    )
    socketio.init_app(
        app,
        async_mode="threading",
        client_manager=manager,
        manage_session=False,  # use Flask's cookie session, so login state is shared with HTTP
    )
    events.subscribe("socketio", _fan_out)
