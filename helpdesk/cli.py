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


@main.group()
def channel() -> None:
    """Channels that bring customer messages in and send replies out."""


@channel.group("add")
def channel_add() -> None:
    """Add a channel."""


_SECURITY = click.Choice(["ssl", "starttls", "none"])


@channel_add.command("email")
@click.option("--name", required=True, help="A name for admins, e.g. Support.")
@click.option("--address", required=True, help="The support address replies are sent from.")
@click.option("--display-name", default="", help='Shown in From, e.g. "단골 고객지원".')
@click.option("--group", "group_name", default=None, help="Group new tickets land in.")
@click.option("--imap-host", required=True)
@click.option("--imap-port", type=int, default=None, help="Default: 993 (ssl) or 143.")
@click.option("--imap-security", type=_SECURITY, default="ssl", show_default=True)
@click.option("--imap-user", required=True)
@click.option(
    "--imap-password",
    envvar="HELPDESK_IMAP_PASSWORD",
    prompt=True,
    hide_input=True,
    help="Or HELPDESK_IMAP_PASSWORD; prompted for when neither is given.",
)
@click.option("--imap-folder", default="INBOX", show_default=True)
@click.option("--processed-folder", default=None, help="Move processed mail here.")
@click.option("--smtp-host", required=True)
@click.option("--smtp-port", type=int, default=None, help="Default: 465 ssl, 587, 25 none.")
@click.option("--smtp-security", type=_SECURITY, default="starttls", show_default=True)
@click.option("--smtp-user", default=None, help="Default: no login.")
@click.option(
    "--smtp-password",
    envvar="HELPDESK_SMTP_PASSWORD",
    default=None,
    help="Or HELPDESK_SMTP_PASSWORD; prompted for when --smtp-user is given without it.",
)
@click.option("--auto-acknowledge/--no-auto-acknowledge", default=False, show_default=True)
@click.option("--inactive", is_flag=True, help="Create it switched off.")
def channel_add_email(
    name: str,
    address: str,
    display_name: str,
    group_name: str | None,
    imap_host: str,
    imap_port: int | None,
    imap_security: str,
    imap_user: str,
    imap_password: str,
    imap_folder: str,
    processed_folder: str | None,
    smtp_host: str,
    smtp_port: int | None,
    smtp_security: str,
    smtp_user: str | None,
    smtp_password: str | None,
    auto_acknowledge: bool,
    inactive: bool,
) -> None:
    """Add an email channel (IMAP in, SMTP out). Passwords are stored encrypted."""
    from .services import email_channels, users
    from .services.errors import ServiceError
    from .services.permissions import SYSTEM

    if smtp_user and not smtp_password:
        smtp_password = click.prompt("SMTP password", hide_input=True)
    with _app().app_context():
        try:
            group_id = None
            if group_name:
                existing = {g.name: g.id for g in users.list_groups(SYSTEM)}
                group_id = existing.get(group_name) or users.create_group(SYSTEM, group_name).id
            created = email_channels.create_channel(
                SYSTEM,
                name=name,
                address=address,
                display_name=display_name,
                group_id=group_id,
                imap_host=imap_host,
                imap_port=imap_port,
                imap_security=imap_security,
                imap_username=imap_user,
                imap_password=imap_password,
                imap_folder=imap_folder,
                imap_processed_folder=processed_folder,
                smtp_host=smtp_host,
                smtp_port=smtp_port,
                smtp_security=smtp_security,
                smtp_username=smtp_user,
                smtp_password=smtp_password,
                auto_acknowledge=auto_acknowledge,
                is_active=not inactive,
            )
        except ServiceError as exc:
            _fail(_with_fields(exc))
        click.echo(f"Created email channel {created.name} <{created.address}> (id {created.id}).")
        click.echo("Restart the worker (or helpdesk serve) to start watching its mailbox.")


def _with_fields(exc: object) -> str:
    message = str(exc)
    fields = getattr(exc, "fields", None) or {}
    details = "; ".join(f"{name}: {', '.join(errors)}" for name, errors in fields.items())
    return f"{message} ({details})" if details else message


