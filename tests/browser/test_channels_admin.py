"""An admin sets up an email channel in a real browser and tests its connection."""

from __future__ import annotations

from playwright.sync_api import expect
from sqlalchemy import select

from helpdesk.extensions import db
from helpdesk.models import EmailChannel
from tests.browser.test_staff_pages import sign_in
from tests.factories import make_group, make_user
from tests.mailservers import SmtpSink

IMAP_PASSWORD = "browser imap secret"


def test_admin_creates_a_channel_and_tests_its_connection(app, browser, live_server, screenshot):
    admin = make_user("admin", name="Jiwoo Han", locale="en", timezone="Asia/Seoul")
    make_group("Tier 1")
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    sign_in(page, live_server, admin.email)

    with SmtpSink() as sink:
        page.click("header nav >> text=Channels")
        page.wait_for_url(f"{live_server.url}/admin/channels")
        page.click("text=New email channel")
        page.fill("input[name=name]", "Support")
        page.fill("input[name=address]", "help@dangol.test")
        page.fill("input[name=display_name]", "Dangol Support")
        page.select_option("select[name=group_id]", label="Tier 1")
        # Nobody listens on port 1: the mailbox side is refused; the SMTP side is a real sink.
        page.fill("input[name=imap_host]", "127.0.0.1")
        page.fill("input[name=imap_port]", "1")
        page.select_option("select[name=imap_security]", "none")
        page.fill("input[name=imap_username]", "help")
        page.fill("input[name=imap_password]", IMAP_PASSWORD)
        page.fill("input[name=smtp_host]", sink.host)
        page.fill("input[name=smtp_port]", str(sink.port))
        page.select_option("select[name=smtp_security]", "none")
        page.click("#channel-form button[type=submit]")
        page.wait_for_url(f"{live_server.url}/admin/channels")
        expect(page.locator(".flash")).to_have_text("Channel Support saved.")
        rows = page.locator("#channels tbody tr")
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text("help@dangol.test")
        expect(rows.first).to_contain_text("Tier 1")
        expect(rows.first).to_contain_text("Active")

        rows.first.locator("a", has_text="Support").click()
        expect(page.locator("input[name=imap_password]")).to_have_value("")
        page.click("#test-form button[type=submit]")
        results = page.locator("#test-results")
        expect(results).to_be_visible()
        imap = results.locator("[data-side=imap]")
        expect(imap).to_have_class("test-side failed")
        expect(imap).to_contain_text("Incoming mail (IMAP): Failed")
        expect(imap).to_contain_text("Connection refused")
        expect(imap).to_contain_text("connection_refused")
        smtp = results.locator("[data-side=smtp]")
        expect(smtp).to_have_class("test-side ok")
        expect(smtp).to_contain_text("Outgoing mail (SMTP): Works")
        assert IMAP_PASSWORD not in page.content()
        screenshot(page, "channels-admin-en")
    assert sink.messages == []  # a test sends nothing

    db.session.rollback()
    channel = db.session.scalar(select(EmailChannel).where(EmailChannel.name == "Support"))
    assert channel is not None and channel.imap_port == 1 and channel.smtp_port == sink.port
    assert channel.imap_password_encrypted and IMAP_PASSWORD not in channel.imap_password_encrypted
    context.close()
