"""The staff search page: Korean and English queries, highlighted results, clear errors."""

from __future__ import annotations

from helpdesk.services import search_sync
from tests.conftest import login
from tests.factories import make_ticket, make_user


def test_staff_search_finds_korean_particle_forms_and_links_the_ticket(app, client):
    agent = make_user(locale="ko")
    ticket = make_ticket(subject="환불 문의", body_text="지난주 주문을 환불하려면 어떻게 하나요?")
    make_ticket(subject="Login problem", body_text="cannot sign in")
    ix = search_sync.search_index(app)
    search_sync.rebuild(ix)
    login(client, agent.email)

    page = client.get("/search", query_string={"q": "환불은"}).get_data(as_text=True)
    assert f'href="/tickets/{ticket.number}"' in page
    assert "<mark>" in page and "Login problem" not in page

    empty = client.get("/search").get_data(as_text=True)
    assert 'name="q"' in empty and "search-results" not in empty
    too_long = client.get("/search", query_string={"q": "가" * 300})
    assert too_long.status_code == 200 and 'role="alert"' in too_long.get_data(as_text=True)
