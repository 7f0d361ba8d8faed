"""Calendar feed benchmark: one employee's ICS feed built from N stored schedules, and a poll that
answers 304.

    .venv/bin/python bench/ics_feed.py --events 2000

What runs: the product with a fresh SQLite database in a temporary data directory, one company,
one employee with a feed, N planned schedules (one participant, the employee) accepted into the
inbox with ``sfacal.engine.inbox.accept``; then ``sfacal.engine.icsfeed.build_feed`` (the 200
answer's work) and ``feed_etag`` (all a matching ``If-None-Match`` costs: the 304 answer).

It prints ONE JSON line::

    {"events", "feed_events", "build_seconds", "build_us_per_event", "rebuild_seconds",
     "rebuild_us_per_event", "budget_us_per_event", "etag_ms", "budget_etag_ms", "within_budget",
     "body_bytes"}

``build``: the first build (every event serialised); ``rebuild``: the build after one schedule
changed (what a poll costs once the feed changed: every schedule planned again, one event
serialised, the others from the cache). Bounds compared in the same run: a rebuild costs at most
``BUDGET_US_PER_EVENT`` of wall time per event, and the 304 path at most ``BUDGET_ETAG_MS``
whatever N is (it reads no schedule).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

BUDGET_US_PER_EVENT = 1_000.0
BUDGET_ETAG_MS = 50.0


def _change_one(company: Any, login: str) -> None:
    """One schedule of the employee changes (its content), as a webhook would say."""
    from sfacal.core.stored import change_from_stored
    from sfacal.engine import inbox
    from sfacal.engine.models import StoredSchedule

    row = StoredSchedule.objects.filter(company=company).order_by("id").first()
    assert row is not None
    schedule = change_from_stored(row.payload)
    changed = schedule.replace(content="changed", updated_at=schedule.updated_at + timedelta(minutes=1))  # type: ignore[union-attr]
    inbox.accept(company, changed, trigger="push")


def run(args: argparse.Namespace) -> dict[str, Any]:
    import backfill  # the back-fill benchmark's Django setup, company and intake, shared

    data_dir = Path(tempfile.mkdtemp(prefix="sfacal-ics-feed-"))
    backfill._django(data_dir, None)
    from sfacal.directory.connections.models import IcsFeed
    from sfacal.directory.employees.models import Employee
    from sfacal.engine.icsfeed import build_feed, feed_etag

    people = backfill._people(1)
    company = backfill._company(people)
    backfill._accept(company, people, args.events)
    employee = Employee.objects.get(company=company, login_id=people[0][0])
    feed, _token = IcsFeed.issue(employee)
    feed = IcsFeed.objects.select_related("employee", "company").get(pk=feed.pk)
    t0 = time.perf_counter()
    body = build_feed(feed)
    build = time.perf_counter() - t0
    _change_one(company, people[0][0])
    t2 = time.perf_counter()
    again = build_feed(feed)
    rebuild = time.perf_counter() - t2
    assert again.events == body.events
    feed_etag(feed)  # warm
    t1 = time.perf_counter()
    rounds = 20
    for _ in range(rounds):
        feed_etag(feed)
    etag_ms = (time.perf_counter() - t1) / rounds * 1000
    per_event = rebuild / args.events * 1e6 if args.events else 0.0
    from django.db import connection

    connection.close()
    shutil.rmtree(data_dir, ignore_errors=True)
    return {
        "events": args.events,
        "feed_events": body.events,
        "build_seconds": round(build, 3),
        "build_us_per_event": round(build / max(1, args.events) * 1e6, 1),
        "rebuild_seconds": round(rebuild, 3),
        "rebuild_us_per_event": round(per_event, 1),
        "budget_us_per_event": BUDGET_US_PER_EVENT,
        "etag_ms": round(etag_ms, 2),
        "budget_etag_ms": BUDGET_ETAG_MS,
        "within_budget": per_event <= BUDGET_US_PER_EVENT and etag_ms <= BUDGET_ETAG_MS,
        "body_bytes": len(body.body),
    }


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--events", type=int, default=2000)
    print(json.dumps(run(p.parse_args(argv))))


if __name__ == "__main__":
    main()
