"""The customer help center: anonymous visitors read published public articles in Korean or
English, search and get suggestions, vote, and write to us through a guarded contact form."""

from __future__ import annotations

from html import unescape
from typing import Any
from urllib.parse import quote

from sqlalchemy import func, select

from helpdesk.extensions import db
from helpdesk.models import Customer, KbTranslation, Message, Ticket
from helpdesk.services import kb_articles, kb_categories, search_sync
from helpdesk.services.permissions import SYSTEM
from tests.conftest import csrf_token
from tests.factories import make_customer

REFUND_KO = "환불하려면 어떻게 하나요?"
REFUND_EN = "How do I get a refund?"


def _article(
    ko: str | None,
    en: str | None,
    *,
    body: str = "본문입니다.",
    visibility: str = "public",
    category_id: int | None = None,
    publish: bool = True,
) -> int:
    translations: dict[str, Any] = {}
    if ko:
        translations["ko"] = {"title": ko, "body": body}
    if en:
        translations["en"] = {"title": en, "body": "The text."}
    saved = kb_articles.save_article(
        SYSTEM,
        {"visibility": visibility, "category_id": category_id, "translations": translations},
    )
    if publish:
        kb_articles.publish(SYSTEM, saved.id)
    return saved.id


def _url(article_id: int, locale: str) -> str:
    """The article's portal address, as links carry it (percent-encoded)."""
    return f"/help/{locale}/{quote(_slug(article_id, locale))}"


def _slug(article_id: int, locale: str) -> str:
    db.session.rollback()
    slug = db.session.scalar(
        select(KbTranslation.slug).where(
            KbTranslation.article_id == article_id, KbTranslation.locale == locale
        )
    )
    assert slug is not None
    return slug


def _counts(article_id: int, locale: str) -> tuple[int, int, int, int]:
    db.session.rollback()  # read what the requests committed
    row = db.session.execute(
        select(
            KbTranslation.view_count,
            KbTranslation.helpful_yes,
            KbTranslation.helpful_no,
            KbTranslation.deflection_count,
        ).where(KbTranslation.article_id == article_id, KbTranslation.locale == locale)
    ).one()
    return row[0], row[1], row[2], row[3]


def _tickets() -> int:
    db.session.rollback()
    return int(db.session.scalar(select(func.count()).select_from(Ticket)) or 0)


def _index(app) -> None:
    search_sync.rebuild(search_sync.search_index(app))


def _library() -> dict[str, int]:
    billing = kb_categories.save_category(SYSTEM, {"name_ko": "결제", "name_en": "Billing"})
    return {
        "refund": _article(
            REFUND_KO, REFUND_EN, body="주문 내역에서 환불을 신청하세요.", category_id=billing.id
        ),
        "card": _article("카드 변경", "Changing your card", category_id=billing.id),
        "internal": _article(
            "환불 내부 처리 절차", "Internal refund procedure", visibility="internal"
        ),
        "draft": _article("환불 초안 문서", "Refund draft", publish=False),
    }


def _contact(client, path: str = "/help/ko/contact", **changes: str):
    form = {
        "name": "이수진",
        "email": "sujin@example.kr",
        "subject": "환불 문의",
        "message": "지난주 주문을 환불하고 싶어요.",
        "website": "",
        "csrf_token": csrf_token(client, path),
    }
    form.update(changes)
    return client.post(path, data=form)


def test_home_lists_published_public_articles_by_category_in_both_languages(app, client):
    _library()
    ko = client.get("/help/ko")
    assert ko.status_code == 200
    page = ko.get_data(as_text=True)
    assert '<html lang="ko">' in page
    assert REFUND_KO in unescape(page) and "카드 변경" in page and "결제" in page
    assert "내부 처리" not in page and "초안" not in page
    assert 'name="q"' in page and 'href="/help/en"' in page  # search box, language switch
    en = client.get("/help/en").get_data(as_text=True)
    assert '<html lang="en">' in en
    assert REFUND_EN in unescape(en) and "Billing" in en and "Most viewed" in en
    assert "Internal refund" not in en and "Refund draft" not in en
    # /help alone follows the browser's language.
    browser_ko = client.get("/help", headers={"Accept-Language": "ko-KR,ko;q=0.9"})
    assert "카드 변경" in browser_ko.get_data(as_text=True)


