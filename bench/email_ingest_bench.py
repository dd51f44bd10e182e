"""End-to-end email ingest: a private Dovecot, the real fetch loop, a fresh migrated SQLite.

Two scenarios, one after the other, on one database (``bench/data/email-ingest.db``):

1. **Throughput.** N generated ~3 KB messages (Korean and English; ~40 % multipart/alternative,
   some Outlook-style ``ks_c_5601-1987``; ~30 % replies threaded by In-Reply-To/References to an
   earlier message of the same customer; ~5 % with a small attachment; reproducible from
   ``--seed``) are MULTIAPPENDed to an empty mailbox, then the channel's ``EmailFetcher`` runs
   pass after pass, as the worker would, until every message is stored. Each message is fetched
   over IMAP, parsed, threaded, stored with its ``original.eml``, marked ``\\Seen``, and its
   domain event is delivered after commit (to the Socket.IO fan-out, with no browser connected,
   and to this script). The clock stops at the last ingest. A ``SqliteCheckpointer`` runs in a
   thread beside it, as in ``helpdesk serve``. Reported: messages per second (wall clock, and
   per CPU second of this process: the steadier figure when other work shares the 2 cores),
   tickets and replies created against what was generated, and a count of the stored
   Message-IDs (nothing lost, nothing stored twice).
2. **Latency with IDLE.** The background loops run in threads exactly as ``helpdesk serve``
   starts them (``worker.default_loops()``: the fetcher idles in IMAP IDLE); messages are
   APPENDed one at a time at ``--rate`` per second, each stamped with an ``X-Bench-Appended``
   header; every ``TicketCreated`` / ``MessageAdded`` event is timestamped when delivered (after
   commit, where the Socket.IO emit happens). Latency = delivery time - time the APPEND
   completed (the message is in the mailbox from then on). Dovecot adds a fixed ~0.5 s notify
   delay to IDLE (ENVIRONMENT-NOTES.md), which is the floor.

    .venv/bin/python -m bench.email_ingest_bench --messages 5000
    .venv/bin/python -m bench.email_ingest_bench --messages 300 --latency-messages 20
    .venv/bin/python -m bench.email_ingest_bench --messages 300 --profile  # cProfile: bench/data

Output: ``bench/results/email-ingest-<N>.json`` and ``.md``. Needs root (Dovecot) and the Debian
``dovecot-imapd`` package. Run nothing else meanwhile: on 2 cores it lands in the figures.
"""

from __future__ import annotations

import argparse
import base64
import cProfile
import io
import json
import os
import platform
import pstats
import random
import re
import shutil
import statistics
import sys
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
if str(REPO) not in sys.path:  # tests.mailservers lives at the repository top
    sys.path.insert(0, str(REPO))

import psutil  # type: ignore[import-untyped]  # noqa: E402
from flask import Flask  # noqa: E402
from sqlalchemy import event as sa_event  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from tests.mailservers import DovecotServer, free_port  # noqa: E402

DATA = BENCH / "data"
RESULTS = BENCH / "results"
TARGET_MESSAGES_PER_S = 300.0
TARGET_LATENCY_P95_MS = 2000.0
SUPPORT = "support@dangol.example"

