"""Live fan-out: how long a new ticket takes to reach every agent's open queue over Socket.IO.

N agent sockets (signed-in sessions, as browsers) watch the queue; tickets are created through
the REST API (the service layer in the server process) at a steady rate; every socket records
when each ``ticket.created`` arrives. A delivery's latency is its arrival time minus the ticket's
``created_at``, stamped by the service just before commit, so it covers commit, the fan-out and
the network, on one clock. With ``--processes 2`` two ``helpdesk serve`` processes share Redis,
half the sockets on each, and tickets are created on the first only: the second process's
sockets are served through Redis.

    .venv/bin/python -m bench.fanout_bench --clients 200 --events 200 --rate 20
    .venv/bin/python -m bench.fanout_bench --clients 200 --processes 2
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import socketio

from .api_bench import RESULTS, Client, Server, create_token, helpdesk_env, sign_in
from .generate import DATA

REDIS_URL = "redis://127.0.0.1:6379/14"
TARGET_P95_MS = 100.0


class Agent:
    """One browser-like socket watching the queue."""

    def __init__(self, port: int, cookie: str, arrivals: dict[int, list[float]]) -> None:
        self.arrivals = arrivals
        self.lock = threading.Lock()
        self.sio = socketio.Client(reconnection=False)
        self.sio.on("ticket.created", self._created)
        self.sio.connect(
            f"http://127.0.0.1:{port}",
            headers={"Cookie": cookie},
            transports=["websocket"],
            wait_timeout=30,
        )

    def _created(self, payload: dict[str, Any]) -> None:
        now = time.time()
        created = datetime.fromisoformat(payload["ticket"]["created_at"]).timestamp()
        with self.lock:
            self.arrivals.setdefault(payload["ticket"]["number"], []).append((now - created) * 1000)

    def close(self) -> None:
        self.sio.disconnect()


def _fresh_database(path: Path) -> str:
    if path.exists():
        path.unlink()
    url = f"sqlite:///{path}"
    from alembic import command

    from helpdesk.cli import _alembic_config

    command.upgrade(_alembic_config(url), "head")
    return url


def run(clients: int, events: int, rate: float, processes: int) -> dict[str, Any]:
    DATA.mkdir(parents=True, exist_ok=True)
    url = _fresh_database(DATA / "fanout.db")
    env = helpdesk_env(url, DATA / "instance-fanout")
    env["HELPDESK_THREADS"] = str(clients + 32)  # gthread: one thread per open WebSocket
    env["HELPDESK_LOGIN_RATE_LIMIT"] = "1000 per minute"
    if processes > 1:
        env["HELPDESK_REDIS_URL"] = REDIS_URL
    token, email, password = create_token(env)
    servers = [Server(env, DATA / f"server-fanout-{i}.log") for i in range(processes)]
    arrivals: dict[int, list[float]] = {}
    agents: list[Agent] = []
    try:
        for server in servers:
            server.wait_healthy()
        cookies = [sign_in(s.port, email, password) for s in servers]
        for i in range(clients):
            server_index = i % processes
            agents.append(Agent(servers[server_index].port, cookies[server_index], arrivals))
        time.sleep(1.0)  # let every socket finish joining its rooms
        api = Client(servers[0].port, token)
        cpu_before = sum(s.worker_cpu() for s in servers)
        started = time.perf_counter()
        for i in range(events):
            api.call(
                "POST",
                "/api/v1/tickets",
                {
                    "subject": f"팬아웃 {i}",
                    "body": "배송 문의드립니다.",
                    "channel": "email",
                    "customer": {"kind": "email", "value": f"fan{i % 50}@example.com"},
                },
            )
            next_at = started + (i + 1) / rate
            time.sleep(max(0.0, next_at - time.perf_counter()))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if sum(len(v) for v in arrivals.values()) >= clients * events:
                break
            time.sleep(0.1)
        cpu_ms = (sum(s.worker_cpu() for s in servers) - cpu_before) * 1000
        api.close()
    finally:
        for agent in agents:
            with contextlib.suppress(Exception):
                agent.close()
        for server in servers:
            server.stop()
    latencies = sorted(x for values in arrivals.values() for x in values)
    expected = clients * events
    cuts = statistics.quantiles(latencies, n=100, method="inclusive") if latencies else [0] * 99
    return {
        "label": f"fanout-{clients}c-{processes}p-{rate:g}per-s",
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "settings": {
            "clients": clients,
            "events": events,
            "rate_per_s": rate,
            "processes": processes,
            "redis": processes > 1,
        },
        "deliveries": len(latencies),
        "expected_deliveries": expected,
        "missing": expected - len(latencies),
        "p50_ms": round(cuts[49], 1),
        "p95_ms": round(cuts[94], 1),
        "p99_ms": round(cuts[98], 1),
        "max_ms": round(latencies[-1], 1) if latencies else None,
        "server_cpu_ms_per_event": round(cpu_ms / events, 1),
        "target_p95_ms": TARGET_P95_MS,
        "target_met": bool(latencies) and cuts[94] <= TARGET_P95_MS and len(latencies) == expected,
        "loadavg_after": os.getloadavg(),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--rate", type=float, default=20.0, help="tickets created per second")
    parser.add_argument("--processes", type=int, default=1, choices=[1, 2])
    args = parser.parse_args(argv)
    result = run(args.clients, args.events, args.rate, args.processes)
    print(json.dumps(result, indent=2))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{result['label']}.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
