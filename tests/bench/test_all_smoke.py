"""``bench/all.py``: the goals table it writes into docs/performance.md, and a run of every
benchmark at smoke size through it (no timing checks)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.bench.runner import ROOT, run_bench, services_reachable


def _all() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_all", ROOT / "bench" / "all.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_all"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_the_goals_table_goes_under_the_title_then_is_replaced_row_by_row() -> None:
    m = _all()
    doc = "# Performance\n\nText.\n"
    first = m.rewrite(doc, [m.Row("PB3", "ingest", "≥ 500", "77 acks/s", False, "2026-12-06")])
    assert first.startswith("# Performance\n\n" + m.START)
    assert "| PB3 | ingest | ≥ 500 | 77 acks/s | **not met** | 2026-12-06 |" in first
    assert first.endswith("Text.\n")
    second = m.rewrite(
        first,
        [
            m.Row("PB1", "back-fill", "≤ 1.25", "1.20", True, "2026-12-07"),
            m.Row("PB1-50", "back-fill at 50 ms", "—", "2.4", None, "2026-12-07"),
        ],
    )
    table = second.split(m.START)[1].split(m.END)[0].strip().splitlines()
    assert [line.split("|")[1].strip() for line in table[2:]] == ["PB1", "PB1-50", "PB3"]  # PB3 kept
    assert "| met |" in table[2] and "| — |" in table[3]
    assert second.count(m.START) == 1 and second.endswith("Text.\n")


def test_span_is_one_value_or_a_range() -> None:
    m = _all()
    assert m.span([1.2, 1.2]) == "1.20"
    assert m.span([1.31, 1.2, 1.25]) == "1.20 – 1.31"
    assert m.span([180.4, 199.6], 0) == "180 – 200"


@pytest.mark.slow
def test_all_benchmarks_at_smoke_size_fill_the_table(tmp_path: Path) -> None:
    services_reachable()
    doc = tmp_path / "performance.md"
    doc.write_text("# Performance\n\nBelow.\n", encoding="utf-8")
    result = run_bench("all.py", "--smoke", "--doc", str(doc), timeout=600)
    ids = [row["id"] for row in result["rows"]]
    assert ids == ["PB1", "PB1-50", "PB4", "PB1-w", "PB2-embedded", "PB2-scaled", "PB2-knee", "PB5", "PB3"]
    text = doc.read_text(encoding="utf-8")
    for row_id in ids:
        assert f"| {row_id} |" in text
    pb5 = next(row for row in result["rows"] if row["id"] == "PB5")
    assert pb5["met"] is True  # no JUST.SFA call for any webhook, within the budget
    assert all(r["lost"] == 0 for r in result["runs"]["latency"] + result["runs"]["ingest"])
    assert all(w["created"] == w["events"] for w in result["runs"]["engine_workers"])
