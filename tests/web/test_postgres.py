"""The scale-out store: the schema migrates on a real PostgreSQL, and the queue on Redis answers."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.scaleout.services import need
from tests.scaleout.services import pg_database as new_database

REDIS_URL = os.environ.get("SFACAL_TEST_REDIS", "redis://127.0.0.1:6379/15")


@pytest.fixture
def pg_database() -> Iterator[str]:
    """The URL of a new, empty PostgreSQL database, dropped afterwards."""
    with new_database() as url:
        yield url


def test_schema_migrates_on_postgresql(tmp_path, pg_database):
    env = {**os.environ, "SFACAL_DATA_DIR": str(tmp_path), "DATABASE_URL": pg_database}
    env.pop("SFACAL_QUEUE_URL", None)
    for args in (["migrate"], ["check"]):
        out = subprocess.run(
            [sys.executable, "-m", "sfacal.cli", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert out.returncode == 0, out.stdout + out.stderr
    assert "database (postgresql) reachable" in out.stdout


THROTTLE = """
import django
django.setup()
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client

get_user_model().objects.create_user("admin", password="right-password-1")
def sign_in(password, address):
    return Client(REMOTE_ADDR=address).post("/accounts/signin/", {"username": "admin", "password": password}).status_code
codes = [sign_in("wrong", f"10.0.0.{i}") for i in range(10)]
codes.append(sign_in("right-password-1", "10.0.1.1"))
call_command("unlock", "admin")
codes.append(sign_in("right-password-1", "10.0.1.1"))
print(codes)
"""


def test_sign_in_throttling_on_postgresql(tmp_path, pg_database):
    """django-axes keeps its counts in the database: a name is paused, and unlocked, on PostgreSQL too."""
    env = {**os.environ, "SFACAL_DATA_DIR": str(tmp_path), "DATABASE_URL": pg_database}
    env.setdefault("DJANGO_SETTINGS_MODULE", "sfacal.web.settings")
    subprocess.run([sys.executable, "-m", "sfacal.cli", "migrate"], env=env, check=True, capture_output=True)
    out = subprocess.run(
        [sys.executable, "-c", THROTTLE], env=env, capture_output=True, text=True, timeout=180, check=False
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().splitlines()[-1] == str([401] * 9 + [429, 429, 302])


def test_redis_queue_is_used_when_configured(tmp_path):
    try:
        import redis

        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
        ok = True
    except Exception:
        ok = False
    need("Redis", ok)
    env = {**os.environ, "SFACAL_DATA_DIR": str(tmp_path), "SFACAL_QUEUE_URL": REDIS_URL}
    env.pop("DATABASE_URL", None)
    subprocess.run([sys.executable, "-m", "sfacal.cli", "migrate"], env=env, check=True, capture_output=True)
    out = subprocess.run(
        [sys.executable, "-m", "sfacal.cli", "check"], env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "work queue (RedisHuey) reachable" in out.stdout
