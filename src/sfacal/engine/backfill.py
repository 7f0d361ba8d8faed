"""P4 back-fill: after an employee's target calendar changed, re-sync every planned schedule from
the first day of the previous month into the new calendar and remove the product's events from the
old one (nothing duplicated). Also the catch-up of an employee registered after schedules named
them.

Progress is visible on the employee (``backfill_total`` operations planned, ``backfill_done``
finished, updated as each chunk of a mailbox is recorded) and in the log (trigger ``backfill``).
Schedules starting before the window keep their events where they are until they change again (the
next change moves them: the planner deletes in the old place and creates in the new one).
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime
from typing import Any

from django.db.models import Count, F, Max, Q
from django.utils import timezone

from sfacal.core.planner import backfill as core_backfill
from sfacal.core.schedule import Schedule
from sfacal.directory.employees.models import Employee
from sfacal.engine.context import RecordKey, employee_settings, load_changes, load_context, load_employees
from sfacal.engine.mirrors import OpResult, load_mirror_values, mirror_row
from sfacal.engine.models import MirrorEvent, StoredSchedule, Trigger
from sfacal.engine.processor import run_items
from sfacal.engine.work import ItemState, PassSummary, WorkItem

__all__ = ["participant_index", "run_backfill", "run_catch_up"]

log = logging.getLogger(__name__)

BUSY_WAIT_S = 120.0


def _keys_for(employee: Employee, window: datetime) -> list[RecordKey]:
    """Stored planned schedules in the window naming the employee, and those mirrored for them."""
    keys: set[RecordKey] = set(
        MirrorEvent.objects.filter(company_id=employee.company_id, login_id=employee.login_id).values_list(
            "source", "record_id"
        )
    )
    keys |= participant_index(employee.company_id, window).get(employee.login_id, set())
    return sorted(keys)


INDEX_TTL_S = 120.0
"""How long a company's participant index may be reused while its stored schedules are unchanged."""

_index_lock = threading.Lock()
_index_cache: dict[tuple[int, datetime], tuple[tuple[Any, ...], float, dict[str, set[RecordKey]]]] = {}


def participant_index(company_id: int, window: datetime) -> dict[str, set[RecordKey]]:
    """Login ID -> the company's stored, not deleted schedules in the window naming it.

    Built by one scan of the stored payloads and kept while the company's stored schedules are
    unchanged (same count, same latest update) for at most :data:`INDEX_TTL_S`: registering many
    employees at once (an employee CSV, the push API) then costs one scan, not one per employee.
    """
    company_rows = StoredSchedule.objects.filter(company_id=company_id)
    marker = tuple(company_rows.aggregate(n=Count("id"), top=Max("id"), last=Max("updated_at")).values())
    key = (company_id, window)
    with _index_lock:
        cached = _index_cache.get(key)
        if cached is not None and cached[0] == marker and time.monotonic() - cached[1] < INDEX_TTL_S:
            return cached[2]
    index: dict[str, set[RecordKey]] = {}
    rows = company_rows.filter(deleted=False).filter(Q(starts_at__gte=window) | Q(starts_at__isnull=True))
    for source, record_id, payload in rows.values_list("source", "record_id", "payload").iterator(2000):
        participants = payload.get("participants") if isinstance(payload, dict) else None
        if isinstance(participants, list):
            for login in participants:
                if isinstance(login, str):
                    index.setdefault(login, set()).add((source, record_id))
    with _index_lock:
        if len(_index_cache) > 64:
            _index_cache.clear()
        _index_cache[key] = (marker, time.monotonic(), index)
    return index


def _run(employee_id: int, trigger: str, now: datetime | None = None) -> PassSummary:
    employee = Employee.objects.select_related("company").get(pk=employee_id)
    ctx = load_context(employee.company)
    now = now or timezone.now()
    settings = employee_settings(employee)
    if settings is None or not settings.is_on:  # nothing to move (turning sync on plans anew)
        if trigger == Trigger.BACKFILL:
            Employee.objects.filter(pk=employee_id).update(backfill_wanted_at=None)
        return PassSummary()
    window = ctx.window_start(now)
    keys = _keys_for(employee, window)
    changes, _ = load_changes(ctx, keys)
    load_employees(ctx, [employee.login_id])
    rows = [r for r in (mirror_row(m, ctx.slug) for m in load_mirror_values(ctx, keys)) if r is not None]
    schedules = [c for c in changes.values() if isinstance(c, Schedule)]
    # Which records the back-fill touches (the core decides: window, policy, old vs new place).
    plans = core_backfill(settings, schedules, rows, ctx.policy, ctx.masters, now=now)
    wanted = [(p.ref.source, p.ref.record_id) for p in plans if p.operations]
    total = sum(len(p.operations) + p.waiting for p in plans)  # with the deletes that follow (P4)
    tracked = trigger == Trigger.BACKFILL  # renews its "wanted" mark as it goes (see the sweep)

    def renewed() -> dict[str, Any]:
        return {"backfill_wanted_at": timezone.now()} if tracked else {}

    Employee.objects.filter(pk=employee_id).update(backfill_total=total, backfill_done=0, **renewed())
    only = frozenset({employee.login_id})

    def progress(results: list[OpResult]) -> None:
        mine = sum(1 for r in results if r.op.login_id == employee.login_id and r.status != "retry")
        if mine:
            Employee.objects.filter(pk=employee_id).update(
                backfill_done=F("backfill_done") + mine, **renewed()
            )

    summary = PassSummary()
    pending = wanted
    deferred = False  # sync is off for the company (C1/C4): the back-fill waits for it
    deadline = time.monotonic() + BUSY_WAIT_S
    while pending:
        part = run_items(
            ctx, [WorkItem(k, trigger, backfill=True, only=only) for k in pending], on_chunk=progress
        )
        summary.merge(part)
        deferred = deferred or any(s is ItemState.DEFERRED for s in part.states.values())
        pending = [k for k, s in part.states.items() if s is ItemState.RETRY]
        if not pending:
            break
        # Wait for the earliest retry time the pass gave (what the log lines say), not sooner.
        due = min((part.retry_at[k] for k in pending if k in part.retry_at), default=None)
        wait = max(1.0, (due - timezone.now()).total_seconds()) if due is not None else 1.0
        if time.monotonic() + wait > deadline:
            break  # the records' inbox entries (or the sweep) retry them at their time
        time.sleep(wait)
    if tracked and not pending and not deferred:  # done (a retry or a deferral keeps the mark)
        Employee.objects.filter(pk=employee_id).update(backfill_wanted_at=None)
    return summary


def run_backfill(employee_id: int, old_calendar: str = "", new_calendar: str = "") -> PassSummary:
    """P4: move the employee's events into the new calendar (see the module docstring)."""
    log.info("back-fill of employee %s: %r -> %r", employee_id, old_calendar, new_calendar)
    return _run(employee_id, Trigger.BACKFILL)


def run_catch_up(employee_id: int) -> PassSummary:
    """A newly registered employee gets the stored schedules in the window that named them."""
    return _run(employee_id, Trigger.BACKFILL)
