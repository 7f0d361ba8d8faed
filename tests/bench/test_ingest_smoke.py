"""The ingest benchmark at a tiny size: it runs, prints its JSON line, and every acknowledged
change is in the database after the product is killed (no timing checks)."""

from __future__ import annotations

from pathlib import Path

from tests.bench.runner import run_bench

KEYS = {"acks", "acks_per_s", "p50_ack_ms", "p99_ack_ms", "lost", "refused", "errors", "met"}


def test_ingest_benchmark_acknowledges_durably(tmp_path: Path) -> None:
    result = run_bench(
        "ingest.py",
        *("--seconds", "2", "--concurrency", "4", "--mailboxes", "2"),
        *("--data-dir", str(tmp_path / "run")),
    )
    assert KEYS <= set(result)
    assert result["stack"] == "embedded" and result["concurrency"] == 4
    assert result["acks"] > 0 and result["push_acks"] > 0 and result["webhook_acks"] > 0
    assert result["acks"] == result["push_acks"] + result["webhook_acks"]
    assert result["errors"] == 0 and result["refused"] == {}
    assert result["lost"] == 0  # S11: acknowledged means stored, even after SIGKILL
    assert 0 < result["p50_ack_ms"] <= result["p99_ack_ms"]
