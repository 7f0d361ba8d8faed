"""The push API fuzzed from its own OpenAPI document by schemathesis, against the served product
(``sfacal web`` over uvicorn, a SQLite file), with every check schemathesis has: no 5xx, status
codes, content types, headers and bodies as documented, schema-valid requests accepted and
schema-violating ones refused (issue 14, item 10), auth never ignored, deleted resources gone...

Bounded for CI (a fixed seed, a few dozen examples per operation: about a minute). The one
allowance is :mod:`tests.fuzz.schemathesis_hooks`: a schema-valid request refused for a rule
between fields or against the stored state, each named in the operation's description. Run it
longer by hand with ``SFACAL_FUZZ_EXAMPLES=500``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fuzz.served import Served, good_schedule

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = int(os.environ.get("SFACAL_FUZZ_EXAMPLES", "25"))


def test_push_api_served_has_no_schemathesis_finding_with_every_check(served: Served, tmp_path: Path) -> None:
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "run",
        served.api_url + "/openapi.json",
        "--checks",
        "all",
        "--max-examples",
        str(EXAMPLES),
        "--seed",
        "20261124",
        "--workers",
        "1",
        "--generation-database",
        "none",
        "--no-color",
        "--request-timeout",
        "60",
        "--header",
        f"Authorization: Bearer {served.token}",
        "--report",
        "junit",
        "--report-dir",
        str(tmp_path),
    ]
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": "tests.fuzz.schemathesis_hooks",
        "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'src'}",
    }
    done = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900, check=False
    )
    out = done.stdout + done.stderr
    summary = re.search(r"(\d+) generated, (\d+) passed", out)
    assert done.returncode == 0 and summary is not None, out[-6000:]
    generated, passed = int(summary[1]), int(summary[2])
    # 13 operations: schedules (put, delete, get, status, explain, batch), employees and masters.
    assert generated == passed and generated >= 13 * EXAMPLES, out[-3000:]
    assert "Selected: 13/13" in out and "Tested: 13" in out, out[-3000:]
    log = served.log()
    assert "Traceback" not in log and "Internal Server Error" not in log, log[-3000:]
    # The API still takes a valid change after all that.
    after = served.api("PUT", "/schedules/after-schemathesis", good_schedule())
    assert after.status_code == 201, after.text
    assert served.stored("push", "after-schemathesis") is not None
