"""The knowledge base staff pages: an agent writes an article in Korean and English through the
editor, previews, revises and publishes it; readers read; categories are managed; Korean UI."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

import pytest
from sqlalchemy import func, select

from helpdesk.extensions import db
from helpdesk.models import KbArticle, KbCategory, KbRevision
from helpdesk.services import kb, kb_articles, kb_categories
from helpdesk.services.errors import NotFound
from helpdesk.services.permissions import SYSTEM
from tests.conftest import csrf_token, login, post_form
from tests.factories import make_user


def _form(**changes: Any) -> dict[str, Any]:
    form: dict[str, Any] = {
        "category_id": "",
        "visibility": "public",
        "title-ko": "배송 조회 방법",
        "body-ko": "**주문 번호**로 조회하세요.",
        "title-en": "How to track a delivery",
        "body-en": "Use your **order number**.",
    }
    form.update(changes)
    return form


def _article() -> KbArticle:
    db.session.rollback()  # read what the requests committed, not this session's snapshot
    article = db.session.scalar(select(KbArticle).order_by(KbArticle.id.desc()))
    assert article is not None
    return article


def _revisions() -> int:
    db.session.rollback()
    return int(db.session.scalar(select(func.count()).select_from(KbRevision)) or 0)


def _flashes(page: str, kind: str = "error") -> list[str]:
    return [unescape(f) for f in re.findall(rf'class="flash {kind}" role="status">(.*?)</p>', page)]


def _section(page: str, locale: str) -> str:
    match = re.search(rf'<section class="kb-locale" lang="{locale}".*?</section>', page, re.S)
    assert match is not None, f"no {locale} section"
    return match.group(0)


def test_an_agent_writes_revises_and_publishes_an_article_in_both_languages(app, client):
    agent = make_user("agent", name="Kim Agent", locale="en")
    login(client, agent.email)
    assert 'href="/kb"' in client.get("/tickets").get_data(as_text=True)  # the nav link
    shipping = kb_categories.save_category(SYSTEM, {"name_ko": "배송", "name_en": "Shipping"})

    editor = client.get("/kb/articles/new").get_data(as_text=True)
    for field in ("title-ko", "body-ko", "title-en", "body-en", "category_id", "visibility"):
        assert f'name="{field}"' in editor
    assert 'lang="ko"' in editor and 'lang="en"' in editor
    response = post_form(
        client, "/kb/articles/new", _form(category_id=str(shipping.id)), "/kb/articles/new"
    )
    assert response.status_code == 302
    article = _article()
    assert response.headers["Location"] == f"/kb/articles/{article.id}"
    assert article.category_id == shipping.id and article.visibility == "public"
    assert {t.locale: t.slug for t in article.translations} == {
        "ko": "배송-조회-방법",
        "en": "how-to-track-a-delivery",
    }

    page = client.get(f"/kb/articles/{article.id}").get_data(as_text=True)
    assert "Article saved." in page
    assert "<strong>주문 번호</strong>로 조회하세요." in _section(page, "ko")  # stored HTML shown
    assert "<strong>order number</strong>" in _section(page, "en")
    assert "ko/배송-조회-방법" in page
    assert len(re.findall(r"<li data-revision-id=", page)) == 2 and "Kim Agent" in page

    # Preview: the server renders the Markdown as typed; nothing is saved.
    preview = post_form(
        client,
        "/kb/articles/preview",
        _form(
            article_id=str(article.id),
            **{"body-en": "Now **faster**.\n\n<script>alert('x')</script>"},
        ),
        f"/kb/articles/{article.id}",
    ).get_data(as_text=True)
    assert "Preview only" in preview
    assert "<p>Now <strong>faster</strong>.</p>" in _section(preview, "en")
    assert "<script>alert" not in preview
    assert "Now **faster**." in _section(preview, "en")  # the textarea keeps what was typed
    assert _revisions() == 2

    # Saving changes the English text only: one new revision, in English.
    edited = post_form(
        client,
        f"/kb/articles/{article.id}",
        _form(category_id=str(shipping.id), **{"body-en": "Now **faster**."}),
        f"/kb/articles/{article.id}",
    )
    assert edited.status_code == 302
    assert _revisions() == 3
    history = kb_articles.list_revisions(SYSTEM, article.id)
    assert (history[0].locale, history[0].body_markdown) == ("en", "Now **faster**.")

    # Publish Korean first, then everything; then take it back.
    token_page = f"/kb/articles/{article.id}"
    post_form(client, f"/kb/articles/{article.id}/publish", {"locale": "ko"}, token_page)
    db.session.rollback()
    assert kb.public_article("ko", "배송-조회-방법").article_id == article.id
    with pytest.raises(NotFound):
        kb.public_article("en", "how-to-track-a-delivery")
    page = client.get(token_page).get_data(as_text=True)
    assert "Published." in page and "Unpublish Korean" in page and "Publish English" in page
    post_form(client, f"/kb/articles/{article.id}/publish", {}, token_page)
    db.session.rollback()
    assert kb.public_article("en", "how-to-track-a-delivery").title == "How to track a delivery"

    kb.record_view(article.id, "en")
    kb.record_vote(article.id, "en", True)
    kb.record_vote(article.id, "en", False)
    listing = client.get("/kb").get_data(as_text=True)
    row = re.search(rf'<tr data-article-id="{article.id}">(.*?)</tr>', listing, re.S)
    assert row is not None
    cells = unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row.group(1))))
    assert "배송 조회 방법" in cells and "How to track a delivery" in cells
    assert "Shipping" in cells and "Published" in cells and "Public" in cells
    assert "en 1" in cells and "50% (2)" in cells

    post_form(client, f"/kb/articles/{article.id}/unpublish", {"locale": "en"}, token_page)
    db.session.rollback()
    with pytest.raises(NotFound):
        kb.public_article("en", "how-to-track-a-delivery")
    filtered = client.get("/kb", query_string={"status": "draft"}).get_data(as_text=True)
    assert f'data-article-id="{article.id}"' in filtered  # English is a draft again

    deleted = post_form(client, f"/kb/articles/{article.id}/delete", {}, token_page)
    assert deleted.status_code == 302 and deleted.headers["Location"] == "/kb"
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(KbArticle)) == 0


def test_a_refused_form_is_shown_again_as_typed(app, client):
    login(client, make_user("agent", locale="en").email)
    response = post_form(
        client,
        "/kb/articles/new",
        _form(**{"title-ko": "  ", "body-ko": "제목이 없는 글"}),
        "/kb/articles/new",
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "Traceback" not in page
    assert _flashes(page) == ["A title of 1 to 200 characters is required."]
    assert 'class="field-error" role="alert">A title' in _section(page, "ko")
    assert "제목이 없는 글" in page and 'value="How to track a delivery"' in page
    assert _revisions() == 0
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(KbArticle)) == 0

    # Only one language is fine: the blank one is simply not written.
    response = post_form(
        client,
        "/kb/articles/new",
        _form(**{"title-en": "", "body-en": "", "visibility": "internal"}),
        "/kb/articles/new",
    )
    assert response.status_code == 302
    article = _article()
    assert [t.locale for t in article.translations] == ["ko"]
    assert article.visibility == "internal"


def test_sales_reads_the_knowledge_base_but_gets_no_editor(app, client):
    article = kb_articles.save_article(
        SYSTEM, {"translations": {"en": {"title": "Return labels", "body": "Print it."}}}
    )
    login(client, make_user("sales", locale="en").email)
    listing = client.get("/kb").get_data(as_text=True)
    assert "Return labels" in listing and "/kb/articles/new" not in listing
    page = client.get(f"/kb/articles/{article.id}").get_data(as_text=True)
    assert '<fieldset class="plain" disabled>' in page
    assert ">Save</button>" not in page and "/publish" not in page and "/delete" not in page
    assert "<p>Print it.</p>" in page
    assert client.get("/kb/articles/new").status_code == 403
    refused = client.post(
        f"/kb/articles/{article.id}/publish",
        data={"csrf_token": csrf_token(client, "/kb")},
    )
    assert refused.status_code == 403
    categories = client.get("/kb/categories").get_data(as_text=True)
    assert "Add category" not in categories
    db.session.rollback()
    assert kb_articles.get_article(SYSTEM, article.id).translation("en").status == "draft"


def test_categories_are_added_nested_renamed_and_deleted(app, client):
    login(client, make_user("admin", locale="en").email)
    page = "/kb/categories"
    added = post_form(
        client, page, {"name_ko": "결제", "name_en": "Billing", "position": "0"}, page
    )
    assert added.status_code == 302 and added.headers["Location"] == page
    billing = db.session.scalar(select(KbCategory).where(KbCategory.name_en == "Billing"))
    assert billing is not None
    response = post_form(
        client,
        page,
        {"name_ko": "환불", "name_en": "", "position": "1", "parent_id": billing.id},
        page,
    )
    assert response.status_code == 302
    db.session.rollback()
    refunds = db.session.scalar(select(KbCategory).where(KbCategory.name_ko == "환불"))
    assert refunds is not None and refunds.parent_id == billing.id

    listing = client.get(page).get_data(as_text=True)
    assert "Category saved." in listing
    assert f'<tr data-category-id="{refunds.id}" class="child">' in listing
    assert "Top level (holds categories)" in listing  # Billing cannot move under another

    refused = post_form(client, page, {"name_ko": "", "name_en": " "}, page)
    assert refused.status_code == 422
    assert _flashes(refused.get_data(as_text=True)) == [
        "Give the category a name in Korean or English."
    ]

    renamed = post_form(
        client,
        f"/kb/categories/{refunds.id}",
        {"name_ko": "환불", "name_en": "Refunds", "position": "1", "parent_id": billing.id},
        page,
    )
    assert renamed.status_code == 302
    db.session.rollback()
    assert db.session.get(KbCategory, refunds.id).name_en == "Refunds"

    kb_articles.save_article(
        SYSTEM,
        {"category_id": refunds.id, "translations": {"ko": {"title": "환불 기간", "body": "7일"}}},
    )
    kept = post_form(client, f"/kb/categories/{refunds.id}/delete", {}, page)
    assert kept.status_code == 302
    assert "still holds articles" in client.get(page).get_data(as_text=True)
    filtered = client.get("/kb", query_string={"category": billing.id}).get_data(as_text=True)
    assert "환불 기간" in filtered  # a category lists the articles of those under it


def test_the_korean_editor_and_list(app, client):
    login(client, make_user("agent", locale="ko").email)
    response = post_form(
        client,
        "/kb/articles/new",
        _form(
            **{
                "title-en": "",
                "body-en": "",
                "body-ko": "# 조회\n\n| 단계 | 설명 |\n|---|---|\n| 1 | 접수 |",
            }
        ),
        "/kb/articles/new",
    )
    assert response.status_code == 302
    article = _article()
    page = client.get(f"/kb/articles/{article.id}").get_data(as_text=True)
    assert '<html lang="ko">' in page
    assert "로그아웃" in page and ">티켓</a>" in page  # the shared Korean UI
    assert ">저장</button>" in page  # "Save"
    assert "ko/배송-조회-방법" in page
    assert "<h1>조회</h1>" in page and "<td>접수</td>" in page
    listing = client.get("/kb").get_data(as_text=True)
    assert '<html lang="ko">' in listing
    assert "배송 조회 방법" in listing and ">상태</th>" in listing  # "Status"
