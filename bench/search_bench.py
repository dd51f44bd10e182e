"""Time the knowledge base search index on N generated Korean and English documents.

Generates N reproducible documents (3 % articles, the rest tickets; 70 % Korean, 30 % English;
sentences about refunds, login, delivery, payment, app errors ...), builds the index in a
temporary folder, and measures:

- full reindex throughput (``SearchIndex.rebuild``), documents per second;
- search latency p50/p95 over a fixed mix of ~200 queries (one-word common, one-word rare,
  two-word, Korean particle forms, mixed Korean/English) in staff, group, customer and
  public scopes, each query timed twice after a warm-up pass, snippets included;
- suggestion (search-as-you-type) latency over prefixes of the same words;
- change-to-searchable: from ``apply`` of one new ticket until a search finds it, in the same
  process and from a second ``SearchIndex`` on the same folder (another process's view).

    .venv/bin/python -m bench.search_bench --docs 20000
    .venv/bin/python bench/search_bench.py --docs 100000 --json /tmp/search-100000.json

Run one benchmark at a time: on a 2-core machine a second job lands in the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

if not __package__:  # run as a file: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from knowledge_base.search import (
    ArticleDocument,
    Document,
    IndexChange,
    SearchIndex,
    SearchScope,
    TicketDocument,
)

TARGET_P95_MS = 20.0
TARGET_DOCS_PER_SECOND = 1000.0
TARGET_CHANGE_SECONDS = 1.0

# Topic nouns, most frequent first (drawn with a Zipf-like weight).
KO_NOUNS = [
    *("환불", "배송", "주문", "결제", "로그인", "앱", "비밀번호", "계정", "쿠폰", "교환"),
    *("반품", "취소", "카드", "오류", "업데이트", "회원가입", "이메일", "알림", "영수증", "택배"),
    *("주소", "상품", "사이즈", "재고", "할인", "적립금", "멤버십", "구독", "해지", "인증"),
    *("휴대폰", "문자", "고객센터", "상담", "예약", "배송비", "포인트", "무통장입금", "카카오페이"),
    *("네이버페이", "본인확인", "배송조회", "장바구니", "리뷰", "이벤트", "선물하기", "정기배송"),
]
EN_NOUNS = [
    *("refund", "delivery", "order", "payment", "login", "app", "password", "account", "coupon"),
    *("exchange", "return", "cancellation", "card", "error", "update", "signup", "email"),
    *("notification", "receipt", "parcel", "address", "product", "size", "stock", "discount"),
    *("points", "membership", "subscription", "verification", "phone", "message", "support"),
    *("reservation", "invoice", "cart", "review", "voucher", "gift", "tracking", "warranty"),
]
KO_PARTICLES = ["", "", "은", "는", "이", "가", "을", "를", "에", "에서", "으로", "도", "의"]
KO_TAILS = [
    *("안 돼요", "하고 싶어요", "해주세요", "했는데 아직 처리가 안 됐어요", "언제 되나요"),
    *("어떻게 하나요", "확인 부탁드립니다", "실패했어요", "너무 늦어요", "문의드립니다"),
    *("변경하고 싶습니다", "오류가 나요", "되었는지 궁금해요", "안 보여요", "다시 요청합니다"),
]
KO_VERB_NOUNS = ["환불", "결제", "주문", "취소", "교환", "반품", "로그인", "인증", "예약", "해지"]
KO_VERB_ENDINGS = ["하려면", "하고", "했는데", "해요", "하기", "했어요", "하는데", "할게요"]
EN_TEMPLATES = [
    "I want a {a} for my {b}",
    "My {a} failed again after the {b}",
    "The {a} is not working since the last {b}",
    "How do I change my {a}?",
    "Where is my {a}? The {b} page shows nothing",
    "I was charged twice for the {a} and need a refund",
    "Please check the {a} status of my {b}",
    "The {a} was refunded but the {b} is still pending",
    "Logging in to the {a} keeps failing with an {b} message",
    "Can you cancel the {a} and update my {b}",
]
RARE = [f"SKU-{n}" for n in range(40000, 40400)] + [f"E{n}" for n in range(1000, 1200)]


def zipf_weights(n: int, s: float = 0.6) -> list[float]:
    return [1 / (rank**s) for rank in range(1, n + 1)]


class Corpus:
    """Reproducible documents and queries from one seed."""

    def __init__(self, seed: int) -> None:
        self.random = random.Random(seed)
        self.ko_weights = zipf_weights(len(KO_NOUNS))
        self.en_weights = zipf_weights(len(EN_NOUNS))

    def ko_noun(self) -> str:
        return self.random.choices(KO_NOUNS, self.ko_weights)[0]

    def en_noun(self) -> str:
        return self.random.choices(EN_NOUNS, self.en_weights)[0]

    def ko_sentence(self) -> str:
        r = self.random
        if r.random() < 0.25:
            return r.choice(KO_VERB_NOUNS) + r.choice(KO_VERB_ENDINGS) + " " + self.ko_sentence()
        words = [self.ko_noun() + r.choice(KO_PARTICLES) for _ in range(r.randint(1, 2))]
        if r.random() < 0.15:
            words.append(r.choice(["login", "app", "error", "iPhone", "Android", "PC"]))
        if r.random() < 0.08:
            words.append(r.choice(RARE))
        return " ".join(words) + " " + r.choice(KO_TAILS) + r.choice([".", "?", "!", ""])

    def en_sentence(self) -> str:
        r = self.random
        sentence = r.choice(EN_TEMPLATES).format(a=self.en_noun(), b=self.en_noun())
        if r.random() < 0.08:
            sentence += f" (code {r.choice(RARE)})"
        return sentence + "."

    def sentences(self, korean: bool, low: int, high: int) -> str:
        make = self.ko_sentence if korean else self.en_sentence
        return " ".join(make() for _ in range(self.random.randint(low, high)))

    def documents(self, count: int) -> Iterator[Document]:
        r = self.random
        start = datetime(2024, 1, 1, tzinfo=UTC)
        for i in range(1, count + 1):
            korean = r.random() < 0.7
            locale = "ko" if korean else "en"
            updated = start + timedelta(minutes=i * 7)
            if i % 33 == 0:
                yield ArticleDocument(
                    id=i,
                    locale=locale,
                    title=self.sentences(korean, 1, 1),
                    body=self.sentences(korean, 4, 8),
                    updated_at=updated,
                    visibility="public" if r.random() < 0.8 else "internal",
                    published=r.random() < 0.9,
                    category_id=r.randint(1, 10),
                )
                continue
            yield TicketDocument(
                id=i,
                number=1000 + i,
                subject=self.sentences(korean, 1, 1),
                text=self.sentences(korean, 1, 4),
                updated_at=updated,
                status=r.choice(["new", "open", "pending", "solved", "closed", "closed"]),
                customer_id=r.randint(1, max(1, count // 5)),
                locale=locale,
                group_id=r.choice([None, 1, 2, 3, 4, 5, 6, 7, 8]),
                organization_id=r.randint(1, max(1, count // 500)) if r.random() < 0.3 else None,
                internal_notes=self.sentences(korean, 1, 1) if r.random() < 0.3 else "",
            )

    def queries(self, docs: int) -> list[tuple[str, str, SearchScope]]:
        r = random.Random(7)  # the same mix whatever the corpus seed
        common = KO_NOUNS[:8] + EN_NOUNS[:6]
        mix: list[tuple[str, str]] = []
        mix += [("one-word common", r.choice(common)) for _ in range(50)]
        rare = [*RARE[:40], *KO_NOUNS[-8:], *EN_NOUNS[-8:], *(f"#{1000 + n}" for n in range(9))]
        mix += [("one-word rare", r.choice(rare)) for _ in range(40)]
        pairs = [
            *(
                "환불 요청",
                "배송 지연",
                "결제 오류",
                "로그인 안 돼요",
                "앱 업데이트",
                "비밀번호 변경",
            ),
            *("쿠폰 할인", "주문 취소", "login error", "payment failed", "refund order"),
            *("delivery tracking", "password change", "app update"),
        ]
        mix += [("two-word", r.choice(pairs)) for _ in range(40)]
        forms = [
            *("환불을", "환불하려면", "배송이", "결제가", "로그인이", "비밀번호를", "주문한"),
            *("앱이", "쿠폰은", "교환하고", "취소했는데", "카드로", "배송조회는", "계정에서"),
        ]
        mix += [("korean particles", r.choice(forms)) for _ in range(40)]
        mixed = [
            "로그인 error",
            "앱 crash",
            "refund 요청",
            "결제 card",
            "app 오류",
            "배송 tracking",
        ]
        mix += [("mixed", r.choice(mixed)) for _ in range(30)]
        scoped = []
        for category, text in mix:
            roll = r.random()
            if roll < 0.7:
                scope = SearchScope.staff()
            elif roll < 0.8:
                scope = SearchScope.staff({1, 2})
            elif roll < 0.9:
                scope = SearchScope.customer(r.randint(1, max(1, docs // 5)))
            else:
                scope = SearchScope.public(r.choice(["ko", "en"]))
            scoped.append((category, text, scope))
        return scoped


@dataclass
class Timing:
    samples: list[float]

    def summary(self) -> dict[str, float]:
        ordered = sorted(self.samples)
        cuts = statistics.quantiles(ordered, n=100, method="inclusive")
        return {
            "n": len(ordered),
            "p50_ms": round(cuts[49], 2),
            "p95_ms": round(cuts[94], 2),
            "max_ms": round(ordered[-1], 2),
        }


def timed(action: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    value = action()
    return (time.perf_counter() - start) * 1000, value


def cpu_timed(action: Callable[[], Any]) -> tuple[float, float, Any]:
    """Wall and CPU milliseconds: CPU time barely moves when other work shares the machine."""
    wall, cpu = time.perf_counter(), time.process_time()
    value = action()
    return (time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000, value


def measure_queries(
    ix: SearchIndex, queries: list[tuple[str, str, SearchScope]], rounds: int
) -> dict[str, Any]:
    for _, text, scope in queries:  # warm-up: caches, lazily opened files
        ix.search(text, scope)
    by_category: dict[str, list[float]] = {}
    cpu_by_category: dict[str, list[float]] = {}
    totals: dict[str, list[int]] = {}
    for _ in range(rounds):
        for category, text, scope in queries:
            ms, cpu, results = cpu_timed(lambda t=text, s=scope: ix.search(t, s))
            by_category.setdefault(category, []).append(ms)
            cpu_by_category.setdefault(category, []).append(cpu)
            totals.setdefault(category, []).append(results.total)
    everything = [ms for samples in by_category.values() for ms in samples]
    report: dict[str, Any] = {"all": Timing(everything).summary()}
    cpu_everything = [ms for samples in cpu_by_category.values() for ms in samples]
    report["all_cpu"] = Timing(cpu_everything).summary()
    for category, samples in by_category.items():
        report[category] = Timing(samples).summary()
        cpu = Timing(cpu_by_category[category]).summary()
        report[category]["cpu_p50_ms"], report[category]["cpu_p95_ms"] = (
            cpu["p50_ms"],
            cpu["p95_ms"],
        )
        report[category]["median_total"] = int(statistics.median(totals[category]))
    return report


def measure_suggest(ix: SearchIndex) -> dict[str, float]:
    prefixes = ["환", "환부", "환불", "배ㅅ", "배송조", "로그", "re", "refu", "logi", "pay"]
    prefixes += ["결제 오", "app up", "비밀번", "쿠폰 할"]
    for prefix in prefixes:
        ix.suggest(prefix, SearchScope.staff())
    samples = []
    for _ in range(5):
        for prefix in prefixes:
            ms, _ = timed(lambda p=prefix: ix.suggest(p, SearchScope.staff()))
            samples.append(ms)
    return Timing(samples).summary()


def measure_change(ix: SearchIndex, other: SearchIndex, tries: int = 5) -> dict[str, Any]:
    """Apply one new ticket; time until a search finds it here and in a second index object."""
    same, elsewhere, apply_ms = [], [], []
    for attempt in range(tries):
        word = f"zqxchange{attempt}"
        ticket = TicketDocument(
            id=10_000_000 + attempt,
            number=10_000_000 + attempt,
            subject=f"{word} 새 티켓",
            text="방금 들어온 문의",
            updated_at=datetime.now(UTC),
            status="new",
            customer_id=1,
            locale="ko",
        )
        other.search("환불", SearchScope.staff())  # the other reader has a searcher already
        start = time.perf_counter()
        ix.apply([IndexChange.upsert(ticket)])
        apply_ms.append((time.perf_counter() - start) * 1000)
        for index, found_at in ((ix, same), (other, elsewhere)):
            while not index.search(word, SearchScope.staff()).hits:
                time.sleep(0.005)
            found_at.append((time.perf_counter() - start) * 1000)
        time.sleep(0.3)
    return {
        "apply_ms_median": round(statistics.median(apply_ms), 1),
        "same_process_ms_median": round(statistics.median(same), 1),
        "same_process_ms_max": round(max(same), 1),
        "other_reader_ms_median": round(statistics.median(elsewhere), 1),
        "other_reader_ms_max": round(max(elsewhere), 1),
    }


def rss_mib() -> float:
    """Resident memory of this process now (Linux), MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def folder_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def benchmark(docs: int, seed: int, rounds: int) -> dict[str, Any]:
    corpus = Corpus(seed)
    documents = list(corpus.documents(docs))
    queries = corpus.queries(docs)
    with tempfile.TemporaryDirectory(prefix="search-bench-") as folder:
        ix = SearchIndex.open(folder)
        start, cpu = time.perf_counter(), time.process_time()
        ix.rebuild(reversed(documents))  # newest first, as the app does
        seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu
        figures: dict[str, Any] = {
            "docs": docs,
            "seed": seed,
            "python": platform.python_version(),
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
            "reindex_seconds": round(seconds, 1),
            "reindex_docs_per_second": round(docs / seconds),
            "reindex_docs_per_cpu_second": round(docs / cpu_seconds),
            "index_mib": round(folder_size(Path(folder)) / 2**20, 1),
        }
        ix.close()
        ix = SearchIndex.open(folder)  # as a fresh process would see it
        ms, _ = timed(lambda: ix.search("환불", SearchScope.staff()))
        figures["first_search_ms"] = round(ms, 1)
        figures["queries"] = measure_queries(ix, queries, rounds)
        figures["suggest"] = measure_suggest(ix)
        figures["rss_mib_after_queries"] = rss_mib()
        figures["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        other = SearchIndex.open(folder)
        figures["change_to_searchable"] = measure_change(ix, other)
        other.close()
        ix.close()
    return figures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=2, help="timed passes over the query mix")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    figures = benchmark(args.docs, args.seed, args.rounds)
    text = json.dumps(figures, indent=2, ensure_ascii=False)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    query_p95 = figures["queries"]["all"]["p95_ms"]
    change = figures["change_to_searchable"]["other_reader_ms_max"] / 1000
    print(
        f"\nreindex {figures['reindex_docs_per_second']} docs/s "
        f"(target >= {TARGET_DOCS_PER_SECOND:.0f}); query p95 {query_p95} ms "
        f"(target <= {TARGET_P95_MS:.0f}); change searchable within {change:.2f} s "
        f"(target <= {TARGET_CHANGE_SECONDS:.0f})",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
