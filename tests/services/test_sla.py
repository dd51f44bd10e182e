"""SLA clocks on real tickets: due times, pauses, next responses, re-matching and escalations.

The office in these tests is in Seoul, open Monday to Friday 09:00-12:00 and 13:00-18:00, closed
on Korean public holidays. Times are KST; each expected due time is worked out by hand in a
comment, the way a support manager would check it.
"""

from __future__ import annotations

import threading
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import func, select

from helpdesk.extensions import db
from helpdesk.models import AuditEvent, Notification, SlaPolicy, SlaTarget, Ticket
from helpdesk.services import customer_profile, messages, sla_admin, sla_ticker, tickets, users
from helpdesk.services.errors import Conflict, Forbidden, Invalid
from helpdesk.services.permissions import SYSTEM
from helpdesk.services.ticket_queries import TicketFilter, list_tickets
from tests.factories import actor, make_group, make_ticket, make_user

KST = ZoneInfo("Asia/Seoul")
OFFICE = [["09:00-12:00", "13:00-18:00"]] * 5 + [[], []]


def kst(day: str, clock: str) -> datetime:
    return datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=KST)


@pytest.fixture
def policies(app):
    calendar = sla_admin.save_calendar(
        SYSTEM,
        {"name": "서울 본사", "timezone": "Asia/Seoul", "hours": OFFICE, "holiday_country": "KR"},
    )
    standard = sla_admin.save_policy(
        SYSTEM,
        {
            "name": "Standard",
            "position": 10,
            "calendar_id": calendar.id,
            "first_response_minutes": 60,
            "next_response_minutes": 120,
            "resolution_minutes": 480,
        },
    )
    urgent = sla_admin.save_policy(
        SYSTEM,
        {
            "name": "Urgent",
            "position": 0,
            "calendar_id": calendar.id,
            "conditions": {"priorities": ["urgent"]},
            "first_response_minutes": 30,
            "resolution_minutes": 240,
        },
    )
    return {"calendar": calendar, "standard": standard, "urgent": urgent}


def targets(ticket_id: int) -> dict[tuple[str, int], SlaTarget]:
    session = db.session()
    session.expire_all()
    rows = session.scalars(select(SlaTarget).where(SlaTarget.ticket_id == ticket_id))
    return {(t.kind, t.cycle): t for t in rows}


def fresh(ticket_id: int) -> Ticket:
    session = db.session()
    session.expire_all()
    return session.get(Ticket, ticket_id)


def test_due_times_skip_chuseok_and_the_weekend(policies):
    # Wednesday 23 September 2026, 17:30: 30 minutes left today; Thursday to Saturday are
    # Chuseok, then the weekend. First response (60 min): Monday 28th 09:30. Warning at 80%
    # (48 min): Monday 09:18. Resolution (480 min): 30 on Wednesday, 180 on Monday morning,
    # 270 from 13:00, so Monday 17:30.
    with time_machine.travel(kst("2026-09-23", "17:30"), tick=False):
        ticket = make_ticket()
    found = targets(ticket.id)
    first = found[("first_response", 1)]
    assert first.due_at == kst("2026-09-28", "09:30")
    assert first.warn_at == kst("2026-09-28", "09:18")
    assert found[("resolution", 1)].due_at == kst("2026-09-28", "17:30")
    assert first.policy_id == policies["standard"].id
    row = fresh(ticket.id)
    assert row.sla_due_at == kst("2026-09-28", "09:30")
    assert row.sla_policy_id == policies["standard"].id
    assert row.sla["due_at"] == kst("2026-09-28", "09:30")


