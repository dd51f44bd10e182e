"""Following customers and tickets across teams: followers hear of new messages (bell and
email), never of their own, and unfollowing stops it."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from helpdesk.extensions import db
from helpdesk.models import Notification, StaffEmail
from helpdesk.services import customer_events, follows, messages, notifications
from helpdesk.services.errors import Invalid, NotFound
from helpdesk.services.permissions import SYSTEM
from tests.conftest import login
from tests.email_helpers import make_channel
from tests.factories import actor, make_customer, make_ticket, make_user


def _kinds(user) -> list[str]:
    db.session.expire_all()
    stmt = (
        select(Notification.kind).where(Notification.user_id == user.id).order_by(Notification.id)
    )
    return list(db.session.scalars(stmt))


def test_a_sales_rep_following_a_customer_hears_of_every_message_but_their_own(app):
    make_channel()  # so that email can go out
    sales, agent = make_user("sales", name="박서준"), make_user(name="김지민")
    customer = make_customer(name="이수진")
    ticket = make_ticket(customer)
    assert follows.follow(actor(sales), customer_id=customer.id) is True
    assert follows.follow(actor(sales), customer_id=customer.id) is False  # already

    messages.reply_to_ticket(actor(agent), ticket.id, body_text="확인해 보겠습니다")
    messages.add_customer_message(SYSTEM, ticket.id, body_text="감사합니다")
    messages.add_note(actor(sales), ticket.id, body_text="재계약 건 함께 논의")  # their own
    assert _kinds(sales) == ["followed", "followed"]
    emails = list(db.session.scalars(select(StaffEmail).where(StaffEmail.user_id == sales.id)))
    assert len(emails) == 2 and f"#{ticket.number}" in emails[0].subject

    assert follows.unfollow(actor(sales), customer_id=customer.id) is True
    messages.add_customer_message(SYSTEM, ticket.id, body_text="한 가지 더요")
    assert _kinds(sales) == ["followed", "followed"]


def test_following_a_ticket_and_bad_targets(app):
    lead, agent = make_user(), make_user()
    ticket, other = make_ticket(), make_ticket()
    follows.follow(actor(lead), ticket_id=ticket.id)
    messages.add_note(actor(agent), other.id, body_text="not this one")
    messages.add_note(actor(agent), ticket.id, body_text="this one")
    assert _kinds(lead) == ["followed"]
    assert [f.ticket_id for f in follows.followed(actor(lead))] == [ticket.id]
    with pytest.raises(Invalid):
        follows.follow(actor(lead))
    with pytest.raises(NotFound):
        follows.follow(actor(lead), ticket_id=999_999)


def test_a_followed_customers_business_events_reach_the_activity_feed(app, client):
    sales = make_user("sales", name="박서준")
    customer = make_customer(name="이수진")
    follows.follow(actor(sales), customer_id=customer.id)
    customer_events.add_event(
        SYSTEM,
        {
            "kind": "order",
            "title": "주문 #A-1001 (329,000원)",
            "occurred_at": "2026-11-20T10:00:00Z",
        },
        customer_id=customer.id,
    )
    [row] = db.session.scalars(select(Notification).where(Notification.user_id == sales.id))
    assert row.kind == "followed" and row.ticket_id is None
    assert notifications.notification_dict(row)["customer_id"] == customer.id

    login(client, sales.email)
    page = client.get("/notifications").get_data(as_text=True)
    assert f'href="/customers/{customer.id}"' in page
    assert "이수진" in page and "주문 #A-1001" in page
