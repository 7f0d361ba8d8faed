"""The engine pass benchmark at a tiny size: it runs, prints its JSON line, and every event lands."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_engine_pass_benchmark_prints_one_json_line_and_creates_every_event() -> None:
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}"}
    env.pop("DATABASE_URL", None)
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "engine_pass.py"),
            "--mailboxes",
            "3",
            "--events-per-mailbox",
            "10",
        ],
        env=env,
        capture_output=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    lines = [x for x in done.stdout.decode().splitlines() if x.strip()]
    assert len(lines) == 1, lines
    result = json.loads(lines[0])
    assert (result["mailboxes"], result["events_per_mailbox"], result["events"]) == (3, 10, 30)
    assert result["created"] == 30  # nothing lost, nothing doubled
    assert result["cpu_seconds"] > 0 and result["cpu_us_per_event"] > 0
    assert result["within_budget"] == (result["cpu_us_per_event"] <= result["budget_us_per_event"])
