"""One text analyzer for Korean and English, used for documents and queries alike.

This module knows nothing about the search engine: it turns text into terms (for the index),
a query string into clauses of terms (for the query builder), and text plus the matched terms
into an HTML snippet. The engine adapter (``schema.py``, ``queries.py``) feeds the terms to the
index. Text to terms is ``terms.py`` and the word lists are ``vocabulary.py``; this module
builds queries and snippets on them and is the one the rest of the package imports.

- Text is NFKC-normalized first: Korean typed on macOS arrives decomposed (NFD jamo) and is
  composed into syllables; full-width Latin letters and digits become ASCII ones.
- Hangul words (and CJK runs) become character bigrams inside the word plus the word's first
  syllable, so ``환불`` matches ``환불은``, ``환불하려면`` and ``환불을``, a one-syllable query
  (``앱``) matches words that start with it, and the spacing variants ``배송 조회`` /
  ``배송조회`` find each other. Bigrams never cross a space.
- Other words are lower-cased, English stop words and single letters are dropped, and ASCII
  words are Porter-stemmed (``refunds``, ``refunded`` -> ``refund``). Digits stay as they are
  (``#12345`` -> ``12345``); an e-mail address is one term plus the words inside it.
- Queries additionally strip a trailing Korean particle or ending from each word (``환불을`` ->
  ``환불``) so that the particle is not required, and expand loanwords written both ways
  through ``SYNONYMS`` (``로그인`` <-> ``login``).
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from .terms import (
    TOKEN,
    Token,
    hangul_terms,
    index_terms,
    normalize,
    normalize_mapped,
    scan,
    tokens,
    word_term,
)
from .vocabulary import ENDINGS, ONE_SYLLABLE_NOUNS, QUERY_STOP_WORDS, SYNONYMS

__all__ = [
    "SYNONYMS",
    "QueryClause",
    "Token",
    "WordQuery",
    "analyze_prefix",
    "analyze_query",
    "excerpt",
    "highlight",
    "index_terms",
    "normalize",
    "tokens",
]


@dataclass(frozen=True, slots=True)
class WordQuery:
    """How one query word matches: all ``required`` terms, and ``optional`` ones for ranking.

    ``ranges`` are required too: for each ``(low, high)`` some term between them (inclusive)
    must match. Only prefix queries (an unfinished last word) have them.
    """

    required: tuple[str, ...]
    optional: tuple[str, ...] = ()
    ranges: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class QueryClause:
    """One word of a query: a document matches if any alternative (the word, a synonym) does."""

    word: str
    alternatives: tuple[WordQuery, ...]


# Queries


def _strip_ending(word: str) -> str:
    for _ in range(2):
        for ending in ENDINGS:
            stem = word[: -len(ending)]
            if word.endswith(ending) and (len(stem) >= 2 or stem in ONE_SYLLABLE_NOUNS):
                word = stem
                break
        else:
            break
    return word


def _cover(stem: str) -> tuple[str, ...]:
    """Bigrams that cover ``stem`` without overlapping (so a space inside it may be missing)."""
    if len(stem) == 1:
        return (stem,)
    cover = [stem[i : i + 2] for i in range(0, len(stem) - 1, 2)]
    if len(stem) % 2:
        cover.append(stem[-2:])
    return tuple(cover)


def _hangul_query(word: str) -> tuple[str, WordQuery]:
    stem = _strip_ending(word)
    required = _cover(stem)
    # The bigrams across the cover's seams rank the unspaced form first; the ending's own
    # bigrams would only cost time.
    optional = tuple(dict.fromkeys(b for b in hangul_terms(stem)[1:] if b not in required))
    return stem, WordQuery(required, optional)


def _word_query(kind: str | None, value: str) -> tuple[str, WordQuery] | None:
    """The synonym key and the query of one token of a normalized, lower-cased query."""
    if kind == "hangul":
        return _hangul_query(value)
    if kind == "cjk":
        return value, WordQuery(_cover(value), tuple(hangul_terms(value)[1:]))
    if kind == "word":
        term = word_term(value)
        return None if term is None else (term, WordQuery((term,)))
    return value, WordQuery((value,))


def _single_word_query(word: str) -> tuple[str, WordQuery]:
    match = TOKEN.fullmatch(normalize(word).lower())
    parsed = _word_query(match.lastgroup, match.group()) if match else None
    if parsed is None:
        raise ValueError(f"synonym {word!r} is not a single searchable word")
    return parsed


def _synonym_index(groups: Iterable[tuple[str, ...]]) -> dict[str, tuple[WordQuery, ...]]:
    index: dict[str, tuple[WordQuery, ...]] = {}
    for group in groups:
        parsed = [_single_word_query(word) for word in group]
        queries = tuple(dict.fromkeys(query for _, query in parsed))
        for key, _ in parsed:
            if key in index:
                raise ValueError(f"synonym {key!r} is in two groups")
            index[key] = queries
    return index


_SYNONYM_INDEX = _synonym_index(SYNONYMS)


def analyze_query(text: str) -> list[QueryClause]:
    """The clauses of a user's query, one per word (duplicates dropped), synonyms expanded."""
    clauses: dict[str, QueryClause] = {}
    stopped: dict[str, QueryClause] = {}
    for match in TOKEN.finditer(normalize(text).lower()):
        parsed = _word_query(match.lastgroup, match.group())
        if parsed is None:
            continue
        key, query = parsed
        synonyms = _SYNONYM_INDEX.get(key, ())
        target = stopped if match.group() in QUERY_STOP_WORDS else clauses
        target.setdefault(key, QueryClause(match.group(), _alternatives(query, synonyms)))
    return list((clauses or stopped).values())


