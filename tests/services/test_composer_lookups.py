"""What the reply composer looks up: colleagues to @mention and knowledge-base articles."""

from __future__ import annotations

import pytest

from helpdesk.extensions import db
from helpdesk.services import kb_articles, kb_lookup, search_sync, users
from helpdesk.services.errors import Invalid, NotFound
from helpdesk.services.permissions import SYSTEM
from tests.factories import actor, make_user


def test_staff_suggestions_match_korean_names_and_usernames(app):
    me = make_user(name="Alex Kim", email="alex@dangol.test")
    jisoo = make_user(name="김지수", email="jisoo.kim@dangol.test")
    make_user(name="김민준", email="minjun@dangol.test")
    gone = make_user(name="김지훈", email="jihoon@dangol.test")
    gone.is_active = False
    db.session.commit()

    names = [u["name"] for u in users.suggest_staff(actor(me), "김지")]
    assert names == ["김지수"]  # the inactive colleague is not offered
    assert users.suggest_staff(actor(me), "KIM") == [
        {"id": me.id, "name": "Alex Kim", "username": "alex"},  # name contains "kim"
        {"id": jisoo.id, "name": "김지수", "username": "jisoo.kim"},  # username contains it
    ]
    assert users.suggest_staff(actor(me), "dangol") == []  # the email's domain is not a name
    assert users.suggest_staff(actor(me), "%") == []  # a wildcard is just a character
    assert len(users.suggest_staff(actor(me), "")) == 3


def test_names_that_start_with_the_query_come_first_and_at_most_eight(app):
    me = make_user(name="Zed")
    make_user(name="Mina Park")
    make_user(name="Park Mina")
    for n in range(10):
        make_user(name=f"Agent {n:02d}")
    assert [u["name"] for u in users.suggest_staff(actor(me), "park")] == [
        "Park Mina",
        "Mina Park",
    ]
    assert len(users.suggest_staff(actor(me), "agent")) == 8


def _article(visibility: str = "public", **translations: dict[str, str]) -> int:
    saved = kb_articles.save_article(
        SYSTEM, {"visibility": visibility, "translations": translations}
    )
    return saved.id


def test_kb_lookup_offers_published_articles_korean_particles_included(app):
    agent = make_user()
    public = _article(
        ko={"title": "환불 절차 안내", "body": "주문 내역에서 **환불 신청**을 누르세요."}
    )
    internal = _article("internal", ko={"title": "환불 승인 내부 규정", "body": "재무팀 승인"})
    draft = _article(ko={"title": "환불 초안", "body": "아직 쓰는 중"})
    kb_articles.publish(SYSTEM, public)
    kb_articles.publish(SYSTEM, internal)
    search_sync.rebuild(search_sync.search_index(app))

    found = {m.article_id: m for m in kb_lookup.find_articles(actor(agent), "환불은")}
    assert set(found) == {public, internal}  # the draft is not an answer yet
    assert found[public].internal is False and found[public].slug
    assert found[internal].internal is True
    assert "<mark>" in found[public].title_html

    quoted = kb_lookup.published_translation(actor(agent), public, "ko")
    assert quoted.body_markdown == "주문 내역에서 **환불 신청**을 누르세요."
    with pytest.raises(NotFound):
        kb_lookup.published_translation(actor(agent), draft, "ko")
    with pytest.raises(NotFound):
        kb_lookup.published_translation(actor(agent), public, "en")
    with pytest.raises(Invalid):
        kb_lookup.find_articles(actor(agent), "   ")
