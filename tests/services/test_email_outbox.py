"""Replies by email: outbox row with the reply, sent once to a real SMTP server, retried,
given up on with the server's reason, never sent twice by two senders."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes, policy

import pytest
from sqlalchemy import select

from helpdesk.extensions import db
from helpdesk.models import Outbox, Ticket, utcnow
from helpdesk.services import email_ingest, email_outbox, messages
from helpdesk.services.attachments import UploadedFile
from tests.email_helpers import mail, make_channel
from tests.factories import actor, make_ticket, make_user
from tests.mailservers import SmtpSink

SMTP_USER, SMTP_PASSWORD = "sender", "smtp 비밀번호"


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with SmtpSink(username=SMTP_USER, password=SMTP_PASSWORD) as server:
        yield server


@pytest.fixture
def channel(app, sink):
    return make_channel(
        smtp_port=sink.port, smtp_username=SMTP_USER, smtp_password=SMTP_PASSWORD, reply_all=True
    )


def inbound_ticket(channel) -> Ticket:
    result = email_ingest.ingest(
        channel.id,
        1,
        mail(
            sender="김고객 <kim@example.kr>",
            subject="Re: 결제 오류",
            message_id="first@example.kr",
            cc=f"Lee <lee@example.kr>, {channel.address}",  # our own address is not a participant
        ),
    )
    return db.session.get(Ticket, result.ticket_id)


def outbox_of(message_id: int) -> Outbox:
    row = db.session.scalar(
        select(Outbox)
        .where(Outbox.message_id == message_id)
        .execution_options(populate_existing=True)
    )
    assert row is not None
    return row


def test_a_reply_goes_out_once_with_threading_headers(channel, sink, published):
    ticket = inbound_ticket(channel)
    agent = make_user()
    reply = messages.reply_to_ticket(
        actor(agent),
        ticket.id,
        body_html="<p>다시 시도해 주세요.</p>",
        attachments=[UploadedFile("안내.txt", "text/plain", "안내문".encode())],
    )
    row = outbox_of(reply.id)
    assert row.status == "queued"
    assert row.smtp_message_id.startswith(f"{ticket.number}.{reply.id}.")
    assert row.smtp_message_id.endswith("@dangol.test")

    assert email_outbox.send_due() == 1
    (received,) = sink.wait_for_messages(1)
    email = message_from_bytes(received.data, policy=policy.default)
    assert email["Message-ID"] == f"<{row.smtp_message_id}>"
    assert email["In-Reply-To"] == "<first@example.kr>"
    assert email["References"] == "<first@example.kr>"
    assert email["Subject"] == f"Re: 결제 오류 [#{ticket.number}]"
    assert email["From"].addresses[0].display_name == "단골 고객지원"
    assert email["From"].addresses[0].addr_spec == channel.address
    assert email["To"] == "kim@example.kr" and email["Cc"] == "lee@example.kr"
    assert sorted(received.rcpt_tos) == ["kim@example.kr", "lee@example.kr"]
    assert email.get_body(("html",)).get_content().strip() == "<p>다시 시도해 주세요.</p>"
    assert "다시 시도해 주세요." in email.get_body(("plain",)).get_content()
    (attached,) = list(email.iter_attachments())
    assert attached.get_filename() == "안내.txt"
    assert attached.get_payload(decode=True) == "안내문".encode()

    row = outbox_of(reply.id)
    assert (row.status, row.attempts, row.last_error) == ("sent", 1, None)
    assert email_outbox.send_due() == 0
    assert len(sink.messages) == 1
    deliveries = [(e.status, e.message_id) for e in published if e.name == "message.delivery"]
    assert deliveries == [("queued", reply.id), ("sent", reply.id)]


def test_the_second_reply_references_the_whole_thread(channel, sink):
    ticket = inbound_ticket(channel)
    agent = make_user()
    first = messages.reply_to_ticket(actor(agent), ticket.id, body_text="One")
    second = messages.reply_to_ticket(actor(agent), ticket.id, body_text="Two")
    assert email_outbox.send_due() == 2
    by_id = {
        message_from_bytes(m.data, policy=policy.default)["Message-ID"]: m
        for m in sink.wait_for_messages(2)
    }
    later = message_from_bytes(
        by_id[f"<{outbox_of(second.id).smtp_message_id}>"].data, policy=policy.default
    )
    assert later["In-Reply-To"] == "<first@example.kr>"
    assert later["References"] == f"<first@example.kr> <{first.external_id}>"
    assert later["Subject"].count(f"[#{ticket.number}]") == 1


def test_replies_on_tickets_without_an_email_thread_are_not_queued(app, sink):
    ticket = make_ticket(channel="web")
    reply = messages.reply_to_ticket(actor(make_user()), ticket.id, body_text="Hi")
    assert db.session.scalar(select(Outbox).where(Outbox.message_id == reply.id)) is None


def test_smtp_down_keeps_the_reply_queued_until_the_server_is_back(channel, sink):
    ticket = inbound_ticket(channel)
    reply = messages.reply_to_ticket(actor(make_user()), ticket.id, body_text="Hello")
    sink.stop()
    assert email_outbox.send_due() == 1
    row = outbox_of(reply.id)
    assert row.status == "queued" and row.attempts == 1
    assert "refused the connection" in row.last_error
    assert row.next_attempt_at > utcnow() + timedelta(seconds=20)  # backing off
    assert email_outbox.send_due() == 0  # not due yet

    sink.start()
    assert email_outbox.send_due(now=utcnow() + timedelta(minutes=1)) == 1
    sink.wait_for_messages(1)
    row = outbox_of(reply.id)
    assert (row.status, row.attempts, row.last_error) == ("sent", 2, None)


def test_a_permanent_refusal_fails_with_the_servers_reason(channel, sink, published):
    ticket = inbound_ticket(channel)
    reply = messages.reply_to_ticket(actor(make_user()), ticket.id, body_text="Hello")
    sink.reject_next(1, 550, "5.7.1 Message rejected as spam")
    email_outbox.send_due()
    row = outbox_of(reply.id)
    assert row.status == "failed"
    assert row.last_error == "550 5.7.1 Message rejected as spam"
    assert email_outbox.send_due(now=utcnow() + timedelta(days=1)) == 0
    assert published[-1].name == "message.delivery" and published[-1].status == "failed"
    assert published[-1].error == "550 5.7.1 Message rejected as spam"


def test_a_row_left_sending_by_a_crashed_sender_is_retried_after_its_lease(channel, sink):
    ticket = inbound_ticket(channel)
    reply = messages.reply_to_ticket(actor(make_user()), ticket.id, body_text="Hello")
    assert len(email_outbox.claim_due(10)) == 1  # claimed, then the worker "dies"
    assert email_outbox.send_due() == 0  # the lease holds
    assert email_outbox.send_due(now=utcnow() + email_outbox.LEASE + timedelta(seconds=1)) == 1
    sink.wait_for_messages(1)
    assert outbox_of(reply.id).status == "sent"


def test_two_senders_never_send_one_reply_twice(app, channel, sink):
    ticket = inbound_ticket(channel)
    agent = make_user()
    replies = [
        messages.reply_to_ticket(actor(agent), ticket.id, body_text=f"Reply {n}") for n in range(6)
    ]
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def sender() -> None:
        with app.app_context():
            try:
                start.wait(5)
                while email_outbox.send_due(limit=1):
                    pass
            except BaseException as exc:  # reported below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors
    received = sink.wait_for_messages(len(replies))
    ids = [message_from_bytes(m.data, policy=policy.default)["Message-ID"] for m in received]
    assert len(ids) == len(set(ids)) == len(replies)
    assert {outbox_of(r.id).status for r in replies} == {"sent"}
    assert {outbox_of(r.id).attempts for r in replies} == {1}


def test_the_ticket_page_shows_each_replys_delivery(channel, sink, client):
    from tests.conftest import login

    agent = make_user()
    ticket = inbound_ticket(channel)
    sent = messages.reply_to_ticket(actor(agent), ticket.id, body_text="First answer")
    login(client, agent.email)
    page = client.get(f"/tickets/{ticket.number}").get_data(as_text=True)
    assert f'class="delivery queued" data-delivery="{sent.id}"' in page
    email_outbox.send_due()
    refused = messages.reply_to_ticket(actor(agent), ticket.id, body_text="Second answer")
    sink.reject_next(1, 550, "5.1.1 No such user")
    email_outbox.send_due()
    page = client.get(f"/tickets/{ticket.number}").get_data(as_text=True)
    assert f'class="delivery sent" data-delivery="{sent.id}"' in page
    assert (
        f'class="delivery failed" data-delivery="{refused.id}" title="550 5.1.1 No such user"'
        in page
    )
