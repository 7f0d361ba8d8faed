"""The inbox pass and the periodic batch of a company.

**Inbox pass** (:func:`process_inbox`): the worker that holds the lease of a part of the company's
inbox (:mod:`sfacal.engine.parts`; with one part, the ``company:<id>`` lease) takes every due inbox
entry of that part (pending, or deferred while sync was off), collapses them per
record (the latest stored state is planned, S11) and runs them (:func:`~.processor.run_items`).
Each entry then becomes ``done``, stays ``pending`` with ``next_attempt_at`` (throttling, an
outage, a busy mailbox: never failed for good, S11), ``deferred`` (C1/C4 off) or ``failed`` (the
stored record is unreadable; logged). Someone who wants the lease while it is held marks it dirty
and the holder runs once more before letting go (:mod:`sfacal.engine.leases`).

**Batch** (:func:`run_batch`, C8): re-plans the company's stored schedules from the first day of
the previous month on, plus every record that still has a live or failed mirror row, so anything
missed heals. Employees whose last execution failed for a reason a person must fix are left out
until their settings or the company's settings change (no log line every few minutes). A record
whose postponed writes wait for their retry time (a pending inbox entry due later) is left to the
inbox until then: its log line said when it is tried again, and the batch does not try it sooner.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import F, Q
from django.utils import timezone

from sfacal.directory.employees.models import Employee, LastResult, SyncState
from sfacal.engine.context import RecordKey, load_context
from sfacal.engine.leases import LeaseSet, mark_dirty
from sfacal.engine.models import InboxEntry, InboxState, MirrorEvent, MirrorState, StoredSchedule, Trigger
from sfacal.engine.parts import part_key, slot_range
from sfacal.engine.processor import run_items
from sfacal.engine.work import ItemState, PassSummary, WorkItem

__all__ = [
    "ENTRY_LIMIT",
    "RetryScheduler",
    "due_entries",
    "process_inbox",
    "run_batch",
    "settle_entries",
]

log = logging.getLogger(__name__)

ENTRY_LIMIT = 50_000
RetryScheduler = Callable[[int, datetime], None]


def due_entries(
    company_id: int, now: datetime, *, include_deferred: bool, part: int = 0, parts: int = 1
) -> Q:
    """The entries an inbox pass of part ``part`` of ``parts`` takes now."""
    states = [InboxState.PENDING, InboxState.DEFERRED] if include_deferred else [InboxState.PENDING]
    due = Q(company_id=company_id, state__in=states) & (
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    )
    if parts > 1:
        low, high = slot_range(part, parts)
        due &= Q(slot__gte=low, slot__lt=high)
    return due


def settle_entries(entries: dict[RecordKey, list[int]], summary: PassSummary, now: datetime) -> None:
    """Store what the pass means for each inbox entry."""
    groups: dict[ItemState, list[int]] = {}
    for key, ids in entries.items():
        state = summary.states.get(key, ItemState.RETRY)
        if state is ItemState.RETRY or state is ItemState.BROKEN:  # per record: keeps its reason
            outcome: dict[str, Any] = (
                {
                    "state": InboxState.PENDING,
                    "next_attempt_at": summary.retry_at.get(key, now + timedelta(seconds=5)),
                }
                if state is ItemState.RETRY
                else {"state": InboxState.FAILED, "processed_at": now}
            )
            InboxEntry.objects.filter(pk__in=ids).update(
                attempts=F("attempts") + 1, error=summary.errors.get(key, "")[:2000], **outcome
            )
            continue
        groups.setdefault(state, []).extend(ids)
    for state, ids in groups.items():
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            if state is ItemState.DONE:
                _mark_done(chunk, now)
            else:  # DEFERRED
                InboxEntry.objects.filter(pk__in=chunk).update(
                    state=InboxState.DEFERRED, next_attempt_at=None
                )


def _mark_done(ids: list[int], now: datetime) -> None:
    """``state=done, attempts+1, processed_at=now`` for ``ids`` (one plain ``UPDATE``: a pass
    settles thousands of entries, and the ORM's per-value lookup preparation adds up)."""
    q = connection.ops.quote_name
    table = q(InboxEntry._meta.db_table)
    marks = ", ".join(["%s"] * len(ids))
    sql = (
        f"UPDATE {table} SET {q('state')} = %s, {q('attempts')} = {q('attempts')} + 1, "  # noqa: S608
        f"{q('processed_at')} = %s, {q('next_attempt_at')} = NULL, {q('error')} = '' "
        f"WHERE {q('id')} IN ({marks})"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [InboxState.DONE.value, connection.ops.adapt_datetimefield_value(now), *ids])


def _one_pass(
    company_id: int, leases: LeaseSet, limit: int, part: int, parts: int
) -> tuple[PassSummary, int]:
    ctx = load_context(company_id)
    now = timezone.now()
    enabled = ctx.policy.sync_enabled and ctx.policy.write_enabled
    due = (
        InboxEntry.objects.filter(
            due_entries(company_id, now, include_deferred=enabled, part=part, parts=parts)
        )
        .order_by("id")
        .values_list("id", "source", "record_id", "trigger", "state")[:limit]
    )
    # Plain columns (no value needs converting), read without building a row object per entry.
    sql, params = due.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    entries: dict[RecordKey, list[int]] = {}
    triggers: dict[RecordKey, str] = {}
    names: dict[str, str] = {}  # one text object per source / trigger name, not one per row
    for entry_id, source, record_id, trigger, state in rows:
        key = (names.setdefault(source, source), record_id)
        entries.setdefault(key, []).append(entry_id)
        triggers[key] = names.setdefault(trigger, trigger)  # the latest entry's trigger names the lines
        del state
    count = len(rows)
    del rows  # large passes: the rows are not needed while the records are worked
    if not entries:
        return PassSummary(), 0
    if not enabled:
        summary = PassSummary(states=dict.fromkeys(entries, ItemState.DEFERRED))
    else:
        items = [WorkItem(key, triggers[key]) for key in entries]
        summary = run_items(ctx, items, leases=leases, now=now)
    settle_entries(entries, summary, timezone.now())
    return summary, count


def process_inbox(
    company_id: int,
    *,
    limit: int = ENTRY_LIMIT,
    schedule_retry: RetryScheduler | None = None,
    part: int = 0,
    parts: int = 1,
) -> PassSummary | None:
    """Work off the due inbox entries of part ``part`` of ``parts`` of the company (see the module
    docstring; one part, the default, is the whole inbox).

    Returns ``None`` when another worker holds the part's lease (it was asked to run once
    more). ``schedule_retry(company_id, when)`` is called for the earliest postponed entry, and
    for a lease holder that may have died (so its work is picked up when its lease expires).
    """
    key = part_key(company_id, part, parts)
    leases = LeaseSet()
    total = PassSummary()
    for _ in range(3):
        if leases.acquire([key]):
            break
        held, expires = mark_dirty(key)
        if held:
            if expires is not None and schedule_retry is not None:
                schedule_retry(company_id, expires + timedelta(seconds=1))
            return None
    else:
        return None
    try:
        while True:
            summary, count = _one_pass(company_id, leases, limit, part, parts)
            total.merge(summary)
            if count >= limit:
                continue
            if leases.release_if_clean(key):
                break
    finally:
        leases.release()
    if total.retry_at and schedule_retry is not None:
        schedule_retry(company_id, min(total.retry_at.values()))
    return total


def _failing_logins(company_id: int) -> set[str]:
    """Employees whose last execution failed for a reason a person must fix, with no settings
    change since (the batch leaves them out; a change or "sync now" tries again)."""
    from sfacal.directory.companies.models import CompanySettings

    company_changed = (
        CompanySettings.objects.filter(company_id=company_id).values_list("updated_at", flat=True).first()
    )
    out: set[str] = set()
    for login, updated, synced in Employee.objects.filter(
        company_id=company_id, state=SyncState.ON, last_result=LastResult.FAILED
    ).values_list("login_id", "updated_at", "last_synced_at"):
        if synced is None:
            continue
        if updated and updated > synced:
            continue
        if company_changed and company_changed > synced:
            continue
        out.add(login)
    return out


def batch_keys(company_id: int, now: datetime) -> list[RecordKey]:
    """The records the periodic batch re-plans (see the module docstring)."""
    ctx = load_context(company_id)
    window = ctx.window_start(now)
    keys: set[RecordKey] = set(
        StoredSchedule.objects.filter(company_id=company_id, deleted=False)
        .filter(Q(starts_at__gte=window) | Q(starts_at__isnull=True))
        .values_list("source", "record_id")
    )
    unsettled = MirrorEvent.objects.filter(company_id=company_id).filter(
        Q(state__in=[MirrorState.PENDING_CREATE, MirrorState.FAILED])
    )
    keys.update(unsettled.values_list("source", "record_id"))
    deleted_live = StoredSchedule.objects.filter(company_id=company_id, deleted=True).values_list(
        "source", "record_id"
    )
    live_rows = set(
        MirrorEvent.objects.filter(
            company_id=company_id, state__in=[MirrorState.PENDING_CREATE, MirrorState.SYNCED]
        ).values_list("source", "record_id")
    )
    keys.update(k for k in deleted_live if k in live_rows)
    waiting = InboxEntry.objects.filter(
        company_id=company_id, state=InboxState.PENDING, next_attempt_at__gt=now
    ).values_list("source", "record_id")
    keys.difference_update(waiting)  # retried by the inbox at the time their lines show
    return sorted(keys)


def run_batch(company_id: int, *, trigger: str = Trigger.BATCH, now: datetime | None = None) -> PassSummary:
    """C8: re-plan the company's recent and unsettled records (see the module docstring)."""
    now = now or timezone.now()
    ctx = load_context(company_id)
    if not (ctx.policy.sync_enabled and ctx.policy.write_enabled):
        return PassSummary()
    skip = _failing_logins(company_id)
    only: frozenset[str] | None = None
    keys = batch_keys(company_id, now)
    if skip:
        from sfacal.engine.context import load_employees

        load_employees(ctx, Employee.objects.filter(company_id=company_id).values_list("login_id", flat=True))
        only = frozenset(set(ctx.employees) - skip)
    items = [WorkItem(key, trigger, only=only) for key in keys]
    return run_items(ctx, items, now=now)
