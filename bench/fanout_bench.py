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
import asyncio
import contextlib
import json
import os
import statistics
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import websockets

from .api_bench import RESULTS, Client, Server, create_token, helpdesk_env, sign_in
from .generate import DATA

REDIS_URL = "redis://127.0.0.1:6379/14"
TARGET_P95_MS = 100.0


class Watchers:
    """N browser-like sockets watching the queue, all in one asyncio loop on a thread.

    They speak Engine.IO 4 / Socket.IO 5 over a plain WebSocket (``websockets``, whose framing
    is in C): the threaded python-socketio client starts a thread per received event, and 200
    of them on 2 cores measured mostly the client (thousands of threads a second), not the
    server. Only ``ticket.created`` packets are decoded.
    """

    PREFIX = '42["ticket.created",'

    def __init__(self, urls: list[tuple[int, str]]) -> None:
        self.arrivals: dict[int, list[float]] = {}
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.sockets: list[Any] = []
        joined = [
            asyncio.run_coroutine_threadsafe(self._join(port, cookie), self.loop)
            for port, cookie in urls
        ]
        for future in joined:
            future.result(timeout=60)

    async def _join(self, port: int, cookie: str) -> None:
        url = f"ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket"
        ws = await websockets.connect(
            url,
            additional_headers={"Cookie": cookie},
            # Sessions are bound to the User-Agent they signed in with (none, like ``sign_in``).
            user_agent_header=None,
            max_size=None,
            compression=None,
        )
        opened = await ws.recv()
        assert str(opened).startswith("0"), opened
        await ws.send("40")
        while True:  # the namespace connect answer; refused sockets get "44"
            packet = str(await ws.recv())
            if packet.startswith("40"):
                break
            if packet.startswith("44"):
                raise RuntimeError(f"socket refused: {packet}")
        self.sockets.append(ws)
        self.loop.create_task(self._read(ws))

    async def _read(self, ws: Any) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            async for packet in ws:
                if packet == "2":  # Engine.IO ping
                    await ws.send("3")
                elif packet.startswith(self.PREFIX):
                    now = time.time()
                    ticket = json.loads(packet[2:])[1]["ticket"]
                    created = datetime.fromisoformat(ticket["created_at"]).timestamp()
                    self.arrivals.setdefault(ticket["number"], []).append((now - created) * 1000)

    def count(self) -> int:
        return sum(len(v) for v in list(self.arrivals.values()))

    def close(self) -> None:
        async def close_all() -> None:
            await asyncio.gather(*(ws.close() for ws in self.sockets), return_exceptions=True)

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(close_all(), self.loop).result(timeout=30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)


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
    watchers: Watchers | None = None
    try:
        for server in servers:
            server.wait_healthy()
        cookies = [sign_in(s.port, email, password) for s in servers]
        watchers = Watchers(
            [(servers[i % processes].port, cookies[i % processes]) for i in range(clients)]
        )
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
            if watchers.count() >= clients * events:
                break
            time.sleep(0.1)
        cpu_ms = (sum(s.worker_cpu() for s in servers) - cpu_before) * 1000
        api.close()
    finally:
        if watchers is not None:
            watchers.close()
        for server in servers:
            server.stop()
    arrivals = watchers.arrivals if watchers is not None else {}
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
