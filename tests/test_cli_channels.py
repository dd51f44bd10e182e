"""`helpdesk channel add email / list / test`, run as operators run them."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from click.testing import CliRunner

from helpdesk.cli import main
from tests.mailservers import DovecotServer, SmtpSink

PASSWORD = "imap 비밀"


@pytest.fixture
def cli_env(app, database_url, tmp_path) -> dict[str, str]:
    return {
        "HELPDESK_DATABASE_URL": database_url,
        "HELPDESK_INSTANCE_PATH": str(tmp_path / "instance"),
        "HELPDESK_SECRET_KEY": "cli-test",
    }


@pytest.fixture
def servers() -> Iterator[tuple[DovecotServer, SmtpSink]]:
    with DovecotServer() as dovecot, SmtpSink() as sink:
        dovecot.add_user("support", PASSWORD)
        yield dovecot, sink


def run(cli_env, *args: str, input: str | None = None, env: dict[str, str] | None = None):
    return CliRunner().invoke(
        main, list(args), env={**cli_env, **(env or {})}, input=input, catch_exceptions=False
    )


def created_id(output: str) -> str:
    match = re.search(r"\(id (\d+)\)", output)
    assert match, output
    return match.group(1)


def add_args(dovecot: DovecotServer, sink: SmtpSink) -> list[str]:
    return [
        "channel", "add", "email",
        "--name", "Support",
        "--address", "help@dangol.test",
        "--display-name", "단골 고객지원",
        "--group", "1차 지원",
        "--imap-host", dovecot.host, "--imap-port", str(dovecot.port),
        "--imap-security", "none", "--imap-user", "support",
        "--smtp-host", sink.host, "--smtp-port", str(sink.port), "--smtp-security", "none",
    ]  # fmt: skip


def test_add_list_and_test_an_email_channel(cli_env, servers):
    dovecot, sink = servers
    added = run(cli_env, *add_args(dovecot, sink), input=f"{PASSWORD}\n")
    assert added.exit_code == 0, added.output
    assert "Created email channel Support <help@dangol.test> (id " in added.output
    assert PASSWORD not in added.output

    listed = run(cli_env, "channel", "list")
    assert listed.exit_code == 0
    assert "help@dangol.test" in listed.output and "(password set)" in listed.output
    assert PASSWORD not in listed.output

    tested = run(cli_env, "channel", "test", created_id(added.output))
    assert tested.exit_code == 0, tested.output
    assert tested.output.startswith("IMAP: ok: Connected to")
    assert "SMTP: ok:" in tested.output


def test_password_from_the_environment_and_a_failing_test(cli_env, servers):
    dovecot, sink = servers
    env = {"HELPDESK_IMAP_PASSWORD": "wrong password"}
    added = run(cli_env, *add_args(dovecot, sink), env=env)
    assert added.exit_code == 0
    tested = run(cli_env, "channel", "test", created_id(added.output))
    assert tested.exit_code == 1
    assert "IMAP: FAILED (auth_failed)" in tested.output and "wrong password" not in tested.output


def test_invalid_settings_are_explained(cli_env, servers):
    dovecot, sink = servers
    args = add_args(dovecot, sink)
    args[args.index("help@dangol.test")] = "nope"
    result = CliRunner().invoke(main, args, env={**cli_env, "HELPDESK_IMAP_PASSWORD": "x"})
    assert result.exit_code == 1
    assert "address: not an email address" in result.output
