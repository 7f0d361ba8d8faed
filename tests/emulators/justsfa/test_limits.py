"""Request limits (J4): a sliding per-minute window and a daily counter, with time compression."""

from __future__ import annotations

import time
from datetime import timedelta, timezone

from sfacal.emulators.justsfa import EmulatorHandle, ScheduleSetup
from sfacal.emulators.justsfa.limits import LimitSettings, RateLimiter

from .conftest import Api

JST = timezone(timedelta(hours=9))


def test_j4_per_minute_limit_answers_429_with_retry_after(emu: EmulatorHandle, api: Api) -> None:
    emu.control.set_knobs(per_minute=5, minute_seconds=1.0)
    statuses = [api.get().status_code for _ in range(5)]
    assert statuses == [200] * 5
    refused = api.get()
    assert refused.status_code == 429
    assert refused.json()["code"] == "TOO_MANY_REQUESTS"
    assert refused.headers["Retry-After"] == "1"
    counters = emu.control.counters("fsz2")
    assert counters["lastMinute"] == 5 and counters["rejectedMinute"] == 1 and counters["peakMinute"] == 5
    time.sleep(1.05)  # one compressed "minute" later the window has slid past the first requests
    assert api.get().status_code == 200
    assert emu.control.counters("fsz2")["today"] == 6  # refused requests are not counted


def test_j4_peak_minute_lets_a_test_prove_the_limit_was_never_exceeded(emu: EmulatorHandle, api: Api) -> None:
    emu.control.set_knobs(per_minute=1000, minute_seconds=0.5)
    for _ in range(12):
        api.get()
    counters = emu.control.counters("fsz2")
    assert counters["total"] == 12
    assert 1 <= counters["peakMinute"] <= 12


def _advance_to(emu: EmulatorHandle, period: float, into: float) -> None:
    """Move the emulated clock to ``into`` seconds after the start of the next ``period`` window."""
    now = emu.state.clock.time() + 9 * 3600  # JST seconds
    emu.control.advance_clock(period - now % period + into)


def test_j4_daily_limit_resets_at_local_midnight(emu: EmulatorHandle, api: Api) -> None:
    _advance_to(emu, 86400, 12 * 3600)  # noon JST: the requests below cannot straddle midnight
    emu.control.set_knobs(per_day=3)
    assert [api.get().status_code for _ in range(3)] == [200] * 3
    refused = api.get()
    assert refused.status_code == 429 and "daily" in refused.json()["message"]
    retry_after = int(refused.headers["Retry-After"])
    assert 12 * 3600 - 60 <= retry_after <= 12 * 3600
    counters = emu.control.counters("fsz2")
    assert counters["today"] == 3 and counters["rejectedDay"] == 1
    emu.control.advance_clock(retry_after + 1)
    assert api.get().status_code == 200
    assert emu.control.counters("fsz2")["today"] == 1


def test_j4_compressed_days(emu: EmulatorHandle, api: Api) -> None:
    emu.control.set_knobs(per_day=2, day_seconds=3600)
    _advance_to(emu, 3600, 60)
    assert [api.get().status_code for _ in range(3)] == [200, 200, 429]
    emu.control.advance_clock(3600)
    assert api.get().status_code == 200


def test_j4_limits_are_per_tenant_by_default_and_per_key_on_request(
    emu: EmulatorHandle, api: Api, setup: ScheduleSetup
) -> None:
    second_key = emu.control.create_api_key("fsz2", [setup.table_id], ["read"], title="second")["key"]
    emu.control.set_knobs(per_minute=2, minute_seconds=30)
    assert [api.get().status_code, api.get(key=second_key).status_code, api.get().status_code] == [
        200,
        200,
        429,
    ]
    emu.control.reset()
    s = emu.control.setup_schedule("fsz2", api_key=setup.api_key)
    second_key = emu.control.create_api_key("fsz2", [s.table_id], ["read"], title="second")["key"]
    emu.control.set_knobs(per_minute=2, minute_seconds=30, scope="key")
    api.url = emu.records_url("fsz2", s.table_id)
    assert [api.get().status_code for _ in range(2)] == [200, 200]
    assert api.get(key=second_key).status_code == 200
    assert api.get().status_code == 429


def test_unauthenticated_requests_do_not_count(emu: EmulatorHandle, api: Api) -> None:
    emu.control.set_knobs(per_minute=1, minute_seconds=30)
    assert api.get(key="not-a-valid-key").status_code == 401
    assert api.get().status_code == 200


def test_sliding_window_semantics() -> None:
    lim = RateLimiter(LimitSettings(per_minute=3, per_day=100))
    t0 = 1_000_000.0
    assert lim.hit("t", t0, JST) is None
    assert lim.hit("t", t0 + 20, JST) is None
    assert lim.hit("t", t0 + 40, JST) is None
    refused = lim.hit("t", t0 + 50, JST)
    assert refused is not None and refused.which == "minute" and refused.retry_after == 10
    assert lim.hit("t", t0 + 60, JST) is None  # the first request left the window
    assert lim.hit("t", t0 + 61, JST) is not None
    snap = lim.snapshot("t", t0 + 61, JST)
    assert snap["lastMinute"] == 3 and snap["peakMinute"] == 3 and snap["rejectedMinute"] == 2


def test_daily_counter_uses_the_tenant_calendar_day() -> None:
    lim = RateLimiter(LimitSettings(per_minute=1000, per_day=2))
    # 2025-12-30 23:59:00 JST and 2025-12-31 00:00:30 JST
    before = 1767106740.0
    assert lim.hit("t", before, JST) is None
    assert lim.hit("t", before + 1, JST) is None
    refused = lim.hit("t", before + 2, JST)
    assert refused is not None and refused.which == "day" and refused.retry_after == 58
    assert lim.hit("t", before + 90, JST) is None
