"""Ingesting one fetched email: new tickets, threading, dedupe, quarantine, bounces, sources."""

from __future__ import annotations

import base64

import pytest
from sqlalchemy import func, select

from helpdesk.extensions import db
from helpdesk.models import (
    Attachment,
    Customer,
    EmailChannel,
    EmailQuarantine,
    Message,
    Outbox,
    Ticket,
    TicketParticipant,
)
from helpdesk.services import (
    email_ingest,
    email_outbox,
    email_parse_pool,
    email_quarantine,
    messages,
    tickets,
)
from helpdesk.services.attachments import blob_path
from helpdesk.services.errors import Conflict, Forbidden
from helpdesk.services.permissions import SYSTEM
from tests.email_helpers import mail, make_channel
from tests.factories import actor, make_user


@pytest.fixture
def channel(app) -> EmailChannel:
    return make_channel()


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def ticket_messages(ticket_id: int) -> list[Message]:
    return list(
        db.session.scalars(
            select(Message).where(Message.ticket_id == ticket_id).order_by(Message.id)
        )
    )


def test_korean_cp949_mail_opens_a_ticket_for_a_new_customer(channel):
    name = "김똠순".encode("cp949")
    subject = "로그인이 안 됩니다 (햏)".encode("cp949")
    raw = (
        b"From: =?ks_c_5601-1987?B?" + base64.b64encode(name) + b"?= <Kim@Example.KR>\r\n"
        b"To: support@dangol.test\r\n"
        b"Subject: =?ks_c_5601-1987?B?" + base64.b64encode(subject) + b"?=\r\n"
        b"Message-ID: <first@example.kr>\r\n"
        b"MIME-Version: 1.0\r\n"
        b"Content-Type: text/plain; charset=ks_c_5601-1987\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n\r\n"
        + "똠방각하, 도와주세요.".encode("cp949")
        + b"\r\n"
    )
    result = email_ingest.ingest(channel.id, 1, raw)

    assert result.outcome == "created"
    ticket = tickets.get_ticket(SYSTEM, result.ticket_id)
    assert ticket.subject == "로그인이 안 됩니다 (햏)"
    assert ticket.channel == "email"
    assert ticket.customer.name == "김똠순"
    assert [(i.kind, i.value) for i in ticket.customer.identities] == [("email", "kim@example.kr")]
    first = ticket_messages(ticket.id)[0]
    assert "똠방각하" in first.body_text
    assert first.external_id == "first@example.kr"
    db.session.refresh(channel)
    assert channel.last_uid == 1


def test_the_raw_message_is_kept_as_original_eml(channel):
    raw = mail(message_id="keep@example.kr")
    result = email_ingest.ingest(channel.id, 1, raw)
    (source,) = db.session.scalars(
        select(Attachment).where(Attachment.message_id == result.message_id)
    )
    assert (source.filename, source.content_type, source.size) == (
        "original.eml",
        "message/rfc822",
        len(raw),
    )
    assert blob_path(source.sha256).read_bytes() == raw


def test_a_reply_is_threaded_by_in_reply_to(channel):
    first = email_ingest.ingest(channel.id, 1, mail(message_id="a@example.kr"))
    reply = email_ingest.ingest(
        channel.id,
        2,
        mail(
            subject="Re: Hello",
            message_id="b@example.kr",
            in_reply_to="a@example.kr",
            body="Still broken.\r\n\r\nOn Mon, 2 Nov 2026 at 10:00, Kim <kim@example.kr> wrote:"
            "\r\n> Please help.",
        ),
    )
    assert reply.outcome == "appended" and reply.ticket_id == first.ticket_id
    assert ticket_messages(first.ticket_id)[-1].body_text == "Still broken."
    assert count(Ticket) == 1


