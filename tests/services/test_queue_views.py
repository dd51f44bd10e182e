"""The queue's views: what each contains, their capped counts, and the filters sent to browsers."""

from __future__ import annotations

import pytest

from helpdesk.services import queue_views, tickets
from helpdesk.services.errors import Invalid, NotFound
from helpdesk.services.permissions import SYSTEM
from helpdesk.services.ticket_queries import TicketFilter, count_tickets
from tests.factories import actor, make_group, make_ticket, make_user


def test_views_cover_the_agent_and_their_groups_and_count_what_they_list(app):
    billing, shipping = make_group("Billing"), make_group("Shipping")
    agent, other = make_user(group_ids=[billing.id]), make_user()
    make_ticket(assignee_id=agent.id, group_id=billing.id)
    make_ticket(assignee_id=other.id, group_id=shipping.id)
    make_ticket(group_id=billing.id)  # unassigned
    pending = make_ticket(assignee_id=agent.id)
    tickets.set_status(SYSTEM, pending.id, "pending")

    views = queue_views.views_for(actor(agent))
    keys = [v.key for v in views]
    assert keys == ["mine", "unassigned", "open", "pending", "solved", f"group:{billing.id}", "all"]
    assert next(v for v in views if v.key == f"group:{billing.id}").group_name == "Billing"
    counts = queue_views.view_counts(actor(agent), views)
    assert counts == {
        "mine": 2,  # pending counts as open: the agent still owes an answer
        "unassigned": 1,
        "open": 4,
        "pending": 1,
        "solved": 0,
        f"group:{billing.id}": 2,
        "all": 4,
    }


def test_counts_stop_at_the_cap(app):
    for _ in range(5):
        make_ticket()
    flt = TicketFilter(statuses=["new", "open"])
    assert count_tickets(SYSTEM, flt) == 5
    assert count_tickets(SYSTEM, flt, cap=3) == 3
    assert count_tickets(SYSTEM, TicketFilter(), cap=2) == 2


def test_the_browser_gets_each_views_filter_as_plain_json(app):
    agent = make_user()
    [mine] = [v for v in queue_views.views_for(actor(agent)) if v.key == "mine"]
    data = queue_views.filter_json(mine.filter)
    assert data["assignee_id"] == agent.id
    assert sorted(data["statuses"]) == ["new", "on-hold", "open", "pending"]
    assert data["unassigned"] is False and data["group_id"] is None and data["tag"] is None


def test_an_agent_saves_a_filter_as_a_view_of_their_own(app):
    agent, other = make_user(), make_user()
    make_ticket(priority="urgent", tags=["vip"], channel="chat")
    make_ticket(priority="urgent", channel="chat")
    make_ticket(priority="low", tags=["vip"], channel="chat")

    saved = queue_views.save_view(
        actor(agent),
        "  Urgent   VIP chats ",
        {"statuses": ["new", "open"], "priority": "urgent", "tag": "VIP", "channel": "chat"},
    )
    assert saved.name == "Urgent VIP chats"
    assert saved.filter == {
        "statuses": ["new", "open"],
        "priority": "urgent",
        "tag": "vip",
        "channel": "chat",
    }
    view = queue_views.find_view(actor(agent), f"saved:{saved.id}")
    assert view is not None and view.name == "Urgent VIP chats"
    assert queue_views.view_counts(actor(agent), [view]) == {f"saved:{saved.id}": 1}
    assert queue_views.find_view(actor(other), f"saved:{saved.id}") is None  # not theirs

    with pytest.raises(NotFound):
        queue_views.delete_view(actor(other), saved.id)
    queue_views.delete_view(actor(agent), saved.id)
    assert queue_views.find_view(actor(agent), f"saved:{saved.id}") is None


@pytest.mark.parametrize(
    ("name", "flt", "field"),
    [
        ("", {"priority": "high"}, "name"),
        ("Nothing", {}, "filter"),
        ("Bad status", {"statuses": ["done"]}, "statuses"),
        ("Bad priority", {"priority": "critical"}, "priority"),
        ("Bad channel", {"channel": "fax"}, "channel"),
        ("Bad group", {"group_id": "billing"}, "group_id"),
    ],
)
def test_saving_a_view_explains_what_is_wrong(app, name, flt, field):
    with pytest.raises(Invalid) as refused:
        queue_views.save_view(actor(make_user()), name, flt)
    assert field in refused.value.fields
