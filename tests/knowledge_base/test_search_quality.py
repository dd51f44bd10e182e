"""Search quality and safety on a small Korean and English help desk: what a user finds, what
they must never find, and what happens when the index changes or breaks."""

from __future__ import annotations

import json
import threading
import time
import unicodedata
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from knowledge_base.search import (
    REFRESH_SECONDS,
    ArticleDocument,
    IndexBusy,
    IndexChange,
    SearchIndex,
    SearchScope,
    TicketDocument,
)

NOW = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def article(id_: int, title: str, body: str, *, locale: str = "ko", **extra: object):
    return ArticleDocument(
        id=id_,
        locale=locale,
        title=title,
        body=body,
        updated_at=NOW - timedelta(days=id_),
        **extra,  # type: ignore[arg-type]
    )


def ticket(id_: int, customer: int, subject: str, text: str, **extra: object):
    values: dict[str, object] = {"status": "open", "locale": "ko", "group_id": 1}
    values.update(extra)
    return TicketDocument(
        id=id_,
        number=12344 + id_,
        subject=subject,
        text=text,
        updated_at=NOW - timedelta(hours=id_),
        customer_id=customer,
        **values,  # type: ignore[arg-type]
    )


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


DOCUMENTS = [
    article(1, "환불 정책 안내", "환불은 구매 후 7일 이내에 신청할 수 있습니다.", category_id=1),
    article(2, "환불하려면 어떻게 하나요?", "주문 내역에서 신청 버튼을 누르세요.", category_id=1),
    article(3, "배송조회 방법", "배송 상태는 마이페이지에서 볼 수 있어요.", category_id=2),
    article(4, "택배가 늦을 때", "택배사 사정으로 배송 조회가 늦을 수 있어요.", category_id=2),
    article(5, "로그인 문제 해결", "앱에서 로그인이 안 되면 비밀번호를 재설정하세요."),
    article(
        6,
        "환불 승인 내부 절차",
        "상담원은 환불을 승인하기 전에 결제를 확인합니다.",
        visibility="internal",
    ),
    article(7, "새 환불 정책 초안", "아직 공개하지 않은 환불 규정입니다.", published=False),
    article(8, "앱 설치 안내", "앱이 설치되지 않으면 저장 공간을 확인하세요."),
    article(9, "쿠폰 사용 방법", "쿠폰은 결제 단계에서 입력합니다."),
    article(10, "카드 결제 실패", "결제 오류가 반복되면 다른 카드로 시도하세요."),
    article(11, "How to get a refund", "Refunds are processed within 7 days.", locale="en"),
    article(
        12,
        "Refunded orders",
        "If your order was refunded, the money goes back to your card.",
        locale="en",
    ),
    article(
        13, "Login problems", "If you cannot sign in to the app, reset your password.", locale="en"
    ),
    article(14, "Delivery tracking", "Track every delivery from the orders page.", locale="en"),
    article(
        15,
        "Refund approval checklist",
        "Agents approve refunds after a fraud check.",
        locale="en",
        visibility="internal",
    ),
    article(16, "Password reset", "Use the link we send you.", locale="en"),
    article(
        17,
        "Account settings",
        "Change your password, the password hint and your e-mail "
        "address on this page, and read why a strong password matters.",
        locale="en",
    ),
    ticket(1, 1, "로그인이 안 돼요", "로그인 login 오류가 나요. 앱을 다시 깔아도 같아요."),
    ticket(
        2,
        1,
        "환불을 요청합니다",
        "지난주 주문을 환불 받고 싶어요.",
        group_id=2,
        internal_notes="VIP 고객, 부분 환불 승인 필요",
        status="pending",
    ),
    ticket(3, 2, "배송이 안 와요", "주문한 상품 배송조회가 안 됩니다."),
    ticket(
        4,
        2,
        "Refund please",
        "I want a refund for my order. Reach me at kim.minsu@example.com",
        group_id=None,
        locale="en",
    ),
    ticket(
        5,
        3,
        "결제 오류",
        "카드 결제가 실패했어요.",
        group_id=2,
        organization_id=10,
        internal_notes="사기 의심 거래, 고객에게 알리지 말 것",
    ),
    ticket(6, 4, "앱이 꺼져요", "앱을 실행하자마자 꺼집니다.", organization_id=10, status="solved"),
    ticket(7, 5, nfd("환불 문의"), nfd("환불은 언제 되나요?")),
    ticket(8, 5, "ＬＯＧＩＮ ＥＲＲＯＲ", "ｌｏｇｉｎ ｆａｉｌｓ ｅｖｅｒｙ ｔｉｍｅ", locale="en"),
    ticket(9, 6, "이상한 메일", "<script>alert('x')</script> 환불 링크를 눌렀어요 & 걱정돼요"),
]