def test_a_reply_to_our_outbound_message_is_threaded_by_references(channel):
    first = email_ingest.ingest(channel.id, 1, mail(message_id="a@example.kr"))
    agent = make_user()
    ours = messages.reply_to_ticket(actor(agent), first.ticket_id, body_text="Try again?")
    outbox = db.session.scalar(select(Outbox).where(Outbox.message_id == ours.id))
    assert outbox is not None and ours.external_id == outbox.smtp_message_id
    reply = email_ingest.ingest(
        channel.id,
        2,
        mail(
            subject="Re: something else entirely",
            message_id="c@example.kr",
            references=f"<unknown@elsewhere> <{outbox.smtp_message_id}>",
        ),
    )
    assert reply.outcome == "appended" and reply.ticket_id == first.ticket_id


def test_a_subject_token_is_accepted_from_a_participant_only(channel):
    first = email_ingest.ingest(
        channel.id, 1, mail(message_id="a@example.kr", cc="Lee <lee@example.kr>")
    )
    number = db.session.get(Ticket, first.ticket_id).number
    assert db.session.scalar(select(TicketParticipant.email)) == "lee@example.kr"

    from_customer = email_ingest.ingest(
        channel.id, 2, mail(subject=f"Re: [#{number}] Hello", message_id="b@example.kr")
    )
    from_cc = email_ingest.ingest(
        channel.id,
        3,
        mail(sender="lee@example.kr", subject=f"[#{number}] more", message_id="c@example.kr"),
    )
    from_stranger = email_ingest.ingest(
        channel.id,
        4,
        mail(sender="mallory@evil.test", subject=f"[#{number}] hi", message_id="d@evil.test"),
    )
    assert from_customer.ticket_id == first.ticket_id
    assert from_cc.ticket_id == first.ticket_id
    assert from_stranger.outcome == "created" and from_stranger.ticket_id != first.ticket_id


def test_replies_to_a_merged_ticket_land_in_its_target(channel):
    source = email_ingest.ingest(channel.id, 1, mail(message_id="a@example.kr"))
    target = email_ingest.ingest(channel.id, 2, mail(subject="Other", message_id="b@example.kr"))
    tickets.merge_tickets(SYSTEM, source.ticket_id, target.ticket_id)
    reply = email_ingest.ingest(
        channel.id, 3, mail(message_id="c@example.kr", in_reply_to="a@example.kr")
    )
    assert reply.outcome == "appended" and reply.ticket_id == target.ticket_id


def test_a_reply_to_a_closed_ticket_opens_a_new_one(channel):
    first = email_ingest.ingest(channel.id, 1, mail(message_id="a@example.kr"))
    tickets.set_status(SYSTEM, first.ticket_id, "closed")
    reply = email_ingest.ingest(
        channel.id,
        2,
        mail(subject="Re: Hello", message_id="b@example.kr", in_reply_to="a@example.kr"),
    )
    assert reply.outcome == "created" and reply.ticket_id != first.ticket_id
    assert db.session.get(Ticket, reply.ticket_id).subject == "Hello"


def test_the_same_message_id_twice_stores_nothing_new(channel):
    raw = mail(message_id="same@example.kr")
    email_ingest.ingest(channel.id, 1, raw)
    again = email_ingest.ingest(channel.id, 2, raw)  # e.g. after UIDVALIDITY changed
    replayed = email_ingest.ingest(channel.id, 2, raw)  # the same UID: another worker had it
    assert again.outcome == "duplicate"
    assert replayed.outcome == "skipped"
    assert (count(Ticket), count(Message)) == (1, 1)
    db.session.refresh(channel)
    assert channel.last_uid == 2


@pytest.fixture
def app_overrides():
    return {"email_max_bytes": 20_000}