def test_a_note_is_no_response_and_a_public_reply_is(policies):
    agent = make_user()
    with time_machine.travel(kst("2026-11-23", "10:00"), tick=False):
        ticket = make_ticket()
    with time_machine.travel(kst("2026-11-23", "10:10"), tick=False):
        messages.add_note(actor(agent), ticket.id, body_text="checking with the warehouse")
    assert targets(ticket.id)[("first_response", 1)].state == "running"
    with time_machine.travel(kst("2026-11-23", "10:20"), tick=False):
        messages.reply_to_ticket(actor(agent), ticket.id, body_text="곧 확인해 드리겠습니다.")
    first = targets(ticket.id)[("first_response", 1)]
    assert first.achieved_at == kst("2026-11-23", "10:20")
    assert first.state == "achieved"
    # Only resolution runs now: 10:00 + 480 business minutes = Tuesday 10:00.
    assert fresh(ticket.id).sla_due_at == kst("2026-11-24", "10:00")


def test_pending_pauses_the_clock_and_a_customer_message_resumes_it(policies):
    agent = make_user()
    with time_machine.travel(kst("2026-11-23", "10:00"), tick=False):
        ticket = make_ticket()
    with time_machine.travel(kst("2026-11-23", "10:20"), tick=False):
        messages.reply_to_ticket(
            actor(agent), ticket.id, body_text="사진을 보내 주세요.", status="pending"
        )
    paused = fresh(ticket.id)
    assert paused.sla_paused is True
    assert paused.sla["due_at"] is None
    assert targets(ticket.id)[("resolution", 1)].state == "paused"

    with time_machine.travel(kst("2026-11-24", "09:30"), tick=False):
        messages.add_customer_message(SYSTEM, ticket.id, body_text="사진 첨부합니다.")
    found = targets(ticket.id)
    resolution = found[("resolution", 1)]
    # Paused Monday 10:20-12:00, 13:00-18:00 and Tuesday 09:00-09:30: 430 business minutes.
    # Resolution was due Tuesday 10:00; 430 minutes later is Wednesday 09:10.
    assert resolution.paused_seconds == 430 * 60
    assert resolution.due_at == kst("2026-11-25", "09:10")
    # The message awaits an answer: next response due 120 min later, Tuesday 11:30.
    assert found[("next_response", 1)].due_at == kst("2026-11-24", "11:30")
    reopened = fresh(ticket.id)
    assert reopened.status == "open" and reopened.sla_paused is False
    assert reopened.sla_due_at == kst("2026-11-24", "11:30")


def test_every_customer_message_awaits_its_own_next_response(policies):
    agent = make_user()
    with time_machine.travel(kst("2026-11-23", "10:00"), tick=False):
        ticket = make_ticket()
        messages.reply_to_ticket(actor(agent), ticket.id, body_text="Hello")
    with time_machine.travel(kst("2026-11-23", "11:00"), tick=False):
        messages.add_customer_message(SYSTEM, ticket.id, body_text="One more thing")
    with time_machine.travel(kst("2026-11-23", "11:30"), tick=False):
        messages.add_customer_message(SYSTEM, ticket.id, body_text="and another")  # same wait
    with time_machine.travel(kst("2026-11-23", "14:00"), tick=False):
        messages.reply_to_ticket(actor(agent), ticket.id, body_text="Both answered")
    with time_machine.travel(kst("2026-11-23", "15:00"), tick=False):
        messages.add_customer_message(SYSTEM, ticket.id, body_text="Thanks, one last")
    found = targets(ticket.id)
    first_wait, second_wait = found[("next_response", 1)], found[("next_response", 2)]
    # 11:00 + 120 business minutes (lunch excluded) = 14:00; answered exactly then.
    assert first_wait.due_at == kst("2026-11-23", "14:00")
    assert first_wait.state == "achieved"
    assert second_wait.started_at == kst("2026-11-23", "15:00")
    assert second_wait.state == "running"


