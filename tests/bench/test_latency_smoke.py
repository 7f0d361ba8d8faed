"""The served latency benchmark at a tiny size: it runs both stacks, prints its JSON line, every
change sent reaches a calendar once, and no webhook costs a JUST.SFA API call (no timing checks)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.bench.runner import run_bench, services_reachable

KEYS = {"rate", "seconds", "stack", "sent", "p50_ms", "p99_ms", "lost", "duplicates", "send_errors"}
PB5 = {"justsfa_api_calls", "justsfa_calls_per_webhook", "justsfa_max_calls_per_minute", "within_budget"}


def _check(result: dict[str, object], stack: str) -> None:
    assert KEYS | PB5 <= set(result)
    assert (result["stack"], result["rate"], result["seconds"]) == (stack, 4.0, 2.0)
    assert result["sent"] == 8 and result["send_errors"] == 0
    assert result["lost"] == 0 and result["duplicates"] == 0
    assert result["push"]["sent"] == result["webhook"]["sent"] == 4  # type: ignore[index]
    assert 0 < result["p50_ms"] <= result["p99_ms"]  # type: ignore[operator]
    assert result["justsfa_calls_per_webhook"] == 0  # J4: the webhook carries the whole record
    assert result["within_budget"] is True


def test_latency_benchmark_embedded_delivers_every_change_once(tmp_path: Path) -> None:
    result = run_bench(
        "latency.py",
        *("--rate", "4", "--seconds", "2", "--mailboxes", "2", "--drain", "30"),
        *("--data-dir", str(tmp_path / "run")),
    )
    _check(result, "embedded")


@pytest.mark.slow
def test_latency_benchmark_scaled_delivers_every_change_once(tmp_path: Path) -> None:
    services_reachable()
    result = run_bench(
        "latency.py",
        *("--stack", "scaled", "--rate", "4", "--seconds", "2", "--mailboxes", "2", "--drain", "30"),
        *("--data-dir", str(tmp_path / "run")),
    )
    _check(result, "scaled")
