"""``/metrics`` scrape benchmark: how long one scrape takes on a busy instance.

    .venv/bin/python bench/metrics_scrape.py --companies 300 --pending 50000 --processes 40

What runs: a fresh SQLite database with C companies, P pending inbox entries spread over them, C
employees in a back-fill and W worker heartbeats; the metrics directory holds the files of N processes
(each a separate Python process that counted Graph and SFA requests, sync failures and pass
durations for every outcome, code and kind); then S scrapes of ``/metrics`` through Django's test
client (the view, the access check, the database gauges and the sum over the N processes' files).

It prints ONE JSON line: ``{"companies", "pending", "processes", "scrapes", "median_seconds",
"max_seconds", "bytes", "bound_seconds", "within_bound"}``. ``bound_seconds`` is 1.0: a tenth of
Prometheus' default scrape timeout (10 s), so a scrape never times out on such an instance even on
a loaded machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

BOUND_SECONDS = 1.0
COUNT = """
from sfacal.net import metrics
for outcome in metrics.GRAPH_OUTCOMES:
    metrics.count_graph_request(outcome, 3)
for outcome in metrics.SFA_OUTCOMES:
    metrics.count_sfa_request("justsfa", outcome)
    metrics.count_sfa_request("push_callback", outcome)
metrics.count_sync_failures(["access_denied", "mailbox_not_found", "throttled", "network_error"])
for kind in ("inbox", "batch", "reconcile", "twoway"):
    metrics.observe_pass(kind, 0.42)
"""


def run(args: argparse.Namespace) -> dict[str, Any]:
    import backfill  # the back-fill benchmark's Django setup, shared

    data_dir = Path(tempfile.mkdtemp(prefix="sfacal-metrics-bench-"))
    backfill._django(data_dir, None)
    from django.test import Client
    from django.utils import timezone

    from sfacal.directory.companies.models import Company
    from sfacal.directory.employees.models import Employee
    from sfacal.engine.models import InboxEntry, WorkerHeartbeat

    now = timezone.now()
    companies = Company.objects.bulk_create(
        [Company(slug=f"c{i:04d}", name=f"Company {i}") for i in range(args.companies)]
    )
    InboxEntry.objects.bulk_create(
        [
            InboxEntry(
                company=companies[i % len(companies)],
                source="push",
                record_id=str(i),
                trigger="push",
                content_hash="h",
            )
            for i in range(args.pending)
        ],
        batch_size=5000,
    )
    Employee.objects.bulk_create(
        [
            Employee(company=c, login_id="u", backfill_total=100, backfill_done=10, backfill_wanted_at=now)
            for c in companies
        ]
    )
    WorkerHeartbeat.objects.bulk_create(
        [
            WorkerHeartbeat(worker=f"w{i}", host="h", pid=i, started_at=now, seen_at=now)
            for i in range(args.workers)
        ]
    )
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}"}
    for _ in range(args.processes):
        subprocess.run([sys.executable, "-c", COUNT], env=env, check=True, timeout=120)
    client = Client()
    times: list[float] = []
    size = 0
    for _ in range(args.scrapes):
        t0 = time.perf_counter()
        response = client.get("/metrics", REMOTE_ADDR="127.0.0.1")
        times.append(time.perf_counter() - t0)
        assert response.status_code == 200
        size = len(response.content)
    median = statistics.median(times)
    return {
        "companies": args.companies,
        "pending": args.pending,
        "processes": args.processes,
        "scrapes": args.scrapes,
        "median_seconds": round(median, 4),
        "max_seconds": round(max(times), 4),
        "bytes": size,
        "bound_seconds": BOUND_SECONDS,
        "within_bound": median <= BOUND_SECONDS,
    }


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--companies", type=int, default=300)
    p.add_argument("--pending", type=int, default=50_000)
    p.add_argument("--processes", type=int, default=40)
    p.add_argument("--workers", type=int, default=40)
    p.add_argument("--scrapes", type=int, default=10)
    print(json.dumps(run(p.parse_args(argv))))


if __name__ == "__main__":
    main()
