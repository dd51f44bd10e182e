"""Translatable names of the values stored in the database (statuses, channels, roles...).

Stored values stay English identifiers; screens show these labels in the viewer's language.
"""

from __future__ import annotations

from flask import Flask, g, has_request_context
from flask_babel import lazy_gettext as _l

from .models import PRIORITY_NAMES

LABELS = {
    # statuses
    "new": _l("New"),
    "open": _l("Open"),
    "pending": _l("Pending"),
    "on-hold": _l("On hold"),
    "solved": _l("Solved"),
    "closed": _l("Closed"),
    # channels and message kinds
    "email": _l("Email"),
    "chat": _l("Chat"),
    "phone": _l("Phone"),
    "social": _l("Social"),
    "web": _l("Web"),
    "api": _l("API"),
    "note": _l("Note"),
    "slack": _l("Slack"),
    # priorities
    "low": _l("Low"),
    "normal": _l("Normal"),
    "high": _l("High"),
    "urgent": _l("Urgent"),
    # roles
    "admin": _l("Admin"),
    "agent": _l("Agent"),
    "sales": _l("Sales"),
    "marketing": _l("Marketing"),
}


def translated_labels() -> dict[str, str]:
    """Every label in the current language, translated once per request: a queue page shows
    hundreds of them, and each lazy string would look the catalog up again."""
    if not has_request_context():
        return {key: str(text) for key, text in LABELS.items()}
    table: dict[str, str] | None = g.get("_dangol_labels")
    if table is None:
        table = g._dangol_labels = {key: str(text) for key, text in LABELS.items()}
    return table


def label(value: object) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        value = PRIORITY_NAMES.get(value, str(value))
    key = str(value)
    return translated_labels().get(key, key)


def init_app(app: Flask) -> None:
    app.jinja_env.filters["label"] = label
