"""Request budgets shared by every worker process: sliding windows counted in a common store.

A :class:`Budget` allows ``per_minute`` requests in any sliding window of ``minute_seconds`` (60 by
default; Graph's application limit uses 10) and, optionally, ``per_day`` per day. A
:class:`BudgetStore` keeps the log of the slots taken, updated atomically, so every process that
takes slots under the same key shares one budget:

* :class:`MemoryBudgetStore` -- one process (tests, one-off commands);
* :class:`FileBudgetStore` -- several processes on one machine (the default, SQLite deployment):
  one small JSON file per key under ``<data dir>/ratelimit``, updated under ``flock``;
* :class:`RedisBudgetStore` -- several machines (``SFACAL_QUEUE_URL=redis://...``): a sorted set and
  a day counter updated by one Lua script.

:func:`default_store` picks the right one. ``try_acquire`` takes ``n`` slots at once (a JSON batch
of Graph requests counts one per item) or none, and says how long to wait otherwise; ``block``
makes every process hold off (the service answered 429). Slots are stamped when they are taken;
the service counts the requests when they arrive, a little later. The window is therefore
``minute_seconds + slack_seconds`` wide, so a delay up to ``slack_seconds`` between taking a slot
and the request arriving never makes the service see more than the budget in any of its windows.

Users: JUST.SFA's records API (:mod:`sfacal.sources.justsfa.ratelimit`, J4) and Microsoft Graph's
application-wide limit (:mod:`sfacal.calendars.msgraph.app_budget`).
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
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from sfacal.core.schedule import DEFAULT_TIMEZONE, zone

__all__ = [
    "Budget",
    "BudgetStore",
    "FileBudgetStore",
    "MemoryBudgetStore",
    "RedisBudgetStore",
    "Usage",
    "default_store",
]


@dataclass(frozen=True)
class Budget:
    """Requests allowed per sliding window of ``minute_seconds`` and per day (``per_day`` None: no
    daily limit); ``minute_seconds``/``day_seconds`` compress time for tests against the emulators
    (``day_seconds`` None: the local calendar day in ``timezone``)."""

    per_minute: int
    per_day: int | None
    minute_seconds: float = 60.0
    day_seconds: float | None = None
    slack_seconds: float = 1.0
    timezone: str = DEFAULT_TIMEZONE

    def __post_init__(self) -> None:
        if self.per_minute < 1 or (self.per_day is not None and self.per_day < 1):
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
    """Atomic shared counters. ``try_acquire`` takes ``n`` slots (at most ``budget.per_minute``)
    and returns 0.0, or returns how many seconds to wait before they may be free (nothing taken)."""

    def try_acquire(self, key: str, now: float, budget: Budget, n: int = 1) -> float: ...

    def block(self, key: str, until: float) -> None:
        """Nobody may take a slot before ``until`` (the service answered 429)."""
        ...

    def usage(self, key: str, now: float, budget: Budget) -> Usage: ...


# ------------------------------------------------------------------------------------------------
# The algorithm, on a plain state dict (memory and file stores share it)


def _stamp(entry: Any) -> tuple[float, int]:
    """A log entry as (time, slots): one slot is stored as its time alone, several as [time, n]."""
    if isinstance(entry, list | tuple):
        return float(entry[0]), int(entry[1])
    return float(entry), 1


def _check_n(n: int, budget: Budget) -> None:
    if not 1 <= n <= budget.per_minute:
        raise ValueError(f"between 1 and {budget.per_minute} slots can be taken at once, not {n}")


def _decide(state: dict[str, Any], now: float, budget: Budget, n: int = 1) -> float:
    _check_n(n, budget)
    window = [e for e in state.get("window", []) if _stamp(e)[0] > now - budget.window]
    window.sort(key=lambda e: _stamp(e)[0])  # callers' clocks may differ slightly
    state["window"] = window
    day_key, day_end = budget.day(now)
    if state.get("day_key") != day_key:
        state["day_key"], state["day_count"] = day_key, 0
    blocked = float(state.get("blocked_until", 0.0))
    if blocked > now:
        return blocked - now
    if budget.per_day is not None and int(state["day_count"]) + n > budget.per_day:
        return max(day_end - now, 0.001)
    excess = sum(_stamp(e)[1] for e in window) + n - budget.per_minute
    for entry in window:  # the oldest slots free up first
        if excess <= 0:
            break
        t, count = _stamp(entry)
        excess -= count
        if excess <= 0:
            return max(t + budget.window - now, 0.001)
    window.append(now if n == 1 else [now, n])
    state["day_count"] = int(state["day_count"]) + n
    return 0.0


def _usage(state: dict[str, Any], now: float, budget: Budget) -> Usage:
    day_key, _ = budget.day(now)
    stamps = [_stamp(e) for e in state.get("window", [])]
    return Usage(
        last_minute=sum(count for t, count in stamps if t > now - budget.minute_seconds),
        today=int(state.get("day_count", 0)) if state.get("day_key") == day_key else 0,
        blocked_for=max(0.0, float(state.get("blocked_until", 0.0)) - now),
    )


class MemoryBudgetStore:
    """Counters in this process only."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._states: dict[str, dict[str, Any]] = {}

    def try_acquire(self, key: str, now: float, budget: Budget, n: int = 1) -> float:
        with self._lock:
            return _decide(self._states.setdefault(key, {}), now, budget, n)

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

    def try_acquire(self, key: str, now: float, budget: Budget, n: int = 1) -> float:
        with self._locked(key) as state:
            return _decide(state, now, budget, n)

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
local want = tonumber(ARGV[7])
local blocked = tonumber(redis.call('GET', bkey) or '0')
if blocked > now then return tostring(blocked - now) end
redis.call('ZREMRANGEBYSCORE', zkey, '-inf', now - window)
local day_used = tonumber(redis.call('GET', dkey) or '0')
if per_day >= 0 and day_used + want > per_day then return tostring(math.max(day_end - now, 0.001)) end
local entries = redis.call('ZRANGE', zkey, 0, -1, 'WITHSCORES')
local used = 0
for i = 1, #entries, 2 do
  used = used + (tonumber(string.match(entries[i], ':n(%d+)$')) or 1)
