"""Graph's application-wide limit, kept by every worker process together.

Besides its per-mailbox limits (:mod:`.throttle`), Graph limits each application across all
tenants: 130,000 requests per 10 seconds (learn.microsoft.com/graph/throttling-limits, "global
limits"). A large tenant's back-fill run by several workers could pass that and meet a storm of
429s; so every request the connector sends first takes slots of the application's budget, in the
store JUST.SFA's budget uses (:mod:`sfacal.net.budget`: locked files on one machine, Redis across
machines), under the key ``graph-app:<client id>``. Guarantees:

* **Each Graph request counts once, each JSON batch item once**, the batch envelope not (Graph
  evaluates a batch's requests individually); a retry is a new request and takes a new slot.
* **Never over the limit in any window**, across processes: slots are stamped when taken and the
  store's window is the limit's window plus a slack (a tenth of the window, at most 1 s). To keep
  the store's work small, a process takes up to :data:`CHUNK` slots at a time and spends them
  within half the slack (:attr:`AppBudget.spend_within`), else lets them go: a slot spent ``d``
  seconds after its stamp reaches Graph ``d`` plus the network's delay later, which the slack
  covers.
* **Waiting, not failing**: :meth:`AppBudget.take` waits (asynchronously) until the slots fit; the
  wait is bounded by the window. A 429 that is Graph's global limit (code ``TooManyRequests``, not
  a mailbox's ``ApplicationThrottled``) makes every process hold off for its ``Retry-After``
  (:meth:`AppBudget.hold_off`).

The limit and window come from :class:`~.settings.GraphSettings` (``app_request_limit``,
``app_window_s``; the engine reads ``SFACAL_GRAPH_APP_LIMIT`` / ``SFACAL_GRAPH_APP_WINDOW_S`` so a
test or an operator can change them). :func:`app_budget` returns the process's one budget per
(client id, limit, window).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable

from sfacal.net.budget import Budget, BudgetStore, default_store

__all__ = ["CHUNK", "AppBudget", "app_budget"]

CHUNK = 200
"""Slots a process takes from the store at a time (at most a hundredth of the limit)."""


class AppBudget:
    """The request budget of one Graph application (client id), shared through ``store``."""

    def __init__(
        self,
        client_id: str,
        limit: int,
        window_s: float,
        store: BudgetStore | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.key = "graph-app:" + (client_id or "").strip().lower()
        slack = min(1.0, window_s / 10)
        self.budget = Budget(per_minute=limit, per_day=None, minute_seconds=window_s, slack_seconds=slack)
        self.spend_within = slack / 2
        self.store = store if store is not None else default_store()
        self.chunk = max(1, min(CHUNK, limit // 100))
        self._clock = clock
        self._lock = threading.Lock()
        self._spare = 0
        self._spare_until = 0.0

    def _try(self, n: int) -> float:
        """Take ``n`` slots now (0.0), or the seconds to wait (nothing taken)."""
        with self._lock:
            now = self._clock()
            if self._spare >= n and now < self._spare_until:
                self._spare -= n
                return 0.0
            ahead = min(max(n, self.chunk), self.budget.per_minute)
            wait = self.store.try_acquire(self.key, now, self.budget, ahead)
            if wait > 0 and ahead > n:
                ahead = n
                wait = self.store.try_acquire(self.key, now, self.budget, n)
            if wait > 0:
                return wait
            self._spare, self._spare_until = ahead - n, now + self.spend_within
            return 0.0

    async def take(self, n: int = 1, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> float:
        """Take ``n`` slots (at most the limit), waiting until they fit; the seconds waited."""
        n = max(1, min(n, self.budget.per_minute))
        waited = 0.0
        while True:
            wait = self._try(n)
            if wait <= 0:
                return waited
            step = wait + min(0.01, wait)  # a little past the edge, so the slots are free then
            await sleep(step)
            waited += step

    def hold_off(self, seconds: float | None) -> None:
        """Graph answered its global 429: no process takes a slot for ``seconds``."""
        delay = seconds if seconds and seconds > 0 else self.budget.minute_seconds / 4
        with self._lock:
            self._spare = 0
            self.store.block(self.key, self._clock() + delay)


_budgets: dict[tuple[str, int, float], AppBudget] = {}
_budgets_lock = threading.Lock()


def app_budget(client_id: str, limit: int, window_s: float) -> AppBudget:
    """The process's budget for (``client_id``, ``limit``, ``window_s``), in the default store."""
    key = ((client_id or "").strip().lower(), limit, window_s)
    with _budgets_lock:
        found = _budgets.get(key)
        if found is None:
            found = _budgets[key] = AppBudget(client_id, limit, window_s)
        return found
