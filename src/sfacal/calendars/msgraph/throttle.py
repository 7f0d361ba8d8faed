"""Per-mailbox concurrency and retry timing (Graph's Outlook throttling rules).

**In flight.** Outlook lets one app have at most 4 requests running against one mailbox. A
request counts from the moment it is sent until its answer is read. A JSON batch runs up to 4 of
its Outlook requests at once, so a batch of ``k`` requests for one mailbox counts as
``min(k, 4)`` requests in flight for as long as the batch is open. :func:`mailbox_slots` returns
the process-wide counter for an (app, mailbox) pair: every client in the process -- whatever
thread or event loop it runs on -- takes slots from the same counter, so the whole process never
has more than 4 requests open against a mailbox. Waiters are served first come, first served.

**Backoff.** :func:`backoff_delay` obeys ``Retry-After`` when the service sends one (capped), and
otherwise waits a bounded exponential time with jitter (between half and all of
``base * 2**attempt``, at most ``cap``). Slots are released while waiting.

**Retry counts.** :func:`count_retries` adds up, for the whole process, the requests sent again
and the JSON batch items sent again (an item Graph throttled inside a batch goes out again on its
own, in a smaller batch); :func:`retry_counts` reads them (the back-fill benchmark reports them).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import threading
import weakref
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass

__all__ = ["MailboxSlots", "RetryCounts", "backoff_delay", "count_retries", "mailbox_slots", "retry_counts"]


@dataclass
class _Waiter:
    n: int
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[None]


class MailboxSlots:
    """A counting semaphore usable from any thread and any event loop (FIFO)."""

    def __init__(self, capacity: int, key: str = "") -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self.key = key
        self._used = 0
        self._lock = threading.Lock()
        self._waiters: deque[_Waiter] = deque()
        self.peak = 0

    @property
    def in_flight(self) -> int:
        return self._used

    def _grant_locked(self, n: int) -> None:
        self._used += n
        self.peak = max(self.peak, self._used)

    def _deliver(self, waiter: _Waiter) -> None:
        """Runs in the waiter's loop: hand the slots over, or give them back if it gave up."""
        if waiter.future.cancelled():
            self.release(waiter.n)
        elif not waiter.future.done():
            waiter.future.set_result(None)

    def _wake_locked(self) -> None:
        while self._waiters and self._used + self._waiters[0].n <= self.capacity:
            waiter = self._waiters.popleft()
            self._grant_locked(waiter.n)
            try:
                waiter.loop.call_soon_threadsafe(self._deliver, waiter)
            except RuntimeError:  # that loop is closed: nobody will take these slots
                self._used -= waiter.n

    async def acquire(self, n: int = 1) -> int:
        """Take ``n`` slots (at most the capacity); returns how many were taken."""
        n = max(1, min(n, self.capacity))
        with self._lock:
            if not self._waiters and self._used + n <= self.capacity:
                self._grant_locked(n)
                return n
            loop = asyncio.get_running_loop()
            waiter = _Waiter(n, loop, loop.create_future())
            self._waiters.append(waiter)
        try:
            await waiter.future
        except BaseException:
            with self._lock:
                queued = waiter in self._waiters
                if queued:
                    self._waiters.remove(waiter)
                    self._wake_locked()
            if not queued and waiter.future.done() and not waiter.future.cancelled():
                self.release(n)
            raise
        return n

    def release(self, n: int = 1) -> None:
        with self._lock:
            self._used = max(0, self._used - n)
            self._wake_locked()

    @contextlib.asynccontextmanager
    async def hold(self, n: int = 1) -> AsyncIterator[int]:
        taken = await self.acquire(n)
        try:
            yield taken
        finally:
            self.release(taken)


_REGISTRY: weakref.WeakValueDictionary[tuple[str, str], MailboxSlots] = weakref.WeakValueDictionary()
_REGISTRY_LOCK = threading.Lock()


def mailbox_slots(app_id: str, mailbox: str, capacity: int = 4) -> MailboxSlots:
    """The process-wide slot counter for (``app_id``, ``mailbox``) (case-insensitive)."""
    key = ((app_id or "").strip().lower(), (mailbox or "").strip().lower())
    with _REGISTRY_LOCK:
        slots = _REGISTRY.get(key)
        if slots is None or slots.capacity != capacity:
            slots = MailboxSlots(capacity, key=f"{key[0]}/{key[1]}")
            _REGISTRY[key] = slots
        return slots


def backoff_delay(
    attempt: int,
    retry_after: float | None = None,
    *,
    base: float = 0.5,
    cap: float = 60.0,
    rng: random.Random | None = None,
) -> float:
    """Seconds to wait before retry number ``attempt`` (0-based); see the module docstring."""
    rnd = rng or random
    if retry_after is not None:
        wait = min(max(0.0, retry_after), cap)
        return wait + rnd.uniform(0.0, min(0.25, wait * 0.1 + 0.01))
    ceiling = min(cap, base * (2 ** max(0, attempt)))
    return rnd.uniform(ceiling / 2, ceiling)


@dataclass(frozen=True)
class RetryCounts:
    """Sent again since the process started: whole requests, and items of JSON batches."""

    requests: int = 0
    batch_items: int = 0


_retried = {"requests": 0, "batch_items": 0}
_retried_lock = threading.Lock()


def count_retries(*, requests: int = 0, batch_items: int = 0) -> None:
    """Add to the process's retry counts (any thread)."""
    with _retried_lock:
        _retried["requests"] += requests
        _retried["batch_items"] += batch_items


def retry_counts() -> RetryCounts:
    """The process's retry counts so far."""
    with _retried_lock:
        return RetryCounts(**_retried)
