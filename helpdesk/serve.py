"""``helpdesk serve``: gunicorn in-process, one worker with many threads, plus the loops.

One process serves pages, the API and Socket.IO (WebSocket via simple-websocket; in threading
mode each open socket holds a thread, hence the thread count), and runs the background loops as
threads, so a single command gives a complete install. To scale out, run several of these with
``--no-loops`` behind a sticky load balancer, ``helpdesk worker`` for the loops, PostgreSQL and
``HELPDESK_REDIS_URL``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication


class DangolServer(BaseApplication):  # type: ignore[misc]
    """Builds the Flask app inside the worker, after the fork: the master stays small instead of
    holding a second copy of the whole application."""

    def __init__(
        self, factory: Callable[[], Flask], options: dict[str, Any], run_loops: bool
    ) -> None:
        self.factory = factory
        self.application: Flask | None = None
        self.options = options
        self.run_loops = run_loops
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)
        if self.run_loops:
            self.cfg.set("post_worker_init", self._start_loops)

    def _start_loops(self, _worker: Any) -> None:
        from .worker import LoopRunner

        assert self.application is not None
        LoopRunner(self.application).start()

    def load(self) -> Flask:
        self.application = self.factory()
        return self.application


def serve(
    factory: Callable[[], Flask], host: str, port: int, threads: int, run_loops: bool = True
) -> None:
    options = {
        "bind": f"{host}:{port}",
        "workers": 1,  # Socket.IO sessions live in the process; scale with more processes + Redis
        "worker_class": "gthread",
        "threads": threads,
        "timeout": 0,  # long-lived WebSockets must not be killed as "hung" workers
        "graceful_timeout": 10,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "warning",
    }
    DangolServer(factory, options, run_loops).run()
