"""Time finding a customer by an email address, in-process, on a benchmark database.

    .venv/bin/python -m bench.identity_bench sqlite        # bench/data/bench.db
    .venv/bin/python -m bench.identity_bench postgresql    # dangol_bench

Looks up the 500 newest email identities twice each through ``customers.find_customer`` (the
service the API and every inbound channel use) and prints the median and p95. Target (issue 7):
≤ 2 ms.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

if not __package__:  # run as a file: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text

from bench.generate import resolve_url
from helpdesk import create_app
from helpdesk.extensions import db
from helpdesk.services.customers import find_customer
from helpdesk.services.permissions import SYSTEM


def main(argv: list[str]) -> None:
    url = resolve_url(argv[0] if argv else "sqlite")
    app = create_app(
        database_url=url,
        instance_path=tempfile.mkdtemp(prefix="identity-bench-"),
        secret_key="bench",
        redis_url=None,
        log_level="WARNING",
    )
    with app.app_context():
        session = db.session()
        emails = list(
            session.scalars(
                text(
                    "SELECT value FROM customer_identities WHERE kind = 'email' "
                    "ORDER BY id DESC LIMIT 500"
                )
            )
        )
        session.rollback()
        samples = []
        for email in emails * 2:
            started = time.perf_counter()
            found = find_customer(SYSTEM, "email", email)
            session.rollback()
            samples.append(time.perf_counter() - started)
            assert found is not None
    samples.sort()
    median, p95 = statistics.median(samples) * 1000, samples[int(len(samples) * 0.95)] * 1000
    print(f"{url.split(':')[0]}: {len(samples)} lookups, median {median:.3f} ms, p95 {p95:.3f} ms")


if __name__ == "__main__":
    main(sys.argv[1:])