def test_too_large_and_unparsable_mail_is_quarantined_with_its_reason(channel):
    big = mail(body="x" * 30_000)
    junk = b"\r\n\r\nno header at all"
    nobody = b"Subject: no sender\r\n\r\nhello"
    results = [
        email_ingest.ingest(channel.id, uid, raw) for uid, raw in ((1, big), (2, junk), (3, nobody))
    ]
    assert [r.outcome for r in results] == ["quarantined"] * 3
    rows = list(db.session.scalars(select(EmailQuarantine).order_by(EmailQuarantine.id)))
    assert "limit is 20000 bytes" in rows[0].reason
    assert rows[1].reason and rows[2].reason == "no sender address"
    assert blob_path(rows[0].sha256).read_bytes() == big
    assert [r.uid for r in rows] == [1, 2, 3] and count(Ticket) == 0
    db.session.refresh(channel)
    assert channel.last_uid == 3
    # fetched again (new UIDVALIDITY): not kept twice
    assert email_ingest.ingest(channel.id, 4, big).quarantine_id == rows[0].id
    assert count(EmailQuarantine) == 3


def test_a_held_message_is_stored_again_once_the_limit_allows_it(channel, app):
    big = mail(body="x" * 30_000, message_id="big@example.kr")
    held = email_ingest.ingest(channel.id, 1, big)
    admin = actor(make_user("admin"))
    again = email_ingest.retry_quarantined(admin, held.quarantine_id)
    assert again.outcome == "quarantined" and count(Ticket) == 0  # still too large
    with pytest.raises(Forbidden):
        email_ingest.retry_quarantined(actor(make_user()), held.quarantine_id)

    app.config["HELPDESK"].email_max_bytes = 100_000  # the admin raised the limit
    stored = email_ingest.retry_quarantined(admin, held.quarantine_id)
    assert stored.outcome == "created" and count(Ticket) == 1
    row = db.session.get(EmailQuarantine, held.quarantine_id, populate_existing=True)
    assert row.state == "released" and row.resolved_at is not None
    with pytest.raises(Conflict):
        email_ingest.retry_quarantined(admin, held.quarantine_id)
    with pytest.raises(Conflict):  # nor deleted afterwards: it was dealt with
        email_quarantine.resolve_quarantined(admin, held.quarantine_id)


def test_a_bounce_becomes_a_note_on_the_right_ticket(channel, published):
    first = email_ingest.ingest(channel.id, 1, mail(message_id="a@example.kr"))
    other = email_ingest.ingest(channel.id, 2, mail(subject="Other", message_id="o@example.kr"))
    agent = make_user()
    ours = messages.reply_to_ticket(actor(agent), first.ticket_id, body_text="Answer")
    messages.reply_to_ticket(actor(agent), other.ticket_id, body_text="Other answer")
    bounce = (
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.kr>\r\n"
        "To: support1@dangol.test\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "Message-ID: <bounce1@mx.example.kr>\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.kr\r\n\r\n"
        "Final-Recipient: rfc822; kim@example.kr\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 User unknown\r\n"
        "--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"Message-ID: <{ours.external_id}>\r\nSubject: Re: Hello\r\n"
        "--B--\r\n"
    ).encode()
    published.clear()
    result = email_ingest.ingest(channel.id, 3, bounce)

    assert result.outcome == "bounce" and result.ticket_id == first.ticket_id
    assert count(Ticket) == 2
    note = ticket_messages(first.ticket_id)[-1]
    assert not note.is_public and note.kind == "note"
    assert "kim@example.kr" in note.body_text and "User unknown" in note.body_text
    outbox = db.session.scalar(select(Outbox).where(Outbox.message_id == ours.id))
    assert outbox.status == "failed" and "User unknown" in outbox.last_error
    assert [e.name for e in published] == ["message.added", "message.delivery"]


def test_inline_images_are_stored_and_the_html_points_at_them(channel):
    png = base64.b64encode(b"\x89PNG\r\n\x1a\nfake").decode()
    raw = (
        "From: Kim <kim@example.kr>\r\nTo: support1@dangol.test\r\nSubject: Screenshot\r\n"
        "Message-ID: <img@example.kr>\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/related; boundary="R"\r\n\r\n'
        "--R\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        '<p>See this:</p><img src="cid:shot@example.kr" alt="shot">\r\n'
        "--R\r\nContent-Type: image/png\r\nContent-ID: <shot@example.kr>\r\n"
        'Content-Disposition: inline; filename="shot.png"\r\n'
        f"Content-Transfer-Encoding: base64\r\n\r\n{png}\r\n--R--\r\n"
    ).encode()
    result = email_ingest.ingest(channel.id, 1, raw)
    message = db.session.get(Message, result.message_id)
    db.session.refresh(message)
    image = next(a for a in message.attachments if a.filename == "shot.png")
    assert f'src="/attachments/{image.id}"' in message.body_html
    assert "cid:" not in message.body_html


