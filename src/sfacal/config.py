"""Runtime configuration read from the environment.

Everything the service needs to know about its machine comes from a handful of
environment variables, each with a safe default, so that ``sfacal serve`` works on
a fresh machine with nothing set:

``SFACAL_DATA_DIR``
    Directory holding the SQLite database, the queue file, the generated keys and
    the emulators' certificates. Default: ``./data``. Several instances can run side
    by side with different data directories.
``DATABASE_URL``
    ``postgres://user:pass@host:port/name`` (or ``postgresql://``) to use PostgreSQL
    instead of the embedded SQLite database.
``SFACAL_QUEUE_URL``
    ``redis://host:port/db`` to use Redis for the work queue (many workers on many
    machines) instead of the SQLite queue file in the data directory.
``SFACAL_SECRET_KEY``
    Key(s) encrypting stored secrets (comma separated, newest first, for rotation).
    Default: a key generated once into ``<data dir>/secret.key`` with mode 0600.
``SFACAL_DEBUG``, ``SFACAL_ALLOWED_HOSTS``, ``SFACAL_PUBLIC_URL``, ``SFACAL_CA_BUNDLE``,
``SFACAL_LOG_LEVEL`` — see ``docs/operations.md``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

TRUE_VALUES = frozenset({"1", "true", "yes", "on"})


def env_flag(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in TRUE_VALUES


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a whole number, got {value!r}") from exc


class ConfigError(Exception):
    """The environment names a setting the service cannot use."""


def data_dir() -> Path:
    path = Path(os.environ.get("SFACAL_DATA_DIR", "data")).expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


@dataclass(frozen=True)
class DatabaseConfig:
    engine: str
    name: str
    user: str = ""
    password: str = ""
    host: str = ""
    port: str = ""

    def as_django(self) -> dict[str, object]:
        if self.engine == "sqlite":
            return {
                "ENGINE": "django.db.backends.sqlite3",
                "NAME": self.name,
                "OPTIONS": {
                    # Writers queue up instead of failing at once; IMMEDIATE
                    # transactions take the write lock at BEGIN so two writers never
                    # deadlock on an upgrade from read to write.
                    "timeout": 30,
                    "transaction_mode": "IMMEDIATE",
                    "init_command": (
                        "PRAGMA journal_mode=WAL;"
                        "PRAGMA synchronous=NORMAL;"
                        "PRAGMA busy_timeout=30000;"
                        "PRAGMA foreign_keys=ON;"
                    ),
                },
                "TEST": {"NAME": os.environ.get("SFACAL_TEST_DB_NAME") or None},
            }
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": self.name,
            "USER": self.user,
            "PASSWORD": self.password,
            "HOST": self.host,
            "PORT": self.port,
            "CONN_MAX_AGE": 60,
            "CONN_HEALTH_CHECKS": True,
        }


def database_config() -> DatabaseConfig:
    url = os.environ.get("DATABASE_URL", "").strip()
    if not url:
        return DatabaseConfig(engine="sqlite", name=str(data_dir() / "sfacal.sqlite3"))
    parsed = urlparse(url)
    if parsed.scheme in ("postgres", "postgresql", "postgresql+psycopg"):
        return DatabaseConfig(
            engine="postgresql",
            name=unquote(parsed.path.lstrip("/")) or "sfacal",
            user=unquote(parsed.username or ""),
            password=unquote(parsed.password or ""),
            host=parsed.hostname or "",
            port=str(parsed.port or ""),
        )
    if parsed.scheme == "sqlite":
        return DatabaseConfig(
            engine="sqlite", name=unquote(parsed.path) or str(data_dir() / "sfacal.sqlite3")
        )
    raise ConfigError("DATABASE_URL must start with postgres://, postgresql:// or sqlite://")


def queue_config(immediate: bool = False) -> dict[str, object]:
    """Huey settings: SQLite file in the data directory, or Redis when asked."""
    url = os.environ.get("SFACAL_QUEUE_URL", "").strip()
    common: dict[str, object] = {
        "name": os.environ.get("SFACAL_QUEUE_NAME", "sfacal"),
        "immediate": immediate,
        "utc": True,
        "results": False,
        "store_none": False,
        # An idle consumer polls at most every 0.5 s, so a change starts within the S10 budget.
        "consumer": {
            "workers": env_int("SFACAL_WORKERS", 4),
            "worker_type": "thread",
            "initial_delay": 0.1,
            "backoff": 1.15,
            "max_delay": 0.5,
        },
    }
    if not url:
        return {**common, "huey_class": "huey.SqliteHuey", "filename": str(data_dir() / "queue.sqlite3")}
    if url.startswith(("redis://", "rediss://", "unix://")):
        return {**common, "huey_class": "huey.RedisHuey", "url": url}
    raise ConfigError("SFACAL_QUEUE_URL must start with redis://, rediss:// or unix://")