def test_a_late_answer_is_breached_by_the_business_time_over(policies):
    agent = make_user()
    with time_machine.travel(kst("2026-11-23", "10:00"), tick=False):
        ticket = make_ticket()
    with time_machine.travel(kst("2026-11-23", "13:30"), tick=False):
        messages.reply_to_ticket(actor(agent), ticket.id, body_text="Sorry for the wait")
    first = targets(ticket.id)[("first_response", 1)]
    # Due 11:00; 11:00-12:00 and 13:00-13:30 over: 90 minutes, the lunch hour not counted.
    assert first.state == "breached"
    assert first.overrun_seconds == 90 * 60


def test_solving_achieves_resolution_and_reopening_starts_a_new_cycle(policies):
    agent = make_user()
    with time_machine.travel(kst("2026-11-23", "10:00"), tick=False):
        ticket = make_ticket()
        messages.reply_to_ticket(actor(agent), ticket.id, body_text="Fixed", status="solved")
    assert targets(ticket.id)[("resolution", 1)].state == "achieved"
    assert fresh(ticket.id).sla["due_at"] is None
    with time_machine.travel(kst("2026-11-23", "16:00"), tick=False):
        messages.add_customer_message(SYSTEM, ticket.id, body_text="Still broken")
    found = targets(ticket.id)
    # 16:00 + 480 business minutes = Tuesday 16:00.
    assert found[("resolution", 2)].due_at == kst("2026-11-24", "16:00")
    assert found[("next_response", 1)].due_at == kst("2026-11-23", "18:00")


def test_raising_the_priority_moves_the_ticket_to_the_urgent_policy(policies):
    with time_machine.travel(kst("2026-11-23", "10:00"), tick=False):
        ticket = make_ticket()
    with time_machine.travel(kst("2026-11-23", "10:10"), tick=False):
        tickets.update_ticket(SYSTEM, ticket.id, {"priority": "urgent"})
    first = targets(ticket.id)[("first_response", 1)]
    # Counted from the ticket's creation: 10:00 + 30 min.
    assert first.due_at == kst("2026-11-23", "10:30")
    assert first.policy_id == policies["urgent"].id
    assert fresh(ticket.id).sla_policy_id == policies["urgent"].id


def test_a_policy_edit_moves_open_tickets_due_times(policies):
    with time_machine.travel(kst("2026-11-23", "10:00"), tick=False):
        ticket = make_ticket()
        data = sla_admin.policy_dict(policies["standard"])
        sla_admin.save_policy(SYSTEM, {**data, "first_response_minutes": 120}, data["id"])
        assert sla_ticker.rematch() == 1
        assert sla_ticker.rematch() == 0  # the pass is done
    # 10:00 + 120 minutes ends exactly at the lunch break.
    assert targets(ticket.id)[("first_response", 1)].due_at == kst("2026-11-23", "12:00")
    assert fresh(ticket.id).sla_due_at == kst("2026-11-23", "12:00")


def test_tickets_no_policy_matches_have_no_clock(app):
    ticket = make_ticket()
    assert fresh(ticket.id).sla == {
        "policy_id": None,
        "due_at": None,
        "warn_at": None,
        "paused": False,
    }
    assert targets(ticket.id) == {}


def _escalating(policies, **breach):
    data = sla_admin.policy_dict(policies["standard"])
    data["escalations"] = {"warning": {"notify": True}, "breach": {"notify": True, **breach}}
    sla_admin.save_policy(SYSTEM, data, data["id"])


def _notified(user_id: int) -> list[str]:
    session = db.session()
    session.expire_all()
    stmt = (
        select(Notification.kind).where(Notification.user_id == user_id).order_by(Notification.id)
    )
    return list(session.scalars(stmt))


