"""Settings come from HELPDESK_* variables; a fresh instance generates its own secret key."""

from __future__ import annotations

import stat

from helpdesk.config import Settings


def test_defaults_give_a_working_single_machine_install(tmp_path, monkeypatch):
    for name in ("DATABASE_URL", "SECRET_KEY", "REDIS_URL", "PORT"):
        monkeypatch.delenv(f"HELPDESK_{name}", raising=False)
    monkeypatch.setenv("HELPDESK_INSTANCE_PATH", str(tmp_path / "inst"))
    settings = Settings.from_env()
    assert settings.database_url == f"sqlite:///{tmp_path / 'inst' / 'dangol.db'}"
    assert settings.redis_url is None and settings.port == 5000
    key_file = tmp_path / "inst" / "secret_key"
    assert key_file.read_text() == settings.secret_key and len(settings.secret_key) >= 48
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert Settings.from_env().secret_key == settings.secret_key  # reused, not regenerated


def test_environment_overrides(tmp_path, monkeypatch):
    monkeypatch.setenv("HELPDESK_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("HELPDESK_DATABASE_URL", "postgresql+psycopg://u@db/dangol")
    monkeypatch.setenv("HELPDESK_SECRET_KEY", "from-env")
    monkeypatch.setenv("HELPDESK_REDIS_URL", "redis://cache:6379/0")
    monkeypatch.setenv("HELPDESK_SECURE_COOKIES", "true")
    monkeypatch.setenv("HELPDESK_ATTACHMENT_MAX_BYTES", "1048576")
    monkeypatch.setenv("HELPDESK_PHONE_REGION", "US")
    monkeypatch.setenv("HELPDESK_PUBLIC_URL", "https://help.example.kr/")
    settings = Settings.from_env()
    assert settings.database_url == "postgresql+psycopg://u@db/dangol"
    assert settings.secret_key == "from-env" and not (tmp_path / "secret_key").exists()
    assert settings.redis_url == "redis://cache:6379/0"
    assert settings.secure_cookies is True
    assert settings.attachment_max_bytes == 1048576 and settings.phone_region == "US"
    assert settings.public_url == "https://help.example.kr"


def test_secure_cookies_setting_reaches_the_session_cookie(tmp_path):
    from helpdesk import create_app
    from tests.conftest import make_settings

    app = create_app(make_settings(tmp_path, f"sqlite:///{tmp_path / 'x.db'}", secure_cookies=True))
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_trusted_hosts_refuse_a_forged_host_header(tmp_path, monkeypatch):
    from helpdesk import create_app
    from tests.conftest import make_settings

    monkeypatch.setenv("HELPDESK_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("HELPDESK_TRUSTED_HOSTS", "help.example.kr, .dangol.example")
    assert Settings.from_env().trusted_hosts == ["help.example.kr", ".dangol.example"]
    app = create_app(
        make_settings(
            tmp_path,
            f"sqlite:///{tmp_path / 'x.db'}",
            trusted_hosts=["help.example.kr", ".dangol.example"],
        )
    )
    client = app.test_client()
    assert (
        client.get("/help/en/account/sign-in", base_url="https://help.example.kr").status_code
        == 200
    )
    assert client.get("/login", base_url="https://eu.dangol.example").status_code == 200
    forged = client.get("/help/en/account/sign-in", base_url="https://evil.example")
    assert forged.status_code == 400
