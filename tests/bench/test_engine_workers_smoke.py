"""PB1-w at a tiny size: with worker processes on PostgreSQL it runs, prints its JSON line in the
documented shape, and every event is recorded as written -- never a timing assertion."""

from __future__ import annotations

import pytest

from tests.bench.runner import run_bench
from tests.scaleout.services import need, pg_available

KEYS = {
    "workers", "mailboxes", "events_per_mailbox", "events", "latency_ms", "seconds", "events_per_s",
    "events_per_s_one_worker", "speedup", "bound_speedup", "within_bound", "cpu_us_per_event",
    "statements_per_event", "created",
}  # fmt: skip


@pytest.mark.slow
def test_pb1w_benchmark_prints_one_json_line_and_every_event_is_written() -> None:
    need("PostgreSQL", pg_available())
    result = run_bench("engine_pass.py", "--workers", "2", "--mailboxes", "4", "--events-per-mailbox", "5")
    assert set(result) == KEYS
    assert (result["workers"], result["events"], result["bound_speedup"]) == (2, 20, 1.6)
    assert result["created"] == 20  # in both runs: nothing lost, nothing doubled
    assert result["within_bound"] == (result["speedup"] >= result["bound_speedup"])
    assert result["cpu_us_per_event"] > 0 and result["statements_per_event"] > 0