def test_the_ticker_warns_then_escalates_the_breach_once(policies):
    support = make_group("Support")
    escalation = make_group("Escalation")
    assignee = make_user()
    lead, member = make_user(group_ids=[support.id]), make_user(group_ids=[support.id])
    users.set_group_lead(SYSTEM, support.id, lead.id)
    _escalating(policies, raise_priority=True, group_id=escalation.id)
    with time_machine.travel(kst("2026-11-23", "10:00"), tick=False):
        ticket = make_ticket(assignee_id=assignee.id, group_id=support.id)

    assert sla_ticker.tick(kst("2026-11-23", "10:47")).tickets == set()
    warned = sla_ticker.tick(kst("2026-11-23", "10:48"))  # 80% of 60 minutes
    assert (warned.warnings, warned.breaches) == (1, 0)
    assert sla_ticker.tick(kst("2026-11-23", "10:59")).tickets == set()
    breached = sla_ticker.tick(kst("2026-11-23", "11:00"))
    assert (breached.warnings, breached.breaches) == (0, 1)
    assert sla_ticker.tick(kst("2026-11-23", "11:30")).tickets == set()

    assert _notified(assignee.id) == ["assigned", "sla_warning", "sla_breached"]
    assert _notified(lead.id) == ["sla_warning", "sla_breached"]
    assert _notified(member.id) == []
    row = fresh(ticket.id)
    assert (row.priority, row.group_id) == (3, escalation.id)  # normal -> high, reassigned
    first = targets(ticket.id)[("first_response", 1)]
    assert first.warned_at == kst("2026-11-23", "10:48")
    assert first.breached_at == kst("2026-11-23", "11:00")
    assert first.fire_at is None
    actions = db.session().scalars(
        select(AuditEvent.action).where(AuditEvent.ticket_id == ticket.id).order_by(AuditEvent.id)
    )
    assert [a for a in actions if a.startswith("sla.")] == ["sla.warning", "sla.breach"]
    # What a sales rep sees before calling this customer:
    assert customer_profile.service_summary(SYSTEM, ticket.customer_id).breached_slas == 1


def test_two_tickers_at_once_fire_each_escalation_once(policies, app):
    agent = make_user()
    with time_machine.travel(kst("2026-11-23", "10:00"), tick=False):
        opened = [make_ticket(assignee_id=agent.id) for _ in range(6)]
    barrier = threading.Barrier(2)
    results = []

    def worker() -> None:
        with app.app_context():
            barrier.wait()
            results.append(sla_ticker.tick(kst("2026-11-23", "11:00")))
            db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(r.breaches for r in results) == 6
    count = db.session().scalar(
        select(func.count()).where(
            Notification.user_id == agent.id, Notification.kind == "sla_breached"
        )
    )
    assert count == len(opened)
    assert sla_ticker.tick(kst("2026-11-23", "11:00")).breaches == 0


def test_calendars_and_policies_are_validated(policies):
    calendar_id = policies["calendar"].id
    bad = [
        ({"name": "X", "timezone": "Mars/Olympus", "hours": OFFICE}, "timezone"),
        (
            {"name": "X", "timezone": "UTC", "hours": [["09:00-12:00", "11:00-13:00"]] + [[]] * 6},
            "hours",
        ),
        (
            {"name": "X", "timezone": "UTC", "hours": OFFICE, "holiday_country": "ZZ"},
            "holiday_country",
        ),
        ({"name": "X", "timezone": "UTC", "hours": [[]] * 7}, "hours"),
    ]
    for data, field in bad:
        with pytest.raises(Invalid) as caught:
            sla_admin.save_calendar(SYSTEM, data)
        assert field in caught.value.fields
    with pytest.raises(Invalid) as caught:
        sla_admin.save_policy(
            SYSTEM,
            {
                "name": "P",
                "calendar_id": calendar_id,
                "conditions": {"priorities": ["asap"]},
                "first_response_minutes": 5,
            },
        )
    assert "conditions.priorities" in caught.value.fields
    with pytest.raises(Invalid):
        sla_admin.save_policy(SYSTEM, {"name": "P", "calendar_id": calendar_id})  # no target
    with pytest.raises(Conflict):
        sla_admin.save_policy(
            SYSTEM, {"name": "standard", "calendar_id": calendar_id, "resolution_minutes": 5}
        )
    with pytest.raises(Conflict):
        sla_admin.delete_calendar(SYSTEM, calendar_id)  # still used
    with pytest.raises(Forbidden):
        sla_admin.save_calendar(
            actor(make_user()), {"name": "Mine", "timezone": "UTC", "always_open": True}
        )


