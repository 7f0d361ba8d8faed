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

**PB1-w, worker processes** (``--workers K``): the same schedules on PostgreSQL, worked off by K
worker processes that share the company's inbox parts (``sfacal.engine.parts``) -- once with one
process and once with K, each on a fresh copy of the same seeded database -- against in-memory
calendars that answer each JSON batch after ``--latency-ms`` (default 20)::

    .venv/bin/python bench/engine_pass.py --workers 2 --mailboxes 200 --events-per-mailbox 50

It prints ONE JSON line::

    {"workers", "mailboxes", "events_per_mailbox", "events", "latency_ms", "seconds",
     "events_per_s", "events_per_s_one_worker", "speedup", "bound_speedup", "within_bound",
     "cpu_us_per_event", "statements_per_event", "created"}

``bound_speedup`` is 0.8 x K (with 2 workers: 1.6 x the events per second of one);
``within_bound`` compares the measured ``speedup`` with it, in the same run. ``cpu_us_per_event``
(all worker processes' CPU over the events) and ``statements_per_event`` (the SQL statements the
workers sent, an ``executemany`` counting one) are those of the K-worker run; ``created`` counts
the mirror rows recorded as written (it must equal ``events``). ``--pg`` names the PostgreSQL server
(an administrator URL; default ``SFACAL_TEST_PG`` or ``postgresql://postgres@127.0.0.1:5432/postgres``).
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


def _workers_run(url: str, args: argparse.Namespace, k: int, company: int, tmp: Path) -> dict[str, Any]:
    """K worker processes on the database ``url`` until the inbox is empty: seconds and figures."""
    import os
    import subprocess

    env = {
        **os.environ,
        "DATABASE_URL": url,
        "SFACAL_DATA_DIR": str(tmp / f"data{k}"),
        "SFACAL_LOG_LEVEL": "ERROR",
        "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}",
    }
    env.pop("SFACAL_QUEUE_URL", None)
    (tmp / f"data{k}").mkdir()
    stats = tmp / f"stats{k}.jsonl"
    command = [sys.executable, "-m", "tests.scaleout.worker", "work", str(stats), "--quiet"]
    command += ["--company", str(company), "--latency-ms", str(args.latency_ms), "--seconds", "1800"]
    go = tmp / f"go{k}"
    command += ["--go", str(go)]
    procs = [subprocess.Popen(command, env=env) for _ in range(k)]
    while len(list(tmp.glob(f"go{k}.ready.*"))) < k:  # every worker set up (Django, connections)
        if any(proc.poll() is not None for proc in procs):
            raise RuntimeError("a worker process failed to start")
        time.sleep(0.02)
    start = time.time()
    go.touch()
    for proc in procs:
        if proc.wait() != 0:
            raise RuntimeError("a worker process failed")
    figures = [json.loads(line) for line in stats.read_text().splitlines() if line.strip()]
    return {
        "seconds": max(f["end"] for f in figures) - start,
        "cpu": sum(f["cpu"] for f in figures),
        "statements": sum(f["statements"] for f in figures),
    }


def run_workers(args: argparse.Namespace) -> dict[str, Any]:
    """PB1-w (see the module docstring)."""
    import os
    import subprocess
    import uuid

    import psycopg

    admin = args.pg or os.environ.get("SFACAL_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
    base = admin.rsplit("/", 1)[0]
    tag = uuid.uuid4().hex[:8]
    template = f"sfacal_pb1w_{tag}"
    tmp = Path(tempfile.mkdtemp(prefix="sfacal-pb1w-"))
    made: list[str] = []

    def create(name: str, like: str | None = None) -> str:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{like}"' if like else ""))
        made.append(name)
        return f"{base}/{name}"

    try:
        seeded = create(template)
        env = {**os.environ, "DATABASE_URL": seeded, "SFACAL_DATA_DIR": str(tmp / "seed")}
        env["PYTHONPATH"] = f"{ROOT / 'src'}{os.pathsep}{ROOT}"
        env.pop("SFACAL_QUEUE_URL", None)
        (tmp / "seed").mkdir()
        out = tmp / "company"
        seed = [sys.executable, "-m", "tests.scaleout.worker", "seed", str(out)]
        seed += ["--mailboxes", str(args.mailboxes), "--events", str(args.events_per_mailbox)]
        subprocess.run(seed, env=env, check=True)
        company = int(out.read_text())
        runs: dict[int, dict[str, Any]] = {}
        for k in sorted({1, args.workers}):
            url = create(f"{template}_{k}", like=template)
            runs[k] = _workers_run(url, args, k, company, tmp)
            with psycopg.connect(url) as conn:
                row = conn.execute(
                    "SELECT count(*) FROM engine_mirrorevent WHERE state = 'synced'"
                ).fetchone()
            runs[k]["created"] = int(row[0]) if row else 0
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            for name in reversed(made):
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        shutil.rmtree(tmp, ignore_errors=True)
    events = args.mailboxes * args.events_per_mailbox
    one, many = runs[1], runs[args.workers]
    rate_one, rate = events / one["seconds"], events / many["seconds"]
    speedup = rate / rate_one
    bound = 0.8 * args.workers
    return {
        "workers": args.workers,
        "mailboxes": args.mailboxes,
        "events_per_mailbox": args.events_per_mailbox,
        "events": events,
        "latency_ms": args.latency_ms,
        "seconds": round(many["seconds"], 3),
        "events_per_s": round(rate, 1),
        "events_per_s_one_worker": round(rate_one, 1),
        "speedup": round(speedup, 2),
        "bound_speedup": round(bound, 2),
        "within_bound": speedup >= bound,
        "cpu_us_per_event": round(many["cpu"] / events * 1e6, 1),
        "statements_per_event": round(many["statements"] / events, 2),
        "created": min(one["created"], many["created"]),
    }


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--mailboxes", type=int, default=200)
    p.add_argument("--events-per-mailbox", type=int, default=100)
    p.add_argument("--workers", type=int, default=0, help="PB1-w: K worker processes on PostgreSQL")
    p.add_argument("--latency-ms", type=float, default=20.0, help="PB1-w: calendar latency per JSON batch")
    p.add_argument("--pg", default="", help="PB1-w: PostgreSQL administrator URL")
    args = p.parse_args(argv)
    print(json.dumps(run_workers(args) if args.workers > 0 else run(args)))


if __name__ == "__main__":
    main()
