"""A worker process of the scale-out tests and the PB1-w benchmark, on the database in
``DATABASE_URL``, with an in-memory calendar that takes ``--latency-ms`` per JSON batch.

    python -m tests.scaleout.worker seed  OUT --mailboxes M --events N [--meetings K]
    python -m tests.scaleout.worker work  OUT --company C [--latency-ms 20] [--seconds 120]
    python -m tests.scaleout.worker jobs  OUT --company C --start-at EPOCH

``seed`` creates company ``scale`` with M employees (each with a mailbox of their own) and accepts
N schedules per employee plus K meetings of two employees each; it writes the company's id to
``OUT``. ``work`` does what a queue worker (``--threads``, 4 like ``sfacal worker``) does with the
``process_company`` tasks of one company: each thread runs the inbox pass of every part (:mod:`sfacal.engine.parts`), in an order of its own, until no entry of
the company is pending. Every calendar call (unless ``--quiet``, which writes only the process's CPU
seconds and database statements at the end) is appended to ``OUT`` as one JSON line as soon as it
returns (``pid``, ``mailbox``, ``start``, ``end``, and per write its kind, record and transaction
id), so what a killed worker wrote is known. ``jobs`` waits until ``--start-at``, then runs the
minute tick and the periodic batch's task as every worker's scheduler would, and writes what each
returned.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import json
import os
import random
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

ROOT = Path(__file__).resolve().parents[2]


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sfacal.web.settings")
    os.environ.setdefault("SFACAL_LOG_LEVEL", "ERROR")
    for path in (str(ROOT / "src"), str(ROOT)):
        if path not in sys.path:
            sys.path.insert(0, path)
    import django

    django.setup()


def _install(out: TextIO, latency: float, *, record: bool = True) -> Any:
    from sfacal.calendars.base import CreateEvent, EventWrite, UpdateEvent, WriteOutcome
    from sfacal.directory.employees.models import Employee
    from sfacal.engine import calendar, inbox, loop
    from tests.engine.fakecal import FakeCalendar, FakeService

    cal = FakeCalendar()
    for upn in Employee.objects.exclude(user_id="").values_list("user_id", flat=True):
        cal.add_mailbox(upn)
    pid = os.getpid()

    class Recording(FakeService):
        async def apply(self, mailbox: str, writes: Sequence[EventWrite]) -> list[WriteOutcome]:
            start = time.time()
            await asyncio.sleep(latency)
            done = [self.cal.write(mailbox, w) for w in writes]
            if not record:
                return done
            items = []
            for w in writes:
                tag = getattr(w, "tag", None)
                items.append(
                    {
                        "kind": type(w).__name__,
                        "record": tag.ref.record_id if tag is not None else None,
                        "tx": w.transaction_id if isinstance(w, CreateEvent) else None,
                        "update": isinstance(w, UpdateEvent),
                    }
                )
            out.write(
                json.dumps(
                    {"pid": pid, "mailbox": mailbox, "start": start, "end": time.time(), "writes": items}
                )
                + "\n"
            )
            out.flush()
            return done

    calendar.set_service_factory(lambda settings: Recording(cal))
    loop.forget_services()
    inbox.set_dispatcher(None)
    inbox.set_retry_scheduler(None)
    return cal


def _pending(company_id: int) -> int:
    from sfacal.engine.models import InboxEntry, InboxState

    return InboxEntry.objects.filter(company_id=company_id, state=InboxState.PENDING).count()


def work(args: argparse.Namespace) -> None:
    from django.db import connection

    from sfacal.engine import passes
    from sfacal.engine.parts import part_count

    deadline = time.monotonic() + args.seconds
    statements = 0
    lock = threading.Lock()

    def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        nonlocal statements
        with lock:
            statements += 1
        return execute(sql, params, many, context)

    def loop(seed: int) -> None:
        """What one queue thread does with the company's part tasks."""
        rnd = random.Random(seed)
        try:
            with connection.execute_wrapper(count):
                while time.monotonic() < deadline and _pending(args.company):
                    order = list(range(parts))
                    rnd.shuffle(order)
                    for part in order:
                        passes.process_inbox(args.company, part=part, parts=parts)
                    time.sleep(0.05)
        finally:
            connection.close()

    with open(args.out, "a", encoding="utf-8") as out:
        _install(out, args.latency_ms / 1000, record=not args.quiet)
        parts = part_count()
        if args.go:  # the benchmark starts every worker at once, once all are set up
            Path(f"{args.go}.ready.{os.getpid()}").touch()
            while not Path(args.go).exists():
                time.sleep(0.01)
        cpu0 = time.process_time()
        with concurrent.futures.ThreadPoolExecutor(args.threads) as pool:
            for done in [pool.submit(loop, os.getpid() * 100 + i) for i in range(args.threads)]:
                done.result()
        if args.quiet:  # the benchmark's figures of this process
            figures = {
                "pid": os.getpid(),
                "cpu": time.process_time() - cpu0,
                "statements": statements,
                "end": time.time(),
            }
            out.write(json.dumps(figures) + "\n")


