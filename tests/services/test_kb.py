"""The knowledge base as writers and readers use it: bilingual articles, safe Markdown, slugs,
revisions, publication, what customers may see, reader counters, permissions, and the audit and
search-index rows every write leaves behind."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from helpdesk.extensions import db
from helpdesk.models import AuditEvent, KbArticle, KbRevision, KbTranslation, SearchChange
from helpdesk.services import kb, kb_articles, kb_categories
from helpdesk.services.errors import Conflict, Forbidden, Invalid, NotFound
from helpdesk.services.permissions import SYSTEM, Actor
from tests.factories import actor, make_customer, make_user


def _article(writer: Actor | None = None, **translations: Any) -> KbArticle:
    data: dict[str, Any] = {"visibility": translations.pop("visibility", "public")}
    data["translations"] = translations or {
        "ko": {"title": "비밀번호 재설정", "body": "**설정**에서 바꾸세요."},
        "en": {"title": "Reset your password", "body": "Change it in **Settings**."},
    }
    return kb_articles.save_article(writer or SYSTEM, data)


def _search_changes(article_id: int) -> int:
    stmt = select(func.count()).where(
        SearchChange.kind == "article", SearchChange.object_id == article_id
    )
    return int(db.session.scalar(stmt) or 0)


def _audit_actions() -> list[str]:
    return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def test_markdown_is_rendered_to_html_and_nothing_runs(app):
    body = "\n".join(
        [
            "## 배송 조회",
            "",
            "| 단계 | 설명 |",
            "|---|---|",
            "| 1 | ~~접수~~ 완료 |",
            "",
            "<script>alert('kb')</script>",
            "",
            '<img src="x.png" onerror="alert(1)">',
            "",
            '[click me](javascript:alert(2)) and <a href="javascript:alert(3)">raw link</a>',
            "",
            "<kbd>Ctrl</kbd> + <kbd>C</kbd>",
        ]
    )
    article = _article(ko={"title": "배송", "body": body})
    html = article.translation("ko").body_html
    assert "<h2>배송 조회</h2>" in html
    assert "<table>" in html and "<td><s>접수</s> 완료</td>" in html
    assert "<kbd>Ctrl</kbd>" in html  # harmless raw HTML stays
    assert "<script" not in html and "alert('kb')" not in html
    assert "onerror" not in html and '<img src="x.png">' in html
    assert 'href="javascript' not in html and ">raw link</a>" in html
    # The Markdown is kept as written, for the next edit.
    assert article.translation("ko").body_markdown == body


def test_the_korean_and_english_texts_are_one_article(app):
    article = _article(ko={"title": "환불 정책", "body": "7일 이내 환불"})
    assert [t.locale for t in article.translations] == ["ko"]
    english = kb_articles.save_translation(
        SYSTEM, article.id, "en", {"title": "Refund policy", "body": "Within 7 days"}
    )
    assert english.article_id == article.id
    db.session.expire_all()
    stored = db.session.get(KbArticle, article.id)
    assert stored is not None
    assert {t.locale: t.title for t in stored.translations} == {
        "ko": "환불 정책",
        "en": "Refund policy",
    }
    assert db.session.scalar(select(func.count()).select_from(KbArticle)) == 1

    kb_articles.publish(SYSTEM, article.id)
    korean, found_english = (
        kb.public_article("ko", "환불-정책"),
        kb.public_article("en", "refund-policy"),
    )
    assert korean.article_id == found_english.article_id == article.id
    with pytest.raises(NotFound):
        kb_articles.save_translation(SYSTEM, article.id, "ja", {"title": "返金", "body": "x"})


def test_slugs_keep_hangul_and_are_unique_per_locale(app):
    first = _article(ko={"title": "배송 조회는 어떻게 하나요?", "body": "a"})
    second = _article(ko={"title": "배송 조회는 어떻게 하나요?!", "body": "b"})
    third = _article(ko={"title": "배송 조회는 어떻게 하나요", "body": "c"})
    assert [a.translation("ko").slug for a in (first, second, third)] == [
        "배송-조회는-어떻게-하나요",
        "배송-조회는-어떻게-하나요-2",
        "배송-조회는-어떻게-하나요-3",
    ]
    # The same slug in another language is another address.
    english = _article(en={"title": "Tracking", "body": "x"}, ko={"title": "Tracking", "body": "y"})
    assert english.translation("en").slug == english.translation("ko").slug == "tracking"
    assert _article(en={"title": "Tracking!", "body": "z"}).translation("en").slug == "tracking-2"
    # A title of punctuation only still gets an address.
    assert _article(en={"title": "???", "body": "q"}).translation("en").slug.startswith("article-")

    # While a draft, the slug follows the title; once published it stays, so links keep working.
    renamed = kb_articles.save_translation(
        SYSTEM, first.id, "ko", {"title": "택배 조회", "body": "a"}
    )
    assert renamed.slug == "택배-조회"
    kb_articles.publish(SYSTEM, first.id)
    kept = kb_articles.save_translation(
        SYSTEM, first.id, "ko", {"title": "택배 위치 확인", "body": "a"}
    )
    assert kept.slug == "택배-조회" and kept.title == "택배 위치 확인"
    assert kb.public_article("ko", "택배-조회").title == "택배 위치 확인"


def test_every_change_of_words_is_a_revision_with_its_author(app):
    writer, editor = make_user("agent", name="김작성"), make_user("admin", name="Editor Lee")
    article = _article(actor(writer), en={"title": "Shipping", "body": "Two days."})
    kb_articles.save_article(
        actor(editor),
        {"translations": {"en": {"title": "Shipping", "body": "Three days."}}},
        article.id,
    )
    # Saving the same words again (e.g. a form whose English half nobody touched) adds nothing.
    kb_articles.save_translation(
        actor(editor), article.id, "en", {"title": "Shipping", "body": "Three days."}
    )
    kb_articles.save_translation(
        actor(writer), article.id, "ko", {"title": "배송", "body": "사흘."}
    )
    history = kb_articles.list_revisions(actor(make_user("sales")), article.id)
    assert [(r.locale, r.title, r.body_markdown, r.author_name) for r in history] == [
        ("ko", "배송", "사흘.", "김작성"),
        ("en", "Shipping", "Three days.", "Editor Lee"),
        ("en", "Shipping", "Two days.", "김작성"),
    ]
    assert history[-1].created_at <= history[0].created_at
    assert db.session.scalar(select(func.count()).select_from(KbRevision)) == 3


def test_publish_and_unpublish_each_language(app):
    article = _article()
    with pytest.raises(NotFound):
        kb.public_article("ko", "비밀번호-재설정")  # a draft is not out yet

    kb_articles.publish(SYSTEM, article.id, ["ko"])
    assert kb.public_article("ko", "비밀번호-재설정").body_html == (
        "<p><strong>설정</strong>에서 바꾸세요.</p>\n"
    )
    assert article.translation("ko").published_at is not None
    with pytest.raises(NotFound):
        kb.public_article("en", "reset-your-password")  # English is still a draft
    assert [t.title for t in kb.public_articles("ko")] == ["비밀번호 재설정"]
    assert kb.public_articles("en") == []

    kb_articles.publish(SYSTEM, article.id)
    assert kb.public_article("en", "reset-your-password").title == "Reset your password"
    kb_articles.unpublish(SYSTEM, article.id, ["ko"])
    with pytest.raises(NotFound):
        kb.public_article("ko", "비밀번호-재설정")
    assert article.translation("ko").published_at is None
    assert kb.public_articles("en")[0].article_id == article.id

    with pytest.raises(Invalid) as missing:
        kb_articles.publish(SYSTEM, _article(en={"title": "Only English", "body": "x"}).id, ["ko"])
    assert missing.value.fields == {"locales": ["invalid"]}
    empty = _article(en={"title": "Nothing yet", "body": "  "})
    with pytest.raises(Invalid) as no_text:
        kb_articles.publish(SYSTEM, empty.id)
    assert no_text.value.fields == {"translations.en.body": ["required"]}


def test_internal_articles_stay_with_staff(app):
    article = _article(
        visibility="internal", en={"title": "Refund override steps", "body": "Call finance."}
    )
    kb_articles.publish(SYSTEM, article.id)
    with pytest.raises(NotFound):
        kb.public_article("en", "refund-override-steps")
    assert kb.public_articles("en") == []
    with pytest.raises(NotFound):
        kb.record_view(article.id, "en")  # anonymous
    with pytest.raises(NotFound):
        kb.record_view(article.id, "en", Actor.customer(make_customer().id))
    kb.record_view(article.id, "en", actor(make_user("sales")))  # staff read it

    # Made public, the same article is out at once.
    kb_articles.save_article(SYSTEM, {"visibility": "public"}, article.id)
    assert kb.public_article("en", "refund-override-steps").article_id == article.id
    page = kb_articles.list_articles(SYSTEM, visibility="internal")
    assert page.total == 0 and page.items == []


def test_views_and_votes_are_counted_for_anyone(app):
    article = _article()
    with pytest.raises(NotFound):
        kb.record_view(article.id, "ko")  # drafts are not counted
    kb_articles.publish(SYSTEM, article.id)
    customer = Actor.customer(make_customer().id)
    for reader in (None, customer, None):
        kb.record_view(article.id, "ko", reader)
    kb.record_vote(article.id, "ko", True)
    kb.record_vote(article.id, "ko", True, customer)
    kb.record_vote(article.id, "ko", False)
    kb.record_vote(article.id, "en", False)
    with pytest.raises(NotFound):
        kb.record_vote(article.id + 1, "ko", True)

    db.session.expire_all()
    korean = db.session.scalar(select(KbTranslation).where(KbTranslation.locale == "ko"))
    english = db.session.scalar(select(KbTranslation).where(KbTranslation.locale == "en"))
    assert korean is not None and english is not None
    assert (korean.view_count, korean.helpful_yes, korean.helpful_no) == (3, 2, 1)
    assert korean.helpful_percent == 67
    assert (english.view_count, english.helpful_yes, english.helpful_no) == (0, 0, 1)
    assert english.helpful_percent == 0


def test_sales_reads_but_cannot_write(app):
    article = _article()
    sales = actor(make_user("sales"))
    assert kb_articles.get_article(sales, article.id).id == article.id
    assert kb_articles.list_articles(sales).total == 1
    assert kb_categories.list_categories(sales) == []
    before = (_audit_actions(), _search_changes(article.id))
    for write in (
        lambda: kb_articles.save_article(
            sales, {"translations": {"en": {"title": "Sneaky", "body": "x"}}}
        ),
        lambda: kb_articles.save_translation(sales, article.id, "en", {"title": "Sneaky"}),
        lambda: kb_articles.publish(sales, article.id),
        lambda: kb_articles.unpublish(sales, article.id),
        lambda: kb_articles.delete_article(sales, article.id),
        lambda: kb_categories.save_category(sales, {"name_en": "Billing"}),
    ):
        with pytest.raises(Forbidden):
            write()
    assert (_audit_actions(), _search_changes(article.id)) == before
    assert article.translation("en").title == "Reset your password"
    # Customers read through the public functions only.
    with pytest.raises(Forbidden):
        kb_articles.list_articles(Actor.customer(make_customer().id))
    # Agents write.
    agent = actor(make_user("agent"))
    kb_articles.publish(agent, article.id)


def test_each_write_is_audited_and_queued_for_the_search_index(app):
    writer = actor(make_user("agent"))
    article = _article(writer)
    assert _search_changes(article.id) == 1
    steps = [
        lambda: kb_articles.save_translation(
            writer, article.id, "en", {"title": "Reset it", "body": "New text"}
        ),
        lambda: kb_articles.save_article(writer, {"visibility": "internal"}, article.id),
        lambda: kb_articles.publish(writer, article.id),
        lambda: kb_articles.unpublish(writer, article.id),
        lambda: kb_articles.delete_article(writer, article.id),
    ]
    for n, step in enumerate(steps, start=2):
        step()
        assert _search_changes(article.id) == n
    assert [a for a in _audit_actions() if a.startswith("kb.")] == [
        "kb.translation.saved",  # ko
        "kb.translation.saved",  # en
        "kb.article.created",
        "kb.translation.saved",  # en again: a new revision
        "kb.article.updated",  # visibility
        "kb.article.published",
        "kb.article.unpublished",
        "kb.article.deleted",
    ]
    deleted = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "kb.article.deleted"))
    assert deleted is not None and deleted.actor_user_id == writer.user_id
    assert deleted.data["titles"] == {"ko": "비밀번호 재설정", "en": "Reset it"}
    # Gone with its translations and their history.
    assert db.session.scalar(select(func.count()).select_from(KbTranslation)) == 0
    assert db.session.scalar(select(func.count()).select_from(KbRevision)) == 0
    # Nothing changed, nothing queued.
    again = _article(writer)
    queued = _search_changes(again.id)
    kb_articles.publish(writer, again.id)
    kb_articles.publish(writer, again.id)
    kb_articles.save_article(writer, {"visibility": "public"}, again.id)
    assert _search_changes(again.id) == queued + 1


def test_categories_nest_one_level_and_keep_their_articles(app):
    writer = actor(make_user("agent"))
    billing = kb_categories.save_category(writer, {"name_ko": "결제", "name_en": "Billing"})
    refunds = kb_categories.save_category(
        writer, {"name_ko": "환불", "position": 1, "parent_id": billing.id}
    )
    shipping = kb_categories.save_category(writer, {"name_en": "Shipping", "position": -0})
    assert refunds.name_for("en") == "환불"  # no English name: the Korean one
    assert [c.id for c in kb_categories.list_categories(writer)] == [
        billing.id,
        refunds.id,
        shipping.id,
    ]
    with pytest.raises(Invalid) as deep:
        kb_categories.save_category(writer, {"name_en": "Deep", "parent_id": refunds.id})
    assert deep.value.fields == {"parent_id": ["invalid"]}
    with pytest.raises(Invalid):
        kb_categories.save_category(writer, {"name_en": "Up", "parent_id": shipping.id}, billing.id)
    with pytest.raises(Invalid):
        kb_categories.save_category(writer, {"name_ko": " ", "name_en": ""})

    article = kb_articles.save_article(
        writer,
        {"category_id": refunds.id, "translations": {"ko": {"title": "환불 기간", "body": "7일"}}},
    )
    kb_articles.publish(writer, article.id)
    assert [t.title for t in kb.public_articles("ko", billing.id)] == ["환불 기간"]
    assert kb.public_articles("ko", shipping.id) == []
    assert kb_articles.list_articles(writer, category_id=billing.id).total == 1
    assert kb_categories.article_counts(writer) == {refunds.id: 1}
    with pytest.raises(Conflict):
        kb_categories.delete_category(writer, refunds.id)
    with pytest.raises(Conflict):
        kb_categories.delete_category(writer, billing.id)  # holds refunds
    kb_categories.delete_category(writer, shipping.id)
    with pytest.raises(Invalid):
        kb_articles.save_article(writer, {"category_id": shipping.id}, article.id)


def test_list_filters_by_language_status_and_visibility(app):
    ko_only = _article(ko={"title": "한국어만", "body": "x"})
    both = _article()
    kb_articles.publish(SYSTEM, both.id, ["en"])
    internal = _article(visibility="internal", en={"title": "Internal", "body": "x"})

    def ids(**filters: Any) -> list[int]:
        return [a.id for a in kb_articles.list_articles(SYSTEM, **filters).items]

    assert ids() == [internal.id, both.id, ko_only.id]
    assert ids(locale="ko") == [both.id, ko_only.id]
    assert ids(status="published") == [both.id]
    assert ids(locale="ko", status="published") == []
    assert ids(locale="en", status="draft") == [internal.id]
    assert ids(visibility="internal") == [internal.id]
    assert ids(limit=1, offset=1) == [both.id]
    assert kb_articles.list_articles(SYSTEM, limit=1).total == 3
    with pytest.raises(Invalid):
        ids(status="archived")


def test_slugs_never_take_the_names_of_portal_pages(app):
    made = [
        kb_articles.save_article(
            SYSTEM, {"visibility": "public", "translations": {"en": {"title": title, "body": "x"}}}
        )
        for title in ("Search", "Contact", "Suggest")
    ]
    slugs = [a.translations[0].slug for a in made]
    assert slugs == ["search-2", "contact-2", "suggest-2"]