KOREAN_SENTENCES = [
    "안녕하세요, 지난주에 주문한 상품이 아직 도착하지 않았습니다.",
    "로그인할 때마다 비밀번호 오류가 나옵니다. 확인 부탁드립니다.",
    "결제가 두 번 된 것 같습니다. 환불 절차를 알려 주세요.",
    "배송지를 회사 주소로 변경하고 싶습니다.",
    "앱을 업데이트한 뒤로 알림이 오지 않습니다.",
    "견적서를 첨부합니다. 검토 후 회신 부탁드립니다.",
    "주문 번호는 아래와 같습니다. 빠른 처리 부탁드립니다.",
    "교환 신청을 했는데 아직 연락을 받지 못했습니다.",
]
ENGLISH_SENTENCES = [
    "Hello, my order from last week has not arrived and the tracking page shows no update.",
    "I keep getting a password error when I log in. Could you take a look?",
    "It looks like I was charged twice. How do I get a refund?",
    "Please change the shipping address on my account to my office.",
    "Since the last app update I no longer receive notifications.",
    "Please find the quote attached and let me know what you think.",
    "My order number is below; I would appreciate a quick answer.",
]
KOREAN_SUBJECTS = ["배송 문의", "로그인 오류", "환불 요청", "주소 변경", "알림 문제", "견적 요청"]
ENGLISH_SUBJECTS = [
    "Where is my order?",
    "Cannot log in",
    "Charged twice",
    "Change of address",
    "No notifications",
    "Quote request",
]
KOREAN_NAMES = ["김민준", "이서연", "박지훈", "최수아", "정우진", "강하은", "조현우", "윤지민"]
ENGLISH_NAMES = ["Alice Kim", "Brian Lee", "Chloe Park", "Daniel Choi", "Emma Jung"]


# ---------------------------------------------------------------- generated mail


@dataclass(frozen=True)
class BenchMail:
    n: int
    message_id: str
    raw: bytes
    reply_to: int | None  # index of the message it answers, or None for a new conversation
    kind: str  # plain, alternative, attachment


@dataclass(frozen=True)
class _Thread:
    n: int
    message_id: str
    sender: str
    korean: bool
    name: str
    subject: str


def _b64(data: bytes) -> str:
    encoded = base64.b64encode(data).decode()
    return "\r\n".join(encoded[i : i + 76] for i in range(0, len(encoded), 76))


def _word(text: str, charset: str = "utf-8", codec: str = "utf-8") -> str:
    """An RFC 2047 encoded word (B encoding)."""
    return f"=?{charset}?B?{base64.b64encode(text.encode(codec)).decode()}?="


def _wrapped(text: str, width: int = 76) -> str:
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for word in paragraph.split(" "):
            if line and len(line) + 1 + len(word) > width:
                lines.append(line)
                line = word
            else:
                line = f"{line} {word}" if line else word
        lines.append(line)
    return "\r\n".join(lines)


def _text(rng: random.Random, korean: bool, size: int) -> str:
    sentences = KOREAN_SENTENCES if korean else ENGLISH_SENTENCES
    out: list[str] = []
    while sum(len(s.encode()) for s in out) < size:
        out.append(" ".join(rng.choice(sentences) for _ in range(3)))
    return "\n\n".join(out)


