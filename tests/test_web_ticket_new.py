"""Opening a ticket by hand from the staff pages: a phone call from a new or known customer."""

from __future__ import annotations

from html import unescape
from io import BytesIO

from sqlalchemy import select

from helpdesk.extensions import db
from helpdesk.models import Customer, CustomerIdentity, Message, Ticket
from helpdesk.services import tickets
from helpdesk.services.permissions import SYSTEM
from tests.conftest import csrf_token, login
from tests.factories import make_customer, make_group, make_user

NEW = "/tickets/new"


def _post(client, path: str = NEW, **form):
    form.setdefault("csrf_token", csrf_token(client, path))
    return client.post(path, data=form)


def test_a_call_from_a_new_number_opens_a_phone_ticket_for_a_new_customer(app, client):
    agent = make_user(name="김지민", locale="ko")
    billing = make_group("결제")
    login(client, agent.email)
    page = client.get("/tickets").get_data(as_text=True)
    assert 'href="/tickets/new"' in page  # the queue offers it
    answer = _post(
        client,
        kind="phone",
        identity="010-2345-6789",
        name="박민수",
        subject="결제 오류 전화 문의",
        body="카드 결제가 두 번 됐다고 전화하셨습니다.",
        channel="phone",
        priority="high",
        group_id=str(billing.id),
        assignee_id=str(agent.id),
        tags="결제, vip",
        attachments=(BytesIO(b"call log"), "통화기록.txt"),
    )
    assert answer.status_code == 302
    db.session.rollback()
    ticket = db.session.scalars(select(Ticket)).one()
    assert answer.headers["Location"] == f"/tickets/{ticket.number}"
    assert (ticket.channel, ticket.priority, ticket.group_id, ticket.assignee_id) == (
        "phone",
        3,
        billing.id,
        agent.id,
    )
    assert sorted(t.name for t in tickets.get_ticket(SYSTEM, ticket.id).tags) == ["vip", "결제"]
    customer = db.session.get(Customer, ticket.customer_id)
    assert customer.name == "박민수"
    identity = db.session.scalars(
        select(CustomerIdentity).where(CustomerIdentity.customer_id == customer.id)
    ).one()
    assert (identity.kind, identity.value) == ("phone", "+821023456789")
    message = db.session.scalars(select(Message).where(Message.ticket_id == ticket.id)).one()
    assert message.kind == "phone" and message.body_text.startswith("카드 결제가")
    assert [a.filename for a in message.attachments] == ["통화기록.txt"]

    # The same caller again, the number written differently: the same customer.
    again = _post(client, kind="phone", identity="+82 10 2345 6789", subject="다시", body="확인")
    assert again.status_code == 302
    db.session.rollback()
    assert db.session.scalars(select(Ticket.customer_id)).all() == [customer.id] * 2


def test_from_a_profile_the_customer_is_given_and_mistakes_keep_what_was_typed(app, client):
    agent = make_user(name="Alex", locale="en")
    customer = make_customer(name="Lee Jiwoo", email="jiwoo@example.com")
    login(client, agent.email)
    profile = client.get(f"/customers/{customer.id}").get_data(as_text=True)
    path = f"/tickets/new?customer_id={customer.id}"
    assert f'href="{path}"' in unescape(profile)

    missing = _post(client, path, subject="  ", body="Wants a refund")
    assert missing.status_code == 422
    page = unescape(missing.get_data(as_text=True))
    assert "A subject is required." in page and "Wants a refund" in page and "Lee Jiwoo" in page

    bad_number = _post(client, kind="phone", identity="12", subject="Call", body="Hi")
    assert bad_number.status_code == 422
    assert "'12' is not a valid phone number" in unescape(bad_number.get_data(as_text=True))
    nobody = _post(client, subject="Call", body="Hi")
    assert "phone number or email address" in unescape(nobody.get_data(as_text=True))

    made = _post(client, path, subject="Refund", body="Wants a refund", channel="web")
    assert made.status_code == 302
    db.session.rollback()
    ticket = db.session.scalars(select(Ticket)).one()
    assert (ticket.customer_id, ticket.channel, ticket.subject) == (customer.id, "web", "Refund")


def test_sales_are_not_offered_the_form(app, client):
    sales = make_user("sales", name="Park")
    login(client, sales.email)
    assert 'href="/tickets/new"' not in client.get("/tickets").get_data(as_text=True)
    assert client.get(NEW).status_code == 403


def test_a_ticket_opened_by_email_answers_the_customer_by_email(app, client):
    from helpdesk.models import Outbox, TicketEmailThread
    from helpdesk.services import messages
    from tests.email_helpers import make_channel
    from tests.factories import actor

    channel = make_channel(name="Sales desk", address="sales@dangol.test")
    agent = make_user(name="Alex", locale="en")
    login(client, agent.email)
    form = client.get(NEW).get_data(as_text=True)
    assert f'value="email:{channel.id}"' in form and "Sales desk (sales@dangol.test)" in form

    by_phone = _post(
        client,
        kind="phone",
        identity="010-2345-6789",
        subject="Quote",
        body="Wants a quote",
        channel=f"email:{channel.id}",
    )
    assert by_phone.status_code == 422  # nobody to write to: nothing was created
    assert "no email address" in unescape(by_phone.get_data(as_text=True))
    db.session.rollback()
    assert db.session.scalars(select(Ticket)).all() == []

    made = _post(
        client,
        kind="email",
        identity="Buyer@Example.kr",
        name="Kim Buyer",
        subject="Quote",
        body="Wants a quote for 40 seats",
        channel=f"email:{channel.id}",
    )
    assert made.status_code == 302
    db.session.rollback()
    ticket = db.session.scalars(select(Ticket)).one()
    assert ticket.channel == "email"
    assert db.session.get(TicketEmailThread, ticket.id).channel_id == channel.id
    reply = messages.reply_to_ticket(actor(agent), ticket.id, body_text="Here is the quote.")
    outbox = db.session.scalars(select(Outbox).where(Outbox.message_id == reply.id)).one()
    assert outbox.channel_id == channel.id  # the reply goes out by email from that channel