def test_auto_acknowledgement_goes_to_people_never_to_robots(app):
    channel = make_channel(auto_acknowledge=True)
    person = email_ingest.ingest(channel.id, 1, mail(message_id="p@example.kr"))
    robot = email_ingest.ingest(
        channel.id,
        2,
        mail(
            sender="news@shop.example",
            message_id="n@shop.example",
            extra_headers="Precedence: bulk\r\nList-Unsubscribe: <mailto:u@shop.example>",
        ),
    )
    assert person.outcome == robot.outcome == "created"
    acknowledged = set(
        db.session.scalars(select(Message.ticket_id).join(Outbox, Outbox.message_id == Message.id))
    )
    assert acknowledged == {person.ticket_id}


def test_a_stranger_customer_is_found_again_by_address(channel):
    email_ingest.ingest(channel.id, 1, mail(sender="Park <park@example.kr>", message_id="1@x"))
    email_ingest.ingest(
        channel.id, 2, mail(sender="park@EXAMPLE.kr", subject="New", message_id="2@x")
    )
    assert count(Customer) == 1 and count(Ticket) == 2


def test_acknowledgements_speak_the_customers_language_and_are_rate_limited(app):
    channel = make_channel(auto_acknowledge=True)
    korean = email_ingest.ingest(
        channel.id, 1, mail(sender="김 <kim@example.kr>", subject="환불 문의", message_id="k@x")
    )
    english = email_ingest.ingest(
        channel.id, 2, mail(sender="Ann <ann@example.com>", subject="Refund", message_id="e@x")
    )
    for n in range(3, 7):  # Ann again and again within the hour: acknowledged 3 times in all
        email_ingest.ingest(
            channel.id, n, mail(sender="ann@example.com", subject=f"More {n}", message_id=f"{n}@x")
        )
    acks = db.session.execute(
        select(Message.ticket_id, Message.body_text).join(Outbox, Outbox.message_id == Message.id)
    ).all()
    texts = dict(acks)
    assert "#" in texts[korean.ticket_id] and "접수" in texts[korean.ticket_id]
    assert texts[english.ticket_id].startswith("Thank you for your message.")
    assert len(acks) == 1 + email_outbox.ACK_LIMIT


def test_a_batch_opens_its_new_conversations_together_and_threads_replies_within_it(
    channel, published
):
    batch = [
        (1, mail(sender="Kim <kim@example.kr>", subject="배송 문의", message_id="a@x")),
        (2, mail(sender="Lee <lee@example.kr>", subject="환불", message_id="b@x")),
        (3, mail(sender="Kim <kim@example.kr>", subject="Re: 배송 문의", in_reply_to="a@x")),
        (4, mail(sender="Lee <lee@example.kr>", subject="환불", message_id="b@x")),  # again
        (5, mail(sender="Kim <kim@example.kr>", subject="다른 문의", message_id="c@x")),
    ]
    results = email_ingest.ingest_batch(channel.id, batch)
    assert [r.outcome for r in results] == [
        "created",
        "created",
        "appended",
        "duplicate",
        "created",
    ]
    first = tickets.get_ticket(SYSTEM, results[0].ticket_id)
    assert results[2].ticket_id == first.id
    assert [m.body_text.strip() for m in ticket_messages(first.id)] == ["Please help."] * 2
    opened = [tickets.get_ticket(SYSTEM, results[i].ticket_id) for i in (0, 1, 4)]
    assert sorted(t.number for t in opened) == list(range(first.number, first.number + 3))
    assert opened[0].customer_id == opened[2].customer_id != opened[1].customer_id
    assert count(Customer) == 2 and count(Ticket) == 3
    assert db.session.get(EmailChannel, channel.id).last_uid == 5
    created_events = [e for e in published if e.name == "ticket.created"]
    assert len(created_events) == 3


