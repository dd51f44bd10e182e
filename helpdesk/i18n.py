"""Languages and time zones: the user's own settings first, then the browser's."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import Flask, current_app, g, has_request_context, request
from flask_babel import format_datetime, format_timedelta, get_locale
from flask_login import current_user

from .extensions import babel

LOCALES = ["en", "ko"]


def select_locale() -> str | None:
    """The API caller's or signed-in user's language, else ``?lang=``, cookie, browser.

    Outside a request (CLI, worker) there is nothing to choose from: Flask-Babel then uses
    the instance default (``HELPDESK_DEFAULT_LOCALE``).
    """
    if not has_request_context():
        return None
    # API token requests: the blueprint hook in helpdesk.api.auth resolved the user before any
    # message is rendered (Flask-Babel caches the locale for the rest of the request).
    api_user = g.get("api_user")
    if api_user is not None and api_user.locale in LOCALES:
        return str(api_user.locale)
    if current_user and current_user.is_authenticated and current_user.locale in LOCALES:
        return str(current_user.locale)
    chosen = request.args.get("lang") or request.cookies.get("dangol_lang")
    if chosen in LOCALES:
        return chosen
    return request.accept_languages.best_match(LOCALES)


def select_timezone() -> str | None:
    if current_user and current_user.is_authenticated:
        return str(current_user.timezone)
    return str(current_app.config["HELPDESK"].default_timezone)


def local_datetime(value: datetime | str | None, fmt: str = "medium") -> str:
    """Format an aware UTC datetime (or its ISO text) in the viewer's time zone and language."""
    if value is None:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return format_datetime(value, fmt)  # Flask-Babel converts to the selected time zone


def duration(value: timedelta | None) -> str:
    """A length of time in words, in the viewer's language ("3 hours", "3시간")."""
    if value is None:
        return "—"
    return str(format_timedelta(value, granularity="minute", threshold=1.5))


def init_app(app: Flask) -> None:
    babel.init_app(
        app,
        locale_selector=select_locale,
        timezone_selector=select_timezone,
        default_translation_directories="translations",
    )
    app.jinja_env.filters["localtime"] = local_datetime
    app.jinja_env.filters["duration"] = duration
    app.jinja_env.globals["get_locale"] = get_locale
