"""J4 on several machines: worker processes that share only Redis (``SFACAL_QUEUE_URL``) take
JUST.SFA's request budget from one store -- the store the product picks itself (``default_store``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

from tests.scaleout.services import REDIS_URL, need, redis_available

ROOT = Path(__file__).resolve().parents[2]
PER_WINDOW, WINDOW, EACH = 6, 0.6, 6

WORKER = """
import json, sys, time
from sfacal.net.budget import Budget, RedisBudgetStore, default_store
from sfacal.sources.justsfa.ratelimit import RateLimiter
store = default_store()
assert isinstance(store, RedisBudgetStore), type(store)
budget = Budget(per_minute={per}, per_day=10_000, minute_seconds={window}, slack_seconds=0)
limiter = RateLimiter({key!r}, budget, store)
time.sleep(max(0.0, {start} - time.time()))
stamps = []
for _ in range({each}):
    limiter.acquire(max_wait=None)
    stamps.append(time.time())
print(json.dumps(stamps))
"""


def _most_in_window(stamps: list[float], window: float) -> int:
    stamps = sorted(stamps)
    best, low = 0, 0
    for high, t in enumerate(stamps):
        while t - stamps[low] >= window:
            low += 1
        best = max(best, high - low + 1)
    return best


def test_j4_justsfa_budget_is_shared_by_worker_processes_through_redis(tmp_path: Path) -> None:
    need("Redis", redis_available())
    env = {
        **os.environ,
        "SFACAL_QUEUE_URL": REDIS_URL,
        "SFACAL_DATA_DIR": str(tmp_path),
        "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}",
    }
    key = f"justsfa:test-{uuid.uuid4().hex[:8]}"
    code = WORKER.format(per=PER_WINDOW, window=WINDOW, key=key, start=time.time() + 2, each=EACH)
    procs = [
        subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE) for _ in range(3)
    ]
    stamps: list[float] = []
    for proc in procs:
        out, _ = proc.communicate(timeout=60)
        assert proc.returncode == 0
        stamps += json.loads(out.decode().strip().splitlines()[-1])
    assert len(stamps) == 3 * EACH
    # Stamps follow the slot by a few milliseconds: allow that much.
    assert _most_in_window(stamps, WINDOW - 0.03) <= PER_WINDOW
    assert max(stamps) - min(stamps) >= 2 * WINDOW - 0.05  # 18 at 6 per window: two windows waited
