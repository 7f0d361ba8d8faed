"""The two-way pass of one company: find the changed events, then act on each (see the package
docstring)."""

from __future__ import annotations

import time
from collections.abc import Collection
from datetime import datetime
from typing import Any

from django.utils import timezone

from sfacal.core.schedule import Schedule
from sfacal.core.settings import normalize_calendar, normalize_mailbox
from sfacal.directory.employees.models import SyncState
from sfacal.engine import loop as engine_loop
from sfacal.engine import relocation
from sfacal.engine.context import (
    CompanyContext,
    RecordKey,
    employee_settings,
    load_changes,
    load_context,
    load_employees,
)
from sfacal.engine.leases import LeaseSet, mailbox_key
from sfacal.engine.loglines import insert_log_lines
from sfacal.engine.models import DeltaState, LogResult, MirrorEvent, MirrorState, Trigger
from sfacal.engine.processor import run_items
from sfacal.engine.twoway.actions import Restores, TwoWayReport, apply_change, line_for
from sfacal.engine.twoway.reads import DeltaCursor, Place, Read, fresh_window, read_all
from sfacal.engine.work import WorkItem

_ROW_STATES = (MirrorState.SYNCED, MirrorState.FAILED)


def _places(ctx: CompanyContext, logins: Collection[str] | None, now: datetime) -> list[Place]:
    rows = MirrorEvent.objects.filter(company_id=ctx.company_id, state__in=_ROW_STATES).exclude(event_id="")
    if logins is not None:
        rows = rows.filter(login_id__in=list(logins))
    by_login: dict[str, list[MirrorEvent]] = {}
    for row in rows:
        by_login.setdefault(row.login_id, []).append(row)
    load_employees(ctx, by_login)
    states = {
        s.employee_id: DeltaCursor.load(s.delta_link)
        for s in DeltaState.objects.filter(company_id=ctx.company_id)
    }
    tz = ctx.policy.timezone
    places: list[Place] = []
    for login, mine in sorted(by_login.items()):
        employee = ctx.employees.get(login)
        found = employee_settings(employee) if employee is not None else None
        if employee is None or found is None or employee.state != SyncState.ON:
            continue  # E1: the calendar of an employee whose sync is not on is not touched
        mailbox = normalize_mailbox(found.mailbox(ctx.policy.domain))
        if mailbox is None:
            continue
        calendar = normalize_calendar(found.calendar_name)
        here = {
            r.event_id: r
            for r in mine
            if normalize_mailbox(r.mailbox) == mailbox and normalize_calendar(r.calendar_name) == calendar
        }
        if not here:
            continue
        cursor = states.get(employee.pk) if calendar is None else None
        if cursor is not None and not cursor.usable(mailbox, now, tz):
            cursor = None
        places.append(Place(employee, mailbox, calendar, here, cursor, fresh_window(now, tz)))
    return places


def poll_calendar_changes(company_id: int, *, logins: Collection[str] | None = None) -> TwoWayReport:
    """Find calendar edits of the company's mirrored events and apply T1-T5 (see the module
    docstring). ``logins`` limits the pass to some employees (e.g. a change notification)."""
    ctx = load_context(company_id)
    report = TwoWayReport()
    policy = ctx.policy
    if not (policy.two_way and policy.sync_enabled and policy.write_enabled):
        return report
    now = timezone.now()
    places = _places(ctx, logins, now)
    leases = LeaseSet()
    try:
        got = leases.acquire(mailbox_key(ctx.company_id, p.mailbox) for p in places)
        report.busy = sum(1 for p in places if mailbox_key(ctx.company_id, p.mailbox) not in got)
        # The rows again, now that nobody else writes these mailboxes' rows.
        ours = {p.employee.login_id for p in places if mailbox_key(ctx.company_id, p.mailbox) in got}
        mine = [p for p in _places(ctx, ours, now) if mailbox_key(ctx.company_id, p.mailbox) in got]
        report.mailboxes = len(mine)
        reads = engine_loop.run(read_all(ctx, mine)) if mine else []
        keys: set[RecordKey] = set()
        for place, read in zip(mine, reads, strict=True):
            keys.update((place.rows[eid].source, place.rows[eid].record_id) for eid in read.found)
        changes, _broken = load_changes(ctx, keys)
        restore: Restores = {}
        renewed = time.monotonic()
        for place, read in zip(mine, reads, strict=True):
            if time.monotonic() - renewed > leases.ttl / 3:  # write-backs may wait for the SFA
                leases.renew()
                renewed = time.monotonic()
            if mailbox_key(ctx.company_id, place.mailbox) not in leases.held:
                report.busy += 1  # taken over after expiry: its changes are read again next time
                continue
            _settle_place(ctx, place, read, changes, restore, report)
        if restore:
            items = [WorkItem(k, Trigger.WRITEBACK, only=frozenset(restore[k])) for k in sorted(restore)]
            run_items(ctx, items, leases=leases)
    finally:
        leases.release()
    return report


def _settle_place(
    ctx: CompanyContext,
    place: Place,
    read: Read,
    changes: dict[RecordKey, Any],
    restore: Restores,
    report: TwoWayReport,
) -> None:
    stored = DeltaState.objects.filter(employee=place.employee).first()
    old = DeltaCursor.load(stored.delta_link) if stored is not None else None
    if read.error is not None:
        report.unreadable += 1
        report.errors.append(f"{place.mailbox}: {read.error.code}")
        if old is None or old.error != read.error.code:
            insert_log_lines(
                [line_for(ctx, place, None, "read_changes", LogResult.WARNING, error=read.error)]
            )
        start, end = place.window
        kept = old or DeltaCursor(place.mailbox, start, end)
        _save_cursor(ctx, place, DeltaCursor(kept.mailbox, kept.start, kept.end, kept.link, read.error.code))
        return
    advance = True
    for eid, snap in read.found.items():
        row = place.rows[eid]
        change = changes.get((row.source, row.record_id))
        schedule = change if isinstance(change, Schedule) else None
        if not apply_change(ctx, place, row, snap, schedule, restore, report):
            advance = False
        elif eid in read.moved and read.moved[eid].snapshot.tag == relocation.tag_of(row, ctx.slug):
            # Moved to another calendar: its content was judged above; now it goes back (relocation).
            insert_log_lines([relocation.follow(ctx, row, read.moved[eid], Trigger.WRITEBACK)])
            restore.setdefault((row.source, row.record_id), set()).add(row.login_id)
            report.moved += 1
    if read.cursor is not None and advance:
        _save_cursor(ctx, place, read.cursor)
    elif read.cursor is None and old is not None and old.error:
        _save_cursor(ctx, place, DeltaCursor(old.mailbox, old.start, old.end, ""))  # the failure is over


def _save_cursor(ctx: CompanyContext, place: Place, cursor: DeltaCursor) -> None:
    DeltaState.objects.update_or_create(
        employee=place.employee, defaults={"company_id": ctx.company_id, "delta_link": cursor.dump()}
    )
