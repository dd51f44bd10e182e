"""Notifications: who is told what, never about their own action, delivered after commit."""

from __future__ import annotations

from helpdesk.events import NotificationCreated
from helpdesk.services import messages, notifications, tickets
from helpdesk.services.permissions import SYSTEM
from tests.factories import actor, make_ticket, make_user


def _kinds(user):
    items, unread = notifications.list_notifications(actor(user))
    return [(n["kind"], n["number"]) for n in items], unread


def test_assignment_notifies_the_new_assignee_but_not_someone_assigning_themselves(app, published):
    jimin, alex = make_user(name="김지민"), make_user(name="Alex Kim")
    ticket = make_ticket(subject="배송 문의")
    published.clear()

    tickets.update_ticket(actor(alex), ticket.id, {"assignee_id": jimin.id})
    tickets.update_ticket(actor(alex), ticket.id, {"assignee_id": alex.id})  # takes it back

    assert _kinds(jimin) == ([("assigned", ticket.number)], 1)
    assert _kinds(alex) == ([], 0)
    [event] = [e for e in published if isinstance(e, NotificationCreated)]
    assert event.user_id == jimin.id
    assert event.notification["subject"] == "배송 문의"
    assert event.notification["actor_user_id"] == alex.id


def test_a_ticket_created_with_an_assignee_notifies_them(app):
    agent = make_user()
    ticket = make_ticket(assignee_id=agent.id)
    assert _kinds(agent) == ([("assigned", ticket.number)], 1)


def test_mentions_in_notes_by_name_or_email_name(app):
    jimin = make_user(name="김지민", email="jimin@dangol.test")
    alex = make_user(name="Alex Kim")
    sales = make_user("sales", name="Park")
    bystander = make_user(name="Ana")
    ticket = make_ticket()

    messages.add_note(
        actor(sales), ticket.id, body_text="@김지민 @alex kim 확인 부탁해요 (@Park 본인)"
    )
    messages.add_note(actor(sales), ticket.id, body_text="cc @jimin")
    messages.add_note(actor(sales), ticket.id, body_text="no mention for Ana here")

    assert _kinds(jimin)[1] == 2
    assert _kinds(alex) == ([("mentioned", ticket.number)], 1)
    assert _kinds(sales) == ([], 0)  # never about yourself
    assert _kinds(bystander) == ([], 0)
    [latest, first] = notifications.list_notifications(actor(jimin))[0]
    assert latest["excerpt"] == "cc @jimin" and first["kind"] == "mentioned"


def test_a_mention_names_the_whole_handle_but_korean_may_take_a_suffix(app):
    kim = make_user(name="Kim", email="kim@dangol.test")
    jimin = make_user(name="김지민", email="jm@dangol.test")
    author = make_user()
    ticket = make_ticket()
    messages.add_note(actor(author), ticket.id, body_text="@kimberly @kim.lee 봐주세요")
    messages.add_note(actor(author), ticket.id, body_text="@김지민님 확인 부탁드려요")
    assert _kinds(kim) == ([], 0)
    assert _kinds(jimin) == ([("mentioned", ticket.number)], 1)


def test_a_customer_reply_notifies_the_assignee_and_reading_clears_it(app):
    agent, other = make_user(), make_user()
    mine, theirs = make_ticket(assignee_id=agent.id), make_ticket(assignee_id=other.id)
    notifications.mark_read(actor(agent))
    messages.add_customer_message(SYSTEM, mine.id, body_text="아직 안 왔어요")
    messages.add_customer_message(SYSTEM, theirs.id, body_text="hello?")

    items, unread = notifications.list_notifications(actor(agent))
    assert unread == 1
    assert (items[0]["kind"], items[0]["excerpt"]) == ("customer_replied", "아직 안 왔어요")
    assert notifications.mark_read(actor(agent), ticket_id=theirs.id) == 0
    assert notifications.mark_read(actor(agent), ticket_id=mine.id) == 1
    assert notifications.list_notifications(actor(agent))[1] == 0
