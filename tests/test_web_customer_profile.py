"""The customer profile page and the organization page, through the Flask client: editing
profile fields, notes, the unified timeline's filters, and the organization's people and
shared tickets."""

from __future__ import annotations

from datetime import UTC, datetime

from helpdesk.services import customer_events, customer_fields, customer_notes, customers
from helpdesk.services.permissions import SYSTEM
from tests.conftest import csrf_token, login, post_form
from tests.factories import actor, make_customer, make_ticket, make_user


def test_an_agent_edits_tags_owner_tier_and_attributes_on_the_profile(app, client):
    agent = make_user(locale="en")
    manager = make_user("sales", name="Park Seojun")
    customer = make_customer(name="이수진")
    page_path = f"/customers/{customer.id}"
    login(client, agent.email)

    saved = post_form(
        client,
        f"/customers/{customer.id}/profile",
        {
            "name": "이수진",
            "tags": "VIP, renewal",
            "owner_id": str(manager.id),
            "tier": "gold",
            "locale": "ko",
            "attributes": "plan: pro\nseats: 40\ntrial: false",
        },
        token_from=page_path,
    )
    assert saved.status_code == 302
    page = client.get(page_path).get_data(as_text=True)
    assert "Profile saved." in page
    assert '<li class="tag">renewal</li><li class="tag">vip</li>' in page
    assert '<dd data-profile="owner">Park Seojun</dd>' in page
    assert '<dd data-profile="tier">gold</dd>' in page
    assert "<dt>seats</dt><dd>40</dd>" in page and "<dt>trial</dt><dd>false</dd>" in page
    assert customer_fields.tags_of(SYSTEM, customer.id) == ["renewal", "vip"]

    bad = post_form(
        client,
        f"/customers/{customer.id}/profile",
        {"attributes": "Bad Key: 1\nplan: pro"},
        token_from=page_path,
    )
    assert bad.status_code == 422
    html = bad.get_data(as_text=True)
    assert 'class="field-error"' in html and "Bad Key: 1" in html  # what was typed stays
    assert 'class="profile-edit" open' in html


def test_sales_adds_notes_but_does_not_edit_the_profile(app, client):
    rep, colleague = make_user("sales", locale="en"), make_user(locale="en")
    customer = make_customer()
    theirs = customer_notes.add_note(actor(colleague), customer.id, "colleague's note")
    page_path = f"/customers/{customer.id}"
    login(client, rep.email)
    page = client.get(page_path).get_data(as_text=True)
    assert "Edit profile" not in page and "Add note" in page
    assert "colleague&#39;s note" in page
    assert f'action="/customers/notes/{theirs.id}/edit"' not in page  # not theirs to change

    post_form(
        client, f"/customers/{customer.id}/notes", {"body": "Prefers calls <after> 6pm"}, page_path
    )
    page = client.get(page_path).get_data(as_text=True)
    assert "Note added." in page
    assert "Prefers calls &lt;after&gt; 6pm" in page  # plain text, escaped
    [mine] = [
        n for n in customer_notes.list_notes(actor(rep), customer.id) if n.author_id == rep.id
    ]
    assert f'action="/customers/notes/{mine.id}/edit"' in page

    post_form(client, f"/customers/notes/{mine.id}/edit", {"body": "Calls after 7pm"}, page_path)
    page = client.get(page_path).get_data(as_text=True)
    assert "Calls after 7pm" in page and "(edited)" in page
    refused = client.post(
        f"/customers/notes/{theirs.id}/delete", data={"csrf_token": csrf_token(client, page_path)}
    )
    assert refused.status_code == 403
    assert "colleague&#39;s note" in client.get(page_path).get_data(as_text=True)
    post_form(client, f"/customers/notes/{mine.id}/delete", {}, page_path)
    assert "Calls after 7pm" not in client.get(page_path).get_data(as_text=True)

    refused = post_form(
        client, f"/customers/{customer.id}/profile", {"tier": "vip"}, token_from=page_path
    )
    assert refused.status_code == 403
    assert customers.get_customer(SYSTEM, customer.id).tier is None


def test_the_timeline_shows_every_kind_and_filters(app, client):
    rep = make_user("sales", locale="en")
    customer = make_customer()
    make_ticket(customer, subject="배송 문의", body_text="언제 오나요?", channel="email")
    make_ticket(customer, subject="전화", body_text="통화 내용", channel="phone")
    customer_events.add_event(
        SYSTEM,
        {"kind": "order", "title": "주문 #77", "occurred_at": datetime(2026, 1, 5, tzinfo=UTC)},
        customer_id=customer.id,
    )
    customer_notes.add_note(actor(rep), customer.id, "VIP 행사 초대")
    login(client, rep.email)

    page = client.get(f"/customers/{customer.id}").get_data(as_text=True)
    timeline = page[page.index('class="timeline"') : page.index('<aside class="side">')]
    assert timeline.index("VIP 행사 초대") < timeline.index("통화 내용")
    assert timeline.index("통화 내용") < timeline.index("언제 오나요?") < timeline.index("주문 #77")
    events = client.get(f"/customers/{customer.id}?kind=events").get_data(as_text=True)
    events = events[events.index('class="timeline"') : events.index('<aside class="side">')]
    assert "주문 #77" in events and "언제 오나요?" not in events
    calls = client.get(f"/customers/{customer.id}?kind=calls").get_data(as_text=True)
    calls = calls[calls.index('class="timeline"') : calls.index('<aside class="side">')]
    assert "통화 내용" in calls and "언제 오나요?" not in calls
    assert client.get(f"/customers/{customer.id}?kind=nope").status_code == 422


def test_the_organization_page_lists_people_and_shared_tickets(app, client):
    agent = make_user(locale="en")
    org = customers.create_organization(SYSTEM, "한빛상사", "hanbit.kr")
    kim = make_customer(name="김민수", email="kim@hanbit.kr")
    lee = make_customer(name="이수진", email="lee@hanbit.kr")
    make_customer(name="Outsider", email="x@else.example")
    tickets = [make_ticket(kim if n % 2 else lee, subject=f"문의 {n}") for n in range(27)]
    login(client, agent.email)

    profile = client.get(f"/customers/{kim.id}").get_data(as_text=True)
    assert f'href="/organizations/{org.id}"' in profile

    page = client.get(f"/organizations/{org.id}").get_data(as_text=True)
    assert "한빛상사" in page and "hanbit.kr" in page
    assert "김민수" in page and "이수진" in page and "Outsider" not in page
    assert f"#{tickets[-1].number} 문의 26" in page  # newest first
    assert f"#{tickets[1].number} " not in page  # on the next page
    older = page[page.index('class="older" href="') + len('class="older" href="') :]
    older = older[: older.index('"')].replace("&amp;", "&")
    next_page = client.get(older).get_data(as_text=True)
    assert f"#{tickets[1].number} 문의 1" in next_page
    assert f"#{tickets[0].number} 문의 0" in next_page
    assert client.get("/organizations/999999").status_code == 404
