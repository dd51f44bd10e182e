"""``python -m bench``: generate the databases, then benchmark the API on each, one at a time.

    .venv/bin/python -m bench --tickets 1000000 --db both
    .venv/bin/python -m bench --db sqlite --skip-generate   # measure an existing database again

Everything runs sequentially on purpose: on a 2-core machine a second job would be measured too.
"""

from __future__ import annotations

import argparse
import json

from . import api_bench, generate
from .api_bench import RESULTS


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=10_000)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="sqlite")
    parser.add_argument("--skip-generate", action="store_true", help="reuse the database")
    parser.add_argument("--skip-measure", action="store_true", help="only generate")
    parser.add_argument("--requests", type=int, default=500, help="timed requests per list")
    parser.add_argument("--creates", type=int, default=300, help="timed ticket creates")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    for db in ["sqlite", "postgresql"] if args.db == "both" else [args.db]:
        url = generate.resolve_url(db)
        if not args.skip_generate:
            figures = generate.generate(url, args.tickets, seed=args.seed)
            RESULTS.mkdir(exist_ok=True)
            out = RESULTS / f"generate-{db}-{args.tickets}.json"
            out.write_text(json.dumps(figures, indent=2) + "\n")
        if not args.skip_measure:
            api_bench.benchmark(url, requests=args.requests, creates=args.creates)


if __name__ == "__main__":
    main()
