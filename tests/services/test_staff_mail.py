"""SLA escalations by email: queued with the escalation, in each person's language and time
zone, sent once through the first email channel's SMTP server (a real one, the test sink)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from email import message_from_bytes, policy
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import func, select

from helpdesk.extensions import db
from helpdesk.models import StaffEmail
from helpdesk.services import sla_admin, sla_ticker, staff_mail, users
from helpdesk.services.permissions import SYSTEM
from tests.email_helpers import make_channel
from tests.factories import make_group, make_ticket, make_user
from tests.mailservers import SmtpSink

KST = ZoneInfo("Asia/Seoul")


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with SmtpSink() as server:
        yield server


def _policy() -> None:
    calendar = sla_admin.save_calendar(SYSTEM, {"name": "24/7", "always_open": True})
    sla_admin.save_policy(
        SYSTEM,
        {
            "name": "Fast",
            "calendar_id": calendar.id,
            "first_response_minutes": 10,
            "escalations": {"breach": {"notify": True}, "warning": {"notify": False}},
        },
    )


def test_a_breach_emails_the_assignee_and_the_lead_in_their_language_once(app, sink):
    make_channel(smtp_port=sink.port, display_name="단골 고객지원")
    _policy()
    support = make_group("Support")
    jimin = make_user(name="김지민", locale="ko", timezone="Asia/Seoul", email="jimin@dangol.test")
    lead = make_user(name="Alex Kim", locale="en", group_ids=[support.id], email="alex@dangol.test")
    users.set_group_lead(SYSTEM, support.id, lead.id)
    with time_machine.travel(datetime(2026, 11, 23, 10, 0, tzinfo=KST), tick=False):
        ticket = make_ticket(subject="환불 문의", assignee_id=jimin.id, group_id=support.id)

    assert sla_ticker.tick(datetime(2026, 11, 23, 10, 8, tzinfo=KST)).warnings == 1
    assert db.session.scalar(select(func.count()).select_from(StaffEmail)) == 0  # notify: off
    assert sla_ticker.tick(datetime(2026, 11, 23, 10, 10, tzinfo=KST)).breaches == 1
    assert staff_mail.send_due() == 2
    assert staff_mail.send_due() == 0  # each sent once

    received = {
        m.rcpt_tos[0]: message_from_bytes(m.data, policy=policy.default)
        for m in sink.wait_for_messages(2)
    }
    korean = received["jimin@dangol.test"]
    assert korean["Subject"] == f"SLA 위반: #{ticket.number} 환불 문의"
    assert "첫 응답" in korean.get_content() and "2026-11-23 10:10 KST" in korean.get_content()
    assert korean["Auto-Submitted"] == "auto-generated"
    english = received["alex@dangol.test"]
    assert english["Subject"] == f"SLA breached: #{ticket.number} 환불 문의"
    assert "First response" in english.get_content()
    assert "2026-11-23 01:10 UTC" in english.get_content()
    statuses = db.session.scalars(
        select(StaffEmail.status).execution_options(populate_existing=True)
    )
    assert set(statuses) == {"sent"}


def test_without_an_email_channel_staff_get_the_live_notification_only(app):
    _policy()
    agent = make_user()
    with time_machine.travel(datetime(2026, 11, 23, 10, 0, tzinfo=KST), tick=False):
        make_ticket(assignee_id=agent.id)
    assert sla_ticker.tick(datetime(2026, 11, 23, 10, 11, tzinfo=KST)).breaches == 1
    assert db.session.scalar(select(func.count()).select_from(StaffEmail)) == 0
