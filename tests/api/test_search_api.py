"""Search and follows through the REST API."""

from __future__ import annotations

from helpdesk.services import search_sync
from tests.api.helpers import API, assert_error, user_with_token
from tests.factories import make_ticket


def test_search_returns_ranked_highlighted_tickets_with_their_numbers(app, client):
    _, headers = user_with_token("sales")
    refund = make_ticket(subject="환불 요청", body_text="지난주 주문을 환불하려면?")
    make_ticket(subject="Password reset", body_text="reset link expired")
    search_sync.rebuild(search_sync.search_index(app))

    page = client.get(f"{API}/search", headers=headers, query_string={"q": "환불"}).get_json()
    assert [(i["kind"], i["id"], i["number"]) for i in page["items"]] == [
        ("ticket", refund.id, refund.number)
    ]
    assert "<mark>환불</mark>" in page["items"][0]["title_html"]
    assert page["total"] == 1 and page["matched_all_words"] is True
    none = client.get(
        f"{API}/search", headers=headers, query_string={"q": "환불", "kind": "article"}
    ).get_json()
    assert none["items"] == []
    assert_error(client.get(f"{API}/search", headers=headers), 422)


def test_follow_a_ticket_through_the_api(app, client):
    _, headers = user_with_token("marketing")
    ticket = make_ticket()
    first = client.post(f"{API}/tickets/{ticket.id}/follow", headers=headers).get_json()
    again = client.post(f"{API}/tickets/{ticket.id}/follow", headers=headers).get_json()
    assert first == {"following": True, "started": True} and again["started"] is False
    listed = client.get(f"{API}/users/me/follows", headers=headers).get_json()
    assert [(f["ticket_id"], f["customer_id"]) for f in listed] == [(ticket.id, None)]
    assert client.delete(f"{API}/tickets/{ticket.id}/follow", headers=headers).status_code == 204
    assert client.get(f"{API}/users/me/follows", headers=headers).get_json() == []