@channel.command("list")
def channel_list() -> None:
    """List the email channels (passwords show as set / not set)."""
    from .services import email_channels
    from .services.permissions import SYSTEM

    with _app().app_context():
        found = [email_channels.channel_view(c) for c in email_channels.list_channels(SYSTEM)]
    if not found:
        click.echo("No channels.")
    for view in found:
        state = "active" if view["is_active"] else "inactive"
        error = view["last_error"]
        click.echo(
            f"{view['id']:>4}  email  {view['name']}  <{view['address']}>  {state}  "
            f"imap {view['imap_username']}@{view['imap_host']} "
            f"(password {view['imap_password']})  "
            f"smtp {view['smtp_host']} (password {view['smtp_password']})  "
            f"last uid {view['last_uid']}"
            + (f"  error: {error['code']}: {error['message']}" if error else "")
        )


@channel.command("test")
@click.argument("channel_id", type=int)
def channel_test(channel_id: int) -> None:
    """Log in to the channel's IMAP and SMTP servers, as the worker will; exit 1 on failure."""
    from .services import email_channels
    from .services.errors import ServiceError
    from .services.permissions import SYSTEM

    with _app().app_context():
        try:
            report = email_channels.test_channel(SYSTEM, channel_id)
        except ServiceError as exc:
            _fail(exc.message)
    for label, part in (("IMAP", report.imap), ("SMTP", report.smtp)):
        status = "ok" if part.ok else f"FAILED ({part.error_code})"
        click.echo(f"{label}: {status}: {part.message}")
    if not report.ok:
        sys.exit(1)


@main.group()
def search() -> None:
    """The search index (tickets and knowledge base)."""


@search.command("reindex")
def search_reindex() -> None:
    """Rebuild the whole search index from the database (searches keep working meanwhile)."""
    from .services import search_sync

    app = _app()
    with app.app_context():
        from sqlalchemy import func, select

        from .models import Ticket
        from .services.transaction import current_session

        total = current_session().scalar(select(func.count()).select_from(Ticket)) or 0
        with click.progressbar(length=total, label="Indexing") as bar:
            done = [0]

            def advance(count: int) -> None:
                bar.update(count - done[0])
                done[0] = count

            indexed = search_sync.rebuild(search_sync.search_index(app), advance)
    click.echo(f"Indexed {indexed} documents.")


@main.group("import")
def import_() -> None:
    """Import customers or their business events from CSV (all or nothing)."""


def _import(kind: str, path: Path) -> None:
    from .services import customer_import
    from .services.errors import Invalid
    from .services.permissions import SYSTEM

    raw = path.read_bytes()
    with _app().app_context():
        rows = len(customer_import.read_rows(raw))
        run = (
            customer_import.import_customers
            if kind == "customers"
            else customer_import.import_events
        )
        with click.progressbar(length=rows, label=f"Importing {kind}") as bar:
            done = [0]

            def advance(count: int) -> None:
                bar.update(count - done[0])
                done[0] = count

            try:
                report = run(SYSTEM, raw, advance)
            except Invalid as exc:
                _fail(str(exc.message))
                return
    if not report.ok:
        for problem in report.problems:
            click.echo(f"row {problem.row}: {problem.field}: {problem.reason}", err=True)
        _fail(f"Nothing imported: {len(report.problems)} problem(s) in {report.rows} rows.")
    click.echo(
        f"Imported {report.created} new, {report.unchanged} already there ({report.rows} rows)."
    )


@import_.command("customers")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_customers(path: Path) -> None:
    """Columns: name, email, phone, organization, tier, locale (UTF-8 or Korean Excel CSV)."""
    _import("customers", path)


@import_.command("events")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_events(path: Path) -> None:
    """Columns: email / phone / customer_id, kind, title, occurred_at (ISO 8601 with a zone),
    external_id, amount, currency, url."""
    _import("events", path)


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
