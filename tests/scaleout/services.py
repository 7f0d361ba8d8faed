"""PostgreSQL and Redis for the scale-out tests: a new database (and Redis key prefix) per use.

In CI both are required (a missing one fails the test); elsewhere a test that needs one skips.
``SFACAL_TEST_PG`` (an admin URL) and ``SFACAL_TEST_REDIS`` point elsewhere than the defaults.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

PG_ADMIN_DSN = os.environ.get("SFACAL_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("SFACAL_TEST_REDIS", "redis://127.0.0.1:6379/14")


def pg_available() -> bool:
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN_DSN, connect_timeout=3):
            return True
    except Exception:
        return False


def redis_available() -> bool:
    try:
        import redis

        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
        return True
    except Exception:
        return False


def need(service: str, ok: bool) -> None:
    if not ok:
        if os.environ.get("CI"):
            pytest.fail(f"{service} is required in CI but not reachable")
        pytest.skip(f"{service} not reachable")


@contextmanager
def pg_database(tag: str = "t") -> Iterator[str]:
    """The URL of a new, empty PostgreSQL database, dropped afterwards."""
    need("PostgreSQL", pg_available())
    import psycopg

    name = f"sfacal_{tag}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN_DSN.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def redis_queue(tag: str = "t") -> Iterator[dict[str, str]]:
    """Environment for a queue of its own on Redis (``SFACAL_QUEUE_URL`` and a unique
    ``SFACAL_QUEUE_NAME``, the prefix of every key); its keys are deleted afterwards."""
    need("Redis", redis_available())
    import redis

    name = f"sfacal-{tag}-{uuid.uuid4().hex[:10]}"
    try:
        yield {"SFACAL_QUEUE_URL": REDIS_URL, "SFACAL_QUEUE_NAME": name}
    finally:
        client = redis.Redis.from_url(REDIS_URL)
        keys = list(client.scan_iter(match=f"*{name}*", count=1000))
        if keys:
            client.delete(*keys)
