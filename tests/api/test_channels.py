"""REST API v1, email channels and their quarantine: an admin sets up a support address, tests
it against real mail servers, and looks after the mail that could not become a ticket."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from sqlalchemy import select

from helpdesk.extensions import db
from helpdesk.models import AuditEvent, EmailChannel
from helpdesk.services import email_ingest
from tests.api.helpers import API, assert_error, user_with_token
from tests.email_helpers import mail, make_channel
from tests.mailservers import DovecotServer, SmtpSink, free_port

CHANNELS = f"{API}/channels/email"
QUARANTINE = f"{CHANNELS}/quarantine"
IMAP_PASSWORD = "imap 비밀-Secret!"
SMTP_PASSWORD = "smtp-Pa55word"
UNPARSABLE = b"\r\n\r\nno header at all"


@pytest.fixture
def admin(app) -> dict[str, str]:
    return user_with_token("admin")[1]


def settings(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "name": "Support",
        "address": "Help@Dangol.test",
        "display_name": "단골 고객지원",
        "imap_host": "imap.dangol.test",
        "imap_port": 993,
        "imap_username": "help",
        "imap_password": IMAP_PASSWORD,
        "smtp_host": "smtp.dangol.test",
        "smtp_port": 587,
    }
    values.update(overrides)
    return values


def test_an_admin_creates_reads_changes_and_deletes_a_channel(client, admin):
    created = client.post(CHANNELS, headers=admin, json=settings())
    assert created.status_code == 201, created.get_json()
    channel = created.get_json()
    assert created.headers["Location"] == f"{CHANNELS}/{channel['id']}"
    assert channel["address"] == "help@dangol.test"  # normalized by the service
    assert channel["imap_security"] == "ssl" and channel["smtp_security"] == "starttls"
    assert channel["imap_password_set"] is True and channel["smtp_password_set"] is False
    assert "imap_password" not in channel and "smtp_password" not in channel
    # the mailbox state is shown, starting empty
    assert channel["last_uid"] == 0 and channel["uid_validity"] is None
    assert channel["last_checked_at"] is None and channel["last_error"] is None
    assert channel["consecutive_failures"] == 0

    assert client.get(created.headers["Location"], headers=admin).get_json() == channel
    assert [c["id"] for c in client.get(CHANNELS, headers=admin).get_json()] == [channel["id"]]

    changed = client.patch(
        created.headers["Location"],
        headers=admin,
        json={"display_name": "Help desk", "smtp_password": SMTP_PASSWORD, "imap_password": None},
    )
    assert changed.status_code == 200, changed.get_json()
    body = changed.get_json()
    assert body["display_name"] == "Help desk"
    assert body["imap_password_set"] is True and body["smtp_password_set"] is True
    stored = db.session.get(EmailChannel, channel["id"], populate_existing=True)
    assert stored is not None and stored.smtp_password_encrypted

    deleted = client.delete(created.headers["Location"], headers=admin)
    assert deleted.status_code == 204 and deleted.get_data() == b""
    assert_error(client.get(created.headers["Location"], headers=admin), 404, "not_found")
    actions = db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions[-3:] == ["channel.created", "channel.updated", "channel.deleted"]


def test_mailbox_state_is_shown_but_never_accepted(client, admin):
    channel = make_channel()
    email_ingest.open_mailbox(channel.id, 4242)
    email_ingest.record_mailbox_error(channel.id, "auth_failed", "Login refused")
    shown = client.get(f"{CHANNELS}/{channel.id}", headers=admin).get_json()
    assert shown["uid_validity"] == 4242 and shown["consecutive_failures"] == 1
    assert shown["last_error"] == {"code": "auth_failed", "message": "Login refused"}
    assert shown["last_checked_at"] is not None

    for field, value in [("last_uid", 0), ("uid_validity", 1), ("imap_password_set", False)]:
        response = client.patch(f"{CHANNELS}/{channel.id}", headers=admin, json={field: value})
        assert_error(response, 422, "invalid", field)


def test_wrong_settings_are_named_field_by_field(client, admin):
    missing = client.post(CHANNELS, headers=admin, json={"name": "Support"})
    error = assert_error(missing, 422, "invalid")
    assert {"address", "imap_host", "imap_username", "imap_password", "smtp_host"} <= set(
        error["fields"]
    )

    wrong = client.post(
        CHANNELS,
        headers=admin,
        json=settings(imap_security="tls", smtp_port=70000, is_active="maybe", colour="red"),
    )
    assert_error(wrong, 422, "invalid", "imap_security", "smtp_port", "is_active", "colour")

    # checked by the service: still a 422 naming the field
    not_an_address = client.post(CHANNELS, headers=admin, json=settings(address="nobody"))
    assert_error(not_an_address, 422, "invalid", "address")

    first = client.post(CHANNELS, headers=admin, json=settings())
    assert first.status_code == 201
    again = client.post(CHANNELS, headers=admin, json=settings(name="Other"))
    assert_error(again, 409, "conflict")
    blank = client.patch(first.headers["Location"], headers=admin, json={"imap_host": ""})
    assert_error(blank, 422, "invalid", "imap_host")
    assert_error(client.patch(f"{CHANNELS}/999999", headers=admin, json={}), 404, "not_found")


@pytest.mark.parametrize("role", ["agent", "sales"])
def test_only_admins_see_or_touch_channels_and_quarantine(client, role):
    channel = make_channel()
    held = email_ingest.ingest(channel.id, 1, UNPARSABLE).quarantine_id
    headers = user_with_token(role)[1]
    calls = [
        ("GET", CHANNELS, None),
        ("POST", CHANNELS, settings()),
        ("GET", f"{CHANNELS}/{channel.id}", None),
        ("PATCH", f"{CHANNELS}/{channel.id}", {"name": "Mine"}),
        ("DELETE", f"{CHANNELS}/{channel.id}", None),
        ("POST", f"{CHANNELS}/{channel.id}/test", None),
        ("GET", QUARANTINE, None),
        ("GET", f"{QUARANTINE}/{held}", None),
        ("GET", f"{QUARANTINE}/{held}/raw", None),
        ("POST", f"{QUARANTINE}/{held}/release", None),
        ("DELETE", f"{QUARANTINE}/{held}", None),
    ]
    for method, path, body in calls:
        response = client.open(path, method=method, headers=headers, json=body)
        assert_error(response, 403, "forbidden")
        assert UNPARSABLE not in response.get_data()
    assert db.session.scalars(select(EmailChannel.name)).all() == [channel.name]


def test_passwords_never_leave_the_server_nor_reach_the_logs(client, admin, caplog):
    caplog.set_level(logging.DEBUG)
    bodies: list[str] = []

    def keep(response: Any) -> Any:
        bodies.append(response.get_data(as_text=True) + str(response.headers))
        return response

    created = keep(
        client.post(
            CHANNELS,
            headers=admin,
            json=settings(
                imap_port=free_port(),
                imap_security="none",
                smtp_port=free_port(),
                smtp_security="none",
                smtp_username="mailer",
                smtp_password=SMTP_PASSWORD,
            ),
        )
    )
    location = created.headers["Location"]
    keep(client.get(location, headers=admin))
    keep(client.get(CHANNELS, headers=admin))
    keep(client.patch(location, headers=admin, json={"imap_password": IMAP_PASSWORD + "2"}))
    keep(client.post(f"{location}/test", headers=admin))
    # refused requests that carry a password echo nothing of it
    keep(client.patch(location, headers=admin, json={"imap_password": 42}))
    keep(client.patch(location, headers=admin, json={"smtp_password": "x" * 1001}))
    keep(client.post(CHANNELS, headers=admin, json=settings(imap_security="bad")))
    keep(client.post(CHANNELS, headers=admin, json=settings(name="Support")))  # conflict
    keep(client.get(f"{API}/openapi.json"))

    encrypted = db.session.scalars(select(EmailChannel.imap_password_encrypted)).one()
    assert encrypted
    seen = "\n".join(bodies) + "\n" + caplog.text
    seen += "\n".join(str(record.args) for record in caplog.records)
    for secret in (IMAP_PASSWORD, IMAP_PASSWORD + "2", SMTP_PASSWORD, "x" * 1001, encrypted):
        assert secret not in seen
    audit = db.session.scalars(select(AuditEvent.data)).all()
    assert all(IMAP_PASSWORD not in str(data) for data in audit)


def test_the_passwords_are_write_only_in_the_openapi_document(client):
    schemas = client.get(f"{API}/openapi.json").get_json()["components"]["schemas"]
    channel = schemas["Channel"]["properties"]
    assert channel["imap_password"]["writeOnly"] is True
    assert channel["smtp_password"]["writeOnly"] is True
    assert channel["last_uid"]["readOnly"] is True
    assert "imap_password" in schemas["ChannelCreate"]["required"]


def test_testing_a_channel_logs_in_to_real_servers(client, admin):
    with DovecotServer() as dovecot, SmtpSink(username="mailer", password=SMTP_PASSWORD) as sink:
        dovecot.add_user("help", IMAP_PASSWORD)
        created = client.post(
            CHANNELS,
            headers=admin,
            json=settings(
                imap_host=dovecot.host,
                imap_port=dovecot.port,
                imap_security="none",
                smtp_host=sink.host,
                smtp_port=sink.port,
                smtp_security="none",
                smtp_username="mailer",
                smtp_password=SMTP_PASSWORD,
            ),
        )
        response = client.post(f"{created.headers['Location']}/test", headers=admin)
    assert response.status_code == 200, response.get_json()
    report = response.get_json()
    assert report["ok"] is True, report
    assert report["imap"]["ok"] is True and report["imap"]["error_code"] is None
    assert report["smtp"]["ok"] is True and report["smtp"]["error_code"] is None
    assert report["imap"]["message"] and report["smtp"]["message"]
    assert sink.messages == []  # a test sends nothing


def test_testing_a_channel_on_a_closed_port_says_connection_refused(client, admin):
    with SmtpSink() as sink:
        channel = make_channel(imap_port=free_port(), smtp_port=sink.port)
        response = client.post(f"{CHANNELS}/{channel.id}/test", headers=admin)
        closed = make_channel(imap_port=free_port(), smtp_port=free_port())
        both = client.post(f"{CHANNELS}/{closed.id}/test", headers=admin).get_json()
    assert response.status_code == 200
    report = response.get_json()
    assert report["ok"] is False
    assert report["imap"]["ok"] is False and report["imap"]["error_code"] == "connection_refused"
    assert report["imap"]["message"]
    assert report["smtp"]["ok"] is True
    assert both["smtp"]["error_code"] == "connection_refused" and both["ok"] is False
    assert_error(client.post(f"{CHANNELS}/999999/test", headers=admin), 404, "not_found")


def test_unparsable_mail_waits_in_the_quarantine_for_an_admin(client, admin):
    channel, other = make_channel(), make_channel()
    stored = email_ingest.ingest(channel.id, 1, mail(to=channel.address, message_id="ok@x.kr"))
    assert stored.outcome == "created"
    first = email_ingest.ingest(channel.id, 2, UNPARSABLE)
    nobody = b"Subject: no sender\r\n\r\nhello"
    second = email_ingest.ingest(channel.id, 3, nobody)
    elsewhere = email_ingest.ingest(other.id, 1, UNPARSABLE)
    assert {first.outcome, second.outcome, elsewhere.outcome} == {"quarantined"}

    listing = client.get(QUARANTINE, headers=admin, query_string={"channel": channel.id})
    assert listing.status_code == 200, listing.get_json()
    page = listing.get_json()
    assert [i["id"] for i in page["items"]] == [second.quarantine_id, first.quarantine_id]
    assert page["next_cursor"] is None
    newest = page["items"][0]
    assert newest["channel_id"] == channel.id and newest["uid"] == 3
    assert newest["reason"] == "no sender address" and newest["state"] == "held"
    assert newest["size"] == len(nobody)
    everything = client.get(QUARANTINE, headers=admin).get_json()["items"]
    assert [i["id"] for i in everything] == [
        elsewhere.quarantine_id,
        second.quarantine_id,
        first.quarantine_id,
    ]

    one = client.get(f"{QUARANTINE}/{first.quarantine_id}", headers=admin).get_json()
    assert one["reason"] and one["uid"] == 2 and one["resolved_at"] is None
    raw = client.get(one["raw_url"], headers=admin)
    assert raw.status_code == 200
    assert raw.mimetype == "message/rfc822"
    assert raw.headers["Content-Disposition"].startswith("attachment")
    assert f"quarantine-{first.quarantine_id}.eml" in raw.headers["Content-Disposition"]
    assert raw.get_data() == UNPARSABLE


def test_the_quarantine_pages_newest_first(client, admin):
    channel = make_channel()
    held = [
        email_ingest.ingest(channel.id, uid, b"Subject: %d\r\n\r\nno sender" % uid).quarantine_id
        for uid in range(1, 6)
    ]
    seen: list[int] = []
    cursor = None
    for _ in range(5):
        query: dict[str, Any] = {"limit": 2}
        if cursor:
            query["cursor"] = cursor
        page = client.get(QUARANTINE, headers=admin, query_string=query).get_json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == held[::-1]
    for query in ({"limit": 0}, {"cursor": "abc"}, {"state": "gone"}, {"colour": "red"}):
        field = next(iter(query))
        assert_error(client.get(QUARANTINE, headers=admin, query_string=query), 422, None, field)


def test_releasing_or_deleting_takes_a_message_off_the_held_list(client, admin):
    channel = make_channel()
    released, deleted = (
        email_ingest.ingest(channel.id, uid, raw).quarantine_id
        for uid, raw in ((1, UNPARSABLE), (2, b"Subject: x\r\n\r\nno sender"))
    )
    response = client.post(f"{QUARANTINE}/{released}/release", headers=admin)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["state"] == "released"
    assert response.get_json()["resolved_at"] is not None
    gone = client.delete(f"{QUARANTINE}/{deleted}", headers=admin)
    assert gone.status_code == 204

    assert client.get(QUARANTINE, headers=admin).get_json()["items"] == []
    by_state = {
        state: [
            i["id"]
            for i in client.get(
                QUARANTINE, headers=admin, query_string={"state": state}
            ).get_json()["items"]
        ]
        for state in ("released", "deleted")
    }
    assert by_state == {"released": [released], "deleted": [deleted]}
    # the bytes are kept: a decision can still be looked into
    assert client.get(f"{QUARANTINE}/{deleted}/raw", headers=admin).status_code == 200
    resolved = db.session.scalars(
        select(AuditEvent.changes).where(AuditEvent.action == "channel.quarantine_resolved")
    ).all()
    assert resolved == [{"state": ["held", "released"]}, {"state": ["held", "deleted"]}]
    for path in (f"{QUARANTINE}/999999", f"{QUARANTINE}/999999/raw"):
        assert_error(client.get(path, headers=admin), 404, "not_found")
    assert_error(client.delete(f"{QUARANTINE}/999999", headers=admin), 404, "not_found")
