"""The analyzer on its own: terms of documents, clauses of queries, snippets."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from knowledge_base.analysis import (
    SYNONYMS,
    analyze_prefix,
    analyze_query,
    excerpt,
    highlight,
    index_terms,
    normalize,
    tokens,
)


def required(query: str) -> list[tuple[str, ...]]:
    """The required terms of each clause's first alternative (the word as typed)."""
    return [clause.alternatives[0].required for clause in analyze_query(query)]


def test_hangul_words_become_their_first_syllable_and_bigrams():
    assert index_terms("환불하려면") == ["환", "환불", "불하", "하려", "려면"]
    assert index_terms("앱 오류") == ["앱", "오", "오류"]


def test_bigrams_never_cross_a_space_or_another_script():
    assert index_terms("배송 조회") == ["배", "배송", "조", "조회"]
    assert index_terms("iPhone앱") == ["iphon", "앱"]


def test_english_is_lower_cased_stemmed_and_stop_words_dropped():
    assert index_terms("The Refunds were REFUNDED to a card") == [
        "refund",
        "were",
        "refund",
        "card",
    ]


def test_numbers_ticket_numbers_and_email_addresses():
    assert index_terms("#12345 주문번호 555") == ["12345", "주", "주문", "문번", "번호", "555"]
    assert index_terms("Kim.Minsu@Example.com") == [
        "kim.minsu@example.com",
        "kim",
        "minsu",
        "exampl",
        "com",
    ]


def test_decomposed_and_full_width_text_is_normalized():
    decomposed = unicodedata.normalize("NFD", "환불 요청")
    assert len(decomposed) > len("환불 요청")
    assert normalize(decomposed) == "환불 요청"
    assert index_terms(decomposed) == index_terms("환불 요청")
    assert index_terms("ＬＯＧＩＮ １２３") == ["login", "123"]


def test_token_offsets_point_into_the_text_as_given():
    decomposed = unicodedata.normalize("NFD", "새 환불은")
    found = {t.term: decomposed[t.start : t.end] for t in tokens(decomposed)}
    assert unicodedata.normalize("NFC", found["환불"]) == "환불"
    assert found["불은"] == decomposed[-6:]  # two syllables of three code points each


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("환불", [("환불",)]),
        ("환불을", [("환불",)]),  # particle stripped
        ("환불하려면", [("환불",)]),  # ending stripped
        ("비밀번호를", [("비밀", "번호")]),  # bigrams covering the word, not overlapping
        ("배송조회", [("배송", "조회")]),  # so 배송 조회 matches as well
        ("앱이", [("앱",)]),  # a known one-syllable noun loses its particle
        ("문의", [("문의",)]),  # a two-syllable word keeps its last syllable
        ("어떻게 환불하나요", [("환불",)]),  # question words are left out ...
        ("어떻게", [("어떻", "떻게")]),  # ... unless nothing else is there
        ("#12345", [("12345",)]),
        ("the refunds", [("refund",)]),
    ],
)
def test_query_words_require_what_their_variants_share(query, expected):
    assert required(query) == expected


def test_bigrams_across_the_cover_rank_the_exact_form_but_are_optional():
    (clause,) = analyze_query("배송조회")
    assert clause.alternatives[0].optional == ("송조",)


def test_synonyms_expand_both_ways_and_keep_the_typed_word_first():
    (korean,) = analyze_query("로그인이")
    assert [a.required for a in korean.alternatives] == [("로그", "그인"), ("login",), ("signin",)]
    (english,) = analyze_query("logins")
    assert english.alternatives[0].required == ("login",)
    assert ("로그", "그인") in [a.required for a in english.alternatives]


def test_every_synonym_is_one_searchable_word_in_one_group():
    seen: set[str] = set()
    for group in SYNONYMS:
        for word in group:
            (clause,) = analyze_query(word)
            assert clause.word not in seen
            seen.add(clause.word)


def test_a_prefix_completes_latin_words_and_hangul_syllables_being_composed():
    (latin,) = analyze_prefix("refu")
    assert ("refu", "refu\uffff") in latin.alternatives[-1].ranges
    (syllable,) = analyze_prefix("환부")  # 부 may still take a final consonant: 불, 북, 분 ...
    assert syllable.alternatives[0].ranges == (("환부", "환붛"),)
    (consonant,) = analyze_prefix("환ㅂ")  # a leading consonant alone: any syllable 바 .. 빟
    assert consonant.alternatives[0].ranges == (("환바", "환빟"),)
    done, typing = analyze_prefix("결제 오")  # a word starting with 오, 옥, 온 ... 옿
    assert done.alternatives[0].required == ("결제",)
    assert [a.required for a in typing.alternatives] == [(chr(c),) for c in range(0xC624, 0xC640)]
    assert analyze_prefix("결제 ") == analyze_query("결제")


def test_highlight_marks_whole_matches_and_escapes_the_rest():
    clauses = analyze_query("환불 refund")
    html = highlight("<b>환불은</b> & refunds", clauses)
    assert html == "&lt;b&gt;<mark>환불</mark>은&lt;/b&gt; &amp; <mark>refunds</mark>"
    assert highlight("배송조회는 여기", analyze_query("배송조회")) == "<mark>배송조회</mark>는 여기"
    assert highlight("no match here", clauses) is None


def test_a_long_text_gives_a_window_around_its_matches():
    text = "앞부분 " * 200 + "여기서 환불 신청을 합니다 " + "뒷부분 " * 200
    snippet = highlight(text, analyze_query("환불"), size=60)
    assert snippet is not None and "<mark>환불</mark>" in snippet
    assert snippet.startswith("…") and snippet.endswith("…") and len(snippet) < 120
    assert excerpt(text, size=20).endswith("…") and "<mark>" not in excerpt(text, size=20)


@given(st.text(max_size=200))
def test_any_text_analyzes_and_highlights_without_error(text):
    terms = index_terms(text)
    assert all(terms)
    for token in tokens(text):
        assert 0 <= token.start < token.end <= len(text)
    snippet = highlight(text, analyze_query(text[:20]))
    assert snippet is None or "<script" not in snippet
