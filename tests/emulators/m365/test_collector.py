"""The emulator's own process runs the cyclic garbage collector when quiet, not during bursts."""

from __future__ import annotations

import asyncio
import gc
import time

from sfacal.emulators.m365.collector import IdleCollector


def test_collects_once_after_activity_when_quiet_and_while_busy_only_after_the_interval() -> None:
    count = [0]
    collector = IdleCollector(lambda: count[0], quiet_s=0.01, max_interval_s=60.0)
    seen, last, dirty = collector.step(0, time.monotonic(), False)
    assert (collector.collections, dirty) == (0, False)  # nothing happened: nothing to collect
    count[0] = 5
    seen, last, dirty = collector.step(seen, last, dirty)
    assert (collector.collections, dirty) == (0, True)  # busy: wait for a quiet check
    seen, last, dirty = collector.step(seen, last, dirty)
    assert (collector.collections, dirty) == (1, False)  # quiet after activity: collected
    seen, last, dirty = collector.step(seen, last, dirty)
    assert collector.collections == 1  # still quiet, nothing new: not again
    busy = IdleCollector(lambda: count[0], quiet_s=0.01, max_interval_s=0.0)
    count[0] += 1
    busy.step(0, time.monotonic(), False)
    assert busy.collections == 1  # busy past the interval: collected anyway


def test_run_turns_the_automatic_collector_off_and_back_on() -> None:
    count = [0]
    collector = IdleCollector(lambda: count[0], quiet_s=0.01)
    assert gc.isenabled()

    async def scenario() -> bool:
        task = asyncio.create_task(collector.run())
        await asyncio.sleep(0.03)
        off = not gc.isenabled()
        count[0] += 1  # activity, then quiet: one collection
        await asyncio.sleep(0.05)
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass
        return off

    try:
        assert asyncio.run(scenario())
        assert gc.isenabled()
        assert collector.collections == 1
    finally:
        gc.unfreeze()
        gc.enable()
