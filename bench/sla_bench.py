"""Time the SLA ticker and due-time recomputation at 100,000 open tickets.

Builds a fresh database from the real migrations (SQLite under bench/data, or the PostgreSQL
database ``dangol_sla_bench``), adds a Seoul office calendar (split shifts, Korean holidays)
and one policy through the services, then writes N open tickets with their two running
targets each (first response and resolution, due over the next 30 days) in bulk. It measures:

- an idle ticker pass: nothing due, so one index range read finds nothing (the usual case);
- a busy ticker pass: 200 warnings due at once (one batch), each escalated (audit entry,
  notification, live event);
- due-time recomputation for one ticket (``update_clock`` with a policy re-match, the work a
  priority change or a policy edit does per ticket), in-process, without the lock round trip;
- a whole priority change through ``update_ticket`` (lock, recompute, audit, commit), for scale.

    .venv/bin/python -m bench.sla_bench --tickets 100000 --db sqlite
    .venv/bin/python -m bench.sla_bench --tickets 100000 --db postgresql

Targets (issue 5): a ticker pass over 100,000 open tickets <= 1 s; recompute <= 2 ms.
Run one benchmark at a time: on a 2-core machine a second job lands in the figures.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

if not __package__:  # run as a file: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert, update

from bench.generate import migrate, reset_database
from helpdesk import create_app
from helpdesk.extensions import db
from helpdesk.models import Counter, Customer, SlaTarget, Ticket
from helpdesk.services import sla_admin, sla_ticker, tickets
from helpdesk.services.permissions import SYSTEM
from helpdesk.services.sla_clock import update_clock
from helpdesk.services.tickets import lock_ticket
from helpdesk.services.transaction import transaction

ROOT = Path(__file__).resolve().parent
URLS = {
    "sqlite": f"sqlite:///{ROOT / 'data' / 'sla-bench.db'}",
    "postgresql": "postgresql+psycopg://postgres@127.0.0.1:5432/dangol_sla_bench",
}
OFFICE = [["09:00-12:00", "13:00-18:00"]] * 5 + [[], []]
CHUNK = 5000


def _ms(seconds: list[float]) -> dict[str, float]:
    values = sorted(s * 1000 for s in seconds)
    return {
        "median_ms": round(statistics.median(values), 3),
        "p95_ms": round(values[int(len(values) * 0.95) - 1], 3),
        "max_ms": round(values[-1], 3),
        "runs": len(values),
    }


def _fill(n: int, policy_id: int, now: datetime, rng: random.Random) -> None:
    """N open tickets, each with a running first-response and resolution target."""
    session = db.session()
    conn = session.connection()
    conn.execute(
        insert(Customer),
        [{"name": f"Customer {i}", "created_at": now, "updated_at": now} for i in range(1000)],
    )
    first_customer = session.query(Customer.id).order_by(Customer.id).first()[0]
    for start in range(0, n, CHUNK):
        ticket_rows, ids = [], range(start + 1, min(n, start + CHUNK) + 1)
        for i in ids:
            created = now - timedelta(minutes=rng.randint(0, 60 * 24 * 20))
            due = now + timedelta(minutes=rng.randint(30, 60 * 24 * 30))
            ticket_rows.append(
                {
                    "id": i,
                    "number": 1000 + i,
                    "subject": f"Question {i}",
                    "status": rng.choice(["new", "open", "open", "open"]),
                    "priority": rng.choice([1, 2, 2, 3, 4]),
                    "channel": rng.choice(["email", "email", "chat", "web"]),
                    "customer_id": first_customer + i % 1000,
                    "created_at": created,
                    "updated_at": created,
                    "message_count": 1,
                    "version": 1,
                    "last_customer_message_at": created,
                    "sla_policy_id": policy_id,
                    "sla_due_at": due,
                    "sla_warn_at": due - timedelta(minutes=12),
                    "sla_paused": False,
                }
            )
        conn = session.connection()  # a new one after each chunk's commit
        conn.execute(insert(Ticket), ticket_rows)
        target_rows = []
        for row in ticket_rows:
            for kind, minutes in (("first_response", 60), ("resolution", 480)):
                due = row["sla_due_at"] + timedelta(minutes=0 if kind == "first_response" else 420)
                warn = due - timedelta(minutes=minutes // 5)
                target_rows.append(
                    {
                        "ticket_id": row["id"],
                        "policy_id": policy_id,
                        "kind": kind,
                        "cycle": 1,
                        "target_minutes": minutes,
                        "started_at": row["created_at"],
                        "due_at": due,
                        "warn_at": warn,
                        "paused_seconds": 0,
                        "fire_at": warn,
                    }
                )
        conn.execute(insert(SlaTarget), target_rows)
        session.commit()
    if db.dialect == "postgresql":
        session.commit()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as raw:
            raw.exec_driver_sql("VACUUM ANALYZE")
    else:
        session.execute(update(Ticket).where(Ticket.id < 0).values(version=1))  # no-op write
        session.commit()
        session.connection().exec_driver_sql("ANALYZE")
        session.commit()


def run(db_name: str, n: int) -> dict[str, Any]:
    url = URLS[db_name]
    reset_database(url, force=False)
    migrate(url)
    instance = Path(tempfile.mkdtemp(prefix="sla-bench-"))
    app = create_app(
        database_url=url,
        instance_path=instance,
        secret_key="bench-sla",
        redis_url=None,
        log_level="WARNING",
    )
    rng = random.Random(5)
    result: dict[str, Any] = {"db": db_name, "tickets": n}
    with app.app_context():
        calendar = sla_admin.save_calendar(
            SYSTEM,
            {"name": "Seoul", "timezone": "Asia/Seoul", "hours": OFFICE, "holiday_country": "KR"},
        )
        policy = sla_admin.save_policy(
            SYSTEM,
            {
                "name": "Standard",
                "calendar_id": calendar.id,
                "first_response_minutes": 60,
                "next_response_minutes": 120,
                "resolution_minutes": 480,
            },
        )
        now = datetime.now(UTC)
        started = time.perf_counter()
        _fill(n, policy.id, now, rng)
        result["fill_s"] = round(time.perf_counter() - started, 1)
        # The set-up above asks for a re-match of every open ticket; mark it done, as it
        # would be long before an instance held this many tickets.
        with transaction() as session:
            version = session.get(Counter, "sla_rules").value
            session.add_all(
                [
                    Counter(name="sla_rematch_for", value=version),
                    Counter(name="sla_rematch_cursor", value=-1),
                ]
            )

        idle = []
        for _ in range(40):
            t0 = time.perf_counter()
            fired = sla_ticker.tick()
            idle.append(time.perf_counter() - t0)
            assert not fired.tickets
        result["ticker_idle_pass"] = _ms(idle)

        busy = []
        all_ids = list(range(1, n + 1))
        for _ in range(7):
            chosen = rng.sample(all_ids, 200)
            with transaction() as session:
                session.execute(
                    update(SlaTarget)
                    .where(SlaTarget.ticket_id.in_(chosen), SlaTarget.kind == "first_response")
                    .values(
                        warn_at=now - timedelta(seconds=1),
                        fire_at=now - timedelta(seconds=1),
                        warned_at=None,
                    )
                )
            t0 = time.perf_counter()
            fired = sla_ticker.tick(now)
            busy.append(time.perf_counter() - t0)
            assert fired.warnings == 200, fired
        result["ticker_pass_200_warnings"] = _ms(busy)

        recompute, changes = [], []
        for ticket_id in rng.sample(all_ids, 300):
            with transaction() as session:
                ticket = lock_ticket(session, ticket_id)
                t0 = time.perf_counter()
                update_clock(session, ticket, now, rematch=True)
                recompute.append(time.perf_counter() - t0)
        result["recompute_one_ticket"] = _ms(recompute)
        for ticket_id in rng.sample(all_ids, 200):
            priority = rng.choice(["low", "normal", "high", "urgent"])
            t0 = time.perf_counter()
            tickets.update_ticket(SYSTEM, ticket_id, {"priority": priority})
            changes.append(time.perf_counter() - t0)
        result["priority_change_service_call"] = _ms(changes)
    db.dispose()
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--db", choices=sorted(URLS), default="sqlite")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    result = run(args.db, args.tickets)
    result["measured_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    text = json.dumps(result, indent=2)
    print(text)
    out = args.json or ROOT / "results" / f"sla-{args.db}-{args.tickets}.json"
    out.write_text(text + "\n")


if __name__ == "__main__":
    main()
