"""Saved replies: agents and admins use them, admins write the shared ones, everyone keeps
personal ones to themselves; shortcuts are unique per scope in any case; search finds Korean;
the text is filled in for a ticket; every change is audited."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from helpdesk.demo import load_demo
from helpdesk.extensions import db
from helpdesk.models import AuditEvent, CannedReply, Ticket, User
from helpdesk.services import canned_replies
from helpdesk.services.canned_replies import (
    create_reply,
    delete_reply,
    get_reply,
    list_replies,
    render,
    update_reply,
)
from helpdesk.services.errors import Conflict, Forbidden, Invalid, NotFound
from helpdesk.services.permissions import SYSTEM, Actor
from tests.factories import actor, make_customer, make_ticket, make_user


def _shared(title: str = "환불 안내", body: str = "환불은 7일 이내에 가능합니다.", **kw: Any):
    return create_reply(SYSTEM, title=title, body=body, shared=True, **kw)


def _audit(action: str) -> list[AuditEvent]:
    db.session.expire_all()
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def _audit_count() -> int:
    return int(db.session.scalar(select(func.count()).select_from(AuditEvent)) or 0)


# ---- permissions ----------------------------------------------------------------------------

OK, FORBIDDEN = "ok", "forbidden"
ROLES = ["admin", "agent", "sales", "marketing"]
# What each role may do, per operation: the rule in the module docstring, as a table.
MATRIX: dict[str, dict[str, str]] = {
    "list": {"admin": OK, "agent": OK, "sales": FORBIDDEN, "marketing": FORBIDDEN},
    "get shared": {"admin": OK, "agent": OK, "sales": FORBIDDEN, "marketing": FORBIDDEN},
    "render shared": {"admin": OK, "agent": OK, "sales": FORBIDDEN, "marketing": FORBIDDEN},
    "create personal": {"admin": OK, "agent": OK, "sales": FORBIDDEN, "marketing": FORBIDDEN},
    "create shared": {"admin": OK, "agent": FORBIDDEN, "sales": FORBIDDEN, "marketing": FORBIDDEN},
    "update shared": {"admin": OK, "agent": FORBIDDEN, "sales": FORBIDDEN, "marketing": FORBIDDEN},
    "delete shared": {"admin": OK, "agent": FORBIDDEN, "sales": FORBIDDEN, "marketing": FORBIDDEN},
}


def _operations(shared_id: int, ticket_id: int) -> dict[str, Callable[[Actor], Any]]:
    return {
        "list": lambda a: list_replies(a),
        "get shared": lambda a: get_reply(a, shared_id),
        "render shared": lambda a: render(a, shared_id, ticket_id),
        "create personal": lambda a: create_reply(a, title="Mine", body="My text"),
        "create shared": lambda a: create_reply(a, title="Team", body="Text", shared=True),
        "update shared": lambda a: update_reply(a, shared_id, {"title": "Renamed"}),
        "delete shared": lambda a: delete_reply(a, shared_id),
    }


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("operation", list(MATRIX))
def test_who_may_do_what(app, role, operation):
    user = make_user(role)
    shared = _shared()
    ticket = make_ticket()
    before = _audit_count()
    call = _operations(shared.id, ticket.id)[operation]
    if MATRIX[operation][role] == FORBIDDEN:
        with pytest.raises(Forbidden):
            call(actor(user))
        db.session.rollback()
        assert _audit_count() == before  # a refused call leaves no trace
        assert db.session.get(CannedReply, shared.id).title == "환불 안내"
    else:
        call(actor(user))
        if operation not in ("list", "get shared"):
            assert _audit_count() == before + 1


def test_the_matrix_expects_both_outcomes():
    """Guard against a table that refuses or allows everything."""
    assert {v for row in MATRIX.values() for v in row.values()} == {OK, FORBIDDEN}
    assert all(row["sales"] == row["marketing"] == FORBIDDEN for row in MATRIX.values())
    assert all(row["admin"] == OK for row in MATRIX.values())


def test_customers_never_reach_saved_replies(app):
    shared = _shared()
    with pytest.raises(Forbidden):
        list_replies(Actor.customer(make_customer().id))
    with pytest.raises(Forbidden):
        get_reply(Actor.customer(make_customer().id), shared.id)


def test_personal_replies_belong_to_their_owner_alone(app):
    owner, colleague, admin = make_user(), make_user(), make_user("admin")
    mine = create_reply(actor(owner), title="제 인사말", body="안녕하세요, 김지민입니다.")
    shared = _shared()

    assert [r.id for r in list_replies(actor(owner))] == [mine.id, shared.id]
    assert [r.id for r in list_replies(actor(colleague))] == [shared.id]
    assert [r.id for r in list_replies(actor(admin))] == [shared.id]
    for other in (colleague, admin):  # not even admins: it is not theirs to see
        with pytest.raises(NotFound):
            get_reply(actor(other), mine.id)
        with pytest.raises(NotFound):
            update_reply(actor(other), mine.id, {"title": "남의 것"})
        with pytest.raises(NotFound):
            delete_reply(actor(other), mine.id)
        with pytest.raises(NotFound):
            render(actor(other), mine.id, make_ticket().id)

    assert canned_replies.may_change(actor(owner), mine)
    assert not canned_replies.may_change(actor(owner), shared)
    assert canned_replies.may_change(actor(admin), shared)
    update_reply(actor(owner), mine.id, {"body": "안녕하세요, 고객지원팀 김지민입니다."})
    delete_reply(actor(owner), mine.id)
    assert [r.id for r in list_replies(actor(owner))] == [shared.id]


# ---- validation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"title": "   "}, "title"),
        ({"title": "x" * 121}, "title"),
        ({"title": 42}, "title"),
        ({"body": " \r\n "}, "body"),
        ({"body": "x" * 20_001}, "body"),
        ({"shortcut": "two words"}, "shortcut"),
        ({"shortcut": "환불!"}, "shortcut"),
        ({"shortcut": "a" * 41}, "shortcut"),
        ({"shortcut": "ref.und"}, "shortcut"),
    ],
)
def test_invalid_values_are_refused_with_the_field(app, values, field):
    agent = make_user()
    data = {"title": "Refund", "body": "We refund within 7 days.", **values}
    with pytest.raises(Invalid) as refused:
        create_reply(actor(agent), **data)
    assert list(refused.value.fields or {}) == [field]
    assert refused.value.message
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(CannedReply)) == 0


def test_values_are_tidied_and_limits_are_inclusive(app):
    agent = make_user()
    reply = create_reply(
        actor(agent),
        title="  Refund\n  policy  ",
        body="\r\nLine one\r\nLine two\r\n",
        shortcut=" /Refund-7_일 ",
    )
    assert (reply.title, reply.body, reply.shortcut) == (
        "Refund policy",
        "Line one\nLine two",
        "refund-7_일",
    )
    longest = create_reply(
        actor(agent), title="t" * 120, body="b" * 20_000, shortcut="ㅎㅂ" + "a" * 38
    )
    assert (len(longest.title), len(longest.body), len(longest.shortcut or "")) == (
        120,
        20_000,
        40,
    )
    no_shortcut = create_reply(actor(agent), title="Plain", body="Text", shortcut="  ")
    assert no_shortcut.shortcut is None


def test_an_update_takes_only_known_fields_and_checks_them(app):
    agent = make_user()
    reply = create_reply(actor(agent), title="Hello", body="Hi there", shortcut="hi")
    with pytest.raises(Invalid) as unknown:
        update_reply(actor(agent), reply.id, {"owner_id": None, "title": "x"})
    assert unknown.value.fields == {"owner_id": ["unknown"]}
    with pytest.raises(Invalid) as empty:
        update_reply(actor(agent), reply.id, {"body": ""})
    assert empty.value.fields == {"body": ["required"]}
    db.session.rollback()
    updated = update_reply(actor(agent), reply.id, {"shortcut": None})
    assert updated.shortcut is None and updated.body == "Hi there"


# ---- shortcuts ------------------------------------------------------------------------------


def test_shortcuts_are_unique_per_scope_whatever_the_case(app):
    admin, agent, colleague = make_user("admin"), make_user(), make_user()
    shared = _shared(shortcut="refund")

    with pytest.raises(Conflict) as taken:
        create_reply(actor(admin), title="Again", body="Text", shared=True, shortcut="REFUND")
    assert taken.value.fields == {"shortcut": ["taken"]}
    assert "/refund" in taken.value.message

    # A personal reply may reuse a shared shortcut, once per person.
    mine = create_reply(actor(agent), title="My refund", body="Text", shortcut="Refund")
    with pytest.raises(Conflict):
        create_reply(actor(agent), title="Twice", body="Text", shortcut="refund")
    theirs = create_reply(actor(colleague), title="Their refund", body="Text", shortcut="refund")
    assert {mine.shortcut, theirs.shortcut, shared.shortcut} == {"refund"}

    # Hangul shortcuts too, and renaming onto a taken one.
    other = create_reply(actor(agent), title="배송", body="배송 안내", shortcut="배송")
    with pytest.raises(Conflict):
        update_reply(actor(agent), other.id, {"shortcut": "/REFUND"})
    update_reply(actor(agent), other.id, {"shortcut": "배송"})  # its own: unchanged, fine
    with pytest.raises(Conflict):
        create_reply(actor(agent), title="배송 2", body="또", shortcut="배송")


def test_the_database_keeps_shortcuts_unique_when_two_save_at_once(app, monkeypatch):
    """The check before writing can race a colleague's save; the unique indexes cannot."""
    agent = make_user()
    _shared(shortcut="hello")
    create_reply(actor(agent), title="Hi", body="Text", shortcut="hi")
    monkeypatch.setattr(canned_replies, "_check_shortcut_free", lambda *args, **kw: None)
    with pytest.raises(Conflict):
        _shared(title="Hello again", shortcut="hello")
    with pytest.raises(Conflict):
        create_reply(actor(agent), title="Hi again", body="Text", shortcut="hi")
    # Many replies without a shortcut are fine in both scopes.
    _shared(title="No shortcut 1")
    _shared(title="No shortcut 2")
    create_reply(actor(agent), title="Mine 1", body="Text")
    create_reply(actor(agent), title="Mine 2", body="Text")