STAFF = SearchScope.staff()


def keys(results) -> list[str]:
    return [hit.key for hit in results.hits]


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SearchIndex]:
    ix = SearchIndex.open(tmp_path_factory.mktemp("search"))
    ix.rebuild(DOCUMENTS)
    yield ix
    ix.close()


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[SearchIndex]:
    """An index of its own, for tests that change it."""
    ix = SearchIndex.open(tmp_path / "search")
    ix.rebuild(DOCUMENTS)
    yield ix
    ix.close()


# Korean


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # 환불은, 환불하려면, 환불을, 환불은 (decomposed)
        ("환불", {"article:1:ko", "article:2:ko", "ticket:2", "ticket:7"}),
        ("환불을", {"article:1:ko", "article:2:ko", "ticket:2"}),  # the particle is not required
        ("환불하려면", {"article:1:ko", "article:2:ko", "ticket:7"}),
        ("배송조회", {"article:3:ko", "article:4:ko", "ticket:3"}),  # 배송 조회 spelled apart
        ("배송 조회", {"article:3:ko", "article:4:ko", "ticket:3"}),  # 배송조회 spelled together
        ("앱", {"article:5:ko", "article:8:ko", "ticket:1", "ticket:6"}),  # 앱에서, 앱이, 앱을
    ],
)
def test_korean_words_match_their_particle_and_spacing_variants(index, query, expected):
    assert expected <= set(keys(index.search(query, STAFF)))


def test_a_particle_suffixed_query_ranks_the_topic_not_the_particle(index):
    results = index.search("쿠폰은", STAFF)
    assert keys(results) == ["article:9:ko"]


def test_korean_typed_on_a_mac_nfd_finds_and_is_found(index):
    assert "article:1:ko" in keys(index.search(nfd("환불 정책"), STAFF))
    assert "ticket:7" in keys(index.search("환불 문의", STAFF))  # an NFD document
    hit = next(h for h in index.search("환불 문의", STAFF).hits if h.key == "ticket:7")
    assert "<mark>" in hit.title_html and unicodedata.is_normalized("NFD", hit.title)


def test_full_width_letters_are_ordinary_letters(index):
    assert "ticket:8" in keys(index.search("login fails", STAFF))
    assert "ticket:1" in keys(index.search("ＬＯＧＩＮ", STAFF))


# English, synonyms, numbers


@pytest.mark.parametrize("query", ["refund", "refunds", "refunded", "REFUNDING"])
def test_english_words_are_stemmed(index, query):
    assert {"article:11:en", "article:12:en", "ticket:4"} <= set(keys(index.search(query, STAFF)))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("로그인", "article:13:en"),  # Korean query, English document (login)
        ("login", "article:5:ko"),  # English query, Korean document (로그인)
        ("app", "article:8:ko"),
        ("비밀번호", "article:16:en"),
        ("refund", "article:1:ko"),
    ],
)
def test_loanwords_written_either_way_find_each_other(index, query, expected):
    assert expected in keys(index.search(query, STAFF))


def test_mixed_language_text_is_found_by_either_language(index):
    assert "ticket:1" in keys(index.search("login 오류", STAFF))
    assert "ticket:1" in keys(index.search("로그인 오류가", STAFF))


def test_ticket_numbers_and_email_addresses_are_searchable(index):
    assert keys(index.search("#12345", STAFF)) == ["ticket:1"]
    assert keys(index.search("12348", STAFF)) == ["ticket:4"]
    assert keys(index.search("kim.minsu@example.com", STAFF)) == ["ticket:4"]


def test_stop_words_alone_find_nothing(index):
    assert index.search("the and of", STAFF).hits == []
    assert index.search("   ", STAFF).total == 0


def test_when_no_document_has_every_word_any_word_is_enough(index):
    results = index.search("쿠폰 zebra", STAFF)
    assert keys(results) == ["article:9:ko"]
    assert not results.matched_all_words


# Ranking and snippets


def test_a_title_match_outranks_body_matches(index):
    assert keys(index.search("password", STAFF, kinds=["article"]))[0] == "article:16:en"
    assert keys(index.search("환불", STAFF, kinds=["article"]))[0] in {
        "article:1:ko",
        "article:2:ko",
    }


