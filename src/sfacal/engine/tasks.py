"""Huey tasks of the engine (registered by ``huey.contrib.djhuey`` from this module).

* :func:`dispatch` -- wired into :func:`sfacal.engine.inbox.set_dispatcher` at app start: after a
  change commits, one processing task per company and inbox part is queued (a
  ``queued:<company>[:<part>/<parts>]`` marker in the lease table keeps a burst of thousands of
  changes from queuing thousands of tasks), so webhook and push changes start at once (S10).
* :func:`process_company` -- the inbox pass of one part of a company's inbox
  (:func:`sfacal.engine.passes.process_inbox`; :mod:`sfacal.engine.parts`): with several worker
  processes, the parts of one company run in as many of them at once.
* :func:`tick` -- every minute: re-queues inbox entries left pending (older than
  :data:`STALE_PENDING_S`, or due after a backoff), applies changes kept while sync was off, runs
  each company's batch when its C8 interval has passed (with a poll of its JUST.SFA connections,
  :func:`run_polls`), reads calendar edits of two-way companies
  every :data:`TWOWAY_POLL_MINUTES` (:mod:`sfacal.engine.twoway`), reconciles every
  :data:`RECONCILE_MINUTES`, and starts again P4 back-fills whose worker died (not renewed for
  :data:`BACKFILL_STALE_S`).
  It also queues :func:`run_notices` (e-mail notices, :mod:`sfacal.engine.notices`) once a minute.
* :func:`purge_old_logs` -- daily: the L1 retention.

Company-wide jobs run once however many worker processes there are (each runs the periodic
scheduler): the minute sweep and the retention purge claim their period in the lease table
(:func:`_due`), and the batch, two-way reads and reconciliation of a company each hold a lease while
they run (:func:`sfacal.engine.leases.singleton`), so a second worker skips one that is running.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from django.db.models import Q
from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import HUEY, db_periodic_task, db_task

from sfacal.directory import sqlrows
from sfacal.directory.companies.models import CompanySettings, Direction
from sfacal.directory.employees.models import Employee
from sfacal.engine import (
    backfill,
    heartbeat,
    jobcontext,
    notices,
    passes,
    polls,
    reconcile,
    retention,
    sync,
    twoway,
)
from sfacal.engine.leases import LeaseSet, lease_seconds, singleton
from sfacal.engine.models import InboxEntry, InboxState, MailboxLease
from sfacal.engine.parts import part_count, part_of
from sfacal.net import metrics

logger = logging.getLogger(__name__)

STALE_PENDING_S = 30
BACKFILL_STALE_S = 300  # a running back-fill renews its mark at every recorded chunk
RECONCILE_MINUTES = 60
TWOWAY_POLL_MINUTES = 1
QUEUED_MARKER_S = 30.0
NOTICE_MINUTES = 1


@contextmanager
def _timed(kind: str) -> Iterator[None]:
    """Record the duration of one engine pass (``sfacal_pass_duration_seconds``), failed or not."""
    started = time.monotonic()
    try:
        yield
    finally:
        metrics.observe_pass(kind, time.monotonic() - started)


def _queued_key(company_id: int, part: int = 0, parts: int = 1) -> str:
    return f"queued:{company_id}" if parts <= 1 else f"queued:{company_id}:{part}/{parts}"


def dispatch(entry_id: int) -> None:
    """After a change committed: make sure a processing task for its company's part is queued.

    Runs after every acknowledged change, so it is plain SQL (:mod:`sfacal.directory.sqlrows`)
    and, while a task is queued and not started (a live marker), a read only: the task's pass
    starts after it drops the marker, so it sees this committed entry."""
    try:
        found = sqlrows.fetch(_entry_sql(), [entry_id])
        if not found:
            return
        company_id, slot = found[0]
        enqueue_company(int(company_id), parts=[part_of(int(slot), part_count())])
    except Exception:  # the change is stored; the sweeper picks it up
        logger.exception("queuing the processing of inbox entry %s failed", entry_id)


@cache
def _entry_sql() -> str:
    e = InboxEntry
    return (
        f"SELECT {sqlrows.column(e, 'company')}, {sqlrows.column(e, 'slot')} FROM {sqlrows.table(e)} "  # noqa: S608 - names from the model, values bound
        f"WHERE {sqlrows.column(e, 'id')} = %s"
    )


@cache
def _live_marker_sql() -> str:
    m = MailboxLease
    return (
        f"SELECT 1 FROM {sqlrows.table(m)} WHERE {sqlrows.column(m, 'key')} = %s "  # noqa: S608 - names from the model, values bound
        f"AND {sqlrows.column(m, 'expires_at')} >= %s"
    )


def _marker_live(key: str) -> bool:
    """Whether a task for ``key`` is queued and not started yet (its marker is there, not expired)."""
    now = sqlrows.param(MailboxLease, "expires_at", timezone.now())
    return bool(sqlrows.fetch(_live_marker_sql(), [key, now]))


def enqueue_company(company_id: int, *, force: bool = False, parts: Iterable[int] | None = None) -> bool:
    """Queue a processing task for each part (default: every part of the company's inbox) unless
    one is queued and not started yet; whether any was queued.

    The marker is taken only when it is free or expired (each taking has its own owner), so a
    burst of changes queues one task per part, not one per change."""
    count = part_count()
    queued = False
    for part in range(count) if parts is None else sorted(set(parts)):
        key = _queued_key(company_id, part, count)
        if not force and _marker_live(key):
            continue
        marker = LeaseSet(ttl=QUEUED_MARKER_S)
        if not marker.acquire([key]) and not force:
            continue
        process_company(company_id, part, count)
        queued = True
    return queued


def _schedule_retry(company_id: int, when: datetime, part: int | None = None, parts: int = 1) -> None:
    """Run the inbox pass of ``part`` of ``parts`` (``None``: every part) at ``when``."""
    eta = max(when, timezone.now() + timedelta(seconds=0.5))
    if part is not None:
        process_company.schedule((company_id, part, parts), eta=eta)
        return
    count = part_count()
    for each in range(count):
        process_company.schedule((company_id, each, count), eta=eta)


@db_task()
def process_company(company_id: int, part: int = 0, parts: int = 1) -> dict[str, int] | None:
    """The inbox pass of one part of a company's inbox (see :mod:`sfacal.engine.passes`)."""
    MailboxLease.objects.filter(key=_queued_key(company_id, part, parts)).delete()

    def again(cid: int, when: datetime) -> None:
        _schedule_retry(cid, when, part, parts)

    with _timed("inbox"):
        summary = passes.process_inbox(company_id, schedule_retry=again, part=part, parts=parts)
    return summary.as_dict() if summary is not None else None


@db_task()
def run_job(name: str, kwargs: dict[str, Any]) -> None:
    """Background work started by a settings change (see :mod:`sfacal.engine.sync`)."""
    if name == "replan_employee":
        sync.replan_employee(kwargs["employee_id"], kwargs.get("trigger", "manual"))
    elif name == "catch_up":
        backfill.run_catch_up(kwargs["employee_id"])
    elif name == "backfill":
        backfill.run_backfill(
            kwargs["employee_id"], kwargs.get("old_calendar", ""), kwargs.get("new_calendar", "")
        )
    elif name == "process_company":
        enqueue_company(kwargs["company_id"], force=True)
    elif name == "sync_now":
        from sfacal.directory.companies.models import Company
        from sfacal.directory.employees.models import Employee

        company = Company.objects.get(pk=kwargs["company_id"])
        employee_id = kwargs.get("employee_id")
        employee = Employee.objects.filter(pk=int(employee_id)).first() if employee_id else None
        sync.sync_now(company, employee)
    else:
        logger.warning("unknown engine job %r", name)


def enqueue_job(name: str, kwargs: dict[str, Any]) -> None:
    run_job(name, kwargs)


@db_task()
def run_batch(company_id: int) -> dict[str, int] | None:
    """C8, once at a time per company (None: another worker runs it now)."""
    with singleton(f"job:batch:{company_id}") as mine:
        if not mine:
            return None
        with _timed("batch"):
            return passes.run_batch(company_id).as_dict()


@db_task()
def run_polls(company_id: int) -> dict[str, int] | None:
    """C8 for JUST.SFA: poll each enabled connection once (:mod:`sfacal.engine.polls`), once at a
    time per company (None: another worker polls it now)."""
    with singleton(f"job:poll:{company_id}") as mine:
        if not mine:
            return None
        with _timed("poll"):
            return polls.poll_company(company_id)


@db_task()
def run_reconcile(company_id: int) -> dict[str, int] | None:
    with singleton(f"job:reconcile:{company_id}") as mine:
        if not mine:
            return None
        with _timed("reconcile"):
            report = reconcile.reconcile_company(company_id)
        return {"calendars": report.calendars, "lost": report.lost, "removed": report.removed}


@db_task()
def run_twoway(company_id: int) -> dict[str, int] | None:
    """Two-way (C5): calendar edits found through Graph delta, written back or restored (T1-T5)."""
    with singleton(f"job:twoway:{company_id}") as mine:
        if not mine:
            return None
        with _timed("twoway"):
            return twoway.poll_calendar_changes(company_id).as_dict()


def _due(key: str, minutes: float) -> bool:
    """Whether the periodic job ``key`` is due; claims it for ``minutes`` if so.

    Each claim has an owner of its own: a lease is re-acquirable by its owner, so a shared owner
    would find every job due at every tick.
    """
    claim = LeaseSet(owner=f"scheduler:{uuid.uuid4().hex}", ttl=max(1.0, minutes * 60 - 5))
    return bool(claim.acquire([key]))


def sweep(now: datetime | None = None) -> dict[str, int]:
    """One run of the minute job (see the module docstring); returns what it queued."""
    now = now or timezone.now()
    stale = now - timedelta(seconds=STALE_PENDING_S)
    queued = {"process": 0, "batch": 0, "poll": 0, "reconcile": 0, "twoway": 0, "backfill": 0}
    for cs in CompanySettings.objects.select_related("company"):
        cid = cs.company_id
        enabled = cs.sync_enabled and cs.write_to_calendar
        states = [InboxState.PENDING, InboxState.DEFERRED] if enabled else [InboxState.PENDING]
        waiting = InboxEntry.objects.filter(company_id=cid, state__in=states).filter(
            Q(next_attempt_at__lte=now)
            | Q(next_attempt_at__isnull=True, received_at__lte=stale)
            | Q(state=InboxState.DEFERRED)
        )
        if enabled or waiting.filter(state=InboxState.PENDING).exists():
            slots = set(waiting.values_list("slot", flat=True).distinct())
            if slots:
                count = part_count()
                enqueue_company(cid, force=True, parts={part_of(slot, count) for slot in slots})
                queued["process"] += 1
        if not enabled:
            continue
        if _due(f"batch:{cid}", cs.batch_interval_minutes or 5):
            run_batch(cid)
            queued["batch"] += 1
            if polls.has_polled_sources(cid):  # C8/S10: JUST.SFA changes whose webhook was lost
                run_polls(cid)
                queued["poll"] += 1
        if cs.direction == Direction.TWO_WAY and _due(f"twoway:{cid}", TWOWAY_POLL_MINUTES):
            run_twoway(cid)
            queued["twoway"] += 1
        if _due(f"reconcile:{cid}", RECONCILE_MINUTES):
            run_reconcile(cid)
            queued["reconcile"] += 1
        queued["backfill"] += _restart_backfills(cid, now)
    return queued


def _restart_backfills(company_id: int, now: datetime) -> int:
    """P4 back-fills wanted but not renewed for :data:`BACKFILL_STALE_S` (their worker died, or
    they were postponed): started again. The mark is renewed first, so one is queued once."""
    cutoff = now - timedelta(seconds=BACKFILL_STALE_S)
    stale = Employee.objects.filter(company_id=company_id, backfill_wanted_at__lte=cutoff)
    restarted = 0
    for employee_id in stale.values_list("pk", flat=True):
        # only if still stale: a concurrent sweep that restarted it has renewed the mark
        if Employee.objects.filter(pk=employee_id, backfill_wanted_at__lte=cutoff).update(
            backfill_wanted_at=now
        ):
            enqueue_job("backfill", {"employee_id": employee_id})
            restarted += 1
    return restarted


@db_periodic_task(crontab(minute="*"))
def tick() -> dict[str, int] | None:
    """The minute sweep, once per minute however many workers run the scheduler."""
    if not _due("sweep", 50 / 60):
        return None
    queued = sweep()
    # e-mail notices: one run per minute whatever the number of schedulers (the claim), and each
    # notice once whatever the number of runs (sfacal.engine.notices)
    if _due("notices", NOTICE_MINUTES):
        run_notices()
        queued["notices"] = 1
    return queued


@db_task()
def run_notices() -> dict[str, int]:
    """E-mail notices to company administrators (:mod:`sfacal.engine.notices`)."""
    return notices.send_notices()


@HUEY.on_startup()
def _after_restart() -> None:
    """A restarted worker picks up what a crashed one left, once that one's leases expired; and
    starts beating (``sfacal.engine.heartbeat``)."""
    heartbeat.start()
    try:
        sweep_soon.schedule(delay=lease_seconds() + 1)
    except Exception:
        logger.exception("scheduling the start-up sweep failed")


@HUEY.on_shutdown()
def _before_stop() -> None:
    heartbeat.stop()


@db_task()
def sweep_soon() -> dict[str, int]:
    return sweep(timezone.now() + timedelta(seconds=STALE_PENDING_S))


@db_periodic_task(crontab(minute="17", hour="3"))
def purge_old_logs() -> int | None:
    """L1: drop log lines older than each company's retention (default about 3 months); once a
    day however many workers run the scheduler."""
    if not _due("retention", 23 * 60):
        return None  # another worker purged today
    removed = retention.purge_expired_log_entries()
    if removed:
        logger.info("purged %d log entries past retention", removed)
    return removed


def install() -> None:
    """Wire the engine into the inbox and the settings hooks (called by ``EngineConfig.ready``)."""
    from sfacal.engine import inbox

    jobcontext.install()
    inbox.set_dispatcher(dispatch)
    inbox.set_retry_scheduler(_schedule_retry)
    sync.set_enqueue(enqueue_job)