def test_search_finds_a_word_inside_a_korean_phrase_and_never_internal_articles(app, client):
    ids = _library()
    _index(app)
    page = client.get("/help/ko/search", query_string={"q": "환불"}).get_data(as_text=True)
    assert f'href="{_url(ids["refund"], "ko")}"' in page
    assert "<mark>" in page  # highlighted title or snippet
    assert "내부 처리" not in page and "초안" not in page
    assert 'href="/help/ko/contact?subject=' in page  # "didn't help? contact us"
    nothing = client.get("/help/ko/search?q=존재하지않는말").get_data(as_text=True)
    assert "/help/ko/contact" in nothing and "<mark>" not in nothing


def test_suggest_answers_titles_as_json_even_for_an_unfinished_syllable(app, client):
    ids = _library()
    _index(app)
    for prefix in ("환불", "환부"):  # 환부: on the way to 환불 in a Korean input method
        answer = client.get("/help/ko/suggest", query_string={"q": prefix})
        assert answer.status_code == 200 and answer.is_json
        titles = [item["title"] for item in answer.get_json()]
        assert titles == [REFUND_KO], prefix
    item = client.get("/help/ko/suggest?q=환불").get_json()[0]
    assert item["url"] == _url(ids["refund"], "ko")
    en = client.get("/help/en/suggest?q=refu").get_json()
    assert [i["title"] for i in en] == [REFUND_EN]
    assert client.get("/help/ko/suggest?q=").get_json() == []


def test_an_article_counts_one_view_per_session_and_one_vote_per_browser(app, client):
    ids = _library()
    path = _url(ids["refund"], "ko")
    page = client.get(path).get_data(as_text=True)
    assert REFUND_KO in unescape(page) and "주문 내역에서 환불을 신청하세요." in page
    assert "결제" in page and "카드 변경" in page  # its category, a related article
    assert "도움이 되었나요?" in page or "Was this helpful?" in page
    client.get(path)
    assert _counts(ids["refund"], "ko")[0] == 1
    app.test_client().get(path)  # another browser
    assert _counts(ids["refund"], "ko")[0] == 2

    token = csrf_token(client, path)
    assert client.post(path + "/vote", data={"helpful": "yes"}).status_code == 400  # no CSRF
    answer = client.post(path + "/vote", data={"helpful": "yes", "csrf_token": token})
    assert answer.status_code == 302
    client.post(path + "/vote", data={"helpful": "no", "csrf_token": token})
    assert _counts(ids["refund"], "ko")[1:3] == (1, 0)
    assert 'name="helpful"' not in client.get(path).get_data(as_text=True)
    other = app.test_client()
    other.post(path + "/vote", data={"helpful": "no", "csrf_token": csrf_token(other, path)})
    assert _counts(ids["refund"], "ko")[1:3] == (1, 1)


def test_unknown_internal_and_draft_articles_answer_404(app, client):
    ids = _library()
    missing = client.get("/help/ko/없는-문서")
    assert missing.status_code == 404
    assert "help/ko/contact" in missing.get_data(as_text=True)  # the portal's own page
    assert client.get(f"{_url(ids['internal'], 'ko')}").status_code == 404
    assert client.get(_url(ids["draft"], "ko")).status_code == 404
    assert client.get("/help/en/" + quote(_slug(ids["refund"], "ko"))).status_code == 404
    assert client.get("/help/fr").status_code == 404


