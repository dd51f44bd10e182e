"""Staff pages: sign-in, the security baseline, the ticket list and the ticket page."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from helpdesk.services import messages, tickets
from tests.conftest import csrf_token, login
from tests.factories import actor, make_customer, make_group, make_ticket, make_user


def test_pages_require_sign_in(client):
    response = client.get("/tickets")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def test_sign_in_shows_the_queue_and_starts_a_fresh_session(app, client):
    agent = make_user(name="김지민", locale="ko")
    make_ticket(subject="환불 요청드립니다")
    with client.session_transaction() as session:
        session["planted"] = "attacker value"
    response = login(client, agent.email)
    assert response.status_code == 302 and response.headers["Location"] == "/tickets"
    with client.session_transaction() as session:
        assert "planted" not in session
    cookie = client.get_cookie("dangol_session")
    assert cookie is not None and cookie.http_only and cookie.same_site == "Lax"
    page = client.get("/tickets").get_data(as_text=True)
    assert "환불 요청드립니다" in page
    assert "진행 중" in page or "신규" in page  # status labels in the agent's language (ko)
    assert "로그아웃" in page


def test_wrong_password_is_refused_with_a_message(app, client):
    agent = make_user()
    response = login(client, agent.email, "wrong-password")
    assert response.status_code == 400
    assert "Wrong email or password." in response.get_data(as_text=True)
    assert client.get("/tickets").status_code == 302


def test_unknown_email_gets_the_same_answer(app, client):
    response = login(client, "nobody@dangol.test", "whatever1")
    assert response.status_code == 400
    assert "Wrong email or password." in response.get_data(as_text=True)


def test_login_form_needs_the_csrf_token(app, client):
    agent = make_user()
    response = client.post("/login", data={"email": agent.email, "password": "correct-horse"})
    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)


def test_after_login_only_local_paths_are_followed(app, client):
    agent = make_user()
    token = csrf_token(client, "/login")
    response = client.post(
        "/login?next=//evil.example/x",
        data={"email": agent.email, "password": "correct-horse", "csrf_token": token},
    )
    assert response.headers["Location"] == "/tickets"


def test_security_headers(client):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_language_follows_the_browser_until_signed_in(client):
    korean = client.get("/login", headers={"Accept-Language": "ko-KR,ko;q=0.9,en;q=0.5"})
    assert "단골에 로그인" in korean.get_data(as_text=True)
    english = client.get("/login", headers={"Accept-Language": "en-US"})
    assert "Sign in to Dangol" in english.get_data(as_text=True)


def test_ticket_page_shows_conversation_with_internal_notes_marked(app, client):
    agent = make_user(locale="en")
    sales = make_user("sales")
    ticket = make_ticket(subject="Cannot log in", body_text="Password rejected")
    messages.add_note(actor(sales), ticket.id, body_text="VIP customer <b>renewal</b>")
    login(client, agent.email)
    page = client.get(f"/tickets/{ticket.number}").get_data(as_text=True)
    assert "Cannot log in" in page and "Password rejected" in page
    assert 'class="message out internal"' in page and "Internal note" in page
    assert "&lt;b&gt;renewal&lt;/b&gt;" in page  # text notes are escaped, never raw HTML
    assert "Send reply" in page


def test_agent_replies_and_changes_status_from_the_page(app, client):
    agent = make_user()
    ticket = make_ticket()
    login(client, agent.email)
    path = f"/tickets/{ticket.number}"
    form = client.get(path).get_data(as_text=True)
    assert '<option value="open" selected>' in form and '<option value="solved" >' in form
    token = csrf_token(client, path)
    response = client.post(
        f"{path}/messages",
        data={"body": "처리해 드렸습니다.", "kind": "reply", "csrf_token": token},
    )
    assert response.status_code == 302
    page = client.get(path).get_data(as_text=True)
    assert "처리해 드렸습니다." in page and "Reply sent." in page
    client.post(f"{path}/fields", data={"status": "solved", "csrf_token": csrf_token(client, path)})
    assert tickets.get_ticket(actor(agent), ticket.id).status == "solved"
    page = client.get(path).get_data(as_text=True)
    # the timeline shows the changes between the messages
    events = [" ".join(e.split()) for e in re.findall(r'class="change">(.*?)</span>', page, re.S)]
    assert events == ["Status: New → Open", "Status: Open → Solved"]  # the reply opened it


def test_side_panel_edits_fields_and_refuses_a_stale_version(app, client):
    billing = make_group("Billing")
    agent = make_user(name="Jimin")
    ticket = make_ticket(tags=["vip"])
    login(client, agent.email)
    path = f"/tickets/{ticket.number}"
    fields = {
        "status": "pending",
        "priority": "high",
        "group_id": str(billing.id),
        "assignee_id": "",
        "tags": "vip, 환불",
        "version": str(ticket.version),
    }
    done = client.post(f"{path}/fields", data={**fields, "csrf_token": csrf_token(client, path)})
    assert done.status_code == 302
    saved = tickets.get_ticket(actor(agent), ticket.id)
    assert (saved.status, saved.priority, saved.group_id, saved.assignee_id) == (
        "pending",
        3,
        billing.id,
        None,
    )
    assert sorted(t.name for t in saved.tags) == ["vip", "환불"]

    # "Assign to me" sends only the assignee; a colleague's edit meanwhile is reported.
    stale = client.post(
        f"{path}/fields",
        data={"assignee_id": str(agent.id), "version": "1", "csrf_token": csrf_token(client, path)},
        follow_redirects=True,
    )
    assert "changed" in stale.get_data(as_text=True).lower()
    assert tickets.get_ticket(actor(agent), ticket.id).assignee_id is None
    client.post(
        f"{path}/fields",
        data={
            "assignee_id": str(agent.id),
            "version": str(saved.version),
            "csrf_token": csrf_token(client, path),
        },
    )
    assert tickets.get_ticket(actor(agent), ticket.id).assignee_id == agent.id
    page = client.get(path).get_data(as_text=True)
    changes = [" ".join(e.split()) for e in re.findall(r'class="change">(.*?)</span>', page, re.S)]
    assert "Assignee: — → Jimin" in changes and "Group: — → Billing" in changes


def test_ticket_page_shows_the_customers_other_tickets(app, client):
    customer = make_customer(name="이수진")
    older = make_ticket(customer, subject="지난달 문의")
    current = make_ticket(customer, subject="이번 문의")
    make_ticket(subject="someone else")
    login(client, make_user().email)
    page = client.get(f"/tickets/{current.number}").get_data(as_text=True)
    panel = page[page.index('class="customer-panel"') :]
    assert f"#{older.number} 지난달 문의" in panel
    assert "이번 문의" not in panel and "someone else" not in panel


def test_sales_can_note_but_not_reply(app, client):
    sales = make_user("sales")
    ticket = make_ticket()
    login(client, sales.email)
    path = f"/tickets/{ticket.number}"
    page = client.get(path).get_data(as_text=True)
    assert "Send reply" not in page and "Add internal note" in page
    token = csrf_token(client, path)
    refused = client.post(
        f"{path}/messages",
        data={"body": "hi", "kind": "reply", "csrf_token": token},
        headers={"Referer": f"http://localhost{path}"},
        follow_redirects=True,
    )
    assert "not allowed" in refused.get_data(as_text=True)
    client.post(
        f"{path}/messages",
        data={"body": "renewal next week", "kind": "note", "csrf_token": csrf_token(client, path)},
    )
    bodies = [m.body_text for m in messages.list_messages(actor(sales), ticket.id)]
    assert bodies == ["Please help.", "renewal next week"]


def test_times_are_shown_in_the_users_time_zone(app, client):
    seoul = make_user(timezone="Asia/Seoul", locale="en")
    with time_machine.travel(datetime(2026, 3, 1, 23, 30, tzinfo=UTC), tick=False):
        ticket = make_ticket()
    login(client, seoul.email)
    page = client.get(f"/tickets/{ticket.number}").get_data(as_text=True)
    assert "Mar 2, 2026, 8:30:00" in page  # 23:30 UTC is 08:30 the next morning in Seoul


def test_unknown_ticket_page_is_a_friendly_404(app, client):
    login(client, make_user().email)
    response = client.get("/tickets/99999")
    assert response.status_code == 404
    assert "Traceback" not in response.get_data(as_text=True)


def test_logout_needs_post_with_csrf(app, client):
    login(client, make_user().email)
    assert client.get("/logout").status_code == 405
    client.post("/logout", data={"csrf_token": csrf_token(client, "/tickets")})
    assert client.get("/tickets").status_code == 302


@pytest.mark.parametrize("view", ["open", "mine", "unassigned", "pending", "solved", "all"])
def test_every_queue_view_renders(app, client, view):
    agent = make_user()
    make_ticket(subject="Visible in open views", assignee_id=agent.id)
    login(client, agent.email)
    response = client.get(f"/tickets?view={view}")
    assert response.status_code == 200
    shown = "Visible in open views" in response.get_data(as_text=True)
    assert shown == (view in ("open", "mine", "all"))


def test_group_views_and_live_counts(app, client):
    billing = make_group("Billing")
    agent = make_user(group_ids=[billing.id])
    make_ticket(subject="Invoice question", group_id=billing.id)
    make_ticket(subject="Elsewhere")
    login(client, agent.email)
    page = client.get(f"/tickets?view=group:{billing.id}").get_data(as_text=True)
    assert "Invoice question" in page and "Elsewhere" not in page
    assert 'data-count="group:' in page and ">Billing<" in page
    counts = client.get("/tickets/counts").get_json()
    assert counts[f"group:{billing.id}"] == 1 and counts["open"] == 2 and counts["mine"] == 0
    assert client.get("/tickets?view=group:999999").status_code == 404
    assert client.get("/tickets?view=nope").status_code == 404


def test_a_reply_crossing_a_colleagues_is_held_with_the_draft_kept(app, client):
    jimin, alex = make_user(), make_user(name="Alex")
    ticket = make_ticket()
    login(client, jimin.email)
    path = f"/tickets/{ticket.number}"
    page = client.get(path).get_data(as_text=True)
    seen = re.search(r'name="seen_message_id" type="hidden" value="(\d+)"', page).group(1)
    messages.reply_to_ticket(actor(alex), ticket.id, body_text="Alex answered first")

    held = client.post(
        f"{path}/messages",
        data={
            "body": "내 답변 초안",
            "kind": "reply",
            "seen_message_id": seen,
            "csrf_token": csrf_token(client, path),
        },
    )
    assert held.status_code == 409
    html = held.get_data(as_text=True)
    assert "new messages since you started writing" in html
    assert "Alex answered first" in html and "내 답변 초안</textarea>" in html
    newest = re.search(r'name="seen_message_id" type="hidden" value="(\d+)"', html).group(1)
    assert int(newest) > int(seen)
    sent = client.post(
        f"{path}/messages",
        data={
            "body": "내 답변 초안",
            "kind": "reply",
            "seen_message_id": newest,
            "csrf_token": csrf_token(client, path),
        },
    )
    assert sent.status_code == 302
    bodies = [m.body_text for m in messages.list_messages(actor(jimin), ticket.id)]
    assert bodies == ["Please help.", "Alex answered first", "내 답변 초안"]


def test_healthz_reports_the_database(client):
    assert client.get("/healthz").get_json() == {"status": "ok", "database": "ok"}


def test_attachments_download_with_their_name_and_never_inline(app, client):
    from helpdesk.services.attachments import UploadedFile

    agent = make_user()
    ticket = make_ticket()
    html = b"<script>alert(1)</script>"
    message = messages.reply_to_ticket(
        actor(agent),
        ticket.id,
        body_text="견적서 첨부",
        attachments=[UploadedFile("견적서.html", "text/html", html)],
    )
    [attachment] = message.attachments
    assert client.get(f"/attachments/{attachment.id}").status_code == 302  # sign in first
    login(client, agent.email)
    page = client.get(f"/tickets/{ticket.number}").get_data(as_text=True)
    assert f'href="/attachments/{attachment.id}"' in page
    response = client.get(f"/attachments/{attachment.id}")
    assert response.status_code == 200 and response.data == html
    disposition = response.headers["Content-Disposition"]
    assert (
        disposition.startswith("attachment;") and "%EA%B2%AC%EC%A0%81%EC%84%9C.html" in disposition
    )
    assert client.get("/attachments/99999").status_code == 404


def test_the_bell_counts_unread_and_opening_the_ticket_reads_them(app, client):
    agent, sales = make_user(), make_user("sales", name="Park")
    ticket = make_ticket(subject="배송 문의")
    messages.add_note(actor(sales), ticket.id, body_text=f"@{agent.name} 확인해 주세요")
    login(client, agent.email)
    queue = client.get("/tickets").get_data(as_text=True)
    assert re.search(r'class="unread-count" >1</span>', queue)
    listing = client.get("/notifications").get_data(as_text=True)
    assert f"#{ticket.number} 배송 문의" in listing and "확인해 주세요" in listing
    page = client.get(f"/tickets/{ticket.number}").get_data(as_text=True)
    assert re.search(r'class="unread-count" hidden>0</span>', page)
    assert 'class="read"' in client.get("/notifications").get_data(as_text=True)


def test_bulk_changes_from_the_queue(app, client):
    agent = make_user(name="Jimin")
    picked, other = make_ticket(), make_ticket()
    login(client, agent.email)
    queue = client.get("/tickets").get_data(as_text=True)
    assert 'id="bulk"' in queue and f'name="ids" value="{picked.id}"' in queue
    done = client.post(
        "/tickets/bulk",
        data={
            "ids": [str(picked.id)],
            "assignee_id": str(agent.id),
            "priority": "high",
            "back": "/tickets?view=open",
            "csrf_token": csrf_token(client, "/tickets"),
        },
    )
    assert done.status_code == 302 and done.headers["Location"].endswith("/tickets?view=open")
    assert tickets.get_ticket(actor(agent), picked.id).assignee_id == agent.id
    assert tickets.get_ticket(actor(agent), other.id).assignee_id is None
    page = client.get("/tickets?view=open").get_data(as_text=True)
    assert "1 ticket updated." in page
    offsite = client.post(
        "/tickets/bulk",
        data={
            "ids": [str(other.id)],
            "status": "pending",
            "back": "//evil.example/x",
            "csrf_token": csrf_token(client, "/tickets"),
        },
    )
    assert offsite.headers["Location"] == "/tickets"


def test_filter_the_queue_then_save_it_as_a_view(app, client):
    agent = make_user()
    make_ticket(subject="긴급 채팅", priority="urgent", channel="chat")
    make_ticket(subject="Calm email", priority="low")
    login(client, agent.email)
    shown = client.get("/tickets?view=filter&priority=urgent&channel=chat").get_data(as_text=True)
    assert "긴급 채팅" in shown and "Calm email" not in shown
    assert 'name="name"' in shown  # offered to save it
    saved = client.post(
        "/views",
        data={
            "name": "급한 채팅",
            "priority": "urgent",
            "channel": "chat",
            "csrf_token": csrf_token(client, "/tickets?view=filter&priority=urgent"),
        },
    )
    key = saved.headers["Location"].split("view=")[1].replace("%3A", ":")
    page = client.get(f"/tickets?view={key}").get_data(as_text=True)
    assert 'class="saved-view"' in page and "급한 채팅" in page
    assert "긴급 채팅" in page and "Calm email" not in page
    assert client.get("/tickets/counts").get_json()[key] == 1
    client.post(
        f"/views/{key.split(':')[1]}/delete", data={"csrf_token": csrf_token(client, "/tickets")}
    )
    assert client.get(f"/tickets?view={key}").status_code == 404
    bad = client.get("/tickets?view=filter&status=done", follow_redirects=True)
    assert "Unknown status: done." in bad.get_data(as_text=True)


def test_customer_profile_page(app, client):
    sales = make_user("sales")
    customer = make_customer(name="이수진")
    ticket = make_ticket(customer, subject="환불 문의", body_text="환불해 주세요")
    messages.add_note(actor(sales), ticket.id, body_text="VIP 고객")
    login(client, sales.email)
    page = client.get(f"/customers/{customer.id}").get_data(as_text=True)
    assert "이수진" in page and f"#{ticket.number} 환불 문의" in page
    assert "환불해 주세요" in page and "VIP 고객" in page
    notes = client.get(f"/customers/{customer.id}?kind=notes").get_data(as_text=True)
    assert "VIP 고객" in notes and "환불해 주세요" not in notes
    assert client.get("/customers/999999").status_code == 404
    ticket_page = client.get(f"/tickets/{ticket.number}").get_data(as_text=True)
    assert f'href="/customers/{customer.id}"' in ticket_page


def test_a_failed_query_still_gets_a_plain_error_page(app, client, monkeypatch, caplog):
    from sqlalchemy import text

    from helpdesk.extensions import db
    from helpdesk.services import queue_views

    def broken(*_args, **_kwargs):
        db.session().execute(text("SELECT * FROM no_such_table"))

    login(client, make_user().email)
    monkeypatch.setattr(queue_views, "view_counts", broken)
    response = client.get("/tickets")
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert "no_such_table" not in page and "Traceback" not in page
    assert "<h1>" in page and 'class="bell"' in page  # the page itself rendered, signed in


def test_the_queue_marks_unread_rows_until_the_agent_opens_the_ticket(app, client):
    from helpdesk.services.permissions import SYSTEM

    agent = make_user()
    ticket = make_ticket(subject="환불 요청드립니다")
    other = make_ticket(subject="배송 문의")
    login(client, agent.email)

    def row(t) -> str:
        html = client.get("/tickets").get_data(as_text=True)
        match = re.search(rf'<tr data-ticket-id="{t.id}"[^>]*>', html)
        assert match, html
        return match.group(0)

    assert 'class="unread"' in row(ticket)
    assert client.get(f"/tickets/{ticket.number}").status_code == 200
    assert 'class="unread"' not in row(ticket) and 'class="unread"' in row(other)
    assert client.get(f"/tickets/read-state?ids={ticket.id},{other.id},x").get_json() == {
        str(ticket.id): False,
        str(other.id): True,
    }

    with time_machine.travel(datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=5)):
        messages.add_customer_message(SYSTEM, ticket.id, body_text="아직인가요?")
    assert 'class="unread"' in row(ticket)

    # The open ticket page reads the new message as it arrives (ticket.js posts this).
    token = csrf_token(client, f"/tickets/{other.number}")
    answer = client.post(f"/tickets/{ticket.number}/read", headers={"X-CSRFToken": token})
    assert answer.get_json() == {"was_unread": True}
    assert client.post(f"/tickets/{ticket.number}/read").status_code == 400  # no CSRF token

    # "Mark as unread" from the bulk bar.
    answer = client.post(
        "/tickets/unread",
        data={"ids": [str(ticket.id)], "csrf_token": token},
        headers={"Accept": "application/json"},
    )
    assert answer.get_json() == {str(ticket.id): True}
    assert 'class="unread"' in row(ticket)


def test_the_api_lists_tickets_with_the_callers_unread_marker(app, client):
    from tests.factories import token_for

    agent = make_user()
    ticket = make_ticket()
    headers = {"Authorization": f"Bearer {token_for(agent)}"}
    [item] = client.get("/api/v1/tickets", headers=headers).get_json()["items"]
    assert item["unread"] is True and item["last_customer_message_at"]
    from helpdesk.services import ticket_reads

    ticket_reads.mark_read(actor(agent), ticket.id)
    [item] = client.get("/api/v1/tickets", headers=headers).get_json()["items"]
    single = client.get(f"/api/v1/tickets/{ticket.id}", headers=headers).get_json()
    assert item["unread"] is False and single["unread"] is False


def test_mention_suggestions_for_the_composer(app, client):
    agent = make_user(name="Alex Kim", email="alex@dangol.test")
    make_user(name="김지수", email="jisoo.kim@dangol.test")
    assert client.get("/users/suggest?q=김").status_code == 302  # sign-in required
    login(client, agent.email)
    assert client.get("/users/suggest?q=김지").get_json() == [
        {"id": agent.id + 1, "name": "김지수", "username": "jisoo.kim"}
    ]
    page = client.get(f"/tickets/{make_ticket().number}").get_data(as_text=True)
    assert 'id="mention-list"' in page and "js/composer.js" in page


def test_knowledge_base_search_for_the_composer(app, client):
    from urllib.parse import quote

    from helpdesk.services import kb_articles, search_sync
    from helpdesk.services.permissions import SYSTEM

    agent = make_user()
    public = kb_articles.save_article(
        SYSTEM,
        {"translations": {"ko": {"title": "환불 절차 안내", "body": "**환불 신청**을 누르세요."}}},
    )
    internal = kb_articles.save_article(
        SYSTEM,
        {
            "visibility": "internal",
            "translations": {"ko": {"title": "환불 승인 규정", "body": "재무팀 승인"}},
        },
    )
    slug = public.translations[0].slug
    public_id, internal_id = public.id, internal.id
    for article_id in (public_id, internal_id):
        kb_articles.publish(SYSTEM, article_id)
    search_sync.rebuild(search_sync.search_index(app))
    login(client, agent.email)

    items = {i["article_id"]: i for i in client.get("/composer/kb?q=환불을").get_json()["items"]}
    assert items[public_id]["url"] == f"http://localhost/help/ko/{quote(slug)}"  # absolute
    assert items[internal_id]["url"] == f"http://localhost/kb/articles/{internal_id}"
    assert items[internal_id]["internal"] is True
    text = client.get(items[public_id]["text_url"]).get_json()
    assert text["text"] == "**환불 신청**을 누르세요."
    assert client.get(f"/composer/kb/{public_id}/en").status_code == 404
    empty = client.get("/composer/kb?q=")
    assert empty.status_code == 400 and empty.get_json()["items"] == []


def test_the_composer_sends_files_with_a_reply_and_keeps_the_draft_when_one_is_too_big(app, client):
    from io import BytesIO

    agent = make_user(name="Jimin")
    ticket = make_ticket()
    login(client, agent.email)
    path = f"/tickets/{ticket.number}"
    assert 'enctype="multipart/form-data"' in client.get(path).get_data(as_text=True)

    app.config["HELPDESK"].attachment_max_bytes = 1_000
    big = client.post(
        f"{path}/messages",
        data={
            "body": "견적서를 보내드립니다.",
            "kind": "reply",
            "csrf_token": csrf_token(client, path),
            "attachments": (BytesIO(b"x" * 2_000), "견적서.pdf"),
        },
    )
    assert big.status_code == 422
    page = big.get_data(as_text=True)
    assert "the limit is 1000 bytes" in page and "견적서를 보내드립니다." in page

    only_file = client.post(
        f"{path}/messages",
        data={
            "body": "",
            "kind": "note",
            "csrf_token": csrf_token(client, path),
            "attachments": [(BytesIO(b"%PDF-1"), "견적서.pdf"), (BytesIO(b"a,b"), "list.csv")],
        },
    )
    assert only_file.status_code == 302
    page = client.get(path).get_data(as_text=True)
    links = re.findall(r'href="(/attachments/\d+)">([^<]+)</a>', page)
    assert [name for _, name in links] == ["견적서.pdf", "list.csv"]
    assert client.get(links[0][0]).data == b"%PDF-1"


def test_log_call_records_an_internal_phone_message_from_the_composer(app, client):
    sales = make_user("sales", name="Park Seojun")
    ticket = make_ticket()
    login(client, sales.email)
    path = f"/tickets/{ticket.number}"
    page = client.get(path).get_data(as_text=True)
    assert 'value="call"' in page and 'value="reply"' not in page  # sales log calls, never reply
    answer = client.post(
        f"{path}/messages",
        data={
            "body": "Called: wants the invoice by Friday.",
            "kind": "call",
            "csrf_token": csrf_token(client, path),
        },
    )
    assert answer.status_code == 302
    page = client.get(path).get_data(as_text=True)
    assert "Call logged." in page and "Called: wants the invoice by Friday." in page
    [call] = [m for m in messages.list_messages(actor(sales), ticket.id) if m.kind == "phone"]
    assert (call.is_public, call.author_user_id) == (False, sales.id)