def _alternatives(word: WordQuery, synonyms: Iterable[WordQuery]) -> tuple[WordQuery, ...]:
    """The word and its synonyms, less those that require a superset of another's terms: they
    would only match what the other one matches already."""
    kept = [word]
    for synonym in synonyms:
        needs = set(synonym.required)
        if not any(needs >= set(k.required) for k in kept):
            kept = [k for k in kept if not set(k.required) > needs or k is word]
            kept.append(synonym)
    return tuple(kept)


def analyze_prefix(text: str) -> list[QueryClause]:
    """Like ``analyze_query``, for text still being typed: its last word may be unfinished.

    The last word then matches terms that start with it (Latin), or, for Hangul, terms whose
    last syllable completes the one being composed: ``환부`` may become ``환불`` and ``환`` +
    a leading consonant (ㅂ) any syllable starting with it. Synonyms are not expanded.
    """
    normal = normalize(text).lower()
    pending = _PENDING_CONSONANT.search(normal)
    lead = pending.group(1) if pending else None
    if pending:
        normal = normal[: pending.start(1)]
    matches = list(TOKEN.finditer(normal))
    if not matches or normal[matches[-1].end() :]:
        return analyze_query(normal)  # the text ends with a space or punctuation: words are done
    last = matches[-1]
    clauses = [c for c in analyze_query(normal[: last.start()]) if c.word != last.group()]
    word = _prefix_word(last.lastgroup, last.group(), lead)
    if word is not None:
        clauses.append(QueryClause(last.group(), word))
    return clauses


# A leading consonant typed after a word, still waiting for its vowel (ㅂ in "환ㅂ").
_PENDING_CONSONANT = re.compile(r"[\uac00-\ud7a3]([\u1100-\u1112])$")


def _prefix_word(kind: str | None, value: str, lead: str | None) -> tuple[WordQuery, ...] | None:
    if kind == "word":
        term = word_term(value)
        complete = () if term is None else (WordQuery((term,)),)
        return (*complete, WordQuery((), ranges=((value, value + "\uffff"),)))
    if kind != "hangul":
        parsed = _word_query(kind, value)
        return None if parsed is None else (parsed[1],)
    done, last = (value, "") if lead else (value[:-1], value[-1])
    if lead:
        first = 0xAC00 + (ord(lead) - 0x1100) * 588
        low, high = chr(first), chr(first + 587)  # every syllable with that leading consonant
    else:
        code = ord(last) - 0xAC00
        if code % 28:  # it has a final consonant already: take it as typed
            return (_hangul_query(value)[1],)
        low, high = last, chr(ord(last) + 27)  # the syllable with any final consonant
    if not done:
        # One syllable being composed starts the word: its first-syllable terms, not every
        # bigram that starts with one of those syllables somewhere in a word.
        return tuple(WordQuery((chr(c),)) for c in range(ord(low), ord(high) + 1))
    required = _cover(done) if len(done) > 1 else ()
    before = done[-1:]
    joined = WordQuery(required, ranges=((before + low, before + high),))
    if len(done) < 2:
        return (joined,)
    # The finished part may be a word of its own in the document (배송조 -> 배송 조회).
    return (joined, WordQuery(required, ranges=((low, high),)))


