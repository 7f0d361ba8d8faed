"""Graph's limit per application, kept by all worker processes together (issue 16, item 7)."""

from __future__ import annotations

import asyncio
import multiprocessing
import threading
from typing import Any

import pytest

from sfacal.calendars.msgraph import GraphSettings, MicrosoftGraphCalendar
from sfacal.calendars.msgraph.app_budget import AppBudget
from sfacal.net.budget import MemoryBudgetStore

from .helpers import M365, create_writes


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


class CountingStore(MemoryBudgetStore):
    """The memory store, noting every grant: (time, slots)."""

    def __init__(self) -> None:
        super().__init__()
        self.grants: list[tuple[float, int]] = []
        self.lock = threading.Lock()

    def try_acquire(self, key: str, now: float, budget: Any, n: int = 1) -> float:
        wait = super().try_acquire(key, now, budget, n)
        if wait == 0.0:
            with self.lock:
                self.grants.append((now, n))
        return wait


def test_app_budget_takes_slots_ahead_and_never_passes_the_limit() -> None:
    """A process takes slots from the shared store in chunks (few store operations), spends them
    within half the store's slack or lets them go."""
    clock, store = Clock(), CountingStore()
    budget = AppBudget("App-1", 10_000, 10.0, store, clock=clock)
    assert budget.chunk == 100 and budget.key == "graph-app:app-1"

    async def run() -> float:
        waited = 0.0
        for _ in range(150):  # single requests and 20-item batches, as the connector sends them
            waited += await budget.take(1, clock.sleep)
            waited += await budget.take(20, clock.sleep)
            clock.now += 0.001
        return waited

    assert asyncio.run(run()) == 0.0
    assert sum(n for _, n in store.grants) >= 150 * 21
    assert len(store.grants) <= 150 * 21 / 50  # chunks of 100 (what is left of one may go unused)
    # Slots taken ahead and not spent in time are not used later.
    before = len(store.grants)
    assert budget.spend_within == 0.5
    clock.now += budget.spend_within + 0.01
    asyncio.run(budget.take(1, clock.sleep))
    assert len(store.grants) == before + 1


def test_app_budget_waits_for_the_window_and_holds_off_after_a_global_429() -> None:
    clock, store = Clock(), CountingStore()
    budget = AppBudget("app-2", 30, 2.0, store, clock=clock)
    assert budget.chunk == 1  # a small limit is taken exactly

    async def run() -> list[float]:
        return [await budget.take(20, clock.sleep) for _ in range(4)]

    waits = asyncio.run(run())
    assert waits[0] == 0.0 and all(w > 0 for w in waits[1:])
    times = [t for t, _ in store.grants]
    for t in times:  # never more than 30 slots in any window of 2 s (+0.2 s slack)
        assert sum(n for u, n in store.grants if t - 2.2 < u <= t) <= 30
    start = clock.now
    budget.hold_off(5.0)
    assert asyncio.run(budget.take(1, clock.sleep)) >= 5.0
    assert clock.now >= start + 5.0


def _worker(settings: GraphSettings, mailbox: str, prefix: str, n: int) -> list[str]:
    """One worker process: ``n`` creates into its own mailbox; the errors of those that failed."""

    async def main() -> list[str]:
        async with MicrosoftGraphCalendar.from_settings(settings) as cal:
            outcomes = await cal.apply(mailbox, create_writes(n, prefix))
        return [str(o.error) for o in outcomes if not o.ok]

    return asyncio.run(main())


@pytest.mark.slow
@pytest.mark.parametrize("store", ["files", "redis"])
def test_workers_together_stay_under_the_application_limit(
    m365: M365, store: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three worker processes write into three mailboxes of one application whose limit the
    emulator makes small (40 requests per 4 s, Graph's 130,000 per 10 s scaled down; a window of 4 s
    gives a slack of 0.4 s for a busy machine's delay between a slot and its request): the shared
    budget spaces their requests, so Graph never answers its global 429 and everything is written.
    With files (one machine) and with Redis (``SFACAL_QUEUE_URL``: workers on several machines)."""
    if store == "redis":
        from tests.scaleout.services import REDIS_URL, need, redis_available

        need("Redis", redis_available())
        monkeypatch.setenv("SFACAL_QUEUE_URL", REDIS_URL)  # the spawned workers' default store
    else:
        monkeypatch.delenv("SFACAL_QUEUE_URL", raising=False)
    settings = m365.secret_settings(app_request_limit=40, app_window_s=4.0, max_attempts=2)
    mailboxes = [m365.new_user() for _ in range(3)]
    m365.control.set_knobs(app_rate_limit=40, app_rate_window_s=4.0)
    before = m365.control.counters()
    try:
        with multiprocessing.get_context("spawn").Pool(3) as pool:
            results = pool.starmap(
                _worker, [(settings, mailbox, f"w{i}", 30) for i, mailbox in enumerate(mailboxes)]
            )
    finally:
        after = m365.control.counters()
        m365.control.set_knobs(app_rate_limit=130_000, app_rate_window_s=10.0)
    assert results == [[], [], []]
    assert after["throttled"] == before["throttled"]  # not one 429
    assert [len(m365.events(m)) for m in mailboxes] == [30, 30, 30]
    if store == "redis":
        import redis

        client = redis.Redis.from_url(REDIS_URL)
        assert client.exists(f"sfacal:ratelimit:graph-app:{settings.client_id.lower()}:window")
