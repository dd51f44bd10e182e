"""The conversation: replies, notes, customer follow-ups, HTML safety and attachments."""

from __future__ import annotations

import hashlib

import pytest

from helpdesk.events import MessageAdded, TicketUpdated
from helpdesk.services import messages, tickets
from helpdesk.services.attachments import UploadedFile, blob_path
from helpdesk.services.errors import Conflict, Forbidden, Invalid, RepliedMeanwhile
from helpdesk.services.permissions import SYSTEM, Actor
from tests.factories import actor, make_ticket, make_user


def test_first_public_reply_opens_the_ticket_and_records_first_response(app, published):
    agent = make_user()
    ticket = make_ticket()
    published.clear()
    reply = messages.reply_to_ticket(
        actor(agent), ticket.id, body_text="안녕하세요,\n확인해 보겠습니다."
    )
    loaded = tickets.get_ticket(actor(agent), ticket.id)
    assert loaded.status == "open"
    assert loaded.first_response_at == reply.created_at
    assert loaded.message_count == 2 and loaded.version == 2
    assert reply.direction == "out" and reply.is_public and reply.kind == "email"
    assert reply.body_html == "<p>안녕하세요,<br>확인해 보겠습니다.</p>"
    added, updated = published
    assert isinstance(added, MessageAdded) and added.message["id"] == reply.id and added.is_public
    assert isinstance(updated, TicketUpdated) and updated.changes == {"status": ["new", "open"]}
    second = messages.reply_to_ticket(actor(agent), ticket.id, body_text="more", status="pending")
    again = tickets.get_ticket(actor(agent), ticket.id)
    assert again.first_response_at == reply.created_at != second.created_at
    assert again.status == "pending"


def test_notes_are_internal_and_open_to_sales(app, published):
    sales = make_user("sales")
    ticket = make_ticket()
    published.clear()
    note = messages.add_note(actor(sales), ticket.id, body_text="VIP — renewal next week")
    assert note.kind == "note" and not note.is_public
    assert tickets.get_ticket(SYSTEM, ticket.id).first_response_at is None
    [event] = published
    assert isinstance(event, MessageAdded) and not event.is_public
    with pytest.raises(Forbidden):
        messages.reply_to_ticket(actor(sales), ticket.id, body_text="hi")


def test_customers_never_see_internal_notes_or_other_tickets(app):
    agent = make_user()
    ticket, other = make_ticket(), make_ticket()
    messages.add_note(actor(agent), ticket.id, body_text="internal only")
    messages.reply_to_ticket(actor(agent), ticket.id, body_text="public answer")
    customer = Actor.customer(ticket.customer_id)
    seen = [m.body_text for m in messages.list_messages(customer, ticket.id)]
    assert seen == ["Please help.", "public answer"]
    with pytest.raises(Exception) as err:
        messages.list_messages(customer, other.id)
    assert getattr(err.value, "status", None) == 404


def test_customer_follow_up_reopens_solved_but_not_closed(app, published):
    agent = make_user()
    ticket = make_ticket()
    tickets.set_status(actor(agent), ticket.id, "solved")
    published.clear()
    messages.add_customer_message(SYSTEM, ticket.id, body_text="still broken", external_id="<m2@x>")
    assert tickets.get_ticket(SYSTEM, ticket.id).status == "open"
    assert [type(e).__name__ for e in published] == ["MessageAdded", "TicketUpdated"]
    tickets.set_status(actor(agent), ticket.id, "closed")
    with pytest.raises(Conflict):
        messages.add_customer_message(SYSTEM, ticket.id, body_text="hello again")
    with pytest.raises(Forbidden):
        messages.add_customer_message(actor(agent), ticket.id, body_text="pretending")


def test_inbound_html_is_sanitized_and_gets_a_text_version(app):
    agent = make_user()
    ticket = make_ticket()
    hostile = (
        '<p onclick="steal()">환불 <b>부탁</b>드려요</p><script>alert(1)</script>'
        '<a href="javascript:alert(1)">x</a><img src="cid:logo@x"><style>p{}</style>'
    )
    message = messages.reply_to_ticket(actor(agent), ticket.id, body_html=hostile)
    assert "<script" not in message.body_html and "onclick" not in message.body_html
    assert "javascript:" not in message.body_html and "<style" not in message.body_html
    assert 'src="cid:logo@x"' in message.body_html
    assert message.body_text.startswith("환불 부탁드려요")


