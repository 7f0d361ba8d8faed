"""J4: keeping under JUST.SFA's request limits, shared by every worker process.

JUST.SFA counts API requests per tenant in two ways (運用管理 › API連携設定 › リクエスト実施数):
"in the last minute" (a sliding window) and "today" (reset at 0:00). :class:`RateLimiter` takes a
slot of the tenant's :class:`~sfacal.net.budget.Budget` before each request, and makes a caller
wait (or fail with :class:`~sfacal.core.errors.SourceRateLimitedError`) before a request would go
over.

The counts live in a :class:`~sfacal.net.budget.BudgetStore` (memory, locked files or Redis, see
:mod:`sfacal.net.budget`), so every process that talks to the same tenant shares them. The budget
and the stores are re-exported here under their old names.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from sfacal.core.errors import SourceRateLimitedError
from sfacal.net.budget import (
    Budget,
    BudgetStore,
    FileBudgetStore,
    MemoryBudgetStore,
    RedisBudgetStore,
    Usage,
    default_store,
)

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
