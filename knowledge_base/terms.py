"""Text to terms: normalization and tokenization, shared by documents, queries and snippets.

See ``analysis.py`` for what becomes a term (Hangul bigrams, stemmed English words, e-mail
addresses); this module is its lowest layer and knows nothing about queries.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

# The Porter stemmer and stop list of Whoosh's StemFilter/StopFilter, used as plain functions and
# data so that this module does not depend on the engine's analysis pipeline.
from whoosh.analysis import STOP_WORDS
from whoosh.lang.porter import stem as _porter_stem

_HANGUL = "\uac00-\ud7a3"
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
TOKEN = re.compile(
    r"(?P<email>[a-z0-9][a-z0-9._%+-]*@[a-z0-9-]+(?:\.[a-z0-9-]+)+)"
    rf"|(?P<hangul>[{_HANGUL}]+)"
    rf"|(?P<cjk>[{_CJK}]+)"
    rf"|(?P<word>[^\W_{_HANGUL}{_CJK}]+)",
    re.IGNORECASE,
)
_EMAIL_PARTS = re.compile(r"[^\W_]+")


@dataclass(frozen=True, slots=True)
class Token:
    """One term and where it came from: ``text[start:end]`` of the text given to ``tokens``."""

    term: str
    start: int
    end: int


def normalize(text: str) -> str:
    """NFKC: compose decomposed Hangul, fold full-width forms and compatibility characters."""
    if unicodedata.is_normalized("NFKC", text):
        return text
    return unicodedata.normalize("NFKC", text)


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    return str(_porter_stem(word))


def word_term(word: str) -> str | None:
    """The term of one non-Hangul word (lower-cased), or None for stop words and single letters."""
    if word.isdigit():
        return word
    if len(word) < 2 or word in STOP_WORDS:
        return None
    if word.isascii() and word.isalpha():
        return _stem(word)
    return word


def hangul_terms(word: str) -> list[str]:
    # The first syllable lets a one-syllable query match; the bigrams do the rest.
    if len(word) == 1:
        return [word]
    return [word[0], *(word[i : i + 2] for i in range(len(word) - 1))]


def index_terms(text: str) -> list[str]:
    """Every term of ``text`` in order, with repetitions (term frequencies count)."""
    terms: list[str] = []
    append = terms.append
    for match in TOKEN.finditer(normalize(text).lower()):
        kind = match.lastgroup
        value = match.group()
        if kind == "hangul" or kind == "cjk":
            terms.extend(hangul_terms(value))
        elif kind == "word":
            term = word_term(value)
            if term is not None:
                append(term)
        else:
            append(value)
            terms.extend(_email_words(value))
    return terms


def _email_words(address: str) -> Iterator[str]:
    for part in _EMAIL_PARTS.findall(address):
        term = word_term(part)
        if term is not None:
            yield term


def tokens(text: str) -> list[Token]:
    """The terms of ``text`` with their character offsets in ``text`` (for highlighting)."""
    if unicodedata.is_normalized("NFKC", text):
        return [Token(term, start, end) for term, start, end in scan(text)]
    normal, offsets = normalize_mapped(text)
    return [Token(term, offsets[s][0], offsets[e - 1][1]) for term, s, e in scan(normal)]


def scan(normal: str) -> Iterator[tuple[str, int, int]]:
    """``(term, start, end)`` for every term of a normalized text, offsets into that text."""
    for match in TOKEN.finditer(normal):
        kind = match.lastgroup
        start, end = match.span()
        value = match.group().lower()
        if kind == "hangul" or kind == "cjk":
            yield value[0], start, start + 1
            for i in range(len(value) - 1):
                yield value[i : i + 2], start + i, start + i + 2
        elif kind == "word":
            term = word_term(value)
            if term is not None:
                yield term, start, end
        else:
            yield value, start, end
            for part in _EMAIL_PARTS.finditer(value):
                term = word_term(part.group())
                if term is not None:
                    yield term, start + part.start(), start + part.end()


def normalize_mapped(text: str) -> tuple[str, list[tuple[int, int]]]:
    """``text`` normalized one cluster at a time, and for each of its characters the span of
    ``text`` it came from (a cluster: a character and the combining marks or conjoining jamo
    that follow it). For text that is not normalized already (NFD Hangul, full-width forms).
    """
    parts: list[str] = []
    spans: list[tuple[int, int]] = []
    start = 0
    for end in range(1, len(text) + 1):
        if end < len(text) and _continues_cluster(text[end]):
            continue
        part = unicodedata.normalize("NFKC", text[start:end])
        parts.append(part)
        spans.extend([(start, end)] * len(part))
        start = end
    return "".join(parts), spans


def _continues_cluster(char: str) -> bool:
    code = ord(char)
    # Hangul medial vowels and final consonants compose with the syllable before them.
    return 0x1160 <= code <= 0x11FF or 0xD7B0 <= code <= 0xD7FF or unicodedata.combining(char) > 0
