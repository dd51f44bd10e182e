"""The ``helpdesk`` command for operators: database, users, tokens, demo data, serve, worker."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask

from . import create_app

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def _app() -> Flask:
    return create_app()


def _alembic_config(url: str):  # type: ignore[no-untyped-def]
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["database_url"] = url
    return config


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Dangol help-desk: manage and run an instance (settings come from HELPDESK_* variables)."""


@main.group()
def db() -> None:
    """Database schema (Alembic migrations)."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="Target revision.")
def db_upgrade(revision: str) -> None:
    """Create or upgrade the database schema."""
    from alembic import command

    from .config import Settings

    settings = Settings.from_env()
    command.upgrade(_alembic_config(settings.database_url), revision)
    click.echo(f"Database at revision {revision}.")


@db.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Downgrade the schema to REVISION (e.g. base)."""
    from alembic import command

    from .config import Settings

    command.downgrade(_alembic_config(Settings.from_env().database_url), revision)
    click.echo(f"Database at revision {revision}.")


def _fail(message: str) -> None:
    click.echo(f"Error: {message}", err=True)
    sys.exit(1)


@main.group()
def user() -> None:
    """Staff accounts."""


@user.command("create")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option(
    "--role",
    type=click.Choice(["admin", "agent", "sales", "marketing"]),
    default="agent",
    show_default=True,
)
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="Prompted for when omitted.",
)
@click.option(
    "--locale",
    type=click.Choice(["en", "ko"]),
    default=None,
    help="Default: HELPDESK_DEFAULT_LOCALE.",
)
@click.option(
    "--timezone",
    default=None,
    help="IANA name, e.g. Asia/Seoul (default: HELPDESK_DEFAULT_TIMEZONE).",
)
@click.option(
    "--group", "groups", multiple=True, help="Group name (repeatable); created if missing."
)
def user_create(
    email: str,
    name: str,
    role: str,
    password: str,
    locale: str,
    timezone: str,
    groups: tuple[str, ...],
) -> None:
    """Create a staff user."""
    from .services import users
    from .services.errors import ServiceError
    from .services.permissions import SYSTEM

    with _app().app_context():
        try:
            existing = {g.name: g.id for g in users.list_groups(SYSTEM)}
            group_ids = [existing.get(g) or users.create_group(SYSTEM, g).id for g in groups]
            created = users.create_user(
                SYSTEM,
                email=email,
                name=name,
                password=password,
                role=role,
                locale=locale,
                timezone=timezone,
                group_ids=group_ids,
            )
        except ServiceError as exc:
            _fail(exc.message)
        click.echo(f"Created {created.role} {created.email} (id {created.id}).")


@main.group()
def token() -> None:
    """Personal API tokens."""


@token.command("create")
@click.option("--email", required=True, help="The user the token acts as.")
@click.option("--name", default="cli", show_default=True, help="What the token is for.")
@click.option(
    "--expires-days", type=int, default=None, help="Expire after N days (default: never)."
)
def token_create(email: str, name: str, expires_days: int | None) -> None:
    """Create an API token and print it (it is shown only once)."""
    from .services import tokens, users
    from .services.errors import ServiceError
    from .services.permissions import SYSTEM

    with _app().app_context():
        try:
            owner = users.find_user_by_email(SYSTEM, email)
            _, secret = tokens.create_token(SYSTEM, owner.id, name, expires_in_days=expires_days)
        except ServiceError as exc:
            _fail(exc.message)
        click.echo(secret)


@main.command()
def demo() -> None:
    """Load demo data (Korean and English customers and tickets); safe to run twice."""
    from .demo import DEMO_PASSWORD, load_demo

    with _app().app_context():
        logins = load_demo()
    click.echo(f"Demo logins (password for all: {DEMO_PASSWORD}):")
    for email, role in logins:
        click.echo(f"  {role:<10} {email}")


@main.command()
@click.option("--host", default=None, help="Default: HELPDESK_HOST or 127.0.0.1.")
@click.option("--port", type=int, default=None, help="Default: HELPDESK_PORT or 5000.")
@click.option("--threads", type=int, default=None, help="Request threads (one per open WebSocket).")
@click.option("--no-loops", is_flag=True, help="Do not run the background loops in this process.")
def serve(host: str | None, port: int | None, threads: int | None, no_loops: bool) -> None:
    """Serve the web app, API and Socket.IO (plus the background loops)."""
    from .config import Settings
    from .serve import serve as run

    settings = Settings.from_env()
    host, port = host or settings.host, port or settings.port
    click.echo(f"Dangol is running on http://{host}:{port}  (Ctrl+C to stop)")
    run(_app, host, port, threads or settings.threads, run_loops=not no_loops)


@main.command()
def worker() -> None:
    """Run the background loops alone (for scale-out next to web processes)."""
    from .worker import run_forever

    run_forever(_app(), on_ready=lambda: click.echo("Worker running (Ctrl+C to stop)."))


if __name__ == "__main__":  # pragma: no cover
    main()
