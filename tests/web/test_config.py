"""Settings come from the environment with safe defaults."""

from __future__ import annotations

import pytest

from sfacal import config


def test_default_database_is_sqlite_in_the_data_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("SFACAL_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    db = config.database_config().as_django()
    assert db["ENGINE"] == "sfacal.web.sqlite3"
    assert db["NAME"] == str(tmp_path / "sfacal.sqlite3")
    assert "journal_mode=WAL" in db["OPTIONS"]["init_command"]
    assert db["OPTIONS"]["transaction_mode"] == "IMMEDIATE"


def test_database_url_selects_postgresql(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://app:p%40ss@db.example:5433/sfacal")
    db = config.database_config().as_django()
    assert db["ENGINE"] == "django.db.backends.postgresql"
    assert (db["USER"], db["PASSWORD"], db["HOST"], db["PORT"], db["NAME"]) == (
        "app",
        "p@ss",
        "db.example",
        "5433",
        "sfacal",
    )


def test_bad_database_url_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "mysql://x")
    with pytest.raises(config.ConfigError, match="DATABASE_URL"):
        config.database_config()


def test_queue_is_sqlite_file_or_redis(monkeypatch, tmp_path):
    monkeypatch.setenv("SFACAL_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("SFACAL_QUEUE_URL", raising=False)
    assert config.queue_config()["huey_class"] == "huey.SqliteHuey"
    assert config.queue_config()["filename"] == str(tmp_path / "queue.sqlite3")
    monkeypatch.setenv("SFACAL_QUEUE_URL", "redis://127.0.0.1:6379/3")
    q = config.queue_config()
    assert q["huey_class"] == "huey.RedisHuey" and q["url"] == "redis://127.0.0.1:6379/3"
    monkeypatch.setenv("SFACAL_QUEUE_URL", "amqp://x")
    with pytest.raises(config.ConfigError):
        config.queue_config()


def test_env_int_rejects_garbage(monkeypatch):
    monkeypatch.setenv("SFACAL_WORKERS", "many")
    with pytest.raises(config.ConfigError, match="SFACAL_WORKERS"):
        config.env_int("SFACAL_WORKERS", 4)


# -- HTTPS and the reverse proxy -------------------------------------------------------------------


@pytest.fixture
def no_web_env(monkeypatch):
    for name in ("SFACAL_PUBLIC_URL", "SFACAL_BEHIND_PROXY", "SFACAL_TRUSTED_PROXIES", "SFACAL_HSTS_SECONDS"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_without_a_public_https_url_nothing_is_forced(no_web_env):
    plain = config.web_security()
    assert (plain.https, plain.hsts_seconds, plain.behind_proxy, plain.public_origin) == (False, 0, False, "")
    no_web_env.setenv("SFACAL_PUBLIC_URL", "http://sync.example.jp/")
    http = config.web_security()
    assert (http.https, http.hsts_seconds, http.public_origin) == (False, 0, "http://sync.example.jp")


def test_a_public_https_url_turns_on_secure_cookies_hsts_and_its_origin(no_web_env):
    no_web_env.setenv("SFACAL_PUBLIC_URL", "https://sync.example.jp:8443/sfacal/")
    web = config.web_security()
    assert web.https and web.hsts_seconds == 365 * 24 * 3600
    assert web.public_url == "https://sync.example.jp:8443/sfacal"
    assert web.public_origin == "https://sync.example.jp:8443"
    no_web_env.setenv("SFACAL_HSTS_SECONDS", "600")
    assert config.web_security().hsts_seconds == 600


def test_the_proxy_switch_and_its_trusted_addresses(no_web_env):
    assert config.web_security().trusted_proxies == ("127.0.0.1", "::1")
    no_web_env.setenv("SFACAL_BEHIND_PROXY", "1")
    no_web_env.setenv("SFACAL_TRUSTED_PROXIES", "10.0.0.5, 10.0.0.6")
    web = config.web_security()
    assert web.behind_proxy and web.trusted_proxies == ("10.0.0.5", "10.0.0.6")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SFACAL_PUBLIC_URL", "sync.example.jp"),
        ("SFACAL_PUBLIC_URL", "ftp://x"),
        ("SFACAL_HSTS_SECONDS", "-1"),
    ],
)
def test_unusable_web_settings_are_a_clear_error(no_web_env, name, value):
    no_web_env.setenv("SFACAL_PUBLIC_URL", "https://sync.example.jp")
    no_web_env.setenv(name, value)
    with pytest.raises(config.ConfigError, match=name):
        config.web_security()


def test_files_are_created_private_and_existing_ones_left_alone(tmp_path):
    fresh = config.private_file(tmp_path / "new.sqlite3")
    assert fresh.stat().st_mode & 0o777 == 0o600
    existing = tmp_path / "old"
    existing.write_text("x")
    existing.chmod(0o640)
    config.private_file(existing)
    assert existing.stat().st_mode & 0o777 == 0o640 and existing.read_text() == "x"


def test_the_data_dir_is_created_private(monkeypatch, tmp_path):
    monkeypatch.setenv("SFACAL_DATA_DIR", str(tmp_path / "a" / "data"))
    path = config.data_dir()
    assert path.is_dir() and path.stat().st_mode & 0o777 == 0o700