# Snippets

_CHUNK = 1000  # characters analyzed at a time while looking for the first match


def highlight(text: str, clauses: Iterable[QueryClause], size: int = 180) -> str | None:
    """An HTML snippet of about ``size`` characters of ``text`` around its best run of matches,
    or None if no term of ``clauses`` is in ``text``.

    The text is escaped and every match is wrapped in ``<mark>``; overlapping bigram matches
    merge into one mark. Long texts are analyzed a chunk at a time and the first chunk with a
    match wins.
    """
    words = [word for clause in clauses for word in clause.alternatives]
    terms = {term for word in words for term in (*word.required, *word.optional)}
    ranges = [bounds for word in words for bounds in word.ranges]
    for start, end in _chunks(text):
        spans = _matched_spans(text, start, end, terms, ranges)
        if spans:
            return _render(text, spans, size)
    return None


def excerpt(text: str, size: int = 180) -> str:
    """The start of ``text`` as an HTML-escaped snippet (for a hit that matched elsewhere)."""
    return _render(text, [], size)


def _chunks(text: str) -> Iterator[tuple[int, int]]:
    start = 0
    while start < len(text):
        end = min(len(text), start + _CHUNK)
        if end < len(text):
            space = text.rfind(" ", start + _CHUNK // 2, end)
            end = space if space > 0 else end
        yield start, end
        start = end


def _matched_spans(
    text: str, start: int, end: int, terms: set[str], ranges: list[tuple[str, str]]
) -> list[list[int]]:
    normal = text[start:end]
    offsets = None
    if not unicodedata.is_normalized("NFKC", normal):
        normal, offsets = normalize_mapped(normal)
    spans: list[list[int]] = []
    for term, begin, finish in scan(normal):
        if term not in terms and not (ranges and any(lo <= term <= hi for lo, hi in ranges)):
            continue
        if offsets is not None:
            begin, finish = offsets[begin][0], offsets[finish - 1][1]
        begin, finish = begin + start, finish + start
        if spans and begin <= spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], finish)
        else:
            spans.append([begin, finish])
    return spans


def _render(text: str, spans: list[list[int]], size: int) -> str:
    if len(text) <= size:
        window_start, window_end = 0, len(text)
    else:
        window_start = _best_window(spans, size)
        window_start = _word_boundary(text, window_start)
        window_end = min(len(text), window_start + size)
        if window_end < len(text):
            space = text.rfind(" ", window_start + size // 2, window_end)
            window_end = space if space > 0 else window_end
    parts = ["…"] if window_start > 0 else []
    position = window_start
    for begin, finish in spans:
        if finish <= window_start or begin >= window_end:
            continue
        begin, finish = max(begin, window_start), min(finish, window_end)
        parts.append(html.escape(text[position:begin]))
        parts.append("<mark>" + html.escape(text[begin:finish]) + "</mark>")
        position = finish
    parts.append(html.escape(text[position:window_end]))
    if window_end < len(text):
        parts.append("…")
    return " ".join("".join(parts).split())


def _best_window(spans: list[list[int]], size: int) -> int:
    """Where a window of ``size`` characters with the most matches starts, context included."""
    if not spans:
        return 0
    best_start, best_count = spans[0][0], 0
    for i, (begin, _) in enumerate(spans):
        count = sum(1 for b, _ in spans[i:] if b < begin + size * 3 // 4)
        if count > best_count:
            best_start, best_count = begin, count
    return max(0, best_start - size // 4)


def _word_boundary(text: str, position: int) -> int:
    if position == 0:
        return 0
    space = text.find(" ", position, position + 20)
    return space + 1 if space >= 0 else position