def test_snippets_mark_the_korean_word_and_escape_html(index):
    hit = next(h for h in index.search("환불", STAFF).hits if h.key == "article:1:ko")
    assert hit.title_html == "<mark>환불</mark> 정책 안내"
    assert hit.snippet.startswith("<mark>환불</mark>은 구매 후")
    script = next(h for h in index.search("환불", STAFF).hits if h.key == "ticket:9")
    assert "<script>" not in script.snippet
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in script.snippet
    assert "<mark>환불</mark> 링크" in script.snippet and "&amp; 걱정돼요" in script.snippet


def test_a_hit_carries_what_a_result_list_shows(index):
    hit = index.search("배송조회", STAFF).hits[0]
    assert hit.kind in {"article", "ticket"} and hit.id in {3, 4}
    assert hit.score > 0 and hit.updated_at.tzinfo is not None
    tickets = index.search("#12347", STAFF).hits
    assert tickets[0].title == "#12347 배송이 안 와요" and tickets[0].locale is None


def test_pages_do_not_overlap(index):
    first = index.search("환불", STAFF, limit=3)
    second = index.search("환불", STAFF, limit=3, offset=3)
    assert len(first.hits) == 3 and second.hits
    assert not set(keys(first)) & set(keys(second))
    assert first.total == second.total and first.total_is_exact


# Permissions


def test_anonymous_visitors_see_published_public_articles_in_their_language(index):
    found = keys(index.search("환불", SearchScope.public("ko")))
    assert set(found) == {"article:1:ko", "article:2:ko"}  # not internal 6, not draft 7
    english = set(keys(index.search("refund", SearchScope.public("en"))))
    assert english == {"article:11:en", "article:12:en"}  # not the internal checklist 15


def test_customers_see_public_articles_and_only_their_own_tickets(index):
    found = set(keys(index.search("환불", SearchScope.customer(1))))
    assert found == {"article:1:ko", "article:2:ko", "article:11:en", "article:12:en", "ticket:2"}
    assert "ticket:7" not in found and "article:6:ko" not in found


def test_customers_never_find_a_ticket_through_its_internal_notes(index):
    assert index.search("사기", SearchScope.customer(3)).hits == []
    assert index.search("사기", SearchScope.customer(3)).total == 0
    payment = index.search("결제 오류", SearchScope.customer(3)).hits
    assert [h.key for h in payment] == ["ticket:5", "article:10:ko"]  # their ticket, a FAQ
    assert "사기" not in payment[0].snippet
    assert keys(index.search("사기", STAFF)) == ["ticket:5"]


def test_an_organization_that_shares_tickets_shows_them_to_its_members(index):
    assert keys(index.search("앱", SearchScope.customer(3), kinds=["ticket"])) == []
    shared = keys(index.search("앱", SearchScope.customer(3, organization_id=10), kinds=["ticket"]))
    assert shared == ["ticket:6"]


def test_staff_see_internal_articles_drafts_and_the_tickets_of_their_groups(index):
    everything = set(keys(index.search("환불", STAFF)))
    assert {"article:6:ko", "article:7:ko", "ticket:2", "ticket:7"} <= everything
    group_two = set(keys(index.search("환불", SearchScope.staff({2}), kinds=["ticket"])))
    assert group_two == {"ticket:2"}
    assert "ticket:4" not in keys(index.search("refund", SearchScope.staff({1, 2})))
    ungrouped = SearchScope.staff({1}, include_ungrouped=True)
    assert "ticket:4" in keys(index.search("refund", ungrouped))


WORDS = ["환불", "로그인", "앱", "결제", "배송", "사기", "VIP", "refund", "password", "카드"]
PUBLIC = {
    d.key
    for d in DOCUMENTS
    if isinstance(d, ArticleDocument) and d.visibility == "public" and d.published
}


@settings(max_examples=60, deadline=None)
@given(
    words=st.lists(st.sampled_from(WORDS), min_size=1, max_size=3),
    customer=st.integers(1, 7),
    organization=st.sampled_from([None, 10, 11]),
)
def test_no_query_shows_a_customer_anything_outside_their_scope(
    index, words, customer, organization
):
    scope = SearchScope.customer(customer, organization)
    results = index.search(" ".join(words), scope, limit=50)
    own = {
        d.key
        for d in DOCUMENTS
        if isinstance(d, TicketDocument)
        and (d.customer_id == customer or (organization and d.organization_id == organization))
    }
    assert set(keys(results)) <= PUBLIC | own
    for hit in results.hits:
        assert "사기" not in hit.snippet and "VIP" not in hit.snippet
    suggested = {h.key for h in index.suggest(words[0][:2], scope)}
    assert suggested <= PUBLIC | own