end
local excess = used + want - per_window
if excess > 0 then
  for i = 1, #entries, 2 do
    excess = excess - (tonumber(string.match(entries[i], ':n(%d+)$')) or 1)
    if excess <= 0 then return tostring(math.max(tonumber(entries[i + 1]) + window - now, 0.001)) end
  end
end
redis.call('ZADD', zkey, now, member)
redis.call('PEXPIRE', zkey, math.ceil(window * 1000) + 60000)
redis.call('INCRBY', dkey, want)
redis.call('PEXPIRE', dkey, math.ceil(math.max(day_end - now, 0) * 1000) + 86400000)
return '0'
"""
_SLOTS_SUFFIX = ":n"  # a member's slot count: "<time>:<random>:n<count>" (none: one slot)


def _member_slots(member: bytes | str) -> int:
    text = member.decode() if isinstance(member, bytes) else member
    _, sep, count = text.rpartition(_SLOTS_SUFFIX)
    return int(count) if sep and count.isdigit() else 1


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

    def try_acquire(self, key: str, now: float, budget: Budget, n: int = 1) -> float:
        _check_n(n, budget)
        day_key, day_end = budget.day(now)
        member = f"{now:.6f}:{uuid.uuid4().hex}{_SLOTS_SUFFIX}{n}"
        per_day = -1 if budget.per_day is None else budget.per_day
        args = [repr(now), repr(budget.window), budget.per_minute, per_day, repr(day_end), member, n]
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
        members = self._redis.zrangebyscore(zkey, f"({now - budget.minute_seconds}", "+inf")
        last = sum(_member_slots(m) for m in members)
        today = int(self._redis.get(dkey) or 0)
        blocked = float(self._redis.get(bkey) or 0.0)
        return Usage(last_minute=last, today=today, blocked_for=max(0.0, blocked - now))


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
