"""The back-fill benchmark at a tiny size: it runs, prints its JSON line, and loses nothing."""

from __future__ import annotations

from pathlib import Path

from tests.bench.runner import run_bench

KEYS = {
    "mailboxes",
    "events_per_mailbox",
    "latency_ms",
    "seconds",
    "bound_seconds",
    "ratio",
    "requests",
    "throttled",
    "duplicates",
    "missing",
    "peak_rss_mb",
}


def test_backfill_benchmark_prints_one_json_line_without_duplicates_or_missing(tmp_path: Path) -> None:
    result = run_bench(
        "backfill.py",
        *("--mailboxes", "3", "--events-per-mailbox", "10", "--latency-ms", "5"),
        *("--data-dir", str(tmp_path / "run"), "--no-pin"),
    )
    assert KEYS <= set(result)
    assert (result["mailboxes"], result["events_per_mailbox"], result["latency_ms"]) == (3, 10, 5.0)
    assert result["duplicates"] == 0 and result["missing"] == 0
    assert result["bound_seconds"] == 3 * 0.005  # ceil(10 / 4) rounds of 5 ms
    assert result["requests"] >= 30 and result["throttled"] >= 0
    assert result["seconds"] > 0 and result["ratio"] > 0 and result["peak_rss_mb"] > 0


def test_backfill_benchmark_reports_retried_items_and_bounds_by_the_application_limit(tmp_path: Path) -> None:
    """With Graph's throttling inside batches on, the items sent again are reported; with a small
    application limit the bound includes it and the product keeps under it (no 429 left over)."""
    result = run_bench(
        "backfill.py",
        *("--mailboxes", "2", "--events-per-mailbox", "20", "--latency-ms", "5"),
        *("--batch-throttle", "--app-limit", "30", "--app-window", "1"),
        *("--data-dir", str(tmp_path / "run"), "--no-pin"),
    )
    assert {"items_retried", "requests_retried", "batch_throttle", "app_limit", "app_window_s"} <= set(result)
    assert result["duplicates"] == 0 and result["missing"] == 0
    # 40 creates at 30 per second: at least one window, then the last batch's latency.
    assert result["bound_seconds"] == 1 + 0.005
    # Each mailbox's batch of 20 had 4-6 items throttled; each was sent again, and nothing else
    # was throttled (the application's limit was kept).
    assert 8 <= result["items_retried"] == result["throttled"] <= 12


def test_backfill_benchmark_into_google_calendar_loses_nothing(tmp_path: Path) -> None:
    """``--service google``: the same back-fill into the Google emulator through the Google
    connector (batches of creates), every event once."""
    result = run_bench(
        "backfill.py",
        *("--service", "google", "--mailboxes", "3", "--events-per-mailbox", "30", "--latency-ms", "5"),
        *("--data-dir", str(tmp_path / "run"), "--no-pin"),
    )
    assert KEYS <= set(result) and result["service"] == "google"
    assert result["duplicates"] == 0 and result["missing"] == 0
    assert result["requests"] >= 90  # every create reached the emulator (batch parts count one each)
    assert result["bound_seconds"] == 0.005  # 30 creates per user fit one batch


def test_backfill_benchmark_into_caldav_loses_nothing_and_states_its_bound(tmp_path: Path) -> None:
    """``--service caldav``: the same back-fill into a Radicale server the benchmark starts, every
    event once; the bound is ceil(n_m / 4) creates of the measured latency per mailbox, and the
    one-at-a-time time (n creates of that latency) is reported beside it."""
    result = run_bench(
        "backfill.py",
        *("--service", "caldav", "--mailboxes", "2", "--events-per-mailbox", "6"),
        *("--data-dir", str(tmp_path / "run"), "--no-pin"),
    )
    assert KEYS <= set(result) and result["service"] == "caldav"
    assert result["duplicates"] == 0 and result["missing"] == 0
    latency = result["latency_ms"] / 1000
    assert latency > 0  # measured against the server, not given
    assert abs(result["bound_seconds"] - 2 * latency) < 0.002  # ceil(6 / 4) = 2 rounds
    assert abs(result["serial_seconds"] - 12 * latency) < 0.002
    assert result["requests"] is None and result["throttled"] is None  # Radicale counts nothing
    assert result["seconds"] > 0 and result["ratio"] > 0