def test_filters_narrow_by_locale_status_group_and_category(index):
    assert set(keys(index.search("refund", STAFF, locale="en"))) == {
        "article:11:en",
        "article:12:en",
        "article:15:en",
        "ticket:4",
    }
    assert keys(index.search("환불", STAFF, statuses=["pending"])) == ["ticket:2"]
    assert keys(index.search("앱", STAFF, statuses="solved")) == ["ticket:6"]
    assert set(keys(index.search("환불", STAFF, group_ids=2))) == {"ticket:2"}
    assert set(keys(index.search("배송", STAFF, category_ids=[2]))) == {
        "article:3:ko",
        "article:4:ko",
    }
    assert keys(index.search("환불", STAFF, customer_id=5)) == ["ticket:7"]
    assert keys(index.search("환불", STAFF, customer_id=1)) == ["ticket:2"]  # it has notes
    assert index.search("환불", STAFF, statuses=[]).hits == []
    recent = index.search("환불", STAFF, updated_after=NOW - timedelta(days=1, hours=12))
    assert set(keys(recent)) == {"article:1:ko", "ticket:2", "ticket:4", "ticket:7", "ticket:9"}


# Suggestions


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("환", "article:1:ko"),
        ("환부", "article:1:ko"),  # 환불 while the last syllable is being composed
        ("환ㅂ", "article:1:ko"),  # ... and one keystroke earlier
        ("배송조", "article:3:ko"),
        ("택배가 늦", "article:4:ko"),
        ("refu", "article:11:en"),
        ("Passw", "article:16:en"),
    ],
)
def test_suggestions_complete_the_word_being_typed(index, typed, expected):
    suggested = index.suggest(typed, SearchScope.public("ko" if expected.endswith("ko") else "en"))
    assert expected in [hit.key for hit in suggested]
    assert all("<mark>" in hit.title_html for hit in suggested)


# Changes


def test_an_upsert_replaces_the_document_and_a_delete_removes_it(fresh):
    assert "article:9:ko" in keys(fresh.search("쿠폰", STAFF))
    changed = article(9, "적립금 사용 방법", "적립금은 결제 단계에서 씁니다.")
    fresh.apply([IndexChange.upsert(changed)])
    assert "article:9:ko" not in keys(fresh.search("쿠폰", STAFF))
    assert keys(fresh.search("적립금", STAFF)) == ["article:9:ko"]
    fresh.apply([IndexChange.delete("article:9:ko"), IndexChange.delete("ticket:3")])
    assert fresh.search("적립금", STAFF).hits == []
    assert "ticket:3" not in keys(fresh.search("배송", STAFF))
    assert fresh.doc_count() == len(DOCUMENTS) - 2


def test_in_a_batch_the_last_change_of_a_key_wins(fresh):
    first = ticket(50, 1, "사과 상자", "내용")
    second = ticket(50, 1, "포도 상자", "내용")
    assert fresh.apply([IndexChange.upsert(first), IndexChange.upsert(second)]) == 1
    assert keys(fresh.search("포도", STAFF)) == ["ticket:50"]
    assert fresh.search("사과", STAFF).hits == []
    fresh.apply([IndexChange.upsert(first), IndexChange.delete("ticket:50")])
    assert fresh.search("상자", STAFF).hits == []


def test_a_change_reaches_another_reader_of_the_same_folder(fresh):
    other = SearchIndex.open(fresh.path)
    assert other.search("해지", STAFF).hits == []  # the other reader has a searcher now
    fresh.apply([IndexChange.upsert(ticket(60, 1, "구독 해지", "해지해 주세요"))])
    deadline = time.monotonic() + 5 * REFRESH_SECONDS + 1
    while not other.search("해지", STAFF).hits:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    other.close()


def test_searching_from_many_threads_while_one_writes(fresh):
    failures: list[BaseException] = []
    stop = threading.Event()

    def read() -> None:
        try:
            while not stop.is_set():
                for hit in fresh.search("환불", SearchScope.customer(1)).hits:
                    assert hit.key in PUBLIC | {"ticket:2"}
        except BaseException as error:  # reported by the main thread
            failures.append(error)

    readers = [threading.Thread(target=read) for _ in range(3)]
    for thread in readers:
        thread.start()
    for n in range(15):
        fresh.apply([IndexChange.upsert(ticket(100 + n, 9, f"환불 {n}", "환불 요청"))])
    stop.set()
    for thread in readers:
        thread.join()
    assert not failures
    assert fresh.search("환불 요청", STAFF, customer_id=9, limit=50).total == 15


