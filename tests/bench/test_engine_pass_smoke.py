"""The engine pass benchmark at a tiny size: it runs, prints its JSON line, and every event lands."""

from __future__ import annotations

from tests.bench.runner import run_bench


def test_engine_pass_benchmark_prints_one_json_line_and_creates_every_event() -> None:
    result = run_bench("engine_pass.py", "--mailboxes", "3", "--events-per-mailbox", "10")
    assert (result["mailboxes"], result["events_per_mailbox"], result["events"]) == (3, 10, 30)
    assert result["created"] == 30  # nothing lost, nothing doubled
    assert result["cpu_seconds"] > 0 and result["cpu_us_per_event"] > 0
    assert result["within_budget"] == (result["cpu_us_per_event"] <= result["budget_us_per_event"])
