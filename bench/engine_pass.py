"""Engine pass benchmark: the engine's own CPU per event, with the calendar in memory.

    .venv/bin/python bench/engine_pass.py --mailboxes 200 --events-per-mailbox 100

The back-fill benchmark (``bench/backfill.py``) measures the whole path against the Graph emulator,
where two processes share the machine and its timing drifts with them. This one isolates what the
engine itself costs: the same M x N schedules accepted into the inbox, then the inbox pass
(load -> plan -> write ahead -> execute -> mirror rows and log lines, all on SQLite) against an
in-memory calendar (the engine tests' ``FakeCalendar``: no HTTP, no TLS, no latency). What it
measures is the part of the engine that stays when Graph is infinitely fast.

It prints ONE JSON line::

    {"mailboxes", "events_per_mailbox", "events", "seconds", "cpu_seconds", "cpu_us_per_event",
     "budget_us_per_event", "within_budget", "reference_loop_ms", "peak_rss_mb", "created"}

``budget_us_per_event`` is the engine's share of the back-fill goal (docs/performance.md: ratio 1.5
at 200 x 100 x 50 ms leaves each of the two processes about 90 microseconds of CPU per event, HTTP
included); ``within_budget`` compares the measured CPU per event with it, in the same run.
``created`` counts the events the in-memory calendar holds afterwards (it must equal ``events``).
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

BUDGET_US_PER_EVENT = 90.0


def run(args: argparse.Namespace) -> dict[str, Any]:
    import backfill  # the back-fill benchmark's Django setup, company and intake, shared

    data_dir = Path(tempfile.mkdtemp(prefix="sfacal-engine-pass-"))
    backfill._django(data_dir, None)
    from tests.engine.fakecal import FakeCalendar

    from sfacal.engine import calendar, loop, passes

    fake = FakeCalendar()
    calendar.set_service_factory(lambda settings: fake.service())
    loop.forget_services()
    people = backfill._people(args.mailboxes)
    company = backfill._company(people)
    for _, upn in people:
        fake.add_mailbox(upn)
    backfill._accept(company, people, args.events_per_mailbox)
    events = args.mailboxes * args.events_per_mailbox
    reference_ms = backfill._reference_ms()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    passes.process_inbox(company.pk)
    cpu, seconds = time.process_time() - cpu0, time.perf_counter() - wall0
    per_event = cpu / events * 1e6 if events else 0.0
    from django.db import connection

    connection.close()
    shutil.rmtree(data_dir, ignore_errors=True)
    return {
        "mailboxes": args.mailboxes,
        "events_per_mailbox": args.events_per_mailbox,
        "events": events,
        "seconds": round(seconds, 3),
        "cpu_seconds": round(cpu, 3),
        "cpu_us_per_event": round(per_event, 1),
        "budget_us_per_event": BUDGET_US_PER_EVENT,
        "within_budget": per_event <= BUDGET_US_PER_EVENT,
        "reference_loop_ms": reference_ms,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "created": len(fake.events),
    }


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--mailboxes", type=int, default=200)
    p.add_argument("--events-per-mailbox", type=int, default=100)
    print(json.dumps(run(p.parse_args(argv))))


if __name__ == "__main__":
    main()