def test_during_a_rebuild_searches_see_the_old_index_and_changes_must_wait(fresh):
    started, release = threading.Event(), threading.Event()

    def slow_documents() -> Iterator[ArticleDocument | TicketDocument]:
        yield DOCUMENTS[0]
        started.set()
        release.wait(10)
        yield from DOCUMENTS[1:3]

    rebuild = threading.Thread(target=fresh.rebuild, args=(slow_documents(),))
    rebuild.start()
    assert started.wait(10)
    other_process = SearchIndex.open(fresh.path)
    try:
        with pytest.raises(IndexBusy):
            fresh.apply([IndexChange.delete("ticket:1")], timeout=0.1)
        with pytest.raises(IndexBusy):
            other_process.apply([IndexChange.delete("ticket:1")], timeout=0.1)
        assert "ticket:1" in keys(fresh.search("로그인", STAFF))
    finally:
        release.set()
        rebuild.join()
    assert fresh.doc_count() == 3
    assert fresh.apply([IndexChange.delete("article:1:ko")]) == 1
    other_process.close()


# A new, outdated or damaged index


def test_a_new_index_is_empty_and_asks_for_a_reindex_until_rebuilt(tmp_path):
    ix = SearchIndex.open(tmp_path / "search")
    assert ix.needs_reindex and ix.search("환불", STAFF).hits == []
    again = SearchIndex.open(tmp_path / "search")
    assert again.needs_reindex  # another process sees it too
    counts: list[int] = []
    assert again.rebuild(DOCUMENTS, progress=counts.append) == len(DOCUMENTS)
    assert counts == [len(DOCUMENTS)] and not again.needs_reindex
    assert not SearchIndex.open(tmp_path / "search").needs_reindex


def test_a_corrupt_index_is_recreated_empty_instead_of_crashing(fresh, caplog):
    for path in fresh.path.rglob("*"):
        if path.is_file() and not path.name.endswith(".json"):
            path.write_bytes(b"\x00garbage\xff" * 50)
    reopened = SearchIndex.open(fresh.path)
    assert reopened.needs_reindex
    assert reopened.search("환불", STAFF).hits == []
    assert "unusable" in caplog.text
    reopened.rebuild(DOCUMENTS)
    assert "article:1:ko" in keys(reopened.search("환불", STAFF))


def test_a_rebuild_larger_than_its_memory_limit_finds_the_same(index, tmp_path):
    small = SearchIndex.open(tmp_path / "search")
    small.rebuild(DOCUMENTS, limitmb=0.01)  # postings go through temporary files
    for query in ["환불", "login", "배송 조회", "앱"]:
        assert keys(small.search(query, STAFF)) == keys(index.search(query, STAFF))
    small.close()


def test_an_index_of_an_older_schema_is_recreated(fresh):
    (fresh.path / "dangol-search.json").write_text(json.dumps({"schema_version": 0}))
    reopened = SearchIndex.open(fresh.path)
    assert reopened.needs_reindex and reopened.doc_count() == 0


def test_scopes_must_restrict_what_is_not_staff():
    with pytest.raises(ValueError):
        SearchScope(articles=None, tickets=frozenset())


def test_a_filter_left_without_documents_lets_nothing_through(tmp_path):
    """The only public article is deleted: the public scope must find nothing, not the
    internal article that is still there (an empty allow-set means "all" to Whoosh)."""
    fresh = SearchIndex.open(tmp_path / "small")
    fresh.rebuild([])
    fresh.apply([IndexChange.upsert(article(1, "환불 안내", "환불은 7일 이내"))])
    fresh.apply(
        [IndexChange.upsert(article(2, "환불 내부 절차", "승인 필요", visibility="internal"))]
    )
    assert keys(fresh.search("환불", SearchScope.public("ko"))) == ["article:1:ko"]
    fresh.apply([IndexChange.delete("article:1:ko")])
    assert keys(fresh.search("환불", SearchScope.public("ko"))) == []
    assert keys(fresh.search("환불", SearchScope.staff(None))) == ["article:2:ko"]
    fresh.close()
