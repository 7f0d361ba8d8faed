"""The calendar feed benchmark at a tiny size: it runs, prints its JSON line, and every schedule is
in the feed."""

from __future__ import annotations

from tests.bench.runner import run_bench


def test_ics_feed_benchmark_prints_one_json_line_and_every_schedule_is_in_the_feed() -> None:
    result = run_bench("ics_feed.py", "--events", "30")
    assert (result["events"], result["feed_events"]) == (30, 30)
    assert result["build_seconds"] > 0 and result["etag_ms"] > 0 and result["body_bytes"] > 0
    assert result["within_budget"] == (
        result["rebuild_us_per_event"] <= result["budget_us_per_event"]
        and result["etag_ms"] <= result["budget_etag_ms"]
    )