def test_one_refused_new_message_does_not_keep_the_others_of_its_batch_out(channel, app, published):
    app.config["HELPDESK"].email_max_bytes = 5_000_000  # the mail is accepted, then
    huge = "가" * 1_000_001  # refused by the service: over its message body limit
    batch = [
        (1, mail(sender="kim@example.kr", subject="one", message_id="1@x")),
        (2, mail(sender="lee@example.kr", subject="two", message_id="2@x", body=huge)),
        (3, mail(sender="park@example.kr", subject="three", message_id="3@x")),
    ]
    results = email_ingest.ingest_batch(channel.id, batch)
    assert [r.outcome for r in results] == ["created", "quarantined", "created"]
    assert "too long" in (results[1].reason or "")
    assert count(Ticket) == 2 and count(EmailQuarantine) == 1
    assert len([e for e in published if e.name == "ticket.created"]) == 2


def test_a_big_batch_is_parsed_by_another_process_and_a_dead_one_is_replaced_by_parsing_here(
    channel, app
):
    app.config["HELPDESK"].email_parse_processes = 1

    def batch(first: int) -> list[tuple[int, bytes]]:
        return [
            (n, mail(sender=f"c{n}@example.kr", subject=f"문의 {n}", message_id=f"{n}@x"))
            for n in range(first, first + 45)
        ]

    results = email_ingest.ingest_batch(channel.id, batch(1))
    assert [r.outcome for r in results] == ["created"] * 45
    pool = email_parse_pool._parsers
    assert pool is not None  # the chunks after the first were parsed there
    numbers = [tickets.get_ticket(SYSTEM, r.ticket_id).number for r in results]
    assert numbers == sorted(numbers)  # stored in the mailbox's order

    for process in list(pool._processes.values()):  # the parser dies
        process.kill()
        process.join()
    again = email_ingest.ingest_batch(channel.id, batch(46))
    assert [r.outcome for r in again] == ["created"] * 45
    assert count(Ticket) == 90
    assert email_parse_pool._parsers is None  # forgotten: the next batch starts a new one


def test_a_stored_message_fetched_again_later_in_a_batch_is_a_duplicate(channel):
    """The dedupe holds in every parse chunk of a batch, also for a ticket that an earlier
    chunk already looked up (e.g. the whole folder read again after a UIDVALIDITY change)."""
    email_ingest.ingest(channel.id, 1, mail(sender="kim@example.kr", message_id="a@x"))
    email_ingest.ingest(channel.id, 2, mail(sender="kim@example.kr", message_id="b@x"))
    answer = mail(sender="kim@example.kr", subject="Re: Hello", in_reply_to="a@x")
    fillers = [
        mail(sender=f"c{n}@example.kr", subject=f"문의 {n}", message_id=f"{n}@x")
        for n in range(email_parse_pool.PARSE_CHUNK)
    ]
    again = mail(sender="kim@example.kr", message_id="b@x")
    batch = list(enumerate([answer, *fillers, again], start=3))
    results = email_ingest.ingest_batch(channel.id, batch)
    assert results[0].outcome == "appended"
    assert [r.outcome for r in results[1:-1]] == ["created"] * email_parse_pool.PARSE_CHUNK
    assert results[-1].outcome == "duplicate"
    assert count(Message) == 3 + email_parse_pool.PARSE_CHUNK


