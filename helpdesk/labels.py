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
    # SLA targets
    "first_response": _l("First response"),
    "next_response": _l("Next response"),
    "resolution": _l("Resolution"),
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


def sla_texts() -> dict[str, object]:
    """How SLA badges read, for the server's first render and for static/js/sla.js."""
    return {
        "hm": str(_l("{h}h {m}m")),
        "m": str(_l("{m}m")),
        "overdue": str(_l("{t} over")),
        "paused": str(_l("Paused")),
        "states": {
            "ok": str(_l("Within SLA")),
            "warning": str(_l("SLA about to breach")),
            "breached": str(_l("SLA breached")),
            "paused": str(_l("SLA clock paused")),
        },
    }


def business_left(seconds: int) -> str:
    """Business time left on an SLA clock ("1h 05m", "20m", "15m over")."""
    texts = sla_texts()
    hours, minutes = divmod(abs(int(seconds)) // 60, 60)
    if hours:
        text = str(texts["hm"]).replace("{h}", str(hours)).replace("{m}", f"{minutes:02d}")
    else:
        text = str(texts["m"]).replace("{m}", str(minutes))
    return str(texts["overdue"]).replace("{t}", text) if seconds < 0 else text


def init_app(app: Flask) -> None:
    app.jinja_env.filters["label"] = label
    app.jinja_env.filters["business_left"] = business_left
    app.jinja_env.globals["sla_texts"] = sla_texts