# ---- search ---------------------------------------------------------------------------------


def test_search_finds_korean_and_english_in_any_case(app):
    agent = make_user()
    refund = _shared(
        "환불 안내", "주문 후 7일 이내에 환불을 요청하실 수 있습니다.", shortcut="환불"
    )
    delay = _shared("배송 지연 사과", "배송이 늦어져 죄송합니다. 송장번호를 확인해 드릴게요.")
    english = _shared("Refund policy", "You can ask for a REFUND within 7 days.", shortcut="refund")
    mine = create_reply(actor(agent), title="내 환불 메모", body="카드 취소는 3일 걸립니다.")

    def found(text: str) -> list[int]:
        return [r.id for r in list_replies(actor(agent), text)]

    assert found("환불") == [refund.id, mine.id]  # the exact shortcut first
    assert found("송장번호") == [delay.id]  # words inside the text
    assert found("죄송합니다 배송") == [delay.id]  # every word, in any order
    assert found("REFUND") == [english.id] == found("refund") == found("/Ref")
    assert found("7일 환불") == [refund.id]
    assert found("100%") == []  # LIKE wildcards are taken literally
    assert len(found("")) == 4


def test_search_puts_shortcuts_first_then_own_then_most_used(app):
    agent = make_user()
    ticket = make_ticket()
    a = _shared("Alpha", "about greeting", shortcut="greet")
    b = _shared("Beta", "a greeting", shortcut="hello")
    c = create_reply(actor(agent), title="Gamma", body="my greeting")
    render(actor(agent), b.id, ticket.id)

    assert [r.id for r in list_replies(actor(agent), "gre")] == [a.id, c.id, b.id]
    assert [r.id for r in list_replies(actor(agent))] == [c.id, b.id, a.id]
    assert len(list_replies(actor(agent), limit=2)) == 2


