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
``SFACAL_PUBLIC_URL``
    The public address of the service. When it is ``https://...`` the cookies are ``Secure``, HSTS
    is sent (``SFACAL_HSTS_SECONDS``, default one year) and the URL's origin is trusted for forms.
``SFACAL_BEHIND_PROXY``
    On behind a reverse proxy that terminates TLS: its ``X-Forwarded-Proto`` and ``X-Forwarded-For``
    are believed, from the addresses in ``SFACAL_TRUSTED_PROXIES`` only (default: this machine).
``SFACAL_GRAPH_APP_LIMIT``, ``SFACAL_GRAPH_APP_WINDOW_S``
    Microsoft Graph's limit per application across all tenants, which every worker keeps
    together: requests per window (default 130,000 per 10 seconds, Microsoft's published figure).
``SFACAL_SMTP_HOST``, ``SFACAL_SMTP_PORT``, ``SFACAL_SMTP_USER``, ``SFACAL_SMTP_PASSWORD``, ``SFACAL_SMTP_FROM``, ``SFACAL_SMTP_STARTTLS``, ``SFACAL_SMTP_SSL``
    The mail server for e-mail notices to company administrators (:func:`smtp_config`); with no
    host, no notice is sent.
``SFACAL_BASE_URL``, ``SFACAL_NOTICE_FAILING_HOURS``
    The address the notices link to (default ``SFACAL_PUBLIC_URL``) and how long an employee's sync
    must have been failing before their administrators are told (default 24 hours).
``SFACAL_DEBUG``, ``SFACAL_ALLOWED_HOSTS``, ``SFACAL_CA_BUNDLE``, ``SFACAL_LOG_LEVEL`` — see
``docs/operations.md``.

Everything the service writes into the data directory is private to its user: the directory is
created 0700 and files 0600 (:func:`private_file`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

TRUE_VALUES = frozenset({"1", "true", "yes", "on"})
GRAPH_APP_LIMIT_ENV = "SFACAL_GRAPH_APP_LIMIT"
GRAPH_APP_WINDOW_ENV = "SFACAL_GRAPH_APP_WINDOW_S"


DEMO_MAILBOX_VIEWER_ENV = "SFACAL_DEMO_MAILBOX_VIEWER"
"""Set by ``sfacal serve --demo`` only: the base URL of the Microsoft 365 emulator's read-only
mailbox viewer (``…/_control/view``), which the screens link to while the demo runs."""


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


PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
PRIVATE_UMASK = 0o077
"""The umask of the service's processes: every file they create is readable by their user only."""


def data_dir() -> Path:
    path = Path(os.environ.get("SFACAL_DATA_DIR", "data")).expanduser().resolve()
    if not path.exists():
        path.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
        path.chmod(PRIVATE_DIR_MODE)
    return path


def private_file(path: Path) -> Path:
    """Create ``path`` empty with mode 0600 unless it exists (SQLite then keeps that mode, and gives it
    to its ``-wal`` and ``-shm`` files too); an existing file is left as it is."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE))
    except OSError:
        pass  # it exists; or the place is unwritable, which opening the file for real reports
    return path


@dataclass(frozen=True)
class WebSecurity:
    """HTTPS and reverse-proxy settings of the web server."""

    public_url: str
    https: bool
    hsts_seconds: int
    behind_proxy: bool
    trusted_proxies: tuple[str, ...]

    @property
    def public_origin(self) -> str:
        """``scheme://host[:port]`` of the public URL, or ``""``."""
        if not self.public_url:
            return ""
        parsed = urlparse(self.public_url)
        return f"{parsed.scheme}://{parsed.netloc}"


DEFAULT_HSTS_SECONDS = 365 * 24 * 3600


def web_security() -> WebSecurity:
    public = os.environ.get("SFACAL_PUBLIC_URL", "").strip().rstrip("/")
    if public:
        parsed = urlparse(public)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ConfigError(f"SFACAL_PUBLIC_URL must be an http:// or https:// address, got {public!r}")
    https = public.startswith("https://")
    hsts = env_int("SFACAL_HSTS_SECONDS", DEFAULT_HSTS_SECONDS) if https else 0
    if hsts < 0:
        raise ConfigError(f"SFACAL_HSTS_SECONDS must be 0 or more, got {hsts}")
    proxies = os.environ.get("SFACAL_TRUSTED_PROXIES", "").strip() or "127.0.0.1,::1"
    return WebSecurity(
        public_url=public,
        https=https,
        hsts_seconds=hsts,
        behind_proxy=env_flag("SFACAL_BEHIND_PROXY"),
        trusted_proxies=tuple(p.strip() for p in proxies.split(",") if p.strip()),
    )


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
                "ENGINE": "sfacal.web.sqlite3",  # Django's, with writers queued in the process
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
                # Each thread keeps its connection across requests: opening one (and running the
                # pragmas above) costs ~1 ms of CPU, half of an acknowledgement's budget.
                "CONN_MAX_AGE": 600,
                "CONN_HEALTH_CHECKS": True,
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
        return DatabaseConfig(engine="sqlite", name=str(private_file(data_dir() / "sfacal.sqlite3")))
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
        path = Path(unquote(parsed.path)) if parsed.path else data_dir() / "sfacal.sqlite3"
        return DatabaseConfig(engine="sqlite", name=str(private_file(path)))
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
        queue_file = private_file(data_dir() / "queue.sqlite3")
        return {**common, "huey_class": "huey.SqliteHuey", "filename": str(queue_file)}
    if url.startswith(("redis://", "rediss://", "unix://")):
        return {**common, "huey_class": "huey.RedisHuey", "url": url}
    raise ConfigError("SFACAL_QUEUE_URL must start with redis://, rediss:// or unix://")


@dataclass(frozen=True)
class SmtpConfig:
    """The mail server e-mail notices go through (``SFACAL_SMTP_*``); ``host`` empty: none."""

    host: str
    port: int
    user: str
    password: str
    sender: str
    starttls: bool
    ssl: bool

    @property
    def enabled(self) -> bool:
        return bool(self.host)


def smtp_config() -> SmtpConfig:
    starttls = env_flag("SFACAL_SMTP_STARTTLS")
    ssl = env_flag("SFACAL_SMTP_SSL")
    if starttls and ssl:
        raise ConfigError("set only one of SFACAL_SMTP_STARTTLS and SFACAL_SMTP_SSL")
    return SmtpConfig(
        host=os.environ.get("SFACAL_SMTP_HOST", "").strip(),
        port=env_int("SFACAL_SMTP_PORT", 465 if ssl else (587 if starttls else 25)),
        user=os.environ.get("SFACAL_SMTP_USER", "").strip(),
        password=os.environ.get("SFACAL_SMTP_PASSWORD", ""),
        sender=os.environ.get("SFACAL_SMTP_FROM", "").strip() or "sfacal@localhost",
        starttls=starttls,
        ssl=ssl,
    )


def base_url() -> str:
    """The address links in e-mail notices start with (``SFACAL_BASE_URL``, else the public URL)."""
    return (
        os.environ.get("SFACAL_BASE_URL", "").strip() or os.environ.get("SFACAL_PUBLIC_URL", "").strip()
    ).rstrip("/")
