"""Run the real `helpdesk serve` in a subprocess for browser and end-to-end tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

HELPDESK = str(Path(sys.executable).with_name("helpdesk"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(url: str, process: subprocess.Popen, timeout: float = 20) -> bytes:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.read()
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer in {timeout}s")


@dataclass
class LiveServer:
    url: str
    process: subprocess.Popen

    def stop(self) -> str:
        """Stop gracefully (SIGTERM); a server that does not stop in 20 s is killed and fails."""
        self.process.send_signal(signal.SIGTERM)
        try:
            output, _ = self.process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.communicate()
            raise AssertionError("the server did not stop within 20 s of SIGTERM") from None
        return str(output)


def start_server(env: dict[str, str], *args: str) -> LiveServer:
    port = free_port()
    full_env = {**os.environ, **env, "HELPDESK_PORT": str(port)}
    process = subprocess.Popen(
        [HELPDESK, "serve", *args],
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{url}/healthz", process)
    except BaseException:
        process.kill()
        raise
    return LiveServer(url, process)