# ---- rendering ------------------------------------------------------------------------------


def test_render_fills_in_the_ticket_and_counts_the_use(app):
    agent = make_user(name="김지민")
    ticket = make_ticket(make_customer(name="이수진"), subject="환불 요청드립니다")
    reply = _shared(
        "인사",
        "{{customer.first_name}} 고객님, 안녕하세요. 문의(#{{ticket.number}} "
        "{{ ticket.subject }})에 답변드립니다. {{customer.name}} 님 담당 {{agent.name}} 드림. "
        "{{ticket.due}} {{Agent.name}}",
    )

    text = render(actor(agent), reply.id, ticket.id)

    assert text == (
        f"이수진 고객님, 안녕하세요. 문의(#{ticket.number} 환불 요청드립니다)에 답변드립니다. "
        "이수진 님 담당 김지민 드림. {{ticket.due}} {{Agent.name}}"
    )
    db.session.expire_all()
    assert db.session.get(CannedReply, reply.id).usage_count == 1
    render(actor(agent), reply.id, ticket.id)
    db.session.expire_all()
    assert db.session.get(CannedReply, reply.id).usage_count == 2
    [used, _] = _audit("canned_reply.used")
    assert (used.ticket_id, used.actor_user_id, used.data) == (
        ticket.id,
        agent.id,
        {"canned_reply_id": reply.id},
    )