def test_calendar_holidays_list_generated_extra_and_removed_days(policies):
    data = sla_admin.calendar_dict(policies["calendar"])
    data.update(extra_holidays=["2026-12-31"], removed_holidays=["2026-07-17"])
    sla_admin.save_calendar(SYSTEM, data, data["id"])
    days = {h["date"]: h["name"] for h in sla_admin.calendar_holidays(SYSTEM, data["id"], 2026)}
    assert days["2026-09-25"] == "Chuseok"
    assert "2026-12-31" in days
    assert "2026-07-17" not in days


def test_breaches_next_order_pages_through_overdue_due_and_clockless_tickets(policies):
    agent = make_user()
    with time_machine.travel(kst("2026-11-23", "09:00"), tick=False):
        overdue = make_ticket()  # first response due 10:00
        solved = make_ticket()
        messages.reply_to_ticket(actor(agent), solved.id, body_text="Done", status="solved")
    with time_machine.travel(kst("2026-11-23", "10:00"), tick=False):
        later = make_ticket()  # due 11:00
        urgent = make_ticket(priority="urgent")  # due 10:30
        low = make_ticket(priority="low")  # due 11:00 too: the older ticket first
    found, cursor = [], None
    while True:  # two at a time, across due times and into the tickets with no clock
        page = list_tickets(SYSTEM, TicketFilter(), sort="sla_due_at", cursor=cursor, limit=2)
        found += [row["id"] for row in page.tickets]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert found == [overdue.id, urgent.id, later.id, low.id, solved.id]
    open_only = list_tickets(SYSTEM, TicketFilter(statuses=["new"]), sort="sla_due_at")
    assert [row["id"] for row in open_only.tickets] == [overdue.id, urgent.id, later.id, low.id]


def test_the_ticket_page_shows_the_targets_and_the_breach_in_the_timeline(policies, client):
    from tests.conftest import login

    agent = make_user(name="Alex Kim")
    with time_machine.travel(kst("2026-11-23", "10:00"), tick=False):
        ticket = make_ticket(subject="Refund", assignee_id=agent.id)
    sla_ticker.tick(kst("2026-11-23", "11:05"))
    login(client, agent.email)
    page = client.get(f"/tickets/{ticket.number}").get_data(as_text=True)
    assert 'class="change sla-breach">SLA breached: First response</span>' in page
    assert 'data-target-kind="first_response"' in page
    assert 'data-target-kind="resolution"' in page
    assert 'id="sla-text"' in page  # the badges' script and its texts


def test_renaming_onto_a_taken_name_and_bad_fields_name_the_field_to_fix(policies):
    data = sla_admin.policy_dict(policies["urgent"])
    with pytest.raises(Conflict):
        sla_admin.save_policy(SYSTEM, {**data, "name": "Standard"}, data["id"])
    cal = sla_admin.calendar_dict(policies["calendar"])
    other = sla_admin.save_calendar(SYSTEM, {"name": "Other", "always_open": True})
    with pytest.raises(Conflict):
        sla_admin.save_calendar(
            SYSTEM, {**sla_admin.calendar_dict(other), "name": cal["name"]}, other.id
        )
    cases = [
        ({"position": "first"}, "position"),
        ({"position": 2**40}, "position"),
        ({"warning_percent": True}, "warning_percent"),
        ({"escalations": {"breach": {"group_id": 999}}}, "escalations.breach.group_id"),
        ({"conditions": {"tags": ["x" * 80]}}, "conditions.tags"),
    ]
    for change, field in cases:
        with pytest.raises(Invalid) as caught:
            sla_admin.save_policy(SYSTEM, {**data, **change}, data["id"])
        assert field in caught.value.fields, (change, caught.value.fields)
    with pytest.raises(Invalid) as caught:
        sla_admin.save_calendar(SYSTEM, {**cal, "timezone": " "}, cal["id"])
    assert "timezone" in caught.value.fields
    db.session.expire_all()
    assert db.session.get(SlaPolicy, data["id"]).name == "Urgent"  # nothing half-written


