"""The `helpdesk` command, run as operators run it."""

from __future__ import annotations

import os
import signal
import subprocess

import pytest
from click.testing import CliRunner

from helpdesk.cli import main
from helpdesk.services import kb, sla_admin, tickets, tokens, users
from helpdesk.services.permissions import SYSTEM
from helpdesk.services.ticket_queries import list_tickets
from tests.factories import make_ticket
from tests.live_server import HELPDESK, start_server, wait_for


@pytest.fixture
def cli_env(app, database_url, tmp_path) -> dict[str, str]:
    return {
        "HELPDESK_DATABASE_URL": database_url,
        "HELPDESK_INSTANCE_PATH": str(tmp_path / "instance"),
        "HELPDESK_SECRET_KEY": "cli-test",
    }


def run(cli_env, *args: str, input: str | None = None):
    return CliRunner().invoke(main, list(args), env=cli_env, input=input, catch_exceptions=False)


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["db"],
        ["db", "upgrade"],
        ["db", "downgrade"],
        ["user"],
        ["user", "create"],
        ["token"],
        ["token", "create"],
        ["demo"],
        ["serve"],
        ["worker"],
        ["search"],
        ["search", "reindex"],
        ["import"],
        ["import", "customers"],
        ["import", "events"],
    ],
)
def test_every_command_has_help(command):
    result = CliRunner().invoke(main, [*command, "--help"])
    assert result.exit_code == 0
    assert "Usage: main" in result.output or "Usage:" in result.output
    assert len(result.output.splitlines()) > 3


def test_db_upgrade_is_idempotent(cli_env):
    result = run(cli_env, "db", "upgrade")
    assert result.exit_code == 0 and "Database at revision head." in result.output


def test_user_create_with_role_groups_and_prompted_password(app, cli_env):
    result = run(
        cli_env,
        "user",
        "create",
        "--email",
        "Jimin@Dangol.test",
        "--name",
        "김지민",
        "--role",
        "admin",
        "--locale",
        "ko",
        "--timezone",
        "Asia/Seoul",
        "--group",
        "고객지원",
        input="s3cret-pass\ns3cret-pass\n",
    )
    assert result.exit_code == 0, result.output
    assert "Created admin jimin@dangol.test" in result.output
    user = users.find_user_by_email(SYSTEM, "jimin@dangol.test")
    assert user.role == "admin" and user.timezone == "Asia/Seoul"
    assert [g.name for g in user.groups] == ["고객지원"]
    assert users.authenticate("jimin@dangol.test", "s3cret-pass") is not None


def test_user_create_reports_errors_without_a_traceback(cli_env):
    result = CliRunner().invoke(
        main,
        ["user", "create", "--email", "bad", "--name", "x", "--password", "long-enough"],
        env=cli_env,
    )
    assert result.exit_code == 1
    assert "Error: Enter a valid email address." in result.output
    assert "Traceback" not in result.output


def test_token_create_prints_a_working_token(app, cli_env):
    run(
        cli_env,
        "user",
        "create",
        "--email",
        "api@dangol.test",
        "--name",
        "API",
        "--password",
        "long-enough",
    )
    result = run(cli_env, "token", "create", "--email", "api@dangol.test", "--name", "zapier")
    secret = result.output.strip()
    assert result.exit_code == 0 and secret.startswith("dgl_")
    assert tokens.user_for_token(secret).email == "api@dangol.test"
    unknown = CliRunner().invoke(
        main, ["token", "create", "--email", "ghost@dangol.test"], env=cli_env
    )
    assert unknown.exit_code == 1 and "No user" in unknown.output


