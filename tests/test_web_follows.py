"""The follow buttons on the ticket page and the customer profile."""

from __future__ import annotations

from helpdesk.services import follows
from tests.conftest import csrf_token, login
from tests.factories import actor, make_ticket, make_user


def test_follow_and_unfollow_from_the_ticket_page_and_the_profile(app, client):
    sales = make_user("sales", locale="en")
    ticket = make_ticket()
    login(client, sales.email)
    page = f"/tickets/{ticket.number}"
    assert 'aria-pressed="false"' in client.get(page).get_data(as_text=True)
    token = csrf_token(client, page)
    answer = client.post(f"{page}/follow", data={"follow": "1", "csrf_token": token})
    assert answer.status_code == 302 and follows.is_following(actor(sales), ticket_id=ticket.id)
    assert 'aria-pressed="true">Following</button>' in client.get(page).get_data(as_text=True)
    client.post(f"{page}/follow", data={"follow": "0", "csrf_token": token})
    assert not follows.is_following(actor(sales), ticket_id=ticket.id)

    profile = f"/customers/{ticket.customer_id}"
    client.post(
        f"{profile}/follow", data={"follow": "1", "csrf_token": csrf_token(client, profile)}
    )
    assert follows.is_following(actor(sales), customer_id=ticket.customer_id)
    refused = client.post(f"{profile}/follow", data={"follow": "1"})  # no CSRF token
    assert refused.status_code == 400
