"""J4: keeping under JUST.SFA's request limits, shared by every worker process.

JUST.SFA counts API requests per tenant in two ways (運用管理 › API連携設定 › リクエスト実施数):
"in the last minute" (a sliding window) and "today" (reset at 0:00). :class:`RateLimiter` keeps a
sliding-window log of the product's own requests and a per-day counter, and makes a caller wait
(or fail with :class:`~sfacal.core.errors.SourceRateLimitedError`) before a request would go over.

The counts live in a :class:`BudgetStore`, updated atomically, so every process that talks to
the same tenant shares them:

* :class:`MemoryBudgetStore` -- one process (tests, one-off commands);
* :class:`FileBudgetStore` -- several processes on one machine (the default, SQLite deployment):
  one small JSON file per tenant under ``<data dir>/ratelimit``, updated under ``flock``;
* :class:`RedisBudgetStore` -- several machines (``SFACAL_QUEUE_URL=redis://...``): a sorted set and
  a day counter updated by one Lua script.

:func:`default_store` picks the right one. Requests of the product are stamped when a slot is
taken (just before sending); the service counts them when they arrive, a little later. The window
is therefore ``minute_seconds + slack_seconds`` wide, so network jitter up to ``slack_seconds``
never makes the service see more than the budget in any of its minutes.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import math
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from sfacal.core.errors import SourceRateLimitedError
from sfacal.core.schedule import DEFAULT_TIMEZONE, zone

__all__ = [
    "Budget",
    "BudgetStore",
    "FileBudgetStore",
    "MemoryBudgetStore",
    "RateLimiter",
    "RedisBudgetStore",
    "Usage",
    "default_store",
]

SOURCE_LABEL = "JUST.SFA"


@dataclass(frozen=True)
class Budget:
    """Requests allowed per (sliding) minute and per day; ``minute_seconds``/``day_seconds``
    compress time for tests against the emulator (``day_seconds`` None: the local calendar day
    in ``timezone``)."""

    per_minute: int
    per_day: int
    minute_seconds: float = 60.0
    day_seconds: float | None = None
    slack_seconds: float = 1.0
    timezone: str = DEFAULT_TIMEZONE

    def __post_init__(self) -> None:
        if self.per_minute < 1 or self.per_day < 1:
            raise ValueError("budgets must be at least 1")
        if self.minute_seconds <= 0 or self.slack_seconds < 0:
            raise ValueError("minute_seconds must be positive, slack_seconds not negative")

    @property
    def window(self) -> float:
        return self.minute_seconds + self.slack_seconds

    def day(self, now: float) -> tuple[str, float]:
        """The key of the day containing ``now`` and the time it ends."""
        if self.day_seconds:
            index = math.floor(now / self.day_seconds)
            return f"w{index}", (index + 1) * self.day_seconds
        local = datetime.fromtimestamp(now, tz=UTC).astimezone(zone(self.timezone))
        midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), local.tzinfo)
        return local.date().isoformat(), midnight.timestamp()


@dataclass(frozen=True)
class Usage:
    last_minute: int
    today: int
    blocked_for: float


class BudgetStore(Protocol):
    """Atomic shared counters. ``try_acquire`` takes one slot and returns 0.0, or returns how many
    seconds to wait before a slot may be free (nothing taken)."""

    def try_acquire(self, key: str, now: float, budget: Budget) -> float: ...

    def block(self, key: str, until: float) -> None:
        """Nobody may take a slot before ``until`` (the service answered 429)."""
        ...

    def usage(self, key: str, now: float, budget: Budget) -> Usage: ...


# ------------------------------------------------------------------------------------------------
# The algorithm, on a plain state dict (memory and file stores share it)


def _decide(state: dict[str, Any], now: float, budget: Budget) -> float:
    window: list[float] = [float(t) for t in state.get("window", []) if float(t) > now - budget.window]
    state["window"] = window
    day_key, day_end = budget.day(now)
    if state.get("day_key") != day_key:
        state["day_key"], state["day_count"] = day_key, 0
    blocked = float(state.get("blocked_until", 0.0))
    if blocked > now:
        return blocked - now
    if int(state["day_count"]) >= budget.per_day:
        return max(day_end - now, 0.001)
    if len(window) >= budget.per_minute:
        return max(window[-budget.per_minute] + budget.window - now, 0.001)
    window.append(now)
    state["day_count"] = int(state["day_count"]) + 1
    return 0.0


def _usage(state: dict[str, Any], now: float, budget: Budget) -> Usage:
    day_key, _ = budget.day(now)
    return Usage(
        last_minute=sum(1 for t in state.get("window", []) if t > now - budget.minute_seconds),
        today=int(state.get("day_count", 0)) if state.get("day_key") == day_key else 0,
        blocked_for=max(0.0, float(state.get("blocked_until", 0.0)) - now),
    )


class MemoryBudgetStore:
    """Counters in this process only."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._states: dict[str, dict[str, Any]] = {}

    def try_acquire(self, key: str, now: float, budget: Budget) -> float:
        with self._lock:
            state = self._states.setdefault(key, {})
            # keep the log sorted even if clocks of callers differ slightly
            wait = _decide(state, now, budget)
            state["window"] = sorted(state["window"])
            return wait

    def block(self, key: str, until: float) -> None:
        with self._lock:
            state = self._states.setdefault(key, {})
            state["blocked_until"] = max(float(state.get("blocked_until", 0.0)), until)

    def usage(self, key: str, now: float, budget: Budget) -> Usage:
        with self._lock:
            return _usage(dict(self._states.get(key, {})), now, budget)