def test_demo_loads_korean_and_english_data_once(app, cli_env):
    first = run(cli_env, "demo")
    assert first.exit_code == 0 and "admin@dangol.test" in first.output
    page = list_tickets(SYSTEM, limit=100)
    channels = {t["channel"] for t in page.tickets}
    assert {"email", "chat", "phone", "social"} <= channels
    subjects = " ".join(t["subject"] for t in page.tickets)
    assert "환불" in subjects and "log in" in subjects
    assert any(t["merged_into_id"] for t in page.tickets)
    # The SLA set-up came first: open tickets have clocks, urgent ones on the 24/7 policy.
    policies = {p.id: p.name for p in sla_admin.list_policies(SYSTEM)}
    clocks = {t["subject"]: policies.get(t["sla"]["policy_id"]) for t in page.tickets}
    assert "긴급 Urgent" in clocks.values() and "VIP" in clocks.values()
    assert any(t["sla"]["due_at"] for t in page.tickets if t["status"] != "closed")
    # ...and a small knowledge base, published in Korean and English.
    assert kb.public_article("ko", "환불은-어떻게-받나요").title == "환불은 어떻게 받나요?"
    again = run(cli_env, "demo")
    assert again.exit_code == 0
    assert len(list_tickets(SYSTEM, limit=100).tickets) == len(page.tickets)
    assert users.authenticate("jimin@dangol.test", "dangol-demo") is not None
    assert tickets.get_ticket(SYSTEM, page.tickets[0]["id"])


def test_serve_runs_web_and_loops_in_one_process(cli_env):
    server = start_server(cli_env)
    try:
        health = wait_for(f"{server.url}/healthz", server.process)
        assert b'"database":"ok"' in health.replace(b" ", b"")
        login_page = wait_for(f"{server.url}/login", server.process)
        assert "Sign in to Dangol" in login_page.decode()
    finally:
        output = server.stop()
    assert "Dangol is running on" in output
    assert "background loops: orphan-blob-sweeper" in output
    assert "sla-ticker" in output and "search-indexer" in output
    # SQLite's checkpoints run in a loop, off the request path
    assert ("sqlite-checkpoint" in output) == cli_env["HELPDESK_DATABASE_URL"].startswith("sqlite")


def test_worker_runs_until_terminated(cli_env):
    env = {**os.environ, **cli_env}
    process = subprocess.Popen(
        [HELPDESK, "worker"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert process.stdout is not None
    try:
        # Blocks until the worker reports its loops; a loop may log first (the search indexer
        # starting a first build), so read up to that line.
        started = ""
        for _ in range(20):
            started += process.stdout.readline()
            if "Worker running" in started:
                break
        assert "Worker running" in started, started
        assert process.poll() is None
        process.send_signal(signal.SIGTERM)
        # SIGTERM may land while the main thread waits on the runner's Event: it must still
        # stop promptly (a handler that touched the Event there once deadlocked).
        assert process.wait(timeout=20) == 0
        # Read through the same buffered stream: readline() may already hold the next lines.
        output = started + process.stdout.read()
    finally:
        if process.poll() is None:
            process.kill()
    assert "Worker running" in output and "orphan-blob-sweeper" in output


def test_search_reindex_rebuilds_the_index_with_a_progress_bar(app, cli_env):
    make_ticket(subject="환불 문의")
    make_ticket(subject="Invoice copy")
    result = run(cli_env, "search", "reindex")
    assert result.exit_code == 0, result.output
    assert "Indexing" in result.output and "Indexed 2 documents." in result.output


def test_import_customers_reports_every_problem_and_imports_nothing_then_imports(
    app, cli_env, tmp_path
):
    bad = tmp_path / "bad.csv"
    bad.write_text("name,email\n김민수,minsu@hanbit.kr\n박서준,not-an-email\n", encoding="utf-8")
    refused = CliRunner().invoke(main, ["import", "customers", str(bad)], env=cli_env)
    assert refused.exit_code == 1
    assert "row 2: email:" in refused.output and "Nothing imported" in refused.output
    good = tmp_path / "good.csv"
    good.write_bytes("name,email\n김민수,minsu@hanbit.kr\n".encode("cp949"))  # Korean Excel
    result = run(cli_env, "import", "customers", str(good))
    assert result.exit_code == 0 and "Imported 1 new" in result.output
