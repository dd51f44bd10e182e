"""Fill a fresh Dangol database with N realistic tickets, fast, for the API benchmark.

The schema comes from the real Alembic migrations; the rows are written in bulk with the
tables' Core definitions (SQLite: ``executemany``; PostgreSQL: ``COPY``), bypassing the
services. Going through ``create_ticket`` would take hours at a million tickets, and what the
benchmark needs is the *shape* of a big instance (table and index sizes, the share of open
tickets per group, three years of updates), not that code path, which the benchmark times
separately through the API.

Secondary indexes are dropped before the load and re-created afterwards from their own stored
definitions (``sqlite_master.sql`` / ``pg_indexes.indexdef``), so the final schema is exactly
the migrated one; building an index once over sorted data is several times faster than
maintaining it row by row. The database is ANALYZEd at the end (PostgreSQL: VACUUM ANALYZE, so
the visibility map allows index-only scans as it would on a long-running instance).

    .venv/bin/python -m bench.generate --db sqlite --tickets 10000
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import random
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from queue import Empty
from typing import Any, Protocol

from sqlalchemy import Connection, DateTime, Engine, create_engine
from sqlalchemy.engine import make_url

from helpdesk.models import Base
from helpdesk.services.html import text_to_html
from helpdesk.services.message_store import kind_for_channel
from helpdesk.services.tickets import FIRST_TICKET_NUMBER

BENCH = Path(__file__).resolve().parent
DATA = BENCH / "data"
SQLITE_URL = f"sqlite:///{DATA / 'bench.db'}"
POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/dangol_bench"
AGENT_PASSWORD = "bench-password"  # every generated agent can sign in with it
CHUNK = 20_000  # tickets per generated batch (and per transaction)

Row = tuple[Any, ...]

# Columns written per table, in load order (parents before children). Checked against the
# models at start-up: every NOT NULL column without a server default must be listed.
COLUMNS: dict[str, tuple[str, ...]] = {
    "groups": ("id", "name", "created_at"),
    "users": (
        "id",
        "email",
        "name",
        "password_hash",
        "role",
        "locale",
        "timezone",
        "is_active",
        "created_at",
    ),
    "user_groups": ("user_id", "group_id"),
    "organizations": ("id", "name", "domain", "created_at"),
    "tags": ("id", "name"),
    "customers": ("id", "name", "organization_id", "locale", "created_at", "updated_at"),
    "customer_identities": ("id", "customer_id", "kind", "value", "display", "created_at"),
    "tickets": (
        "id",
        "number",
        "subject",
        "status",
        "priority",
        "channel",
        "customer_id",
        "organization_id",
        "group_id",
        "assignee_id",
        "created_at",
        "updated_at",
        "first_response_at",
        "solved_at",
        "last_customer_message_at",
        "last_agent_message_at",
        "message_count",
        "version",
    ),
    "messages": (
        "id",
        "ticket_id",
        "direction",
        "kind",
        "is_public",
        "author_user_id",
        "author_customer_id",
        "body_text",
        "body_html",
        "external_id",
        "created_at",
    ),
    "ticket_tags": ("ticket_id", "tag_id"),
    "counters": ("name", "value"),
}
BULK_TABLES = ("customers", "customer_identities", "tickets", "messages", "ticket_tags")
SERIAL_TABLES = tuple(name for name, columns in COLUMNS.items() if columns[0] == "id")

# --- vocabulary ---------------------------------------------------------------------------

GROUPS = [
    ("기술지원", 22),
    ("결제/환불", 18),
    ("배송", 15),
    ("Account & Login", 12),
    ("Billing", 10),
    ("Enterprise", 9),
    ("파트너 지원", 8),
    ("VIP", 6),
]
TAGS = [
    "환불", "배송지연", "로그인", "결제오류", "쿠폰", "앱", "버그", "요금제", "해지", "교환",
    "vip", "refund", "bug", "login", "billing", "api", "invoice", "sso", "mobile", "outage",
    "feature-request", "urgent-callback", "b2b", "shipping", "password-reset", "카드결제",
    "영수증", "회원가입", "알림", "데이터이전", "security", "integration", "onboarding",
    "cancellation", "upgrade", "downgrade", "네이버페이", "카카오페이", "재발송", "문의",
]  # fmt: skip
KO_SURNAMES = ["김", "이", "박", "최", "정", "강", "조", "윤", "장", "임", "한", "오", "서", "신"]
KO_GIVEN = [
    ("민준", "minjun"), ("서연", "seoyeon"), ("도윤", "doyun"), ("지우", "jiwoo"),
    ("하준", "hajun"), ("서윤", "seoyun"), ("예준", "yejun"), ("하은", "haeun"),
    ("시우", "siwoo"), ("지민", "jimin"), ("주원", "juwon"), ("수아", "sua"),
    ("지호", "jiho"), ("다은", "daeun"), ("현우", "hyunwoo"), ("채원", "chaewon"),
    ("똠", "ttom"), ("햏", "haeng"),  # extended Hangul (cp949 only), on purpose
]  # fmt: skip
EN_FIRST = ["James", "Olivia", "Liam", "Emma", "Noah", "Ava", "Ethan", "Mia", "Lucas", "Sophia"]
EN_LAST = ["Smith", "Brown", "Miller", "Wilson", "Taylor", "Clark", "Lee", "Park", "Kim", "Moore"]
FREE_MAIL = {
    "ko": ["naver.com", "gmail.com", "daum.net", "hanmail.net", "kakao.com", "nate.com"],
    "en": ["gmail.com", "outlook.com", "yahoo.com", "icloud.com", "proton.me"],
}
COMPANIES = [
    "한빛소프트",
    "누리테크",
    "바다물산",
    "Acme",
    "Globex",
    "Initech",
    "새봄유통",
    "Umbrella",
]
SUBJECTS = {
    "ko": [
        "주문 {n} 배송이 아직 안 왔어요",
        "로그인이 안 됩니다 (오류 코드 {n})",
        "환불 요청드립니다 - 주문번호 {n}",
        "결제가 두 번 되었습니다",
        "앱에서 알림이 오지 않아요",
        "요금제 변경 문의",
        "세금계산서 발행 요청 ({n})",
        "비밀번호 재설정 메일이 안 와요",
        "상품 교환 가능한가요?",
        "API 연동 중 401 오류",
    ],
    "en": [
        "Order {n} has not arrived yet",
        "Cannot log in (error {n})",
        "Refund request for order {n}",
        "I was charged twice",
        "Push notifications stopped working",
        "Question about changing my plan",
        "Invoice {n} is missing the VAT number",
        "Password reset email never arrives",
        "Can I exchange this item?",
        "Webhook deliveries fail with 500",
    ],
}
CUSTOMER_LINES = {
    "ko": [
        "안녕하세요.",
        "지난주에 주문했는데 아직 배송 조회가 되지 않습니다.",
        "앱을 최신 버전으로 업데이트한 뒤부터 로그인이 되지 않아요.",
        "카드 결제가 두 번 승인되어 한 건은 취소 부탁드립니다.",
        "회사 계정으로 전환하고 싶은데 방법을 알려주세요.",
        "고객센터 전화 연결이 되지 않아 메일로 문의드립니다.",
        "첨부한 화면처럼 오류 메시지가 계속 나옵니다.",
        "빠른 확인 부탁드립니다.",
        "급한 건이라 오늘 중으로 답변 주시면 감사하겠습니다.",
        "감사합니다.",
    ],
    "en": [
        "Hello,",
        "I ordered last week and the tracking page still shows nothing.",
        "Since the latest app update I cannot sign in any more.",
        "My card was charged twice, please cancel one of the payments.",
        "How do I move my account to our company workspace?",
        "I could not reach you by phone, so I am writing instead.",
        "The error in the screenshot keeps coming back.",
        "Could you look into this soon?",
        "It is urgent for us, an answer today would help a lot.",
        "Thanks.",
    ],
}
AGENT_LINES = {
    "ko": [
        "안녕하세요, 고객님. 문의 주셔서 감사합니다.",
        "확인해 보니 물류센터에서 출고가 지연되었습니다.",
        "중복 결제 건은 취소 처리했으며 3~5영업일 내 환불됩니다.",
        "앱 캐시를 삭제한 뒤 다시 로그인해 보시겠어요?",
        "담당 부서에 전달했으며 처리되는 대로 안내드리겠습니다.",
        "추가로 궁금하신 점은 이 메일에 회신해 주세요.",
        "좋은 하루 보내세요.",
    ],
    "en": [
        "Hi, thanks for reaching out.",
        "I checked with the warehouse and the shipment was delayed.",
        "I cancelled the duplicate payment; the refund takes 3-5 business days.",
        "Could you clear the app cache and sign in again?",
        "I passed this on to the team and will update you as soon as I hear back.",
        "Just reply to this email if anything else comes up.",
        "Have a nice day.",
    ],
}
NOTE_LINES = [
    "결제팀 확인 필요. PG사 거래번호 첨부함.",
    "Known issue, linked to the login incident of this morning.",
    "VIP 고객, 전화로 한 번 더 안내할 것.",
    "Customer asked for a callback tomorrow morning KST.",
]

CHANNELS = ["email"] * 55 + ["chat"] * 15 + ["web"] * 12 + ["phone"] * 10
CHANNELS += ["api"] * 5 + ["social"] * 3
PRIORITIES = [1] * 20 + [2] * 60 + [3] * 15 + [4] * 5
OPEN_STATUSES = ["new"] * 20 + ["open"] * 45 + ["pending"] * 25 + ["on-hold"] * 10
TAG_COUNTS = [0] * 45 + [1] * 35 + [2] * 15 + [3] * 5
EPOCH = datetime(1970, 1, 1)
HOUR = 3600.0
DAY = 24 * HOUR


def stamp(seconds: float) -> str:
    """Seconds since the epoch as naive-UTC text, the exact form SQLAlchemy stores on SQLite.

    Text (not ``datetime``) is cheaper to bind and PostgreSQL's COPY parses it the same way.
    """
    return (EPOCH + timedelta(seconds=seconds)).isoformat(" ", "microseconds")


def check_columns() -> None:
    """Fail early if a model gained a required column this generator does not fill."""
    for name, columns in COLUMNS.items():
        table = Base.metadata.tables[name]
        required = {c.name for c in table.columns if not c.nullable and c.server_default is None}
        missing = required - set(columns)
        if missing:
            raise SystemExit(f"generate.py does not fill {name}.{sorted(missing)}")


# --- the data -----------------------------------------------------------------------------


@dataclass
class World:
    """Deterministic (seeded) generator of one instance's rows, chunk by chunk."""

    tickets: int
    seed: int = 1
    now: float = field(default_factory=lambda: time.time() - 60)
    rng: random.Random = field(init=False)
    members: dict[int, list[int]] = field(init=False, default_factory=dict)
    org_domains: list[str] = field(init=False, default_factory=list)
    customer_org: list[int | None] = field(init=False, default_factory=lambda: [None])
    customer_lang: list[str] = field(init=False, default_factory=lambda: [""])
    next_message: int = field(init=False, default=1)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.start = self.now - 3 * 365 * DAY
        self.step = (self.now - 7 * DAY - self.start) / max(self.tickets, 1)
        self.agents = 20
        self.organizations = max(5, self.tickets // 500)
        rng = self.rng
        self.group_pool = [i + 1 for i, (_, w) in enumerate(GROUPS) for _ in range(w)]
        self.bodies = {lang: self._pool(CUSTOMER_LINES[lang], 1500) for lang in ("ko", "en")}
        self.replies = {lang: self._pool(AGENT_LINES[lang], 500) for lang in ("ko", "en")}
        self.notes = self._pool(NOTE_LINES, 50)
        self.subjects = {
            lang: [t.format(n=rng.randrange(10_000, 99_999)) for t in SUBJECTS[lang] * 100]
            for lang in ("ko", "en")
        }

    def _pool(self, lines: Sequence[str], size: int) -> list[tuple[str, str]]:
        """Pre-built (text, html) bodies: formatting per message would dominate the run time."""
        pool = []
        for _ in range(size):
            picked = self.rng.sample(lines, min(len(lines), self.rng.randint(2, 5)))
            text = picked[0] + "\n\n" + " ".join(picked[1:])
            pool.append((text, text_to_html(text)))
        return pool

    def static_rows(self) -> dict[str, list[Row]]:
        """Groups, agents (and their groups), organizations and tags."""
        from argon2 import PasswordHasher

        rng, created = self.rng, stamp(self.start - 30 * DAY)
        groups = [(i + 1, name, created) for i, (name, _) in enumerate(GROUPS)]
        password_hash = PasswordHasher().hash(AGENT_PASSWORD)
        users, user_groups = [], []
        self.members = {g: [] for g in range(1, len(GROUPS) + 1)}
        for uid in range(1, self.agents + 1):
            korean = uid % 3 != 0
            name = (
                rng.choice(KO_SURNAMES) + rng.choice(KO_GIVEN)[0]
                if korean
                else f"{rng.choice(EN_FIRST)} {rng.choice(EN_LAST)}"
            )
            locale = "ko" if korean else "en"
            email = f"agent{uid:02d}@dangol.example"
            users.append(
                (uid, email, name, password_hash, "agent", locale, "Asia/Seoul", True, created)
            )
            # Every group gets at least two agents; some agents work in a second group.
            mine = {(uid - 1) % len(GROUPS) + 1}
            if rng.random() < 0.4:
                mine.add(rng.randrange(1, len(GROUPS) + 1))
            for gid in sorted(mine):
                user_groups.append((uid, gid))
                self.members[gid].append(uid)
        organizations = []
        self.org_domains = [""]
        for oid in range(1, self.organizations + 1):
            base = rng.choice(COMPANIES)
            domain = f"corp{oid}.{'co.kr' if oid % 3 else 'com'}"
            self.org_domains.append(domain)
            organizations.append((oid, f"{base} {oid}", domain, created))
        tags = [(i + 1, name) for i, name in enumerate(TAGS)]
        return {
            "groups": groups,
            "users": users,
            "user_groups": user_groups,
            "organizations": organizations,
            "tags": tags,
        }

    def _new_customer(self, at: float, rows: dict[str, list[Row]]) -> int:
        rng = self.rng
        cid = len(self.customer_org)
        lang = "ko" if rng.random() < 0.7 else "en"
        org = rng.randrange(1, self.organizations + 1) if rng.random() < 0.3 else None
        if lang == "ko":
            given, roman = rng.choice(KO_GIVEN)
            name, local = rng.choice(KO_SURNAMES) + given, roman
        else:
            first, last = rng.choice(EN_FIRST), rng.choice(EN_LAST)
            name, local = f"{first} {last}", f"{first}.{last}"
        domain = self.org_domains[org] if org else rng.choice(FREE_MAIL[lang])
        display = f"{local}{cid}@{domain}"
        created = stamp(at - rng.random() * 600)
        rows["customers"].append((cid, name, org, lang, created, created))
        rows["customer_identities"].append((cid, cid, "email", display.lower(), display, created))
        self.customer_org.append(org)
        self.customer_lang.append(lang)
        return cid

    def chunks(self, size: int = CHUNK) -> Iterator[dict[str, list[Row]]]:
        """The customers, tickets, messages and tags, ``size`` tickets at a time."""
        for first in range(1, self.tickets + 1, size):
            rows: dict[str, list[Row]] = {name: [] for name in BULK_TABLES}
            for tid in range(first, min(first + size, self.tickets + 1)):
                self._ticket(tid, rows)
            yield rows

    def _ticket(self, tid: int, rows: dict[str, list[Row]]) -> None:
        rng, now = self.rng, self.now
        created = self.start + (tid - 1 + rng.random()) * self.step  # grows with the id
        if tid == 1 or rng.random() < 0.2:
            cid = self._new_customer(created, rows)
        else:
            cid = rng.randrange(1, len(self.customer_org))
        lang = self.customer_lang[cid]
        if rng.random() < 0.1:
            lang = "en" if lang == "ko" else "ko"

        # Recent tickets are far more often still open: ~15 % open-ish over the whole table.
        recent = tid > self.tickets * 0.9
        is_open = rng.random() < (0.6 if recent else 0.1)
        status = rng.choice(OPEN_STATUSES) if is_open else "solved"
        channel = rng.choice(CHANNELS)
        group = None if rng.random() < 0.04 else rng.choice(self.group_pool)
        assignee = None
        if status != "new" and rng.random() < 0.93:
            assignee = rng.choice(self.members[group]) if group else rng.randint(1, self.agents)
        agent = assignee or rng.randint(1, self.agents)

        if status == "new":
            count = 1
        elif status == "pending":
            count = 2
        else:
            count = rng.choice((1, 2, 2, 2, 3, 3))
        third_is_note = count == 3 and rng.random() < 0.15
        t1 = created
        t2 = min(now, t1 + rng.expovariate(1 / (4 * HOUR)) + 60)
        t3 = min(now, t2 + rng.expovariate(1 / DAY) + 60)
        times = (t1, t2, t3)[:count]
        first_response = stamp(t2) if count >= 2 else None
        last_customer = stamp(t3 if count == 3 and not third_is_note else t1)
        last_agent = first_response
        updated = times[-1]
        solved_at = None
        if status == "solved":
            solved = min(now, updated + rng.expovariate(1 / (6 * HOUR)) + 60)
            solved_at, updated = stamp(solved), solved
            if solved < now - 4 * DAY and rng.random() < 0.92:
                status, updated = "closed", min(now, solved + 4 * DAY)  # the auto-close
        elif status in ("on-hold", "pending") and rng.random() < 0.3:
            updated = min(now, updated + rng.expovariate(1 / DAY))  # a later status change

        kind = kind_for_channel(channel)
        domain = "example.kr" if lang == "ko" else "example.com"
        messages = rows["messages"]
        row: Row
        for i, at in enumerate(times):
            mid, sent = self.next_message, stamp(at)
            self.next_message += 1
            if i == 0 or (i == 2 and not third_is_note):  # the customer writes
                text, html = rng.choice(self.bodies[lang])
                external = f"<{mid}.{tid}@mail.{domain}>" if channel == "email" else None
                row = (mid, tid, "in", kind, True, None, cid, text, html, external, sent)
            elif i == 1:  # the agent's public reply
                text, html = rng.choice(self.replies[lang])
                external = f"<dgl.{mid}@dangol.example>" if channel == "email" else None
                row = (mid, tid, "out", kind, True, agent, None, text, html, external, sent)
            else:  # an internal note
                text, html = rng.choice(self.notes)
                row = (mid, tid, "out", "note", False, agent, None, text, html, None, sent)
            messages.append(row)

        rows["tickets"].append(
            (
                tid,
                FIRST_TICKET_NUMBER - 1 + tid,
                rng.choice(self.subjects[lang]),
                status,
                rng.choice(PRIORITIES),
                channel,
                cid,
                self.customer_org[cid],
                group,
                assignee,
                stamp(created),
                stamp(updated),
                first_response,
                solved_at,
                last_customer,
                last_agent,
                count,
                count + rng.randint(0, 3),
            )
        )
        for tag in rng.sample(range(1, len(TAGS) + 1), rng.choice(TAG_COUNTS)):
            rows["ticket_tags"].append((tid, tag))


# --- the databases ------------------------------------------------------------------------


class Loader(Protocol):
    def drop_indexes(self) -> None: ...
    def insert(self, table: str, rows: list[Row]) -> None: ...
    def commit(self) -> None: ...
    def finish(self, log: Timer) -> None: ...


def reset_database(url: str, force: bool) -> None:
    """Delete the database (SQLite file; PostgreSQL: its public schema)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = Path(parsed.database or "")
        path.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    if "bench" not in (parsed.database or "") and not force:
        raise SystemExit(f"refusing to wipe {parsed.database!r}: not a *bench* database (--force)")
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql("DROP SCHEMA IF EXISTS public CASCADE")
        conn.exec_driver_sql("CREATE SCHEMA public")
    engine.dispose()


def migrate(url: str) -> None:
    """The real schema: ``alembic upgrade head`` with the app's own configuration."""
    from alembic import command

    from helpdesk.cli import _alembic_config

    command.upgrade(_alembic_config(url), "head")


class SqliteLoader:
    """``executemany`` of Core-compiled INSERTs, no journal, one transaction per chunk."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # AUTOCOMMIT hands transaction control to us: PRAGMAs first, then explicit BEGINs.
        self.conn: Connection = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        for pragma in (
            "journal_mode=OFF",  # a crashed load is simply regenerated
            "synchronous=OFF",
            "cache_size=-1000000",  # 1 GB of page cache, so index builds sort in memory
            "temp_store=MEMORY",
            "foreign_keys=OFF",  # the generator produces consistent keys itself
        ):
            self.conn.exec_driver_sql(f"PRAGMA {pragma}")
        self.indexes: list[str] = []
        self.sql = {t: _insert_sql(engine, t) for t in COLUMNS}
        # SQLite compares timestamps as text (keyset cursors too): ours must be SQLAlchemy's form.
        sample = datetime(2026, 1, 2, 3, 4, 5)
        processor = DateTime().dialect_impl(engine.dialect).bind_processor(engine.dialect)
        if processor is None or stamp((sample - EPOCH).total_seconds()) != processor(sample):
            raise SystemExit("generate.py writes timestamps unlike SQLAlchemy's SQLite format")
        self.in_tx = False

    def drop_indexes(self) -> None:
        found = self.conn.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
        ).all()
        for name, sql in found:
            self.indexes.append(sql)
            self.conn.exec_driver_sql(f'DROP INDEX "{name}"')

    def insert(self, table: str, rows: list[Row]) -> None:
        if not self.in_tx:
            self.conn.exec_driver_sql("BEGIN")
            self.in_tx = True
        self.conn.exec_driver_sql(self.sql[table], rows)  # type: ignore[arg-type]

    def commit(self) -> None:
        if self.in_tx:
            self.conn.exec_driver_sql("COMMIT")
            self.in_tx = False

    def finish(self, log: Timer) -> None:
        self.commit()
        with log.phase("create indexes"):
            for sql in self.indexes:
                self.conn.exec_driver_sql(sql)
        with log.phase("ANALYZE"):
            self.conn.exec_driver_sql("ANALYZE")
        self.conn.exec_driver_sql("PRAGMA journal_mode=WAL")  # what the app runs with
        self.conn.close()


def _insert_sql(engine: Engine, table: str) -> str:
    """A plain INSERT of exactly the generated columns; the others get their server defaults
    (a compiled Core insert would also bind the columns that have Python-side defaults)."""
    assert engine.dialect.paramstyle == "qmark"
    columns = COLUMNS[table]
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"


class PostgresLoader:
    """``COPY ... FROM STDIN`` through psycopg, FK triggers off during the load."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.raw = engine.raw_connection()
        self.pg: Any = self.raw.driver_connection  # a psycopg.Connection
        assert self.pg is not None
        with self.pg.cursor() as cur:
            # replica role skips the FK triggers (the generator's keys are consistent by
            # construction); the constraints stay in place for everything after the load.
            cur.execute("SET session_replication_role = replica")
            cur.execute("SET synchronous_commit = off")
            cur.execute("SET maintenance_work_mem = '1GB'")
        self.pg.commit()
        self.indexes: list[str] = []

    def drop_indexes(self) -> None:
        with self.pg.cursor() as cur:
            cur.execute(
                """SELECT i.indexname, i.indexdef FROM pg_indexes i
                   WHERE i.schemaname = 'public' AND NOT EXISTS (
                     SELECT 1 FROM pg_constraint c
                     WHERE c.conindid = ('public.' || quote_ident(i.indexname))::regclass)"""
            )
            for name, definition in cur.fetchall():
                self.indexes.append(definition)
                cur.execute(f'DROP INDEX "{name}"')
        self.pg.commit()

    def insert(self, table: str, rows: list[Row]) -> None:
        columns = ", ".join(COLUMNS[table])
        with self.pg.cursor() as cur, cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    def commit(self) -> None:
        self.pg.commit()

    def finish(self, log: Timer) -> None:
        self.pg.commit()
        with self.pg.cursor() as cur:
            cur.execute("SET session_replication_role = DEFAULT")
            with log.phase("create indexes"):
                for definition in self.indexes:
                    cur.execute(definition)
                self.pg.commit()
            for table in SERIAL_TABLES:  # explicit ids were loaded: move the sequences on
                cur.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"
                )
            self.pg.commit()
        self.pg.autocommit = True
        with log.phase("VACUUM ANALYZE"), self.pg.cursor() as cur:
            cur.execute("VACUUM (ANALYZE)")
        self.raw.close()


