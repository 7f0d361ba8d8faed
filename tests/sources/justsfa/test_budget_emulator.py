"""J4 against the emulator: 500 polls and write-backs from four workers at a 60-per-minute budget
(time-compressed: a "minute" of 1.5 s) never exceed it, as the emulator's own counters show."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from sfacal.core.errors import SourceRateLimitedError
from sfacal.core.schedule import Schedule
from sfacal.core.twoway import ScheduleEdit
from sfacal.emulators.justsfa import EmulatorHandle, ScheduleSetup
from sfacal.sources.justsfa import (
    FileBudgetStore,
    JustSfaSettings,
    MemoryBudgetStore,
    RecordsClient,
    limiter_for,
    record_change,
    write_back_item,
)

from .conftest import TENANT, ClientFactory, config_for, schedule_record

MINUTE = 1.5
SLACK = 0.5  # absorbs a loaded machine's delay between taking a slot and the request arriving


def test_j4_500_polls_and_write_backs_never_exceed_60_per_minute(
    emu: EmulatorHandle, setup: ScheduleSetup, make_client: ClientFactory, tmp_path: Path
):
    emu.control.set_knobs(per_minute=60, per_day=100_000, minute_seconds=MINUTE)
    settings = JustSfaSettings.from_config(
        config_for(emu, setup, requests_per_minute=60, requests_per_day=100_000, minute_seconds=MINUTE),
        setup.api_key,
    )
    created = emu.control.create_record(
        TENANT, setup.table_id, schedule_record(setup, "訪問", ["yamada"]), fire_webhooks=False
    )
    record = emu.control.record(TENANT, setup.table_id, created["recordId"])["record"]
    schedule = record_change(settings, record, created["recordId"], received_at=emu.state.clock.now())
    assert isinstance(schedule, Schedule)

    store_dir = tmp_path / "budget"  # each worker opens the store itself, as separate processes would
    total, workers = 500, 4
    counter = iter(range(total))
    lock = threading.Lock()
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        limiter = limiter_for(settings, FileBudgetStore(store_dir), slack_seconds=SLACK)
        client: RecordsClient = make_client(settings, limiter, max_wait=None)
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                return
            try:
                if i % 2:
                    client.update_records(
                        [write_back_item(settings, schedule, ScheduleEdit(body=f"{n}-{i}"))]
                    )
                else:
                    client.list_records(panel=settings.panel, filter_name=settings.filter, limit=1)
            except BaseException as exc:
                errors.append(exc)
                return

    started = time.monotonic()
    threads = [threading.Thread(target=worker, args=(n,)) for n in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    elapsed = time.monotonic() - started
    assert not errors, errors
    counters = emu.control.counters(TENANT)
    assert counters["total"] == total
    assert counters["rejectedMinute"] == 0 and counters["rejectedDay"] == 0, counters
    assert counters["peakMinute"] <= 60, counters
    # 500 requests at 60 per window cannot finish in fewer than 8 full windows.
    assert elapsed >= 8 * MINUTE


def test_j4_service_429_is_typed_and_holds_everyone_off(
    emu: EmulatorHandle, setup: ScheduleSetup, settings: JustSfaSettings, make_client: ClientFactory
):
    emu.control.set_knobs(per_minute=3, minute_seconds=30)
    store = MemoryBudgetStore()
    first = make_client(settings, limiter_for(settings, store), max_wait=0)
    for _ in range(3):
        first.list_records(limit=1)
    with pytest.raises(SourceRateLimitedError) as err:
        first.list_records(limit=1)
    assert err.value.http_status == 429 and err.value.retry_after is not None and err.value.retry_after > 0
    other = make_client(settings, limiter_for(settings, store), max_wait=0)
    with pytest.raises(SourceRateLimitedError):
        other.list_records(limit=1)  # refused locally: no request sent
    assert emu.control.counters(TENANT)["rejectedMinute"] == 1