def test_a_batch_stores_follow_ups_together_in_the_mailbox_order(channel, published):
    """Follow-ups of a batch are written together, and still: each ticket's messages keep the
    mailbox order (also around mail stored one by one), a closed ticket's follow-up opens a
    new ticket, a merged ticket's lands in its target, and Cc addresses join the thread."""
    open_ = email_ingest.ingest(channel.id, 1, mail(message_id="open@x"))
    closed = email_ingest.ingest(channel.id, 2, mail(subject="Old", message_id="closed@x"))
    merged = email_ingest.ingest(channel.id, 3, mail(subject="Dup", message_id="merged@x"))
    tickets.set_status(SYSTEM, closed.ticket_id, "closed")
    tickets.merge_tickets(SYSTEM, merged.ticket_id, open_.ticket_id)
    number = db.session.get(Ticket, open_.ticket_id).number
    batch = [
        (4, mail(body="one", message_id="r1@x", in_reply_to="open@x", cc="lee@example.kr")),
        (5, mail(body="two", message_id="r2@x", in_reply_to="closed@x")),
        (6, mail(body="three", message_id="r3@x", subject=f"Re: [#{number}] Hello")),  # alone
        (7, mail(body="four", message_id="r4@x", in_reply_to="merged@x")),
        (8, mail(body="five", message_id="r5@x", references="<r1@x>", cc="lee@example.kr")),
        (9, mail(body="six", message_id="r6@x", in_reply_to="r2@x")),
    ]
    published.clear()
    results = email_ingest.ingest_batch(channel.id, batch)
    assert [r.outcome for r in results] == [
        "appended",
        "created",
        "appended",
        "appended",
        "appended",
        "appended",
    ]
    assert results[1].ticket_id not in (open_.ticket_id, closed.ticket_id)
    assert results[5].ticket_id == results[1].ticket_id  # answers the new ticket's message
    bodies = [m.body_text.strip() for m in ticket_messages(open_.ticket_id)]
    assert bodies[-4:] == ["one", "three", "four", "five"]  # after the merged-in history
    participants = db.session.scalars(
        select(TicketParticipant.email).where(TicketParticipant.ticket_id == open_.ticket_id)
    ).all()
    assert participants == ["lee@example.kr"]  # once, although two follow-ups copied it
    sources = db.session.scalar(
        select(func.count()).select_from(Attachment).where(Attachment.filename == "original.eml")
    )
    assert sources == 9
    added = [e for e in published if e.name == "message.added"]
    assert [e.message["body_text"].strip() for e in added] == [
        "one",
        "three",
        "four",
        "five",
        "six",
    ]
    assert db.session.get(Ticket, open_.ticket_id).message_count == len(bodies)


def test_customer_messages_in_one_call_refuse_a_closed_ticket_in_its_place(app):
    from helpdesk.services.messages import CustomerMessage, add_customer_messages
    from tests.factories import make_ticket

    first, second = make_ticket(), make_ticket()
    tickets.set_status(SYSTEM, second.id, "closed")
    added = add_customer_messages(
        SYSTEM,
        [
            CustomerMessage(first.id, body_text="a"),
            CustomerMessage(second.id, body_text="b"),
            CustomerMessage(first.id, body_text="c"),
        ],
    )
    assert isinstance(added[1], Conflict)
    assert [m.body_text for m in (added[0], added[2])] == ["a", "c"]
    assert db.session.get(Ticket, first.id).message_count == 3
    assert db.session.get(Ticket, second.id).message_count == 1


def test_one_refused_follow_up_does_not_keep_the_others_of_its_batch_out(channel, app):
    app.config["HELPDESK"].email_max_bytes = 5_000_000  # the mail is accepted, then
    huge = "가" * 1_000_001  # refused by the service: over its message body limit
    first = email_ingest.ingest(channel.id, 1, mail(message_id="a@x"))
    batch = [
        (2, mail(body="one", message_id="r1@x", in_reply_to="a@x")),
        (3, mail(body=huge, message_id="r2@x", in_reply_to="a@x")),
        (4, mail(body="three", message_id="r3@x", in_reply_to="a@x")),
    ]
    results = email_ingest.ingest_batch(channel.id, batch)
    assert [r.outcome for r in results] == ["appended", "quarantined", "appended"]
    bodies = [m.body_text.strip() for m in ticket_messages(first.ticket_id)]
    assert bodies == ["Please help.", "one", "three"]
    assert db.session.get(Ticket, first.ticket_id).message_count == 3