def test_the_contact_form_opens_one_web_ticket_for_the_customer_found_by_email(app, client):
    customer = make_customer(name="이수진", email="sujin@example.kr")
    answer = _contact(client, email="SuJin@Example.kr")
    assert answer.status_code == 302
    assert answer.headers["Location"] == "/help/ko/contact/thanks"
    db.session.rollback()
    tickets = db.session.scalars(select(Ticket)).all()
    assert len(tickets) == 1
    ticket = tickets[0]
    assert ticket.channel == "web" and ticket.customer_id == customer.id
    assert ticket.subject == "환불 문의"
    body = db.session.scalar(select(Message.body_text).where(Message.ticket_id == ticket.id))
    assert body == "지난주 주문을 환불하고 싶어요."
    thanks = client.get("/help/ko/contact/thanks").get_data(as_text=True)
    assert f"#{ticket.number}" in thanks


def test_a_new_visitor_becomes_a_customer_named_from_the_form(app, client):
    _contact(client, "/help/en/contact", name="Jane Doe", email="jane@example.com")
    db.session.rollback()
    ticket = db.session.scalars(select(Ticket)).one()
    assert db.session.get(Customer, ticket.customer_id).name == "Jane Doe"


def test_a_filled_honeypot_pretends_success_and_creates_nothing(app, client):
    answer = _contact(client, website="http://spam.example")
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/contact/thanks")
    assert _tickets() == 0
    thanks = client.get(answer.headers["Location"])
    assert thanks.status_code == 200 and "ticket-number" not in thanks.get_data(as_text=True)


def test_invalid_fields_show_messages_next_to_them_and_keep_what_was_typed(app, client):
    answer = _contact(client, "/help/en/contact", email="not-an-email", message="")
    assert answer.status_code == 422
    page = unescape(answer.get_data(as_text=True))
    assert 'id="email-error">Enter a valid email address' in page
    assert 'id="message-error">This field is required.' in page
    assert 'value="not-an-email"' in page and 'value="환불 문의"' in page
    assert 'value="이수진"' in page
    assert _tickets() == 0
    korean = unescape(_contact(client, subject="x" * 201).get_data(as_text=True))
    assert 'id="subject-error"' in korean and _tickets() == 0


def test_opening_a_suggested_article_from_the_contact_form_counts_a_deflection(app, client):
    ids = _library()
    path = _url(ids["refund"], "ko")
    client.get(path)
    assert _counts(ids["refund"], "ko")[3] == 0  # an ordinary read is no deflection
    client.get(path + "?from=contact")
    client.get(path + "?from=contact")
    assert _counts(ids["refund"], "ko")[3] == 1  # once per browser session
    assert _counts(ids["refund"], "en")[3] == 0
    assert client.get(f"{_url(ids['internal'], 'ko')}?from=contact").status_code == 404


def test_the_contact_form_is_rate_limited_per_address(app, client):
    for _ in range(5):
        assert _contact(client, email="bad").status_code == 422
    limited = _contact(client, email="bad")
    assert limited.status_code == 429
    assert "Retry-After" in limited.headers
    assert client.get("/help/ko/contact").status_code == 200  # reading is not limited
    assert _tickets() == 0


def test_the_contact_form_takes_files_up_to_its_limit(app, client):
    from io import BytesIO

    def files(n: int) -> list[tuple[BytesIO, str]]:
        return [(BytesIO(f"사진 {i}".encode()), f"영수증 {i}.png") for i in range(n)]

    too_many = _contact(client, "/help/en/contact", attachments=files(6))  # type: ignore[arg-type]
    assert too_many.status_code == 422 and _tickets() == 0
    assert 'id="attachments-error">Attach at most 5 files.' in unescape(too_many.get_data(True))

    sent = _contact(client, attachments=files(2))  # type: ignore[arg-type]
    assert sent.status_code == 302
    db.session.rollback()
    ticket = db.session.scalars(select(Ticket)).one()
    message = db.session.scalars(select(Message).where(Message.ticket_id == ticket.id)).one()
    assert [(a.filename, a.size) for a in message.attachments] == [
        ("영수증 0.png", len("사진 0".encode())),
        ("영수증 1.png", len("사진 1".encode())),
    ]
