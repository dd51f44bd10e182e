"""Playwright driving Debian's Chromium against a real `helpdesk serve` process."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.live_server import LiveServer, start_server

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: run scripts/system-packages.sh (the test command does).")
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


# The server runs in another process: events emitted by the test process (standing in for the
# API, a connector or a worker) reach its browsers through Redis, as in a scaled-out install.
# HELPDESK_TEST_REDIS_URL lets two browser suites run side by side on other databases.
REDIS_URL = os.environ.get("HELPDESK_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
def app_overrides():
    return {"redis_url": REDIS_URL}


@pytest.fixture
def live_server(app, database_url, tmp_path) -> Iterator[LiveServer]:
    env = {
        "HELPDESK_DATABASE_URL": database_url,
        "HELPDESK_INSTANCE_PATH": str(tmp_path / "instance"),
        "HELPDESK_SECRET_KEY": "browser-test",
        "HELPDESK_REDIS_URL": REDIS_URL,
        # The limiter counts in Redis across tests and runs; its own test is test_login_rate_limit.
        "HELPDESK_LOGIN_RATE_LIMIT": "1000 per minute",
    }
    server = start_server(env)
    yield server
    server.stop()


@pytest.fixture
def screenshot():
    ARTIFACTS.mkdir(exist_ok=True)

    def take(page, name: str) -> Path:
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
