"""Running a benchmark script the way a developer does, for the smoke tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_bench(script: str, *args: str, timeout: float = 180) -> dict[str, Any]:
    """Run ``bench/<script>`` with ``args`` on SQLite; its one JSON line, decoded."""
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}"}
    env.pop("DATABASE_URL", None)
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), *args],
        env=env,
        capture_output=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    lines = [x for x in done.stdout.decode().splitlines() if x.strip()]
    assert len(lines) == 1, lines
    result: dict[str, Any] = json.loads(lines[0])
    return result


def services_reachable() -> None:
    """Skip (fail in CI) unless PostgreSQL and Redis answer, for the scaled stack."""
    try:
        import psycopg
        import redis

        dsn = os.environ.get("SFACAL_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
        with psycopg.connect(dsn, connect_timeout=3):
            pass
        redis.Redis.from_url(os.environ.get("SFACAL_BENCH_REDIS", "redis://127.0.0.1:6379/13")).ping()
    except Exception as exc:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL and Redis are required in CI: {exc}")
        pytest.skip(f"PostgreSQL or Redis not reachable: {exc}")
