"""Scores: an impact per posting, computed at index time, and the weighting that reads it.

Each posting carries BM25's saturated term frequency in a few levels, a title bonus and a
recency tie-break, so scoring reads nothing else and a block's maximum bounds its scores
exactly: that is what lets Whoosh's block-max collector skip blocks.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from whoosh import scoring

if TYPE_CHECKING:
    from .readers import Readers

LENGTH_B = 0.5  # BM25's length normalization, against a typical length in terms:
TYPICAL_TITLE_TERMS = 10
TYPICAL_BODY_TERMS = 80
K1 = 1.2  # BM25's saturation of repeated occurrences: the text part is below K1 + 1 ...
IMPACT_STEP = 0.5  # ... rounded to this (mentioned in passing, once, more often) ...
TEXT_CAP = 1.5  # ... and capped: many documents share the top levels (see term_impacts)
TITLE_BONUS = K1 + 1  # added when the title has the term: title matches outrank the others
RECENCY_BONUS = 0.01  # among equal impacts, the newer document wins (at most 1 % higher)
_RECENCY_START = datetime(2020, 1, 1, tzinfo=UTC).timestamp()
_RECENCY_SPAN = 30 * 365.25 * 86400


def term_impacts(
    recency: float, title: list[str], *texts: tuple[list[str], int]
) -> dict[str, tuple[int, float]]:
    """``{term: (occurrences, impact)}`` of a document's ``title`` terms and other ``texts``
    (terms, typical length).

    The impact is BM25's term-frequency part over the texts (length-normalized, saturated),
    rounded to ``IMPACT_STEP`` and capped at ``TEXT_CAP``, plus ``TITLE_BONUS`` for a term of
    the title, times the recency tie-break. So few levels keep most documents tied, and a tie
    goes to the newer one: the top N of a common word fill up within the first (newest)
    blocks, whose scores then bound the rest, which Whoosh's block-max collector skips.
    """
    weights: dict[str, float] = {}
    counts = Counter(title)
    in_title = set(title)
    for terms, typical in texts:
        scale = 1 / ((1 - LENGTH_B) + LENGTH_B * len(terms) / typical)
        for term, count in Counter(terms).items():
            weights[term] = weights.get(term, 0.0) + count * scale
            counts[term] += count
    impacts = {}
    for term, count in counts.items():
        weight = weights.get(term, 0.0)
        level = round(weight * (K1 + 1) / (weight + K1) / IMPACT_STEP) * IMPACT_STEP
        impact = min(TEXT_CAP, level) + (TITLE_BONUS if term in in_title else 0.0)
        impacts[term] = (count, max(IMPACT_STEP, impact) * recency)
    return impacts


def to_timestamp(moment: datetime) -> int:
    return int((moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp())


def recency_factor(timestamp: int) -> float:
    elapsed = (timestamp - _RECENCY_START) / _RECENCY_SPAN
    return 1 + RECENCY_BONUS * min(1.0, max(0.0, elapsed))


class ImpactWeighting(scoring.WeightingModel):
    """Score = idf x impact. The impact was computed at index time, so nothing but the
    posting's weight is read per document and a block's maximum weight bounds its scores
    exactly, which is what lets the top-N collector skip blocks."""

    def __init__(self, readers: Readers) -> None:
        self.readers = readers

    def supports_block_quality(self) -> bool:
        return True

    def scorer(self, searcher: Any, fieldname: str, text: Any, qf: int = 1) -> _ImpactScorer:
        info = searcher.term_info(fieldname, text)
        return _ImpactScorer(self.readers.idf(fieldname, text), info.max_weight())


class _ImpactScorer(scoring.BaseScorer):
    def __init__(self, idf: float, max_weight: float) -> None:
        self.idf = idf
        self.max = idf * max_weight

    def supports_block_quality(self) -> bool:
        return True

    def score(self, matcher: Any) -> float:
        return float(self.idf * matcher.weight())

    def max_quality(self) -> float:
        return self.max

    def block_quality(self, matcher: Any) -> float:
        return float(self.idf * matcher.block_max_weight())