class FileBudgetStore:
    """Counters in ``directory``, one JSON file per key, updated under an exclusive ``flock``:
    correct across the processes of one machine."""

    def __init__(self, directory: Path | str) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)

    def _path(self, key: str) -> Path:
        return self.directory / (hashlib.sha256(key.encode("utf-8")).hexdigest()[:32] + ".json")

    @contextlib.contextmanager
    def _locked(self, key: str) -> Iterator[dict[str, Any]]:
        fd = os.open(self._path(key), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            raw = b""
            while chunk := os.read(fd, 65536):
                raw += chunk
            try:
                state = json.loads(raw) if raw else {}
            except ValueError:
                state = {}  # a torn file from a crash: start over (errs on the side of one window)
            if not isinstance(state, dict):
                state = {}
            before = json.dumps(state, sort_keys=True)
            yield state
            after = json.dumps(state, sort_keys=True)
            if after != before:
                data = after.encode("utf-8")
                os.lseek(fd, 0, os.SEEK_SET)
                os.ftruncate(fd, 0)
                os.write(fd, data)
        finally:
            os.close(fd)  # releases the lock

    def try_acquire(self, key: str, now: float, budget: Budget) -> float:
        with self._locked(key) as state:
            wait = _decide(state, now, budget)
            state["window"] = sorted(state["window"])
            return wait

    def block(self, key: str, until: float) -> None:
        with self._locked(key) as state:
            state["blocked_until"] = max(float(state.get("blocked_until", 0.0)), until)

    def usage(self, key: str, now: float, budget: Budget) -> Usage:
        with self._locked(key) as state:
            return _usage(state, now, budget)


_REDIS_ACQUIRE = """
local zkey, dkey, bkey = KEYS[1], KEYS[2], KEYS[3]
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local per_window = tonumber(ARGV[3])
local per_day = tonumber(ARGV[4])
local day_end = tonumber(ARGV[5])
local member = ARGV[6]
local blocked = tonumber(redis.call('GET', bkey) or '0')
if blocked > now then return tostring(blocked - now) end
redis.call('ZREMRANGEBYSCORE', zkey, '-inf', now - window)
local used = tonumber(redis.call('GET', dkey) or '0')
if used >= per_day then return tostring(math.max(day_end - now, 0.001)) end
local n = redis.call('ZCARD', zkey)
if n >= per_window then
  local edge = redis.call('ZRANGE', zkey, n - per_window, n - per_window, 'WITHSCORES')
  return tostring(math.max(tonumber(edge[2]) + window - now, 0.001))
end
redis.call('ZADD', zkey, now, member)
redis.call('PEXPIRE', zkey, math.ceil(window * 1000) + 60000)
redis.call('INCR', dkey)
redis.call('PEXPIRE', dkey, math.ceil(math.max(day_end - now, 0) * 1000) + 86400000)
return '0'
"""


class RedisBudgetStore:
    """Counters in Redis (shared by every machine): a sorted set of request stamps per key, a
    counter per (key, day) and a block time, all changed by one atomic script."""

    def __init__(self, client_or_url: Any, prefix: str = "sfacal:ratelimit:") -> None:
        if isinstance(client_or_url, str):
            import redis

            client_or_url = redis.Redis.from_url(client_or_url)
        self._redis = client_or_url
        self._prefix = prefix
        self._acquire = self._redis.register_script(_REDIS_ACQUIRE)

    def _keys(self, key: str, day_key: str) -> list[str]:
        base = self._prefix + key
        return [base + ":window", f"{base}:day:{day_key}", base + ":blocked"]

    def try_acquire(self, key: str, now: float, budget: Budget) -> float:
        day_key, day_end = budget.day(now)
        member = f"{now:.6f}:{uuid.uuid4().hex}"
        args = [repr(now), repr(budget.window), budget.per_minute, budget.per_day, repr(day_end), member]
        result = self._acquire(keys=self._keys(key, day_key), args=args)
        return float(result.decode() if isinstance(result, bytes) else result)

    def block(self, key: str, until: float) -> None:
        bkey = self._prefix + key + ":blocked"
        current = self._redis.get(bkey)
        if current is None or float(current) < until:
            ttl = max(1, math.ceil(until - time.time()) + 60)
            self._redis.set(bkey, repr(until), ex=ttl)

    def usage(self, key: str, now: float, budget: Budget) -> Usage:
        day_key, _ = budget.day(now)
        zkey, dkey, bkey = self._keys(key, day_key)
        last = int(self._redis.zcount(zkey, f"({now - budget.minute_seconds}", "+inf"))
        today = int(self._redis.get(dkey) or 0)
        blocked = float(self._redis.get(bkey) or 0.0)
        return Usage(last_minute=last, today=today, blocked_for=max(0.0, blocked - now))


# ------------------------------------------------------------------------------------------------


class RateLimiter:
    """Takes a slot of ``budget`` in ``store`` under ``key`` before each request.

    ``clock`` (seconds, like :func:`time.time`) and ``sleep`` are injectable for tests.
    """

    def __init__(
        self,
        key: str,
        budget: Budget,
        store: BudgetStore,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.key = key
        self.budget = budget
        self.store = store
        self._clock = clock
        self._sleep = sleep

    def try_acquire(self) -> float:
        """Take a slot now (0.0), or return the seconds to wait (nothing taken)."""
        return self.store.try_acquire(self.key, self._clock(), self.budget)

    def acquire(self, max_wait: float | None = 30.0) -> None:
        """Take a slot, waiting as needed; raise :class:`SourceRateLimitedError` when the wait
        would exceed ``max_wait`` seconds (``None``: wait as long as needed)."""
        waited = 0.0
        while True:
            wait = self.try_acquire()
            if wait <= 0:
                return
            if max_wait is not None and waited + wait > max_wait:
                raise SourceRateLimitedError(
                    f"{self.key}: the request budget ({self.budget.per_minute}/min, "
                    f"{self.budget.per_day}/day) is used up; next slot in {wait:.1f} s",
                    retry_after=wait,
                    source=SOURCE_LABEL,
                )
            # Sleep a little past the edge so that the slot is free when we come back.
            step = wait + min(0.01, wait)
            self._sleep(step)
            waited += step

    def penalize(self, retry_after: float | None) -> None:
        """The service refused with 429: every process holds off for ``retry_after`` seconds."""
        delay = retry_after if retry_after and retry_after > 0 else self.budget.minute_seconds / 4
        self.store.block(self.key, self._clock() + delay)

    def usage(self) -> Usage:
        return self.store.usage(self.key, self._clock(), self.budget)


_default_store: BudgetStore | None = None
_default_lock = threading.Lock()


def default_store() -> BudgetStore:
    """Redis when ``SFACAL_QUEUE_URL`` names Redis, else files in ``<data dir>/ratelimit``."""
    global _default_store
    with _default_lock:
        if _default_store is None:
            url = os.environ.get("SFACAL_QUEUE_URL", "").strip()
            if url.startswith(("redis://", "rediss://", "unix://")):
                _default_store = RedisBudgetStore(url)
            else:
                from sfacal.config import data_dir

                _default_store = FileBudgetStore(data_dir() / "ratelimit")
        return _default_store
