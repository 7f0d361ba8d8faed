"""Request limits: a sliding per-minute window and a daily counter, with a compressible clock.

JUST.SFA's administration screen shows, per tenant, "requests in the last minute" against a
limit (60 in the manual's screenshot) and "requests today" against a limit (20,000), the daily
count being reset at midnight. The emulator mirrors that: the minute window slides, the day
resets at local midnight of the tenant's time zone.

Time compression for tests: ``minute_seconds`` sets how many real seconds make one "minute"
window and ``day_seconds`` (when set) replaces the calendar day by fixed windows of that
length; ``Clock.advance`` jumps the emulated clock forward.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone


class Clock:
    """Wall clock with an adjustable offset (thread-safe)."""

    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()

    def time(self) -> float:
        with self._lock:
            return time.time() + self._offset

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.time(), tz=UTC)

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._offset += seconds

    def reset(self) -> None:
        with self._lock:
            self._offset = 0.0


@dataclass
class LimitSettings:
    per_minute: int = 60
    per_day: int = 20000
    minute_seconds: float = 60.0
    day_seconds: float | None = None
    scope: str = "tenant"  # "tenant" or "key"


@dataclass
class _Bucket:
    window: deque[float] = field(default_factory=deque)
    day_key: str = ""
    day_count: int = 0
    peak_minute: int = 0
    total: int = 0
    rejected_minute: int = 0
    rejected_day: int = 0


@dataclass(frozen=True)
class Rejection:
    which: str  # "minute" or "day"
    retry_after: int  # seconds (real seconds under time compression, at least 1)
    limit: int


class RateLimiter:
    def __init__(self, settings: LimitSettings) -> None:
        self.settings = settings
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def _day(self, now: float, tz: timezone) -> tuple[str, float]:
        """The current day's key and the emulated time at which it ends."""
        ds = self.settings.day_seconds
        if ds:
            idx = math.floor(now / ds)
            return f"w{idx}", (idx + 1) * ds
        local = datetime.fromtimestamp(now, tz=tz)
        midnight = (local + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        return local.date().isoformat(), midnight.timestamp()

    def _bucket(self, scope: str, now: float, tz: timezone) -> _Bucket:
        b = self._buckets.setdefault(scope, _Bucket())
        horizon = now - self.settings.minute_seconds
        while b.window and b.window[0] <= horizon:
            b.window.popleft()
        key, _ = self._day(now, tz)
        if b.day_key != key:
            b.day_key, b.day_count = key, 0
        return b

    def hit(self, scope: str, now: float, tz: timezone) -> Rejection | None:
        """Count one request, or refuse it (refused requests are not counted)."""
        s = self.settings
        with self._lock:
            b = self._bucket(scope, now, tz)
            if b.day_count >= s.per_day:
                b.rejected_day += 1
                _, ends = self._day(now, tz)
                return Rejection("day", max(1, math.ceil(ends - now)), s.per_day)
            if len(b.window) >= s.per_minute:
                b.rejected_minute += 1
                wait = b.window[0] + s.minute_seconds - now
                return Rejection("minute", max(1, math.ceil(wait)), s.per_minute)
            b.window.append(now)
            b.day_count += 1
            b.total += 1
            b.peak_minute = max(b.peak_minute, len(b.window))
            return None

    def snapshot(self, scope: str, now: float, tz: timezone) -> dict[str, object]:
        s = self.settings
        with self._lock:
            b = self._bucket(scope, now, tz)
            _, ends = self._day(now, tz)
            return {
                "scope": scope,
                "lastMinute": len(b.window),
                "minuteLimit": s.per_minute,
                "today": b.day_count,
                "dayLimit": s.per_day,
                "dayResetsAt": datetime.fromtimestamp(ends, tz=tz).isoformat(),
                "peakMinute": b.peak_minute,
                "total": b.total,
                "rejectedMinute": b.rejected_minute,
                "rejectedDay": b.rejected_day,
            }

    def scopes(self) -> list[str]:
        with self._lock:
            return sorted(self._buckets)

    def clear(self) -> None:
        with self._lock:
            self._buckets.clear()