def build_mail(
    count: int, seed: int, *, tag: str = "B", start: datetime | None = None
) -> list[BenchMail]:
    """``count`` messages in the mix of the module docstring; same seed, same bytes.

    Each body's first line is ``Ref: <tag><n>`` and each new conversation's subject ends in
    ``(<tag><n>)``, so the latency scenario can tell which event belongs to which message.
    """
    rng = random.Random(seed)
    start = start or datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    customers = [
        (f"customer{i}@example.kr", True, rng.choice(KOREAN_NAMES))
        if i % 5 < 3
        else (f"client{i}@example.com", False, rng.choice(ENGLISH_NAMES))
        for i in range(max(10, count // 4))
    ]
    threads: list[_Thread] = []
    mails: list[BenchMail] = []
    for n in range(count):
        message_id = f"bench-{tag}{seed}-{n}@mail.example.com"
        parent = rng.choice(threads[-200:]) if threads and rng.random() < 0.30 else None
        if parent is not None:
            sender, korean, name = parent.sender, parent.korean, parent.name
            subject = f"Re: {parent.subject}"
        else:
            sender, korean, name = rng.choice(customers)
            subjects = KOREAN_SUBJECTS if korean else ENGLISH_SUBJECTS
            subject = f"{rng.choice(subjects)} ({tag}{n})"
        roll = rng.random()
        kind = "alternative" if roll < 0.40 else "attachment" if roll < 0.45 else "plain"
        outlook = korean and kind == "alternative" and rng.random() < 0.25
        charset, codec = ("ks_c_5601-1987", "cp949") if outlook else ("utf-8", "utf-8")
        date = start.timestamp() + n * 7
        headers = [
            f"Received: from mx{n % 5}.mail.example.com (mx{n % 5}.mail.example.com "
            f"[198.51.100.{n % 250 + 1}])",
            f"\tby mx.dangol.example (Postfix) with ESMTPS id {rng.getrandbits(40):010X}",
            f"\tfor <{SUPPORT}>; {format_datetime(datetime.fromtimestamp(date, UTC))}",
            f"Received: from [10.0.{n % 200}.{n % 250 + 1}] by mail.example.com with HTTP",
            f"From: {_word(name, charset, codec) if korean else name} <{sender}>",
            f"To: Dangol Support <{SUPPORT}>",
            f"Subject: {_word(subject, charset, codec) if korean else subject}",
            f"Date: {format_datetime(datetime.fromtimestamp(date - 3, UTC))}",
            f"Message-ID: <{message_id}>",
        ]
        if parent is not None:
            headers += [f"In-Reply-To: <{parent.message_id}>", f"References: <{parent.message_id}>"]
        headers += ["MIME-Version: 1.0", "X-Mailer: BenchMail 1.0"]
        ref = f"Ref: {tag}{n}"
        size = 900 if kind == "alternative" else 1500
        text = f"{ref}\n\n{_text(rng, korean, size)}"
        if parent is not None:
            quoted = "\n".join(f"> {line}" for line in _text(rng, korean, 300).split("\n"))
            text += (
                f"\n\n{format_datetime(datetime.fromtimestamp(date - 3600, UTC))}, "
                f"Dangol Support <{SUPPORT}> wrote:\n{quoted}"
            )
        boundary = f"=_bench_{seed}_{n}_="
        if kind == "plain":
            if korean:
                headers += [
                    "Content-Type: text/plain; charset=utf-8",
                    "Content-Transfer-Encoding: base64",
                ]
                body = _b64(text.encode())
            else:
                headers += ["Content-Type: text/plain; charset=us-ascii; format=flowed"]
                body = _wrapped(text)
        elif kind == "alternative":
            html = "".join(f"<p>{p}</p>" for p in text.split("\n\n"))
            html = f'<html><body><div dir="ltr">{html}</div></body></html>'
            headers.append(f'Content-Type: multipart/alternative; boundary="{boundary}"')
            body = "\r\n".join(
                [
                    "This is a multi-part message in MIME format.",
                    f"--{boundary}",
                    f'Content-Type: text/plain; charset="{charset}"',
                    "Content-Transfer-Encoding: base64",
                    "",
                    _b64(text.encode(codec)),
                    f"--{boundary}",
                    f'Content-Type: text/html; charset="{charset}"',
                    "Content-Transfer-Encoding: base64",
                    "",
                    _b64(html.encode(codec)),
                    f"--{boundary}--",
                ]
            )
        else:
            attachment = bytes(rng.getrandbits(8) for _ in range(rng.randrange(400, 1200)))
            filename = _word("견적서.pdf") if korean else "quote.pdf"
            headers.append(f'Content-Type: multipart/mixed; boundary="{boundary}"')
            body = "\r\n".join(
                [
                    f"--{boundary}",
                    "Content-Type: text/plain; charset=utf-8",
                    "Content-Transfer-Encoding: base64",
                    "",
                    _b64(text[: len(text) * 2 // 3].encode()),
                    f"--{boundary}",
                    f'Content-Type: application/pdf; name="{filename}"',
                    f'Content-Disposition: attachment; filename="{filename}"',
                    "Content-Transfer-Encoding: base64",
                    "",
                    _b64(attachment),
                    f"--{boundary}--",
                ]
            )
        raw = ("\r\n".join(headers) + "\r\n\r\n" + body + "\r\n").encode("ascii")
        mails.append(BenchMail(n, message_id, raw, parent.n if parent else None, kind))
        if parent is None:
            threads.append(_Thread(n, message_id, sender, korean, name, subject))
    return mails


# ---------------------------------------------------------------- the application


def fresh_app(name: str) -> Flask:
    """A new SQLite database made by the real migrations, and an app on it (fresh blob store)."""
    from alembic import command

    from helpdesk import create_app
    from helpdesk.cli import _alembic_config
    from helpdesk.config import Settings

    DATA.mkdir(parents=True, exist_ok=True)
    path = DATA / f"{name}.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    instance = DATA / f"instance-{name}"
    shutil.rmtree(instance, ignore_errors=True)
    url = f"sqlite:///{path}"
    command.upgrade(_alembic_config(url), "head")
    settings = Settings.from_env(
        instance_path=instance,
        database_url=url,
        secret_key="bench-email-ingest-secret",
        redis_url=None,
        log_level="WARNING",
    )
    return create_app(settings)


def create_channel(app: Flask, dovecot: DovecotServer, user: str, address: str) -> int:
    from helpdesk.services import email_channels
    from helpdesk.services.permissions import SYSTEM

    password = f"{user} 비밀번호"
    dovecot.add_user(user, password)
    with app.app_context():
        channel = email_channels.create_channel(
            SYSTEM,
            name=user,
            address=address,
            imap_host=dovecot.host,
            imap_port=dovecot.port,
            imap_security="none",
            imap_username=user,
            imap_password=password,
            smtp_host="127.0.0.1",
            smtp_port=free_port(),  # nothing is sent: auto-acknowledge is off
            smtp_security="none",
        )
        return channel.id


def _dovecot_cpu_s(dovecot: DovecotServer) -> float:
    """CPU seconds of Dovecot's live processes (they share the process group of its master)."""
    process = dovecot._process
    if process is None:
        return 0.0
    total = 0.0
    for proc in psutil.process_iter(["pid"]):
        try:
            if os.getpgid(proc.pid) == process.pid:
                times = proc.cpu_times()
                total += times.user + times.system
        except (psutil.Error, ProcessLookupError):
            continue
    return total


# ---------------------------------------------------------------- scenario 1: throughput

# Functions whose cumulative time says where an ingest goes (with --profile).
_STAGES = [
    ("IMAP fetch (UID FETCH BODY.PEEK[])", "mailbox.py", "fetch_new"),
    ("IMAP mark processed (\\Seen / MOVE)", "mailbox.py", "mark_processed"),
    (
        "ingest_batch() in all (parse + thread + store + commit + events)",
        "email_ingest.py",
        "_ingest_batch",
    ),
    ("  waiting for or doing the parse", "email_parse_pool.py", "parsed_chunks"),
    ("  lookups per chunk (dedupe, threads)", "email_ingest.py", "extend"),
    ("  new conversations (open_tickets and the rest)", "email_ingest.py", "_open_together"),
    ("    resolve_customers", "customers.py", "resolve_customers"),
    ("  follow-ups (add_customer_messages and the rest)", "email_ingest.py", "_reply_together"),
    ("  mail stored alone (bounces, tokens, duplicates)", "email_ingest.py", "_ingest"),
    ("  store_blob (original.eml, attachments)", "attachments.py", "store_blob"),
    ("  commit (SQLAlchemy Session.commit)", "session.py", "commit"),
    ("  event delivery after commit", "events.py", "_deliver"),
]


def _stage_times(profiler: cProfile.Profile) -> tuple[list[dict[str, Any]], str]:
    stats = pstats.Stats(profiler)
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    rows = []
    for label, filename, function in _STAGES:
        cumulative = 0.0
        calls = 0
        for (path, _line, name), (_cc, nc, _tt, ct, _callers) in raw.items():
            if name == function and path.endswith(filename):
                cumulative = max(cumulative, ct)  # recursion-safe: the outermost entry
                calls = max(calls, nc)
        rows.append({"stage": label, "cumulative_s": round(cumulative, 3), "calls": calls})
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(40)
    tottime = io.StringIO()
    pstats.Stats(profiler, stream=tottime).sort_stats("tottime").print_stats(25)
    return rows, text.getvalue() + "\n\n" + tottime.getvalue()


def throughput(
    app: Flask, dovecot: DovecotServer, channel_id: int, count: int, seed: int, profile: bool
) -> dict[str, Any]:
    """Scenario 1 on ``channel_id`` (mailbox user "bench", empty); see the module docstring."""
    from helpdesk import events
    from helpdesk.email_loops import EmailFetcher
    from helpdesk.extensions import db
    from helpdesk.models import Direction, EmailQuarantine, Message, Ticket
    from helpdesk.worker import LoopRunner, SqliteCheckpointer

    mails = build_mail(count, seed)
    sizes = sorted(len(m.raw) for m in mails)
    started = time.perf_counter()
    for first in range(0, len(mails), 500):  # MULTIAPPEND, 500 at a time
        dovecot.append("bench", [m.raw for m in mails[first : first + 500]])
    append_s = time.perf_counter() - started

    seen_events: dict[str, int] = {}
    events.subscribe(
        "bench-throughput",
        lambda e: seen_events.__setitem__(e.name, seen_events.get(e.name, 0) + 1),
    )
    progress = {"ingested": 0, "wall": 0.0, "cpu": 0.0}

    def after_ingest(_uid: int) -> None:
        progress["ingested"] += 1
        progress["wall"] = time.perf_counter()
        progress["cpu"] = time.process_time()

    statements: dict[str, int] = {}

    def count_statement(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if threading.current_thread() is threading.main_thread():  # not the checkpointer's
            verb = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else "?"
            statements[verb] = statements.get(verb, 0) + 1

    with app.app_context():
        engine = db.engine
    assert engine is not None
    sa_event.listen(engine, "before_cursor_execute", count_statement)
    fetcher = EmailFetcher(channel_id, idle_s=0.2, after_ingest=after_ingest)
    checkpointer = LoopRunner(app, [SqliteCheckpointer()])
    checkpointer.start()
    profiler = cProfile.Profile() if profile else None
    dovecot_cpu_before = _dovecot_cpu_s(dovecot)
    start, start_cpu = time.perf_counter(), time.process_time()
    deadline = start + max(120.0, count / 10)
    passes = 0
    try:
        while progress["ingested"] < count and time.perf_counter() < deadline:
            with app.app_context():
                try:
                    if profiler is not None:
                        profiler.enable()
                    fetcher.run_once()
                    passes += 1
                finally:
                    if profiler is not None:
                        profiler.disable()
                    db.session.remove()
    finally:
        dovecot_cpu = _dovecot_cpu_s(dovecot) - dovecot_cpu_before
        with app.app_context():
            fetcher.close()
        checkpointer.stop()
        events.unsubscribe("bench-throughput")
        sa_event.remove(engine, "before_cursor_execute", count_statement)
    wall = (progress["wall"] or time.perf_counter()) - start
    cpu = (progress["cpu"] or time.process_time()) - start_cpu

    with app.app_context():
        session = db.session()
        stored = session.execute(
            select(Message.external_id, Message.ticket_id).where(
                Message.direction == Direction.IN, Message.external_id.is_not(None)
            )
        ).all()
        tickets = session.scalar(select(func.count()).select_from(Ticket)) or 0
        quarantined = session.scalar(select(func.count()).select_from(EmailQuarantine)) or 0
        db.session.remove()
    ticket_of: dict[str, int] = {}
    duplicates = 0
    for external_id, ticket_id in stored:
        if external_id is None:
            continue
        if external_id in ticket_of:
            duplicates += 1
        ticket_of[external_id] = ticket_id
    expected = {m.message_id for m in mails}
    missing = len(expected - set(ticket_of))
    misthreaded = sum(
        1
        for m in mails
        if m.reply_to is not None
        and m.message_id in ticket_of
        and ticket_of[m.message_id] != ticket_of.get(mails[m.reply_to].message_id)
    )
    replies_expected = sum(1 for m in mails if m.reply_to is not None)
    result: dict[str, Any] = {
        "messages": count,
        "message_bytes": {"median": sizes[len(sizes) // 2], "min": sizes[0], "max": sizes[-1]},
        "mix": {
            kind: sum(1 for m in mails if m.kind == kind)
            for kind in ("plain", "alternative", "attachment")
        },
        "append_s": round(append_s, 2),
        "append_per_s": round(count / append_s, 1),
        "ingested": progress["ingested"],
        "fetch_passes": passes,
        "wall_s": round(wall, 2),
        "messages_per_s": round(progress["ingested"] / wall, 1) if wall > 0 else None,
        "cpu_s": round(cpu, 2),
        "messages_per_cpu_s": round(progress["ingested"] / cpu, 1) if cpu > 0 else None,
        "dovecot_cpu_s": round(dovecot_cpu, 2),
        "tickets_created": tickets,
        "tickets_expected": count - replies_expected,
        "replies_stored": len(ticket_of) - tickets,
        "replies_expected": replies_expected,
        "misthreaded_replies": misthreaded,
        "message_ids_stored": len(ticket_of),
        "missing": missing,
        "duplicates": duplicates,
        "quarantined": quarantined,
        "events": dict(sorted(seen_events.items())),
        "sql_statements_per_message": round(sum(statements.values()) / max(1, count), 1),
        "sql_statements": dict(sorted(statements.items(), key=lambda kv: -kv[1])),
        "profiled": profile,
    }
    result["complete"] = (
        missing == 0
        and duplicates == 0
        and quarantined == 0
        and misthreaded == 0
        and tickets == result["tickets_expected"]
    )
    if profiler is not None:
        profiler.dump_stats(DATA / f"email-ingest-{count}.prof")  # for pstats / snakeviz
        stages, text = _stage_times(profiler)
        result["profile_stages"] = stages
        result["profile_text"] = text
    return result


# ---------------------------------------------------------------- scenario 2: latency


def latency(
    app: Flask,
    dovecot: DovecotServer,
    count: int,
    rate: float,
    seed: int,
    quiet_channel: int | None,
) -> dict[str, Any]:
    """Scenario 2: the loops of ``helpdesk serve`` in threads, mail APPENDed at ``rate``/s."""
    from helpdesk import events
    from helpdesk.email_loops import EmailFetcher
    from helpdesk.events import DomainEvent, MessageAdded, TicketCreated
    from helpdesk.extensions import db
    from helpdesk.models import EmailChannel
    from helpdesk.services import email_channels
    from helpdesk.services.permissions import SYSTEM
    from helpdesk.worker import LoopRunner, default_loops

    if quiet_channel is not None:  # only the latency mailbox is watched, as after a restart
        with app.app_context():
            email_channels.update_channel(SYSTEM, quiet_channel, {"is_active": False})
    channel_id = create_channel(app, dovecot, "latency", "latency@dangol.example")
    mails = build_mail(count, seed + 1, tag="L")
    appended: dict[str, float] = {}
    append_ms: list[float] = []
    delivered: dict[str, tuple[float, str]] = {}
    subject_tag = re.compile(r"\((L\d+)\)\s*$")
    body_tag = re.compile(r"Ref: (L\d+)")

    def on_event(event: DomainEvent) -> None:
        now = time.time()
        match = None
        if isinstance(event, TicketCreated):
            match = subject_tag.search(event.ticket.get("subject") or "")
        elif isinstance(event, MessageAdded):
            match = body_tag.search(event.message.get("body_text") or "")
        if match is not None and match.group(1) not in delivered:
            delivered[match.group(1)] = (now, event.name)

    with app.app_context():
        loops = default_loops()  # what helpdesk serve / helpdesk worker run
        db.session.remove()
    runner = LoopRunner(app, loops)
    events.subscribe("bench-latency", on_event)
    runner.start()
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:  # connected: the fetcher recorded UIDVALIDITY
            with app.app_context():
                ready = db.session.get(EmailChannel, channel_id, populate_existing=True)
                connected = ready is not None and ready.uid_validity is not None
                db.session.remove()
            if connected:
                break
            time.sleep(0.05)
        else:
            raise RuntimeError("the fetcher never connected to the latency mailbox")
        time.sleep(0.5)  # now in IDLE
        with dovecot.client("latency") as imap:
            started = time.perf_counter()
            for i, mail in enumerate(mails):
                stamp = time.time()
                imap.append("INBOX", b"X-Bench-Appended: %.6f\r\n" % stamp + mail.raw)
                done = time.time()
                appended[f"L{mail.n}"] = done
                append_ms.append((done - stamp) * 1000)
                time.sleep(max(0.0, started + (i + 1) / rate - time.perf_counter()))
        wait_until = time.monotonic() + 15
        while len(delivered) < count and time.monotonic() < wait_until:
            time.sleep(0.05)
    finally:
        events.unsubscribe("bench-latency")
        runner.stop(timeout=15)
        with app.app_context():
            for loop in loops:
                if isinstance(loop, EmailFetcher):
                    loop.close()
    samples = sorted(
        (delivered[tag][0] - appended[tag]) * 1000 for tag in appended if tag in delivered
    )
    cuts = statistics.quantiles(samples, n=100, method="inclusive") if len(samples) > 1 else None
    return {
        "messages": count,
        "rate_per_s": rate,
        "delivered": len(samples),
        "missing": count - len(samples),
        "p50_ms": round(cuts[49], 1) if cuts else None,
        "p95_ms": round(cuts[94], 1) if cuts else None,
        "max_ms": round(samples[-1], 1) if samples else None,
        "min_ms": round(samples[0], 1) if samples else None,
        "append_p50_ms": round(statistics.median(append_ms), 1) if append_ms else None,
        "events": {
            name: sum(1 for _t, n in delivered.values() if n == name)
            for name in sorted({n for _t, n in delivered.values()})
        },
    }


# ---------------------------------------------------------------- report


def _git_commit() -> str | None:
    import subprocess

    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
    )
    return done.stdout.strip() or None


def markdown(report: dict[str, Any]) -> str:
    t = report.get("throughput")
    lat = report.get("latency")
    machine = report["machine"]
    lines = [
        f"### Email ingest, {report['settings']['messages']:,} messages, SQLite "
        f"({report['measured_at']}, commit {report['commit']}, load average before/after "
        f"{machine['loadavg_before'][0]}/{machine['loadavg_after'][0]}, {machine['cpus']} CPUs)",
        "",
        "| Measurement | Result | Target |",
        "|---|---:|---:|",
    ]
    rows: list[tuple[str, str, str]] = []
    if t:
        ok = "met" if report["targets"]["throughput_met"] else "NOT met"
        size = t["message_bytes"]
        rows += [
            (
                "Ingest, messages/s (wall)",
                f"{t['messages_per_s']}",
                f"≥ {TARGET_MESSAGES_PER_S:.0f} ({ok})",
            ),
            (
                "Ingest, messages per CPU second of the app process",
                f"{t['messages_per_cpu_s']}",
                "",
            ),
            (
                "Wall / app CPU / Dovecot CPU",
                f"{t['wall_s']} s / {t['cpu_s']} s / {t['dovecot_cpu_s']} s",
                "",
            ),
            (
                "Message-IDs stored / generated",
                f"{t['message_ids_stored']} / {t['messages']}",
                "all",
            ),
            (
                "Tickets created / expected",
                f"{t['tickets_created']} / {t['tickets_expected']}",
                "equal",
            ),
            (
                "Replies threaded / expected (misthreaded)",
                f"{t['replies_stored']} / {t['replies_expected']} ({t['misthreaded_replies']})",
                "equal (0)",
            ),
            (
                "Missing / duplicated / quarantined",
                f"{t['missing']} / {t['duplicates']} / {t['quarantined']}",
                "0 / 0 / 0",
            ),
            ("SQL statements per message (all kinds)", f"{t['sql_statements_per_message']}", ""),
            ("MULTIAPPEND (setup, untimed)", f"{t['append_per_s']} messages/s", ""),
            (
                "Message size median (min-max)",
                f"{size['median']} B ({size['min']}-{size['max']})",
                "~3 KB",
            ),
        ]
        if t["profiled"]:
            rows.append(("(profiled run: cProfile slows it down)", "", ""))
    if lat:
        ok = "met" if report["targets"]["latency_met"] else "NOT met"
        rows += [
            (
                f"Arrival to event p50 / p95 (IDLE, {lat['messages']} at {lat['rate_per_s']}/s)",
                f"{lat['p50_ms']} / {lat['p95_ms']} ms",
                f"p95 ≤ {TARGET_LATENCY_P95_MS:.0f} ms ({ok})",
            ),
            (
                "Arrival to event max; events missing",
                f"{lat['max_ms']} ms; {lat['missing']}",
                "0 missing",
            ),
        ]
    lines += [f"| {label} | {value} | {target} |" for label, value, target in rows]
    if t and t.get("profile_stages"):
        lines += ["", "Where the time goes (cProfile, cumulative seconds):", ""]
        lines += ["| Stage | s | calls |", "|---|---:|---:|"]
        lines += [
            f"| {row['stage'].strip()} | {row['cumulative_s']} | {row['calls']} |"
            for row in t["profile_stages"]
        ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5000, help="throughput scenario size")
    parser.add_argument("--latency-messages", type=int, default=100, help="0 skips it")
    parser.add_argument("--rate", type=float, default=5.0, help="latency APPENDs per second")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--profile", action="store_true", help="cProfile the ingest loop")
    args = parser.parse_args(argv)

    report: dict[str, Any] = {
        "label": f"email-ingest-{args.messages}",
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": _git_commit(),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "loadavg_before": [round(x, 2) for x in os.getloadavg()],
        },
        "settings": vars(args),
    }
    app = fresh_app("email-ingest")
    with DovecotServer() as dovecot:
        bench_channel = create_channel(app, dovecot, "bench", SUPPORT)
        t = throughput(app, dovecot, bench_channel, args.messages, args.seed, args.profile)
        report["throughput"] = {k: v for k, v in t.items() if k != "profile_text"}
        if args.latency_messages > 0:
            report["latency"] = latency(
                app, dovecot, args.latency_messages, args.rate, args.seed, bench_channel
            )
    report["machine"]["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
    lat = report.get("latency")
    report["targets"] = {
        "messages_per_s": TARGET_MESSAGES_PER_S,
        "latency_p95_ms": TARGET_LATENCY_P95_MS,
        "throughput_met": bool(
            t["complete"] and (t["messages_per_s"] or 0) >= TARGET_MESSAGES_PER_S
        ),
        "latency_met": bool(
            lat and lat["missing"] == 0 and (lat["p95_ms"] or 1e9) <= TARGET_LATENCY_P95_MS
        ),
    }
    RESULTS.mkdir(exist_ok=True)
    base = RESULTS / report["label"]
    base.with_suffix(".json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    base.with_suffix(".md").write_text(markdown(report))
    if "profile_text" in t:
        (DATA / f"{report['label']}.profile.txt").write_text(t["profile_text"])
        print(f"cProfile: {DATA}/{report['label']}.profile.txt and .prof")
    print(markdown(report))
    print(f"Wrote {base}.json and .md")


if __name__ == "__main__":
    main()