def seed(args: argparse.Namespace) -> None:
    from datetime import UTC, datetime, timedelta

    from django.core.management import call_command

    from sfacal.core.schedule import Schedule, SourceRef, TimedSpan
    from sfacal.directory.companies.models import CompanySettings
    from sfacal.directory.companies.provisioning import ensure_company
    from sfacal.directory.employees.models import Employee
    from sfacal.engine import inbox

    call_command("migrate", interactive=False, verbosity=0)
    inbox.set_dispatcher(None)
    company = ensure_company("scale", "Scale")
    CompanySettings.objects.filter(company=company).update(
        sync_enabled=True, write_to_calendar=True, domain="scale.example.com"
    )
    since = datetime(2020, 1, 1, tzinfo=UTC)
    logins = [f"u{i:05d}" for i in range(args.mailboxes)]
    Employee.objects.bulk_create(
        Employee(
            company=company,
            login_id=login,
            name=login,
            state="on",
            user_id_mode="explicit",
            user_id=f"{login}@scale.example.com",
            sync_start=since,
        )
        for login in logins
    )
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    base = now + timedelta(days=1)

    def one(record: str, start: datetime, people: tuple[str, ...]) -> None:
        inbox.accept(
            company,
            Schedule(
                ref=SourceRef(company.slug, "push", record),
                kind="商談",
                status="予定",
                span=TimedSpan(start, start + timedelta(minutes=30)),
                updated_at=now,
                title="定期訪問",
                content=f"scale {record}",
                participants=people,
            ),
            trigger="push",
        )

    for m, login in enumerate(logins):
        for n in range(args.events):
            one(f"{m}-{n}", base + timedelta(hours=n), (login,))
    rnd = random.Random(7)
    for k in range(args.meetings):
        a, b = rnd.sample(logins, 2)
        one(f"meet-{k}", base + timedelta(days=30, hours=k), (a, b))
    Path(args.out).write_text(str(company.pk), encoding="utf-8")


def jobs(args: argparse.Namespace) -> None:
    from sfacal.engine import tasks

    with open(args.out, "a", encoding="utf-8") as out:
        _install(out, args.latency_ms / 1000)
        time.sleep(max(0.0, args.start_at - time.time()))
        ticked = tasks.tick.call_local()
        batch = tasks.run_batch.call_local(args.company)
        purged = tasks.purge_old_logs.call_local()
        out.write(json.dumps({"pid": os.getpid(), "tick": ticked, "batch": batch, "purge": purged}) + "\n")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["seed", "work", "jobs"])
    p.add_argument("out")
    p.add_argument("--company", type=int, default=0)
    p.add_argument("--mailboxes", type=int, default=10)
    p.add_argument("--events", type=int, default=10)
    p.add_argument("--meetings", type=int, default=0)
    p.add_argument("--latency-ms", type=float, default=0.0)
    p.add_argument("--seconds", type=float, default=120.0)
    p.add_argument("--start-at", type=float, default=0.0)
    p.add_argument("--threads", type=int, default=4, help="work: queue threads (sfacal worker's default: 4)")
    p.add_argument("--go", default="", help="work: start once this file exists (PATH.ready.PID: set up)")
    p.add_argument("--quiet", action="store_true", help="work: no call lines; CPU and statements at the end")
    args = p.parse_args(argv)
    _setup()
    {"seed": seed, "work": work, "jobs": jobs}[args.mode](args)


if __name__ == "__main__":
    main()