# --- driver -------------------------------------------------------------------------------


class Timer:
    """Wall time per phase, printed as it goes and kept for the summary."""

    def __init__(self) -> None:
        self.phases: dict[str, float] = {}

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        yield
        spent = time.perf_counter() - start
        self.phases[name] = self.phases.get(name, 0.0) + spent
        print(f"  {name}: {spent:.1f} s", flush=True)


def generate(url: str, tickets: int, *, seed: int = 1, force: bool = False) -> dict[str, Any]:
    """Create the database at ``url`` afresh and load ``tickets`` tickets; return the figures."""
    check_columns()
    log = Timer()
    started = time.perf_counter()
    print(f"Generating {tickets:,} tickets into {make_url(url).render_as_string()}", flush=True)
    with log.phase("reset + migrate"):
        reset_database(url, force)
        migrate(url)
    engine = create_engine(url)
    loader: Loader = (
        SqliteLoader(engine) if engine.dialect.name == "sqlite" else PostgresLoader(engine)
    )
    loader.drop_indexes()
    counts = {name: 0 for name in COLUMNS}
    wait_time = load_time = 0.0

    def load(rows: dict[str, list[Row]]) -> None:
        nonlocal load_time
        t0 = time.perf_counter()
        for table, batch in rows.items():
            if batch:
                loader.insert(table, batch)
                counts[table] += len(batch)
        loader.commit()
        load_time += time.perf_counter() - t0

    # Python row generation and the database's insert work each take about one core: a
    # producer process keeps the second core busy (two chunks in flight at most).
    context = multiprocessing.get_context("spawn")
    queue: Any = context.Queue(maxsize=2)
    producer = context.Process(target=_produce, args=(tickets, seed, time.time() - 60, queue))
    producer.start()
    while True:
        t0 = time.perf_counter()
        chunk = _next_chunk(queue, producer)
        wait_time += time.perf_counter() - t0
        if chunk is None:
            break
        load(chunk)
        done = counts["tickets"]
        if chunk.get("tickets") and (done % 100_000 == 0 or done == tickets):
            spent = time.perf_counter() - started
            print(f"  {done:>9,} tickets  {spent:6.1f} s  {done / spent:8,.0f} tickets/s")
    producer.join()
    load({"counters": [("ticket", FIRST_TICKET_NUMBER - 1 + tickets)]})
    log.phases["insert rows"] = load_time
    log.phases["wait for generator"] = wait_time
    print(f"  inserting {load_time:.1f} s, waiting for the generator {wait_time:.1f} s")
    loader.finish(log)
    engine.dispose()
    total = time.perf_counter() - started
    rows = sum(counts.values())
    size = _size(url)
    print(
        f"Done: {rows:,} rows in {total:.1f} s = {rows / total:,.0f} rows/s overall "
        f"({counts['tickets'] / total:,.0f} tickets/s); database {size / 2**20:,.0f} MiB"
    )
    for table, count in counts.items():
        print(f"  {table:<20} {count:>10,}")
    figures = {
        "tickets": tickets,
        "rows": counts,
        "seconds": {k: round(v, 2) for k, v in log.phases.items()} | {"total": round(total, 1)},
        "rows_per_second": round(rows / total),
        "database_bytes": size,
    }
    # The API benchmark labels its results with the generated size (its creates add tickets).
    DATA.mkdir(parents=True, exist_ok=True)
    marker_path(url).write_text(json.dumps({"url": _plain(url), **figures}) + "\n")
    return figures


