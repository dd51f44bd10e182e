"""The email channel pages: channels edited by admins through forms, "test connection", and
the quarantine of mail that could not become a ticket message."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

from sqlalchemy import func, select

from helpdesk import web_channels
from helpdesk.extensions import db
from helpdesk.models import EmailChannel, EmailQuarantine
from helpdesk.services import email_ingest
from helpdesk.services.secrets import decrypt_secret
from tests.conftest import csrf_token, login, post_form
from tests.email_helpers import make_channel
from tests.factories import make_group, make_user
from tests.mailservers import SmtpSink

IMAP_PASSWORD = "imap-Pa55 비밀"
SMTP_PASSWORD = "smtp-Pa55 secret"


def _admin(client, **kw: Any):
    admin = make_user("admin", locale="en", **kw)
    login(client, admin.email)
    return admin


def _form(**changes: Any) -> dict[str, Any]:
    form: dict[str, Any] = {
        "name": "Support",
        "address": "Help@Dangol.test",
        "display_name": "단골 고객지원",
        "group_id": "",
        "is_active": "1",
        "reply_all": "1",
        "imap_host": "imap.dangol.test",
        "imap_port": "993",
        "imap_security": "ssl",
        "imap_username": "help",
        "imap_password": IMAP_PASSWORD,
        "imap_folder": "INBOX",
        "imap_processed_folder": "Done",
        "smtp_host": "smtp.dangol.test",
        "smtp_port": "",
        "smtp_security": "starttls",
        "smtp_username": "mailer",
        "smtp_password": SMTP_PASSWORD,
    }
    form.update(changes)
    return {k: v for k, v in form.items() if v is not None}


def _count(model: type[EmailChannel] | type[EmailQuarantine]) -> int:
    db.session.rollback()  # read what the requests committed, not this session's snapshot
    return int(db.session.scalar(select(func.count()).select_from(model)) or 0)


def _stored(channel_id: int) -> EmailChannel | None:
    db.session.rollback()
    return db.session.get(EmailChannel, channel_id)


def _by_name(name: str) -> EmailChannel:
    db.session.rollback()
    channel = db.session.scalar(select(EmailChannel).where(EmailChannel.name == name))
    assert channel is not None, name
    return channel


def _state(quarantine_id: int) -> str:
    db.session.rollback()
    row = db.session.get(EmailQuarantine, quarantine_id)
    assert row is not None
    return row.state


def _field_errors(page: str) -> list[str]:
    return [unescape(e) for e in re.findall(r'class="field-error" role="alert">(.*?)</p>', page)]


def _flashes(page: str, category: str = "error") -> list[str]:
    pattern = rf'class="flash {category}" role="status">(.*?)</p>'
    return [unescape(f) for f in re.findall(pattern, page)]


def _quarantined(channel: EmailChannel, uid: int, text: str = "unparsable") -> int:
    result = email_ingest.ingest(channel.id, uid, f"\r\n\r\n{text} {uid}".encode())
    assert result.outcome == "quarantined" and result.quarantine_id
    return result.quarantine_id


def _row(page: str, attribute: str, value: int) -> str:
    match = re.search(rf'<tr {attribute}="{value}"[^>]*>(.*?)</tr>', page, re.S)
    assert match is not None, f"no row {attribute}={value}"
    return " ".join(match.group(1).split())


def test_admin_creates_a_channel_and_the_passwords_stay_secret(app, client):
    _admin(client)
    group = make_group("Tier 1")
    assert 'href="/admin/channels"' in client.get("/tickets").get_data(as_text=True)  # nav link
    form = client.get("/admin/channels/new").get_data(as_text=True)
    for mode in ("ssl", "starttls", "none"):
        assert f'<option value="{mode}"' in form
    assert '<option value="ssl" selected>' in form and '<option value="starttls" selected>' in form
    assert f'<option value="{group.id}" >Tier 1</option>' in form
    assert 'name="imap_password" type="password" value=""' in form
    assert 'name="smtp_password" type="password" value=""' in form

    response = post_form(client, "/admin/channels/new", _form(group_id=str(group.id)))
    assert response.status_code == 302 and response.headers["Location"] == "/admin/channels"

    channel = _by_name("Support")
    assert channel.address == "help@dangol.test"
    assert (channel.imap_host, channel.imap_port, channel.imap_security) == (
        "imap.dangol.test",
        993,
        "ssl",
    )
    assert channel.imap_processed_folder == "Done" and channel.group_id == group.id
    assert (channel.smtp_port, channel.smtp_security, channel.smtp_username) == (
        None,
        "starttls",
        "mailer",
    )
    assert channel.is_active and channel.reply_all and not channel.auto_acknowledge
    # Stored encrypted: no column holds a password as typed.
    row = db.session.execute(select(EmailChannel.__table__)).one()
    for value in row:
        assert IMAP_PASSWORD not in str(value) and SMTP_PASSWORD not in str(value)
    assert channel.imap_password_encrypted and channel.smtp_password_encrypted
    assert decrypt_secret(channel.imap_password_encrypted) == IMAP_PASSWORD
    assert decrypt_secret(channel.smtp_password_encrypted) == SMTP_PASSWORD

    listing = client.get("/admin/channels").get_data(as_text=True)
    assert _flashes(listing, "success") == ["Channel Support saved."]
    row_text = _row(listing, "data-channel-id", channel.id)
    assert "Support" in row_text and "help@dangol.test" in row_text and "Tier 1" in row_text
    assert ">Active<" in row_text and "Never" in row_text

    # The edit page shows the settings but neither password, plain or encrypted.
    page = client.get(f"/admin/channels/{channel.id}").get_data(as_text=True)
    assert 'value="imap.dangol.test"' in page and 'value="993"' in page
    assert '<option value="starttls" selected>' in page
    assert f'<option value="{group.id}" selected>Tier 1</option>' in page
    for secret in (
        IMAP_PASSWORD,
        SMTP_PASSWORD,
        channel.imap_password_encrypted,
        channel.smtp_password_encrypted,
    ):
        assert secret not in page and unescape(secret) not in unescape(page)
    assert 'name="imap_password" type="password" value=""' in page
    assert page.count("Set. Leave empty to keep the current password.") == 2


def test_editing_keeps_the_passwords_left_empty(app, client):
    _admin(client)
    channel = make_channel(name="Sales", smtp_password=SMTP_PASSWORD)
    imap_before, smtp_before = channel.imap_password_encrypted, channel.smtp_password_encrypted
    path = f"/admin/channels/{channel.id}"
    form = _form(
        name="Sales desk",
        address=channel.address,
        imap_port="1143",
        imap_security="none",
        imap_processed_folder="",
        smtp_port="2525",
        smtp_username="",
        imap_password="",
        smtp_password="",
        is_active=None,  # unticked
        auto_acknowledge="1",
    )
    response = post_form(client, path, form)
    assert response.status_code == 302 and response.headers["Location"] == "/admin/channels"
    stored = _stored(channel.id)
    assert stored is not None and stored.name == "Sales desk"
    assert (stored.imap_port, stored.imap_security, stored.smtp_port) == (1143, "none", 2525)
    assert stored.imap_processed_folder is None and stored.smtp_username is None
    assert not stored.is_active and stored.auto_acknowledge
    assert stored.imap_password_encrypted == imap_before
    assert stored.smtp_password_encrypted == smtp_before
    listing = client.get("/admin/channels").get_data(as_text=True)
    assert ">Inactive<" in _row(listing, "data-channel-id", channel.id)

    # A password typed on the edit page replaces that one only.
    response = post_form(
        client, path, dict(form, imap_password="new imap secret", smtp_password="")
    )
    assert response.status_code == 302
    stored = _stored(channel.id)
    assert stored is not None and stored.imap_password_encrypted
    assert decrypt_secret(stored.imap_password_encrypted) == "new imap secret"
    assert stored.smtp_password_encrypted == smtp_before


def test_a_bad_form_is_shown_again_with_the_message_and_nothing_is_saved(app, client):
    _admin(client)
    path = "/admin/channels/new"
    response = post_form(client, path, _form(smtp_host=""))
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "Traceback" not in page
    assert _flashes(page) == ["Required: smtp_host."] == _field_errors(page)
    assert re.search(r'name="smtp_host" value=""[^>]*aria-invalid="true"', page)
    assert 'value="Support"' in page and 'value="imap.dangol.test"' in page  # as typed
    assert IMAP_PASSWORD not in page and SMTP_PASSWORD not in page  # never sent back
    assert "type them once more" in page
    assert _count(EmailChannel) == 0

    for changes, field in (
        ({"imap_port": "99999"}, "imap_port"),
        ({"smtp_port": "twenty-five"}, "smtp_port"),
        ({"address": "not an address"}, "address"),
        ({"imap_folder": ""}, "imap_folder"),
        ({"group_id": "424242"}, "group_id"),
    ):
        response = post_form(client, path, _form(**changes))
        page = response.get_data(as_text=True)
        assert response.status_code == 422, changes
        [message] = _flashes(page)
        assert _field_errors(page) == [message], changes
        assert re.search(rf'name="{field}"[^>]*aria-invalid="true"', page), changes
        if field != "group_id":
            assert field in message, message
    assert _count(EmailChannel) == 0

    # The same on the edit page: the stored channel is left as it was.
    channel = make_channel(name="Kept", imap_port=993)
    edit = f"/admin/channels/{channel.id}"
    response = post_form(
        client, edit, _form(name="Renamed", address=channel.address, imap_port="0")
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert _flashes(page) == ["Some channel settings are not valid: imap_port."]
    assert 'value="Renamed"' in page and 'value="0"' in page
    stored = _stored(channel.id)
    assert stored is not None and (stored.name, stored.imap_port) == ("Kept", 993)

    # Another channel's name: a conflict, flashed.
    response = post_form(client, path, _form(name="Kept"))
    assert response.status_code == 409
    assert _flashes(response.get_data(as_text=True)) == [
        "Another channel already has the name Kept."
    ]
    assert _count(EmailChannel) == 1


def test_test_connection_shows_both_sides(app, client):
    _admin(client)
    channel = make_channel(name="Closed ports")  # both servers on port 1: refused at once
    path = f"/admin/channels/{channel.id}"
    response = post_form(client, f"{path}/test", {}, token_from=path)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Traceback" not in page
    results = page.split('id="test-results"', 1)[1].split("</section>", 1)[0]
    for side, title in (("imap", "Incoming mail (IMAP)"), ("smtp", "Outgoing mail (SMTP)")):
        block = re.search(
            rf'class="test-side failed" data-side="{side}">(.*?)</div>', results, re.S
        )
        assert block is not None, side
        text = " ".join(block.group(1).split())
        assert f"{title}: Failed" in text
        assert "<strong>Connection refused</strong> <code>connection_refused</code>" in text
        assert "127.0.0.1:1 refused the connection" in unescape(text)
    assert 'value="Closed ports"' in page  # the form is still there, as stored
    for secret in ("imap secret 비밀", channel.imap_password_encrypted):
        assert secret and secret not in page
    stored = _stored(channel.id)  # a test changes nothing
    assert stored is not None and stored.last_checked_at is None and stored.last_error_code is None

    with SmtpSink() as sink:
        working = make_channel(name="Half working", smtp_port=sink.port)
        path = f"/admin/channels/{working.id}"
        page = post_form(client, f"{path}/test", {}, token_from=path).get_data(as_text=True)
    assert 'class="test-side failed" data-side="imap"' in page
    smtp = re.search(r'class="test-side ok" data-side="smtp">(.*?)</div>', page, re.S)
    assert smtp is not None and "Outgoing mail (SMTP): Works" in " ".join(smtp.group(1).split())
    assert sink.messages == []


def test_admin_deletes_a_channel_and_its_quarantine(app, client):
    _admin(client)
    channel, other = make_channel(name="Old"), make_channel(name="Current")
    _quarantined(channel, 1)
    path = f"/admin/channels/{channel.id}"
    response = post_form(client, f"{path}/delete", {}, token_from=path)
    assert response.status_code == 302 and response.headers["Location"] == "/admin/channels"
    assert _stored(channel.id) is None and _stored(other.id) is not None
    assert _count(EmailQuarantine) == 0
    listing = client.get("/admin/channels").get_data(as_text=True)
    assert _flashes(listing, "success") == ["Channel Old deleted."]
    assert f'data-channel-id="{channel.id}"' not in listing


def test_the_quarantine_lists_serves_releases_and_deletes_held_mail(app, client, monkeypatch):
    _admin(client)
    one, two = make_channel(name="One"), make_channel(name="Two")
    first, second, third = (_quarantined(one, uid) for uid in (1, 2, 3))
    elsewhere = _quarantined(two, 1)

    listing = client.get("/admin/channels").get_data(as_text=True)
    assert 'href="/admin/channels/quarantine"' in listing
    held_link = f'<a href="/admin/channels/quarantine?channel={one.id}">3</a>'
    assert held_link in _row(listing, "data-channel-id", one.id)
    assert ">1</a>" in _row(listing, "data-channel-id", two.id)

    page = client.get("/admin/channels/quarantine").get_data(as_text=True)
    ids = [int(i) for i in re.findall(r'<tr data-quarantine-id="(\d+)"', page)]
    assert ids == [elsewhere, third, second, first]  # newest first
    row = _row(page, "data-quarantine-id", first)
    assert "<td>One</td>" in row and '<td class="num">16 Bytes</td>' in row
    assert '<td class="reason">no header section</td>' in row and "Download (.eml)" in row
    assert "Two" in _row(page, "data-quarantine-id", elsewhere)

    # One channel's, a page at a time.
    monkeypatch.setattr(web_channels, "QUARANTINE_PAGE", 2)
    page = client.get(f"/admin/channels/quarantine?channel={one.id}").get_data(as_text=True)
    assert [int(i) for i in re.findall(r'<tr data-quarantine-id="(\d+)"', page)] == [third, second]
    assert f'<option value="{one.id}" selected>One</option>' in page
    more = re.search(r'<a href="([^"]+)" rel="next">Next page</a>', page)
    assert more is not None
    next_url = unescape(more.group(1))
    assert next_url == f"/admin/channels/quarantine?channel={one.id}&cursor={second}"
    page = client.get(next_url).get_data(as_text=True)
    assert [int(i) for i in re.findall(r'<tr data-quarantine-id="(\d+)"', page)] == [first]
    assert 'rel="next"' not in page and "First page" in page

    # The raw message, exactly as fetched, as a download.
    raw_link = re.search(r'<a href="([^"]+)" download class="raw">', page)
    assert raw_link is not None
    raw = client.get(unescape(raw_link.group(1)))
    assert raw.status_code == 200 and raw.mimetype == "message/rfc822"
    assert raw.headers["Content-Disposition"].startswith("attachment;")
    assert f"quarantine-{first}.eml" in raw.headers["Content-Disposition"]
    assert raw.data == b"\r\n\r\nunparsable 1"

    # Release and delete come back to the same filtered page, with the outcome.
    back = f"/admin/channels/quarantine?channel={one.id}"
    form = {"channel": str(one.id)}
    response = post_form(client, f"/admin/channels/quarantine/{first}/release", form, back)
    assert response.status_code == 302 and response.headers["Location"] == back
    page = client.get(back).get_data(as_text=True)
    assert _flashes(page, "success") == [f"Message {first} released: marked as dealt with."]
    assert _state(first) == "released"
    assert f'data-quarantine-id="{first}"' not in page

    response = post_form(client, f"/admin/channels/quarantine/{second}/delete", form, back)
    assert response.status_code == 302 and response.headers["Location"] == back
    page = client.get(back).get_data(as_text=True)
    assert _flashes(page, "success") == [f"Message {second} deleted."]
    assert _state(second) == "deleted"

    # A second click on a message already dealt with changes nothing.
    response = post_form(client, f"/admin/channels/quarantine/{second}/release", {}, back)
    assert response.headers["Location"] == "/admin/channels/quarantine"
    page = client.get("/admin/channels/quarantine").get_data(as_text=True)
    assert _flashes(page, "info") == [f"Message {second} was already dealt with."]
    assert _state(second) == "deleted"
    assert [int(i) for i in re.findall(r'<tr data-quarantine-id="(\d+)"', page)] == [
        elsewhere,
        third,
    ]


def test_the_list_shows_the_mailbox_state(app, client):
    _admin(client)
    channel = make_channel(name="Failing")
    db.session.rollback()
    stored = db.session.get(EmailChannel, channel.id)
    assert stored is not None
    stored.last_error_code = "auth_failed"
    stored.last_error_message = "The server refused the login of 'help'."
    stored.consecutive_failures = 4
    db.session.commit()
    listing = client.get("/admin/channels").get_data(as_text=True)
    row = unescape(_row(listing, "data-channel-id", channel.id))
    assert "<strong>Login failed</strong> <code>auth_failed</code>" in row
    assert "The server refused the login of 'help'." in row
    assert '<td class="num failures">4</td>' in row


def test_agents_are_refused_every_page_and_change(app, client):
    channel = make_channel(name="Support")
    held = _quarantined(channel, 1)
    agent = make_user("agent")
    login(client, agent.email)
    assert "/admin/channels" not in client.get("/tickets").get_data(as_text=True)  # no nav link
    token = csrf_token(client, "/tickets")
    for path in (
        "/admin/channels",
        "/admin/channels/new",
        f"/admin/channels/{channel.id}",
        "/admin/channels/quarantine",
        f"/api/v1/channels/email/quarantine/{held}/raw",
    ):
        response = client.get(path)
        assert response.status_code == 403, path
        if not path.startswith("/api/"):
            body = response.get_data(as_text=True)
            assert "You are not allowed to do this (channel.admin)." in body

    posts = {
        "/admin/channels/new": _form(name="Sneaky"),
        f"/admin/channels/{channel.id}": _form(name="Sneaky", imap_password="stolen"),
        f"/admin/channels/{channel.id}/test": {},
        f"/admin/channels/{channel.id}/delete": {},
        f"/admin/channels/quarantine/{held}/release": {},
        f"/admin/channels/quarantine/{held}/delete": {},
    }
    before = channel.imap_password_encrypted
    for path, form in posts.items():
        response = client.post(path, data=dict(form, csrf_token=token))
        assert response.status_code == 403, path
    assert _count(EmailChannel) == 1
    stored = _stored(channel.id)
    assert stored is not None and stored.name == "Support"
    assert stored.imap_password_encrypted == before
    assert _state(held) == "held"


def test_pages_need_sign_in_and_unknown_ids_are_404(app, client):
    response = client.get("/admin/channels")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    _admin(client)
    response = client.get("/admin/channels/999")
    assert response.status_code == 404
    assert "Email channel 999 not found." in response.get_data(as_text=True)
    token = csrf_token(client, "/admin/channels")
    for path in ("/admin/channels/999/test", "/admin/channels/999/delete"):
        assert client.post(path, data={"csrf_token": token}).status_code == 404, path
    response = client.post("/admin/channels/quarantine/999/release", data={"csrf_token": token})
    assert response.status_code == 404
    # A filter or cursor that is not a number is ignored, not an error.
    assert client.get("/admin/channels/quarantine?channel=x&cursor=-3").status_code == 200


def test_the_korean_list_page(app, client):
    admin = make_user("admin", locale="ko")
    login(client, admin.email)
    group = make_group("1차 지원")
    channel = make_channel(name="고객센터", group_id=group.id)
    _quarantined(channel, 1)
    response = client.get("/admin/channels")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and '<html lang="ko">' in page
    row = _row(page, "data-channel-id", channel.id)
    assert "고객센터" in row and "1차 지원" in row and ">활성<" in row
    assert "<th>이름</th>" in page and "<th>그룹</th>" in page and "<th>상태</th>" in page
    assert "로그아웃" in page
    response = client.get("/admin/channels/999")
    assert "이메일 채널 999을(를) 찾을 수 없습니다." in response.get_data(as_text=True)
    page = client.get("/admin/channels/quarantine").get_data(as_text=True)
    assert '<html lang="ko">' in page and "고객센터" in page and "<th>채널</th>" in page


def test_store_again_reports_a_message_still_refused_and_keeps_it_held(app, client):
    _admin(client)
    channel = make_channel(name="Support")
    held = _quarantined(channel, 1)
    answer = post_form(
        client, f"/admin/channels/quarantine/{held}/retry", {}, "/admin/channels/quarantine"
    )
    page = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert any("still refused: no header section" in f for f in _flashes(page, "error"))
    assert f'data-quarantine-id="{held}"' in page  # still listed as held
