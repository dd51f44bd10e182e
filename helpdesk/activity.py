"""How busy this web process is: background work that may wait (the search indexer in the
embedded server) waits for a quiet moment rather than competing with requests for the GIL."""

from __future__ import annotations

import threading
import time

from flask import Flask

_lock = threading.Lock()
_in_flight = 0
_last_done = 0.0


def quiet_for() -> float:
    """Seconds since the last request finished; 0 while any request runs."""
    with _lock:
        if _in_flight:
            return 0.0
        return time.monotonic() - _last_done


def _started() -> None:
    global _in_flight
    with _lock:
        _in_flight += 1


def _finished(_exc: BaseException | None = None) -> None:
    global _in_flight, _last_done
    with _lock:
        _in_flight = max(0, _in_flight - 1)
        _last_done = time.monotonic()


def init_app(app: Flask) -> None:
    app.before_request(_started)
    app.teardown_request(_finished)
