"""Settings come from the environment with safe defaults."""

from __future__ import annotations

import pytest

from sfacal import config


def test_default_database_is_sqlite_in_the_data_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("SFACAL_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    db = config.database_config().as_django()
    assert db["ENGINE"] == "django.db.backends.sqlite3"
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
