"""Time the real server's ticket API on a generated database: lists, deep pages, creates, memory.

The server is ``helpdesk serve`` (gunicorn, one gthread worker, with the background loops as
in the embedded default; on SQLite one of them takes WAL checkpoints off the request path)
started as a subprocess, exactly as an operator runs it; the client is a single keep-alive HTTP
connection sending requests one after another, so every figure is the latency of one request on an
otherwise idle server (no concurrency, no queueing). Each timing covers sending the request and
reading the whole response body.

    .venv/bin/python -m bench.api_bench --db sqlite
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil  # type: ignore[import-untyped]
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

from .generate import BENCH, DATA, marker_path, resolve_url

REPO = BENCH.parent
HELPDESK = Path(sys.executable).parent / "helpdesk"
RESULTS = BENCH / "results"
OPEN = "new,open,pending,on-hold"
TARGET_MS = 20.0  # list and create p95, from the foundation issue
TARGET_RSS_MIB = 200.0
TARGET_QUEUE_PAGE_MS = 50.0  # the agent queue page's server time, from the workspace issue
# Customer 360 issue: profile page, timeline page, identity lookup (p95).
TARGET_PROFILE_MS, TARGET_TIMELINE_MS, TARGET_IDENTITY_MS = 100.0, 30.0, 2.0

# (method, path, JSON body or None)
Request = tuple[str, str, dict[str, Any] | None]


@dataclass
class Stats:
    """Latencies of one scenario (ms) and the server CPU it cost."""

    samples: list[float]
    cpu_ms: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        ordered = sorted(self.samples)
        cuts = statistics.quantiles(ordered, n=100, method="inclusive")
        return {
            "n": len(ordered),
            "p50_ms": round(cuts[49], 2),
            "p95_ms": round(cuts[94], 2),
            "p99_ms": round(cuts[98], 2),
            "mean_ms": round(statistics.fmean(ordered), 2),
            "min_ms": round(ordered[0], 2),
            "max_ms": round(ordered[-1], 2),
            "server_cpu_ms_per_request": round(self.cpu_ms / len(ordered), 2),
            **self.extra,
        }


class Client:
    """One keep-alive connection; reconnects (untimed) when gunicorn has closed it.

    With a token it speaks JSON to the API; with a session cookie it reads staff pages (HTML).
    """

    def __init__(self, port: int, token: str | None = None, cookie: str | None = None) -> None:
        self.port = port
        self.html = cookie is not None
        self.headers = (
            {"Cookie": cookie, "Accept": "text/html"}
            if cookie is not None
            else {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        )
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[float, Any]:
        """Send one request; return (milliseconds, decoded JSON). Non-2xx raises."""
        payload = json.dumps(body).encode() if body is not None else None
        headers = dict(self.headers)
        if payload is not None:
            headers["Content-Type"] = "application/json"
        for attempt in (1, 2):
            try:
                start = time.perf_counter()
                self.conn.request(method, path, body=payload, headers=headers)
                response = self.conn.getresponse()
                raw = response.read()
                elapsed = (time.perf_counter() - start) * 1000
                break
            except (http.client.RemoteDisconnected, ConnectionError, http.client.BadStatusLine):
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                if attempt == 2:
                    raise
        if not 200 <= response.status < 300:
            raise RuntimeError(f"{method} {path} -> {response.status}: {raw[:300]!r}")
        return elapsed, raw.decode() if self.html else json.loads(raw)

    def close(self) -> None:
        self.conn.close()


class Server:
    """``helpdesk serve`` as a subprocess in its own session (killed as a group)."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.log = log.open("ab")
        self.proc = subprocess.Popen(
            [str(HELPDESK), "serve", "--port", str(self.port)],
            env=env,
            cwd=REPO,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_healthy(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"server exited with {self.proc.returncode}; see {self.log.name}"
                )
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    conn.close()
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError("server did not become healthy")

    def processes(self) -> tuple[psutil.Process, list[psutil.Process]]:
        master = psutil.Process(self.proc.pid)
        return master, master.children(recursive=True)

    def worker_cpu(self) -> float:
        """CPU seconds (user + system) used so far by the worker process(es)."""
        _, workers = self.processes()
        return sum(sum(w.cpu_times()[:2]) for w in workers)

    def memory(self) -> dict[str, float]:
        """RSS of the worker and of master + worker; PSS counts shared pages once."""
        master, workers = self.processes()
        mib = 2**20
        infos = [(p, p.memory_full_info()) for p in [master, *workers]]
        worker_rss = sum(info.rss for p, info in infos if p.pid != master.pid)
        return {
            "worker_rss_mib": round(worker_rss / mib, 1),
            "master_rss_mib": round(infos[0][1].rss / mib, 1),
            "total_rss_mib": round(sum(info.rss for _, info in infos) / mib, 1),
            "total_pss_mib": round(sum(info.pss for _, info in infos) / mib, 1),
            "worker_uss_mib": round(
                sum(info.uss for p, info in infos if p.pid != master.pid) / mib, 1
            ),
            "workers": len(workers),
        }

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # gunicorn's graceful shutdown
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()


def helpdesk_env(url: str, instance: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELPDESK_")}
    env |= {
        "HELPDESK_DATABASE_URL": url,
        "HELPDESK_INSTANCE_PATH": str(instance),
        "HELPDESK_LOG_LEVEL": "WARNING",
        # A first search index of a million tickets takes ~15 minutes of CPU: not during the
        # requests being timed. The indexer still applies the changes the requests queue.
        "HELPDESK_SEARCH_AUTO_REBUILD": "0",
    }
    return env


def create_token(env: dict[str, str]) -> tuple[str, str, str]:
    """A fresh agent and API token through the operator CLI (a new pair per run).

    Returns the token, and the agent's email and password for the staff pages."""
    email = f"bench-{datetime.now(UTC):%Y%m%d%H%M%S}-{os.getpid()}@dangol.example"
    password = f"bench-{random.randbytes(8).hex()}"

    def cli(*args: str) -> str:
        done = subprocess.run(
            [str(HELPDESK), *args], env=env, cwd=REPO, capture_output=True, text=True, check=False
        )
        if done.returncode:
            raise RuntimeError(f"helpdesk {args[0]} {args[1]} failed: {done.stderr}")
        return done.stdout.strip()

    cli("user", "create", "--email", email, "--name", "Bench Agent", "--password", password)
    token = cli("token", "create", "--email", email, "--name", "bench").splitlines()[-1]
    return token, email, password


def sign_in(port: int, email: str, password: str) -> str:
    """Sign in through the login form, as a browser does; return the session cookie."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("GET", "/login")
    response = conn.getresponse()
    page = response.read().decode()
    jar = response.getheader("Set-Cookie", "").split(";")[0]
    csrf = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page)
    if csrf is None:
        raise RuntimeError("no CSRF token on /login")
    form = urllib.parse.urlencode({"email": email, "password": password, "csrf_token": csrf[1]})
    conn.request(
        "POST",
        "/login",
        body=form,
        headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": jar},
    )
    response = conn.getresponse()
    response.read()
    cookie = response.getheader("Set-Cookie", "").split(";")[0]
    conn.close()
    if response.status != 302 or not cookie:
        raise RuntimeError(f"sign-in failed: HTTP {response.status}")
    return cookie


def database_facts(url: str) -> dict[str, Any]:
    """Group ids, some customers' identities and the sizes, read directly from the database."""
    engine = create_engine(url)
    with engine.connect() as conn:
        groups = [row[0] for row in conn.exec_driver_sql("SELECT id FROM groups ORDER BY id")]
        tickets = conn.exec_driver_sql("SELECT max(id) FROM tickets").scalar_one() or 0
        counter = conn.exec_driver_sql(
            "SELECT value FROM counters WHERE name = 'ticket'"
        ).scalar_one()
        identities = conn.exec_driver_sql(
            "SELECT customer_id, value FROM customer_identities "
            "WHERE kind = 'email' ORDER BY id DESC LIMIT 2000"
        ).all()
        # The customers with the longest histories: the heaviest profiles and timelines.
        busiest = conn.exec_driver_sql(
            "SELECT customer_id, count(*) AS n FROM tickets GROUP BY customer_id "
            "ORDER BY n DESC LIMIT 20"
        ).all()
        messages = conn.exec_driver_sql("SELECT count(*) FROM messages").scalar_one()
        if engine.dialect.name == "sqlite":
            version = conn.exec_driver_sql("SELECT sqlite_version()").scalar_one()
        else:
            version = conn.exec_driver_sql("SHOW server_version").scalar_one()
    engine.dispose()
    marker = marker_path(url)
    generated = json.loads(marker.read_text()) if marker.exists() else {}
    return {
        "dialect": engine.dialect.name,
        "version": version,
        "groups": groups,
        "generated_tickets": generated.get("tickets", tickets),
        "tickets": tickets,
        "counter": counter,
        "identities": [(int(cid), str(value)) for cid, value in identities],
        "busiest_customers": [(int(cid), int(n)) for cid, n in busiest],
        "messages": messages,
    }


def run_scenario(
    server: Server,
    client: Client,
    next_request: Callable[[int], Request],
    count: int,
    warmup: int,
    check: Callable[[Any], None] | None = None,
) -> Stats:
    """Warm up, then time ``count`` sequential requests and the worker CPU they used."""
    for i in range(warmup):
        client.call(*next_request(-1 - i))
    samples: list[float] = []
    cpu_before = server.worker_cpu()
    for i in range(count):
        elapsed, body = client.call(*next_request(i))
        samples.append(elapsed)
        if check is not None:
            check(body)
    return Stats(samples, cpu_ms=(server.worker_cpu() - cpu_before) * 1000)


def walk(client: Client, path: str, pages: int, keep: int) -> tuple[list[str], Stats]:
    """Follow ``next_cursor`` for ``pages`` pages; return the last ``keep`` cursors."""
    cursors: list[str] = []
    samples: list[float] = []
    cursor: str | None = None
    for _ in range(pages):
        elapsed, body = client.call("GET", path + (f"&cursor={cursor}" if cursor else ""))
        samples.append(elapsed)
        cursor = body["next_cursor"]
        if cursor is None:
            break
        cursors.append(cursor)
    return cursors[-keep:], Stats(samples)


def rotate(paths: list[str]) -> Callable[[int], Request]:
    """GET requests cycling through ``paths`` (groups, cursors), so no single page is cached."""
    return lambda i: ("GET", paths[i % len(paths)], None)


def nonempty(body: Any) -> None:
    if not body["items"]:
        raise RuntimeError("an empty page: the benchmark would measure nothing")


def benchmark(
    url: str, *, requests: int = 500, creates: int = 300, deep_pages: int = 200, warmup: int = 50
) -> dict[str, Any]:
    """Start the server on ``url``, run every scenario, stop it; return the results."""
    facts = database_facts(url)
    label = f"{facts['dialect']}-{facts['generated_tickets']}"
    instance = DATA / f"instance-{facts['dialect']}"
    env = helpdesk_env(url, instance)
    print(f"Benchmarking {label} ({facts['dialect']} {facts['version']})", flush=True)
    token, email, password = create_token(env)
    server = Server(env, DATA / f"server-{facts['dialect']}.log")
    results: dict[str, Any] = {}
    rng = random.Random(7)
    groups = facts["groups"]
    load_before = os.getloadavg()
    try:
        server.wait_healthy()
        client = Client(server.port, token)

        def timed(name: str, stats: Stats) -> None:
            results[name] = stats.summary()
            row = results[name]
            print(f"  {name:<28} p50 {row['p50_ms']:7.2f} ms  p95 {row['p95_ms']:7.2f} ms")

        timed(
            "healthz (no auth, SELECT 1)",
            run_scenario(server, client, rotate(["/healthz"]), requests, warmup),
        )
        for name, status in (("list open + group", "open"), ("list 4 open statuses + group", OPEN)):
            paths = [f"/api/v1/tickets?status={status}&group={g}&limit=25" for g in groups]
            timed(name, run_scenario(server, client, rotate(paths), requests, warmup, nonempty))

        # Deep pages: walk 100-row pages, then time 25-row pages at the last cursors reached.
        deep = {
            "deep page, all tickets": "/api/v1/tickets?limit=100",
            "deep page, 4 statuses + group": f"/api/v1/tickets?status={OPEN}&group={groups[0]}"
            "&limit=100",
        }
        for name, path in deep.items():
            cursors, walked = walk(client, path, deep_pages, keep=20)
            depth = len(walked.samples) * 100
            paths = [path.replace("limit=100", "limit=25") + f"&cursor={c}" for c in cursors]
            stats = run_scenario(server, client, rotate(paths), requests, warmup // 5, nonempty)
            stats.extra = {
                "depth_rows": depth,
                "walk_pages_of_100_p50_ms": round(statistics.median(walked.samples), 2),
            }
            timed(name, stats)

        # The agent's queue page as a browser gets it: the view's first 25 rows, every view's
        # (capped) count, the agent list for live rows, rendered to HTML.
        pages = Client(server.port, cookie=sign_in(server.port, email, password))
        views = ["open", "unassigned", "mine", "pending", "all"]
        timed(
            "queue page (HTML), 5 views",
            run_scenario(
                server,
                pages,
                rotate([f"/tickets?view={v}" for v in views]),
                requests,
                warmup,
                lambda html: None if "data-live-queue" in html else nonempty({"items": []}),
            ),
        )
        # Before a call (issue 7): the busiest customers' profile pages and timeline pages, and
        # finding a customer by an email address.
        busiest = [cid for cid, _ in facts["busiest_customers"]]
        timed(
            "customer profile page (HTML)",
            run_scenario(
                server,
                pages,
                rotate([f"/customers/{cid}" for cid in busiest]),
                requests,
                warmup,
                lambda html: None if "customer-profile" in html else nonempty({"items": []}),
            ),
        )
        timed(
            "customer timeline page (API)",
            run_scenario(
                server,
                client,
                rotate([f"/api/v1/customers/{cid}/timeline?limit=25" for cid in busiest]),
                requests,
                warmup,
                nonempty,
            ),
        )
        lookups = [f"/api/v1/customers?kind=email&value={v}" for _, v in facts["identities"]]
        timed(
            "identity lookup (API)",
            run_scenario(server, client, rotate(lookups), requests, warmup, lambda body: None),
        )
        pages.close()

        numbers: list[int] = []
        identities = facts["identities"]

        def create(i: int) -> Request:
            cid, email = identities[rng.randrange(len(identities))]
            korean = rng.random() < 0.7
            body: dict[str, Any] = {
                "subject": "벤치마크 문의: 배송이 늦어요" if korean else "Benchmark: order is late",
                "body": "안녕하세요.\n\n주문한 상품이 아직 도착하지 않았습니다. 확인 부탁드립니다."
                if korean
                else "Hello,\n\nmy order has not arrived yet. Could you check?",
                "channel": "email",
                "group_id": groups[i % len(groups)],
                "tags": rng.sample(["배송지연", "vip", "refund", "bench"], rng.randint(0, 2)),
            }
            roll = rng.random()
            if roll < 0.7:  # the usual case: an existing customer writes in by email
                body["customer"] = {"kind": "email", "value": email}
            elif roll < 0.85:  # a customer never seen before
                body["customer"] = {"kind": "email", "value": f"new-{i}-{rng.random()}@x.example"}
            else:
                body["customer_id"] = cid
            return "POST", "/api/v1/tickets", body

        stats = run_scenario(
            server,
            client,
            create,
            creates,
            warmup // 5,
            lambda body: numbers.append(body["number"]),
        )
        expected = facts["counter"] + warmup // 5 + 1
        stats.extra = {"first_number": numbers[0], "expected_first_number": expected}
        timed("create ticket", stats)
        if numbers[0] != expected:
            raise RuntimeError(f"numbering broke: got #{numbers[0]}, expected #{expected}")
        client.close()
        memory = server.memory()
        print(
            f"  memory: worker RSS {memory['worker_rss_mib']} MiB, master + worker RSS "
            f"{memory['total_rss_mib']} MiB (PSS {memory['total_pss_mib']} MiB)",
            flush=True,
        )
    except Exception as exc:
        code = server.proc.poll()
        if code is not None:  # e.g. -9: the server was killed from outside
            raise RuntimeError(
                f"the server died (exit status {code}); see {server.log.name}"
            ) from exc
        raise
    finally:
        server.stop()

    lists = [results[k]["p95_ms"] for k in results if k.startswith(("list", "deep"))]
    report = {
        "label": label,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "database": {
            "dialect": facts["dialect"],
            "version": facts["version"],
            "generated_tickets": facts["generated_tickets"],
            "tickets_before_run": facts["tickets"],
            "ticket_counter_before_run": facts["counter"],
        },
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "loadavg_before": [round(x, 2) for x in load_before],
            "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        },
        "git_commit": _git_commit(),
        "settings": {"requests": requests, "creates": creates, "warmup": warmup},
        "results": results,
        "memory": memory,
        "targets": {
            "list_p95_ms": TARGET_MS,
            "create_p95_ms": TARGET_MS,
            "server_rss_mib": TARGET_RSS_MIB,
            "list_p95_met": max(lists) <= TARGET_MS,
            "create_p95_met": results["create ticket"]["p95_ms"] <= TARGET_MS,
            "rss_met": memory["total_rss_mib"] <= TARGET_RSS_MIB,
            "queue_page_p95_ms": TARGET_QUEUE_PAGE_MS,
            "queue_page_p95_met": results["queue page (HTML), 5 views"]["p95_ms"]
            <= TARGET_QUEUE_PAGE_MS,
            "profile_page_p95_ms": TARGET_PROFILE_MS,
            "profile_page_p95_met": results["customer profile page (HTML)"]["p95_ms"]
            <= TARGET_PROFILE_MS,
            "timeline_p95_ms": TARGET_TIMELINE_MS,
            "timeline_p95_met": results["customer timeline page (API)"]["p95_ms"]
            <= TARGET_TIMELINE_MS,
            # Over HTTP the floor (healthz) is ~2-3 ms; the server CPU column shows the lookup.
            "identity_lookup_p95_ms": TARGET_IDENTITY_MS,
        },
    }
    write_report(report)
    return report


def _git_commit() -> str | None:
    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
    )
    return done.stdout.strip() or None


def markdown(report: dict[str, Any]) -> str:
    """One table per run, as pasted into the README."""
    db = report["database"]
    lines = [
        f"### {db['dialect']} {db['version']}, {db['generated_tickets']:,} generated tickets "
        f"({report['measured_at']}, load average before/after "
        f"{report['machine']['loadavg_before'][0]}/{report['machine']['loadavg_after'][0]})",
        "",
        "| Measurement | n | p50 ms | p95 ms | p99 ms | max ms | server CPU ms/req |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, row in report["results"].items():
        lines.append(
            f"| {name} | {row['n']} | {row['p50_ms']:.2f} | {row['p95_ms']:.2f} | "
            f"{row['p99_ms']:.2f} | {row['max_ms']:.2f} | {row['server_cpu_ms_per_request']:.2f} |"
        )
    mem = report["memory"]
    lines += [
        "",
        f"Server memory after the runs: worker RSS {mem['worker_rss_mib']} MiB, master + worker "
        f"RSS {mem['total_rss_mib']} MiB (PSS {mem['total_pss_mib']} MiB, worker USS "
        f"{mem['worker_uss_mib']} MiB).",
        "",
    ]
    return "\n".join(lines)


def write_report(report: dict[str, Any]) -> None:
    RESULTS.mkdir(exist_ok=True)
    base = RESULTS / report["label"]
    base.with_suffix(".json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    base.with_suffix(".md").write_text(markdown(report))
    print(markdown(report))
    print(f"Wrote {base}.json and .md")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="sqlite", help="sqlite, postgresql or a database URL")
    parser.add_argument("--requests", type=int, default=500, help="timed requests per list")
    parser.add_argument("--creates", type=int, default=300, help="timed ticket creates")
    parser.add_argument("--deep-pages", type=int, default=200, help="100-row pages to walk")
    args = parser.parse_args(argv)
    url = resolve_url(args.db)
    if (
        make_url(url).get_backend_name() == "sqlite"
        and not Path(make_url(url).database or "").exists()
    ):
        raise SystemExit(f"{url} does not exist: run bench.generate first")
    benchmark(url, requests=args.requests, creates=args.creates, deep_pages=args.deep_pages)


if __name__ == "__main__":
    main()
