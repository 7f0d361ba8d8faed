"""Sync now (S10), and what the engine does when settings change (C1, C4, E1-E4, P1-P4).

* :func:`sync_now` -- an administrator's "sync now": re-plans the company's stored schedules (or
  one employee's) at once and answers a summary.
* :func:`on_employee_settings_changed` -- every path that saves an employee calls it (the
  screens, the bulk change behind the push API and the CSV import, the JUST.SFA user mapping); it
  is the one place of these rules: turning sync on records the moment (E4/S8); a new target
  calendar moves the events (P4, :func:`request_backfill`); new exclusions
  (P3) or a new mailbox (E2) are applied to the already mirrored schedules (S2); an employee who
  did not exist before gets the stored schedules that named them (back-fill window), so a
  participant registered late syncs.
* :func:`on_company_settings_changed` -- the company settings screen calls it after saving: C1/C4
  turned on applies the changes kept while they were off.

The background work they start is queued (or, without a queue, run) once the caller's
transaction commits, so a worker never sees settings that are not saved yet.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from sfacal.directory.companies.models import Company
from sfacal.directory.employees.models import Employee, SyncState
from sfacal.engine import backfill
from sfacal.engine.context import RecordKey, load_context
from sfacal.engine.models import InboxEntry, InboxState, MirrorEvent, MirrorState, StoredSchedule, Trigger
from sfacal.engine.processor import run_items
from sfacal.engine.work import PassSummary, WorkItem

__all__ = [
    "SyncSummary",
    "on_company_settings_changed",
    "on_employee_settings_changed",
    "replan_employee",
    "request_backfill",
    "set_enqueue",
    "sync_now",
    "sync_record",
]

log = logging.getLogger(__name__)

MIRROR_FIELDS = ("excluded_purposes", "excluded_business_names", "user_id_mode", "user_id")

# Set by sfacal.engine.tasks: (name, kwargs) -> enqueue a background job. Without a queue the work
# runs inline.
_enqueue: Callable[[str, dict[str, Any]], None] | None = None


def set_enqueue(fn: Callable[[str, dict[str, Any]], None] | None) -> None:
    global _enqueue
    _enqueue = fn


@dataclass(frozen=True)
class SyncSummary:
    """What "sync now" did (printed by ``sfacal sync``, shown by the screen)."""

    company: str
    employee: str | None
    records: int
    operations: int
    succeeded: int
    failed: int
    postponed: int
    busy: int
    deferred: int

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def __str__(self) -> str:
        who = f" employee={self.employee}" if self.employee else ""
        return (
            f"company={self.company}{who} records={self.records} operations={self.operations} "
            f"succeeded={self.succeeded} failed={self.failed} postponed={self.postponed} "
            f"busy={self.busy} deferred={self.deferred}"
        )


def _summary(company: Company, employee: Employee | None, total: PassSummary) -> SyncSummary:
    d = total.as_dict()
    return SyncSummary(
        company=company.slug,
        employee=employee.login_id if employee is not None else None,
        records=d["records"],
        operations=d["operations"],
        succeeded=d["succeeded"],
        failed=d["failed"],
        postponed=d["postponed"],
        busy=d["busy"],
        deferred=d["deferred"],
    )


def _employee_keys(employee: Employee) -> list[RecordKey]:
    """Records that name the employee or have a mirror row of theirs."""
    keys = set(
        MirrorEvent.objects.filter(company_id=employee.company_id, login_id=employee.login_id).values_list(
            "source", "record_id"
        )
    )
    for source, record_id, payload in StoredSchedule.objects.filter(
        company_id=employee.company_id, deleted=False
    ).values_list("source", "record_id", "payload"):
        participants = payload.get("participants") if isinstance(payload, dict) else None
        if isinstance(participants, list) and employee.login_id in participants:
            keys.add((source, record_id))
    return sorted(keys)


def sync_now(
    company: Company,
    employee: Employee | None = None,
    *,
    trigger: str = Trigger.MANUAL,
    wait_busy_s: float = 30.0,
) -> SyncSummary:
    """Re-plan every stored schedule of ``company`` (or those of ``employee``) now.

    Records whose mailbox another worker holds are tried again until ``wait_busy_s`` passed.
    Planning skips what is up to date, so only drift and failures cause calendar writes.
    """
    ctx = load_context(company)
    if employee is not None:
        keys = _employee_keys(employee)
        only: frozenset[str] | None = frozenset({employee.login_id})
    else:
        keys = sorted(
            set(
                StoredSchedule.objects.filter(company=company, deleted=False).values_list(
                    "source", "record_id"
                )
            )
            | set(
                MirrorEvent.objects.filter(company=company)
                .exclude(state__in=[MirrorState.REMOVED, MirrorState.LOST])
                .values_list("source", "record_id")
            )
        )
        only = None
    total = PassSummary()
    deadline = time.monotonic() + wait_busy_s
    pending = keys
    while True:
        summary = run_items(ctx, [WorkItem(k, trigger, only=only) for k in pending])
        busy = [k for k, s in summary.states.items() if s == "retry" and k not in summary.errors]
        summary.busy = 0
        total.merge(summary)
        if not busy or time.monotonic() >= deadline:
            total.busy = len(busy)
            break
        pending = busy
        time.sleep(0.5)
    total.records = len(keys)
    return _summary(company, employee, total)


def sync_record(company: Company, source: str, record_id: str, *, login_id: str | None = None) -> PassSummary:
    """Plan and execute one record now (a manual run; only ``login_id``'s calendar when given)."""
    ctx = load_context(company)
    only = frozenset({login_id}) if login_id is not None else None
    return run_items(ctx, [WorkItem((source, record_id), Trigger.MANUAL, only=only)])


def replan_employee(employee_id: int, trigger: str = Trigger.MANUAL) -> PassSummary:
    """Apply an employee's changed settings to every schedule that concerns them (S2, E2)."""
    employee = Employee.objects.select_related("company").get(pk=employee_id)
    ctx = load_context(employee.company)
    items = [WorkItem(k, trigger, only=frozenset({employee.login_id})) for k in _employee_keys(employee)]
    return run_items(ctx, items)


def _run(name: str, **kwargs: Any) -> None:
    """Start background work once the current transaction commits (at once outside one)."""
    transaction.on_commit(partial(_start, name, kwargs), robust=True)


def _start(name: str, kwargs: dict[str, Any]) -> None:
    if _enqueue is not None:
        _enqueue(name, kwargs)
        return
    if name == "replan_employee":
        replan_employee(kwargs["employee_id"], kwargs.get("trigger", Trigger.MANUAL))
    elif name == "catch_up":
        backfill.run_catch_up(kwargs["employee_id"])
    elif name == "backfill":
        backfill.run_backfill(
            kwargs["employee_id"], kwargs.get("old_calendar", ""), kwargs.get("new_calendar", "")
        )
    elif name == "process_company":
        from sfacal.engine.passes import process_inbox

        process_inbox(kwargs["company_id"])


def request_backfill(employee: Employee, old_calendar: str | None, new_calendar: str | None) -> None:
    """P4: start the back-fill (:func:`sfacal.engine.backfill.run_backfill`; in the background when
    a queue is wired), its progress reset and its "wanted" mark set for the sweep."""
    Employee.objects.filter(pk=employee.pk).update(
        backfill_total=0, backfill_done=0, backfill_wanted_at=timezone.now()
    )
    _run(
        "backfill",
        employee_id=employee.pk,
        old_calendar=old_calendar or "",
        new_calendar=new_calendar or "",
    )


def on_employee_settings_changed(
    employee: Employee,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None = None,
    *,
    now: datetime | None = None,
) -> list[str]:
    """Apply the engine's side of a saved settings change; returns what was started.

    ``before``/``after`` hold the settings fields (``state``, ``user_id_mode``, ``user_id``,
    ``calendar_name``, ``excluded_purposes``, ``excluded_business_names``; other keys are
    ignored, missing ones count as unchanged); an empty ``before`` means the employee was just
    created. ``after`` defaults to the employee's current (saved) values. ``now`` is the moment
    recorded as the sync start when sync was turned on (default: now).

    Returns the names of what was started: ``sync_start`` (E4), ``catch_up`` (a new employee),
    ``backfill`` (P4), ``replan`` (P3/S2, E2).
    """
    before = dict(before or {})
    now_values = {
        "state": employee.state,
        "user_id_mode": employee.user_id_mode,
        "user_id": employee.user_id,
        "calendar_name": employee.calendar_name,
        "excluded_purposes": list(employee.excluded_purposes or []),
        "excluded_business_names": list(employee.excluded_business_names or []),
    }
    after = {**now_values, **dict(after or {})}
    started: list[str] = []
    if after.get("state") == SyncState.ON and before.get("state") != SyncState.ON:
        moment = now or timezone.now()
        employee.sync_start = moment  # E4 / S8: only changes from now on are sent
        Employee.objects.filter(pk=employee.pk).update(sync_start=moment)
        started.append("sync_start")
    if after.get("state") != SyncState.ON:
        return started
    if not before:
        _run("catch_up", employee_id=employee.pk)
        started.append("catch_up")
        return started
    if before.get("state") == SyncState.ON:
        old_cal = (before.get("calendar_name") or "").strip()
        new_cal = (after.get("calendar_name") or "").strip()
        if "calendar_name" in before and old_cal != new_cal:
            request_backfill(employee, old_cal, new_cal)  # P4
            started.append("backfill")
            return started
        if any(_norm(before.get(f)) != _norm(after.get(f)) for f in MIRROR_FIELDS if f in before):
            _run("replan_employee", employee_id=employee.pk)
            started.append("replan")
    return started


def _norm(value: Any) -> Any:
    if isinstance(value, list | tuple | set | frozenset):
        return sorted(str(v) for v in value)
    return (value or "") if not isinstance(value, bool) else value


def on_calendar_service_changed(company: Company) -> int:
    """C2: the company's destination changed (Microsoft 365 <-> Google Calendar <-> CalDAV).

    The mirror rows name events of the previous service, which the new one does not have: they
    are removed, and every employee with sync on is re-planned (trigger "back-fill"), which creates
    each of their stored schedules in the new service (transaction ids stay deterministic, so
    switching back finds the events made before instead of doubling them). Events already written
    to the previous service stay there. Returns how many employees were re-planned."""
    with transaction.atomic():
        MirrorEvent.objects.filter(company=company).delete()
        employees = list(Employee.objects.filter(company=company, state=SyncState.ON))
        for employee in employees:
            _run("replan_employee", employee_id=employee.pk, trigger=Trigger.BACKFILL)
    log.info("calendar service of company %s changed: %d employees re-planned", company.pk, len(employees))
    return len(employees)


def on_company_settings_changed(company: Company) -> bool:
    """C1/C4 turned on: apply the changes kept while they were off. Returns whether work started."""
    ctx = load_context(company)
    if not (ctx.policy.sync_enabled and ctx.policy.write_enabled):
        return False
    waiting = InboxEntry.objects.filter(company=company).filter(
        Q(state=InboxState.DEFERRED) | Q(state=InboxState.PENDING)
    )
    if not waiting.exists():
        return False
    _run("process_company", company_id=company.pk)
    return True