def test_render_greets_western_names_by_first_name_and_never_expands_twice(app):
    agent = make_user(name="Alex Morgan")
    ticket = make_ticket(make_customer(name="Daniel {{agent.name}} Park"), subject="Login")
    reply = create_reply(
        actor(agent), title="Hi", body="Hi {{customer.first_name}}, {{customer.name}}"
    )
    assert render(actor(agent), reply.id, ticket.id) == "Hi Daniel, Daniel {{agent.name}} Park"
    assert canned_replies.first_name("  Sarah   Kim ") == "Sarah"
    assert canned_replies.first_name("김 민준") == "김 민준"


def test_render_needs_a_real_ticket(app):
    agent = make_user()
    reply = _shared()
    with pytest.raises(NotFound):
        render(actor(agent), reply.id, 987_654)
    with pytest.raises(NotFound):
        render(actor(agent), 987_654, make_ticket().id)
    db.session.rollback()
    assert db.session.get(CannedReply, reply.id).usage_count == 0


# ---- audit ----------------------------------------------------------------------------------


def test_every_change_is_audited(app):
    admin = make_user("admin")
    reply = create_reply(
        actor(admin), title="Closing", body="Anything else?", shortcut="bye", shared=True
    )
    [created] = _audit("canned_reply.created")
    assert (created.actor_user_id, created.data) == (
        admin.id,
        {"canned_reply_id": reply.id, "title": "Closing", "shortcut": "bye", "shared": True},
    )

    update_reply(actor(admin), reply.id, {"title": "Closing", "body": "Anything else? 😊"})
    update_reply(actor(admin), reply.id, {"body": "Anything else? 😊"})  # nothing new: no entry
    [updated] = _audit("canned_reply.updated")
    assert updated.changes == {"body": ["Anything else?", "Anything else? 😊"]}

    delete_reply(actor(admin), reply.id)
    [deleted] = _audit("canned_reply.deleted")
    assert deleted.data["body"] == "Anything else? 😊" and deleted.data["shortcut"] == "bye"
    assert db.session.get(CannedReply, reply.id) is None


def test_the_demo_has_shared_replies_in_korean_and_english(app):
    load_demo()
    jimin = db.session.scalar(select(User).where(User.email == "jimin@dangol.test"))
    replies = list_replies(actor(jimin))
    assert len(replies) == 3 and all(r.is_shared for r in replies)
    assert {r.shortcut for r in replies} == {"환불", "배송", "reset"}
    ticket = db.session.scalar(select(Ticket).where(Ticket.subject == "환불 요청드립니다"))
    [refund] = list_replies(actor(jimin), "/환불")
    text = render(actor(jimin), refund.id, ticket.id)
    assert text.startswith("안녕하세요, 이수진 고객님.") and text.endswith("김지민 드림")
    assert f"#{ticket.number}" in text
