"""J4: the request budget is never exceeded, and it is shared by threads and processes."""

from __future__ import annotations

import multiprocessing
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sfacal.core.errors import SourceRateLimitedError
from sfacal.sources.justsfa import Budget, FileBudgetStore, MemoryBudgetStore, RateLimiter, RedisBudgetStore


class FakeClock:
    def __init__(self, start: float = 1_000_000.0) -> None:
        self.now = start
        self.lock = threading.Lock()

    def __call__(self) -> float:
        with self.lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self.lock:
            self.now += seconds


def max_in_window(stamps: list[float], window: float) -> int:
    stamps = sorted(stamps)
    best, lo = 0, 0
    for hi, t in enumerate(stamps):
        while stamps[lo] <= t - window:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


# ------------------------------------------------------------------------------------------- redis


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    workdir = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    import redis

    client = redis.Redis(host="127.0.0.1", port=port)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                proc.kill()
                pytest.skip("redis-server did not start")
            time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait(5)


def make_store(kind: str, tmp_path: Path, redis_url: str | None = None) -> Any:
    if kind == "memory":
        return MemoryBudgetStore()
    if kind == "file":
        return FileBudgetStore(tmp_path / "budget")
    assert redis_url is not None
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    return RedisBudgetStore(redis_url)


@pytest.fixture(params=["memory", "file", "redis"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    url = request.getfixturevalue("redis_url") if request.param == "redis" else None
    return make_store(request.param, tmp_path, url)


def test_j4_per_minute_budget_is_shared_by_limiters(store: Any):
    """Four limiters (as four workers) share one budget; a fake clock makes it deterministic."""
    clock = FakeClock()
    budget = Budget(per_minute=10, per_day=1000, slack_seconds=0.0)
    limiters = [RateLimiter("justsfa:fsz2", budget, store, clock=clock, sleep=clock.sleep) for _ in range(4)]
    stamps: list[float] = []
    wanted = 60
    while len(stamps) < wanted:
        waits = []
        for limiter in limiters:
            wait = limiter.try_acquire()
            if wait == 0.0:
                stamps.append(clock())
            else:
                waits.append(wait)
        if len(waits) == len(limiters):
            clock.sleep(min(waits))
    stamps = stamps[:wanted]
    assert max_in_window(stamps, 60.0) <= 10
    assert stamps[-1] - stamps[0] >= 5 * 60.0  # 60 requests at 10 per minute


class GrantLog:
    """A store that notes the moment of every slot it grants (the ``now`` it decided on): what a
    thread notes after ``acquire`` returns can lag behind by however long it was descheduled."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.granted: list[float] = []
        self.lock = threading.Lock()

    def try_acquire(self, key: str, now: float, budget: Budget) -> float:
        wait = self.inner.try_acquire(key, now, budget)
        if wait == 0.0:
            with self.lock:
                self.granted.append(now)
        return float(wait)

    def block(self, key: str, until: float) -> None:
        self.inner.block(key, until)

    def usage(self, key: str, now: float, budget: Budget) -> Any:
        return self.inner.usage(key, now, budget)


def test_j4_threads_never_exceed_the_budget(store: Any):
    budget = Budget(per_minute=6, per_day=1000, minute_seconds=0.3, slack_seconds=0.0)
    log = GrantLog(store)

    def worker() -> None:
        limiter = RateLimiter("justsfa:threads", budget, log)
        for _ in range(6):
            limiter.acquire(max_wait=None)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(log.granted) == 18
    assert max_in_window(log.granted, 0.3 - 0.02) <= 6


def test_j4_day_budget_refuses_until_the_next_day(store: Any):
    clock = FakeClock(start=1_000_000.0)
    budget = Budget(per_minute=100, per_day=3, timezone="Asia/Tokyo")
    limiter = RateLimiter("justsfa:fsz2", budget, store, clock=clock, sleep=clock.sleep)
    for _ in range(3):
        limiter.acquire()
    with pytest.raises(SourceRateLimitedError) as err:
        limiter.acquire(max_wait=60)
    _, day_end = budget.day(clock())
    assert err.value.retry_after == pytest.approx(day_end - clock(), abs=1)
    assert limiter.usage().today == 3
    clock.now = day_end + 1
    limiter.acquire(max_wait=0)
    assert limiter.usage().today == 1


def test_j4_a_429_blocks_everyone_for_retry_after(store: Any):
    clock = FakeClock()
    budget = Budget(per_minute=100, per_day=1000)
    a = RateLimiter("justsfa:fsz2", budget, store, clock=clock, sleep=clock.sleep)
    b = RateLimiter("justsfa:fsz2", budget, store, clock=clock, sleep=clock.sleep)
    other = RateLimiter("justsfa:other", budget, store, clock=clock, sleep=clock.sleep)
    a.penalize(30)
    assert b.try_acquire() == pytest.approx(30)
    assert other.try_acquire() == 0.0
    with pytest.raises(SourceRateLimitedError):
        b.acquire(max_wait=5)
    b.acquire(max_wait=40)
    assert clock() >= 1_000_030.0


def test_j4_day_boundary_is_local_midnight():
    budget = Budget(per_minute=1, per_day=1, timezone="Asia/Tokyo")
    # 2025-12-30 23:59 JST
    key, end = budget.day(1767106740.0)
    assert key == "2025-12-30"
    assert end == 1767106800.0
    compressed = Budget(per_minute=1, per_day=1, day_seconds=100)
    assert compressed.day(250.0) == ("w2", 300.0)


def _process_worker(args: tuple[str, str, int, float, str]) -> list[float]:
    kind, location, count, window, key = args
    store = FileBudgetStore(location) if kind == "file" else RedisBudgetStore(location)
    log = GrantLog(store)  # the moments the store granted, not when this process got to note them
    limiter = RateLimiter(
        key, Budget(per_minute=8, per_day=10_000, minute_seconds=window, slack_seconds=0), log
    )
    for _ in range(count):
        limiter.acquire(max_wait=None)
    return log.granted


@pytest.mark.parametrize("kind", ["file", "redis"])
def test_j4_budget_is_shared_across_processes(kind: str, tmp_path: Path, request: pytest.FixtureRequest):
    location = str(tmp_path / "budget") if kind == "file" else request.getfixturevalue("redis_url")
    if kind == "redis":
        make_store("redis", tmp_path, location)
    window = 0.4
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(3) as pool:
        results = pool.map(_process_worker, [(kind, location, 8, window, "justsfa:shared")] * 3)
    stamps = [t for r in results for t in r]
    assert len(stamps) == 24
    assert max_in_window(stamps, window - 0.02) <= 8
    assert max(stamps) - min(stamps) >= 2 * window - 0.05  # 24 at 8 per window: at least 2 windows waited


def test_budget_takes_several_slots_at_once_or_none(store: Any):
    """The shared budget also serves Graph's application limit, where each item of a JSON batch
    counts: a store takes ``n`` slots at once or none and says when they fit; a budget without a
    daily limit is never refused by the day (memory, files and Redis alike)."""
    budget = Budget(per_minute=10, per_day=None, minute_seconds=10.0, slack_seconds=0.0)
    key, t = "graph-app:x", 1_000_000.0
    assert store.try_acquire(key, t, budget, 4) == 0.0
    assert store.try_acquire(key, t + 1, budget, 5) == 0.0
    assert store.try_acquire(key, t + 2, budget, 2) == pytest.approx(8.0)  # nothing taken
    assert store.try_acquire(key, t + 2, budget, 1) == 0.0  # exactly the 10
    assert store.try_acquire(key, t + 3, budget, 1) == pytest.approx(7.0)
    assert store.usage(key, t + 3, budget).last_minute == 10
    assert store.try_acquire(key, t + 10.5, budget, 5) == pytest.approx(0.5)  # the first 4 are gone
    assert store.try_acquire(key, t + 10.5, budget, 4) == 0.0
    with pytest.raises(ValueError):
        store.try_acquire(key, t + 30, budget, 11)
    # A per-day budget counts the slots, not the calls.
    daily = Budget(per_minute=10, per_day=12, minute_seconds=10.0, slack_seconds=0.0, day_seconds=1000.0)
    assert store.try_acquire("daily", t, daily, 10) == 0.0
    assert store.try_acquire("daily", t + 20, daily, 3) > 0.0
    assert store.try_acquire("daily", t + 20, daily, 2) == 0.0
