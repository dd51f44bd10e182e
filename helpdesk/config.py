"""Settings, read from ``HELPDESK_*`` environment variables.

Every setting has a default that gives a working single-machine install: SQLite in the instance
folder, a secret key generated there on first start, no Redis. The README lists each variable.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

_TRUE = {"1", "true", "yes", "on"}


def _env(name: str) -> str | None:
    """The variable ``HELPDESK_<name>``, or ``None`` when unset or empty."""
    return os.environ.get(f"HELPDESK_{name}") or None


def _env_or(name: str, default: str) -> str:
    return _env(name) or default


@dataclass
class Settings:
    """The resolved configuration of one Dangol process."""

    instance_path: Path
    database_url: str
    secret_key: str
    redis_url: str | None = None
    secure_cookies: bool = False
    attachment_max_bytes: int = 25 * 1024 * 1024
    email_max_bytes: int = 50 * 1024 * 1024  # larger inbound mail is quarantined unread
    # Processes that parse fetched mail while the fetcher stores the earlier messages of the
    # batch (0: parse in the fetcher's thread). One by default on a machine with several cores.
    email_parse_processes: int = 0
    default_locale: str = "en"
    default_timezone: str = "UTC"
    phone_region: str = "KR"
    login_rate_limit: str = "10 per minute"
    host: str = "127.0.0.1"
    port: int = 5000
    threads: int = 64
    log_level: str = "INFO"
    public_url: str | None = None  # e.g. https://help.example.kr, for links in staff email
    # Host names requests may carry (others get HTTP 400), so that no link the app builds from
    # the Host header (portal sign-in mail without public_url) can point elsewhere. None: any.
    trusted_hosts: list[str] | None = None
    search_auto_rebuild: bool = True  # rebuild a missing search index in the worker
    password_hash_fast: bool = False  # only for tests: cheap argon2 parameters
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_env(cls, **overrides: Any) -> Settings:
        """Build settings from the environment; keyword overrides win (used by tests)."""
        instance = Path(
            overrides.pop("instance_path", None) or _env_or("INSTANCE_PATH", "instance")
        )
        instance = instance.resolve()
        values: dict[str, Any] = {
            "instance_path": instance,
            "database_url": _env("DATABASE_URL") or f"sqlite:///{instance / 'dangol.db'}",
            "secret_key": _env("SECRET_KEY") or "",
            "redis_url": _env("REDIS_URL"),
            "secure_cookies": (_env_or("SECURE_COOKIES", "0") or "").lower() in _TRUE,
            "attachment_max_bytes": int(_env_or("ATTACHMENT_MAX_BYTES", str(25 * 1024 * 1024))),
            "email_max_bytes": int(_env_or("EMAIL_MAX_BYTES", str(50 * 1024 * 1024))),
            "email_parse_processes": int(
                _env_or("EMAIL_PARSE_PROCESSES", "1" if (os.cpu_count() or 1) > 1 else "0")
            ),
            "default_locale": _env_or("DEFAULT_LOCALE", "en"),
            "default_timezone": _env_or("DEFAULT_TIMEZONE", "UTC"),
            "phone_region": _env_or("PHONE_REGION", "KR"),
            "login_rate_limit": _env_or("LOGIN_RATE_LIMIT", "10 per minute"),
            "host": _env_or("HOST", "127.0.0.1"),
            "port": int(_env_or("PORT", "5000")),
            "threads": int(_env_or("THREADS", "64")),
            "log_level": _env_or("LOG_LEVEL", "INFO"),
            "public_url": (_env("PUBLIC_URL") or "").rstrip("/") or None,
            "trusted_hosts": [
                h.strip() for h in (_env("TRUSTED_HOSTS") or "").split(",") if h.strip()
            ]
            or None,
            "search_auto_rebuild": (_env_or("SEARCH_AUTO_REBUILD", "1") or "").lower() in _TRUE,
        }
        known = {f.name for f in fields(cls)}
        for key, value in overrides.items():
            if key in known:
                values[key] = value
            else:
                values.setdefault("extra", {})[key] = value
        settings = cls(**values)
        if not settings.secret_key:
            settings.secret_key = load_or_create_secret(instance)
        return settings


def load_or_create_secret(instance_path: Path) -> str:
    """Return the instance's secret key, generating it (mode 0600) on first use."""
    instance_path.mkdir(parents=True, exist_ok=True)
    key_file = instance_path / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    key = secrets.token_urlsafe(48)
    try:
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process won the race: use its key
        return key_file.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key