def _plain(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def marker_path(url: str) -> Path:
    """Where the generated size of the database at ``url`` is noted (one file per URL)."""
    digest = hashlib.sha1(_plain(url).encode()).hexdigest()[:10]
    return DATA / f"generated-{make_url(url).get_backend_name()}-{digest}.json"


def _produce(tickets: int, seed: int, now: float, queue: Any) -> None:
    """Producer process: every chunk of rows, in load order, then ``None``."""
    world = World(tickets, seed=seed, now=now)
    queue.put(world.static_rows())
    for chunk in world.chunks():
        queue.put(chunk)
    queue.put(None)


def _next_chunk(queue: Any, producer: Any) -> dict[str, list[Row]] | None:
    """The producer's next chunk; fails instead of waiting forever if the producer died."""
    while True:
        try:
            return queue.get(timeout=5)  # type: ignore[no-any-return]
        except Empty:
            if not producer.is_alive():
                failed = f"the generator process failed (exit {producer.exitcode})"
                raise SystemExit(failed) from None


def _size(url: str) -> int:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return Path(parsed.database or "").stat().st_size
    engine = create_engine(url)
    with engine.connect() as conn:
        size = int(conn.exec_driver_sql("SELECT pg_database_size(current_database())").scalar_one())
    engine.dispose()
    return size


def resolve_url(db: str) -> str:
    """``sqlite`` / ``postgresql`` mean the bench databases; anything else is a URL."""
    return {"sqlite": SQLITE_URL, "postgresql": POSTGRES_URL}.get(db, db)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="sqlite", help="sqlite, postgresql or a database URL")
    parser.add_argument("--tickets", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--force", action="store_true", help="wipe a non-*bench* PostgreSQL db")
    args = parser.parse_args(argv)
    generate(resolve_url(args.db), args.tickets, seed=args.seed, force=args.force)


if __name__ == "__main__":
    main()
