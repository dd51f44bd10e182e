"""Email channel administration and the encryption of their passwords."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import text

from helpdesk.extensions import db
from helpdesk.services import email_channels, secrets
from helpdesk.services.errors import Conflict, Forbidden, Invalid
from helpdesk.services.permissions import SYSTEM
from tests.email_helpers import make_channel
from tests.factories import actor, make_user
from tests.mailservers import SmtpSink, free_port

PASSWORD = "imap secret 비밀"


def test_passwords_round_trip_and_never_show(app, caplog):
    caplog.set_level(logging.DEBUG)
    channel = make_channel(imap_password=PASSWORD, smtp_username="mailer", smtp_password="s3cret")
    stored = db.session.execute(
        text("SELECT imap_password_encrypted, smtp_password_encrypted FROM email_channels")
    ).one()
    assert PASSWORD not in stored[0] and "s3cret" not in stored[1]
    assert secrets.decrypt_secret(stored[0]) == PASSWORD
    assert email_channels.mailbox_config(channel).password == PASSWORD
    assert email_channels.smtp_config(channel).password == "s3cret"

    view = email_channels.channel_view(channel)
    assert view["imap_password"] == "set" and view["smtp_password"] == "set"
    shown = " ".join(
        [repr(channel), str(view), repr(email_channels.mailbox_config(channel)), caplog.text]
    )
    assert PASSWORD not in shown and "s3cret" not in shown and stored[0] not in shown


def test_another_secret_key_cannot_read_the_passwords(app):
    token = secrets.encrypt_secret(PASSWORD)
    app.config["HELPDESK"].secret_key = "a different key"
    with pytest.raises(secrets.SecretUnreadable):
        secrets.decrypt_secret(token)


def test_only_admins_manage_channels(app):
    agent, admin = make_user("agent"), make_user("admin")
    with pytest.raises(Forbidden):
        email_channels.list_channels(actor(agent))
    channel = make_channel()
    assert [c.id for c in email_channels.list_channels(actor(admin))] == [channel.id]


def test_invalid_settings_name_each_field(app):
    with pytest.raises(Invalid) as missing:
        email_channels.create_channel(SYSTEM, name="Support")
    assert {"address", "imap_host", "imap_username", "imap_password", "smtp_host"} <= set(
        missing.value.fields
    )
    with pytest.raises(Invalid) as wrong:
        make_channel(address="not-an-address", imap_security="tls", smtp_port=70000)
    assert set(wrong.value.fields) == {"address", "imap_security", "smtp_port"}
    first = make_channel(name="Support")
    with pytest.raises(Conflict) as same_address:
        make_channel(address=first.address.upper())
    assert same_address.value.fields == {"address": ["taken"]}
    with pytest.raises(Conflict) as same_name:  # names differing only in case are one name
        make_channel(name="SUPPORT")
    assert same_name.value.fields == {"name": ["taken"]}


def test_update_keeps_the_password_unless_a_new_one_is_given(app):
    channel = make_channel()
    before = channel.imap_password_encrypted
    email_channels.update_channel(SYSTEM, channel.id, {"display_name": "Help", "imap_password": ""})
    assert channel.imap_password_encrypted == before and channel.display_name == "Help"
    email_channels.update_channel(SYSTEM, channel.id, {"imap_password": "new one"})
    assert email_channels.mailbox_config(channel).password == "new one"


def test_an_smtp_password_can_be_cleared_for_a_relay_without_login(app):
    channel = make_channel(smtp_username="mailer", smtp_password="s3cret")
    email_channels.update_channel(SYSTEM, channel.id, {"smtp_password": ""})  # blank: kept
    assert email_channels.smtp_config(channel).password == "s3cret"
    email_channels.update_channel(
        SYSTEM, channel.id, {"smtp_password": None, "smtp_username": None}
    )
    assert channel.smtp_password_encrypted is None
    assert email_channels.smtp_config(channel).password is None
    assert email_channels.channel_view(channel)["smtp_password"] != "set"


def test_test_channel_reports_each_side(app):
    with SmtpSink() as sink:
        channel = make_channel(imap_port=free_port(), smtp_port=sink.port)
        report = email_channels.test_channel(SYSTEM, channel.id)
    assert not report.imap.ok and report.imap.error_code == "connection_refused"
    assert report.smtp.ok and channel.address in report.smtp.message
    assert not report.ok