def test_two_processes_creating_the_first_rules_at_once_both_succeed(app):
    """The rules version row is created by whoever changes the rules first; a second writer
    at the same moment (another web process, a worker's ticker) must not fail on it."""
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def create(name: str) -> None:
        with app.app_context():
            try:
                barrier.wait()
                sla_admin.save_calendar(SYSTEM, {"name": name, "always_open": True})
            except BaseException as exc:
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=create, args=(n,)) for n in ("A", "B")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(c.name for c in sla_admin.list_calendars(SYSTEM)) == ["A", "B"]


@pytest.fixture
def vip(policies) -> SlaPolicy:
    """A policy for VIP customers: a first response within 15 minutes."""
    return sla_admin.save_policy(
        SYSTEM,
        {
            "name": "VIP",
            "position": 5,
            "calendar_id": policies["calendar"].id,
            "conditions": {"customer_tiers": ["vip"]},
            "first_response_minutes": 15,
        },
    )


def test_a_customer_made_vip_gets_the_vip_targets_on_tickets_already_open(policies, vip):
    from helpdesk.services import customer_fields
    from tests.factories import make_customer

    customer = make_customer(name="한빛상사 김대표")
    with time_machine.travel(kst("2026-11-23", "10:00"), tick=False):
        open_ticket = make_ticket(customer)
        solved = make_ticket(customer)
        tickets.set_status(SYSTEM, solved.id, "solved")
    assert fresh(open_ticket.id).sla_policy_id == policies["standard"].id

    # Promoted at 10:05: the open ticket is re-matched; its first response was due at 11:00
    # under Standard and is now due 15 minutes after it came in, at 10:15.
    with time_machine.travel(kst("2026-11-23", "10:05"), tick=False):
        customer_fields.update_profile(SYSTEM, customer.id, {"tier": "vip"})
    row = fresh(open_ticket.id)
    assert row.sla_policy_id == vip.id
    assert row.sla_due_at == kst("2026-11-23", "10:15")
    assert fresh(solved.id).sla_policy_id == policies["standard"].id  # done: left as it was

    with time_machine.travel(kst("2026-11-23", "10:06"), tick=False):
        customer_fields.update_profile(SYSTEM, customer.id, {"tier": None})
    assert fresh(open_ticket.id).sla_policy_id == policies["standard"].id


def test_a_merge_into_a_vip_customer_re_matches_the_moved_tickets_and_unmerge_undoes_it(
    policies, vip
):
    from helpdesk.services import customer_fields, customer_merge
    from tests.factories import make_customer

    survivor = make_customer(name="김대표")
    customer_fields.update_profile(SYSTEM, survivor.id, {"tier": "vip"})
    duplicate = make_customer(name="김대표 (개인 메일)")
    with time_machine.travel(kst("2026-11-23", "10:00"), tick=False):
        moved = make_ticket(duplicate)
    assert fresh(moved.id).sla_policy_id == policies["standard"].id

    with time_machine.travel(kst("2026-11-23", "10:05"), tick=False):
        customer_merge.merge_customers(SYSTEM, duplicate.id, survivor.id)
    assert fresh(moved.id).sla_policy_id == vip.id
    with time_machine.travel(kst("2026-11-23", "10:06"), tick=False):
        customer_merge.unmerge_customers(SYSTEM, duplicate.id)
    assert fresh(moved.id).sla_policy_id == policies["standard"].id