def test_attachments_are_stored_once_by_content_hash(app):
    agent = make_user()
    ticket = make_ticket()
    data = "견적서".encode() * 100
    upload = UploadedFile("../../견적서.pdf", "application/pdf", data)
    first = messages.reply_to_ticket(
        actor(agent), ticket.id, body_text="첨부", attachments=[upload]
    )
    second = messages.add_note(actor(agent), ticket.id, body_text="same file", attachments=[upload])
    [a1], [a2] = first.attachments, second.attachments
    digest = hashlib.sha256(data).hexdigest()
    assert a1.sha256 == a2.sha256 == digest
    assert a1.filename == "견적서.pdf" and a1.size == len(data)
    assert blob_path(digest).read_bytes() == data


def test_oversized_attachment_is_refused_and_nothing_is_written(app):
    app.config["HELPDESK"].attachment_max_bytes = 10
    agent = make_user()
    ticket = make_ticket()
    with pytest.raises(Invalid):
        messages.reply_to_ticket(
            actor(agent),
            ticket.id,
            body_text="big",
            attachments=[UploadedFile("a.bin", "application/octet-stream", b"x" * 11)],
        )
    assert [m.body_text for m in messages.list_messages(actor(agent), ticket.id)] == [
        "Please help."
    ]
    assert tickets.get_ticket(actor(agent), ticket.id).version == 1


def test_empty_reply_is_invalid(app):
    with pytest.raises(Invalid):
        messages.reply_to_ticket(actor(make_user()), make_ticket().id, body_text="   ")


def test_customers_download_only_attachments_of_public_messages_on_their_tickets(app):
    from helpdesk.services.attachments import get_attachment
    from helpdesk.services.errors import NotFound

    agent = make_user()
    ticket, other = make_ticket(), make_ticket()
    public = messages.reply_to_ticket(
        actor(agent),
        ticket.id,
        body_text="invoice",
        attachments=[UploadedFile("a.pdf", "application/pdf", b"A")],
    )
    internal = messages.add_note(
        actor(agent),
        ticket.id,
        body_text="contract",
        attachments=[UploadedFile("b.pdf", "application/pdf", b"B")],
    )
    owner = Actor.customer(ticket.customer_id)
    assert get_attachment(owner, public.attachments[0].id).filename == "a.pdf"
    with pytest.raises(NotFound):
        get_attachment(owner, internal.attachments[0].id)
    with pytest.raises(NotFound):
        get_attachment(Actor.customer(other.customer_id), public.attachments[0].id)
    assert (
        get_attachment(actor(make_user("marketing")), internal.attachments[0].id).filename
        == "b.pdf"
    )


def test_a_reply_written_while_someone_else_answered_is_refused_then_goes_through(app):
    jimin, alex = make_user(), make_user()
    ticket = make_ticket()
    [request] = messages.list_messages(actor(jimin), ticket.id)
    # Both agents open the ticket and see the customer's request; Alex answers first.
    theirs = messages.reply_to_ticket(
        actor(alex), ticket.id, body_text="Alex here", seen_message_id=request.id
    )
    with pytest.raises(RepliedMeanwhile) as refused:
        messages.reply_to_ticket(
            actor(jimin), ticket.id, body_text="Jimin here", seen_message_id=request.id
        )
    assert refused.value.message_ids == [theirs.id]
    assert refused.value.status == 409 and refused.value.code == "replied_meanwhile"
    assert [m.body_text for m in messages.list_messages(SYSTEM, ticket.id)] == [
        "Please help.",
        "Alex here",
    ]
    # Having seen Alex's reply, Jimin may still send.
    messages.reply_to_ticket(
        actor(jimin), ticket.id, body_text="Jimin here", seen_message_id=theirs.id
    )


def test_own_messages_and_internal_notes_do_not_block_a_reply(app):
    jimin, sales = make_user(), make_user("sales")
    ticket = make_ticket()
    [request] = messages.list_messages(actor(jimin), ticket.id)
    messages.add_note(actor(sales), ticket.id, body_text="VIP")
    messages.reply_to_ticket(actor(jimin), ticket.id, body_text="first", seen_message_id=request.id)
    messages.reply_to_ticket(
        actor(jimin), ticket.id, body_text="second", seen_message_id=request.id
    )


def test_a_customer_message_since_the_draft_began_blocks_the_reply(app):
    agent = make_user()
    ticket = make_ticket()
    [request] = messages.list_messages(actor(agent), ticket.id)
    follow_up = messages.add_customer_message(SYSTEM, ticket.id, body_text="Never mind, found it")
    with pytest.raises(RepliedMeanwhile) as refused:
        messages.reply_to_ticket(
            actor(agent), ticket.id, body_text="Let me check", seen_message_id=request.id
        )
    assert refused.value.message_ids == [follow_up.id]
