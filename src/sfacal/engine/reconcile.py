"""Reconciliation (data flow step 7): the product's tagged events in each calendar vs the mirror
table, and the repair of any drift.

For every (mailbox, calendar) that holds live mirror rows of a company, the events carrying the
product's tag (S6) are listed and compared per (schedule, employee):

* the row's event is there, unchanged -> nothing;
* it is there but was edited in the calendar (its change key moved) -> in one-way mode the SFA
  version is restored right away (S9; two-way edits are the two-way module's business);
* it is not there, and no other tagged event stands for it: when it still answers to its id in
  another calendar of the mailbox, the user moved it -> it is followed and put back into the
  target calendar (:mod:`sfacal.engine.relocation`; in two-way mode once the two-way reads have
  judged an edit made with it); otherwise it is gone -> the row becomes LOST: the event is
  re-created at the schedule's next SFA change (S9);
* the row's event id is of the other kind than the calendar's (rows written before the connector
  asked for immutable ids) and exactly one tagged event stands for it with the change key the row
  recorded -> the same event: the row takes its id, nothing else happens (in two-way mode whatever
  its change key: the two-way reads judge an edit);
* the row is PENDING (a crash between "sent" and "recorded") or its event id is stale, and tagged
  events exist -> the first one is adopted, the others are deleted (duplicates);
* tagged events with no live row (left by a crash, or by a row removed meanwhile) -> deleted.

Every repair is a log line with trigger ``reconcile``, naming the schedule (the stored state's
subject, :func:`~sfacal.engine.naming.stored_subjects`; for a stray event without a row, the
subject the calendar shows).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from sfacal.calendars.base import CalendarService, DeleteEvent, EventSnapshot, WriteOutcome
from sfacal.core.errors import InputError, SfacalError
from sfacal.core.schedule import SourceRef
from sfacal.engine import loop as engine_loop
from sfacal.engine import relocation
from sfacal.engine.context import CompanyContext, RecordKey, load_context, load_employees
from sfacal.engine.leases import LeaseSet, mailbox_key
from sfacal.engine.loglines import log_line
from sfacal.engine.models import LogResult, MirrorEvent, MirrorState, SyncLogEntry, Trigger
from sfacal.engine.naming import stored_subjects
from sfacal.engine.processor import run_items
from sfacal.engine.work import WorkItem

__all__ = ["ReconcileReport", "reconcile_company"]

log = logging.getLogger(__name__)

_LIVE = (MirrorState.PENDING_CREATE, MirrorState.SYNCED, MirrorState.FAILED)


@dataclass
class ReconcileReport:
    calendars: int = 0
    unreadable: int = 0
    lost: int = 0
    moved: int = 0
    reidentified: int = 0
    adopted: int = 0
    restored: int = 0
    removed: int = 0
    errors: list[str] = field(default_factory=list)


async def _list_all(
    settings: object, places: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], list[EventSnapshot] | SfacalError]:
    try:
        service: CalendarService = await engine_loop.service_for(settings)  # type: ignore[arg-type]
    except SfacalError as exc:
        return dict.fromkeys(places, exc)

    async def one(place: tuple[str, str]) -> list[EventSnapshot] | SfacalError:
        try:
            return await service.list_tagged(place[0], place[1] or None)
        except SfacalError as exc:
            return exc

    found = await asyncio.gather(*(one(p) for p in places))
    return dict(zip(places, found, strict=True))


async def _find_moved(
    settings: object, slug: str, rows: list[MirrorEvent], tz: str
) -> dict[int, relocation.Moved | SfacalError | None]:
    try:
        service: CalendarService = await engine_loop.service_for(settings)  # type: ignore[arg-type]
    except SfacalError as exc:
        return {int(row.pk): exc for row in rows}
    return await relocation.find_moved(service, slug, rows, tz)


async def _delete_all(settings: object, deletes: dict[str, list[str]]) -> dict[str, list[WriteOutcome]]:
    service: CalendarService = await engine_loop.service_for(settings)  # type: ignore[arg-type]
    boxes = list(deletes)
    outcomes = await asyncio.gather(
        *(service.apply(box, [DeleteEvent(event_id) for event_id in deletes[box]]) for box in boxes)
    )
    return dict(zip(boxes, outcomes, strict=True))


def reconcile_company(company_id: int) -> ReconcileReport:
    """Compare and repair one company's calendars (see the module docstring)."""
    ctx = load_context(company_id)
    report = ReconcileReport()
    if not (ctx.policy.sync_enabled and ctx.policy.write_enabled):
        return report
    rows = list(MirrorEvent.objects.filter(company_id=company_id, state__in=_LIVE))
    places: dict[tuple[str, str], list[MirrorEvent]] = {}
    for row in rows:
        places.setdefault((row.mailbox, row.calendar_name), []).append(row)
    leases = LeaseSet()
    got = leases.acquire(mailbox_key(company_id, box) for box, _ in places)
    mine = [p for p in places if mailbox_key(company_id, p[0]) in got]
    try:
        listings = engine_loop.run(_list_all(ctx.settings, mine))
        load_employees(ctx, {r.login_id for r in rows})
        subjects = stored_subjects(ctx, {(r.source, r.record_id) for r in rows})

        def _line(row: MirrorEvent, operation: str, message: str) -> SyncLogEntry:
            return _row_line(ctx, row, operation, message, subjects.get((row.source, row.record_id), ""))

        deletes: dict[str, list[str]] = {}
        lines: list[SyncLogEntry] = []
        replan: set[RecordKey] = set()
        lost_ids: list[int] = []
        missing: list[MirrorEvent] = []
        reidentify: list[tuple[int, str]] = []
        adopt: list[tuple[int, str, str]] = []
        restore_ids: list[int] = []
        for place in mine:
            listing = listings[place]
            if isinstance(listing, SfacalError):
                report.unreadable += 1
                report.errors.append(f"{place[0]}: {listing.code}")
                continue
            report.calendars += 1
            by_tag: dict[tuple[str, str, str], list[EventSnapshot]] = {}
            for snap in listing:
                if snap.tag is None or snap.tag.ref.company != ctx.slug:
                    continue
                by_tag.setdefault(
                    (snap.tag.ref.source, snap.tag.ref.record_id, snap.tag.login_id), []
                ).append(snap)
            for row in places[place]:
                events = by_tag.pop((row.source, row.record_id, row.login_id), [])
                ids = {e.id for e in events}
                if row.event_id and row.event_id in ids:
                    current = next(e for e in events if e.id == row.event_id)
                    extra = [e.id for e in events if e.id != row.event_id]
                    if (
                        not ctx.policy.two_way
                        and row.change_key
                        and current.change_key
                        and current.change_key != row.change_key
                    ):
                        restore_ids.append(row.pk)
                        replan.add((row.source, row.record_id))
                        lines.append(_line(row, "restore", "edited in the calendar: SFA version restored"))
                        report.restored += 1
                elif _same_event(row, events, ctx.policy.two_way):
                    reidentify.append((row.pk, events[0].id))
                    report.reidentified += 1
                    extra = []
                elif events:
                    keep, extra = events[0], [e.id for e in events[1:]]
                    adopt.append((row.pk, keep.id, keep.change_key or ""))
                    replan.add((row.source, row.record_id))
                    lines.append(_line(row, "adopt", f"found event {keep.id} in the calendar"))
                    report.adopted += 1
                else:
                    extra = []
                    if row.state != MirrorState.PENDING_CREATE and row.event_id:
                        missing.append(row)  # moved or deleted: decided below
                if extra:
                    deletes.setdefault(place[0], []).extend(extra)
                    report.removed += len(extra)
                    lines.append(_line(row, "remove_duplicate", f"{len(extra)} duplicate(s) removed"))
            for (source, record_id, login), events in by_tag.items():
                deletes.setdefault(place[0], []).extend(e.id for e in events)
                report.removed += len(events)
                lines.append(
                    log_line(
                        ctx,
                        trigger=Trigger.RECONCILE,
                        operation="remove_orphan",
                        result=LogResult.SUCCESS,
                        login_id=login,
                        mailbox=place[0],
                        calendar_name=place[1],
                        ref=_ref(ctx, source, record_id),
                        subject=events[0].subject or "",
                        message=f"{len(events)} event(s) of {source}:{record_id} with no mirror row removed",
                    )
                )
        whereabouts = (
            engine_loop.run(_find_moved(ctx.settings, ctx.slug, missing, ctx.policy.timezone))
            if missing
            else {}
        )
        moves: list[tuple[MirrorEvent, relocation.Moved]] = []
        for row in missing:
            found = whereabouts.get(int(row.pk))
            if isinstance(found, SfacalError):
                report.errors.append(f"{row.mailbox}: {found.code}")  # unsure: decided next time
            elif found is None:
                lost_ids.append(row.pk)
                lines.append(_line(row, "lost", "deleted in the calendar: re-created at the next change"))
                report.lost += 1
            elif not ctx.policy.two_way or found.snapshot.change_key == row.change_key:
                moves.append((row, found))  # two-way: an edit made with the move is judged there first
        if deletes:
            engine_loop.run(_delete_all(ctx.settings, deletes))
        for row, found in moves:
            lines.append(relocation.follow(ctx, row, found, Trigger.RECONCILE))
            replan.add((row.source, row.record_id))
            report.moved += 1
        now = timezone.now()
        with transaction.atomic():
            if lost_ids:
                MirrorEvent.objects.filter(pk__in=lost_ids).update(
                    state=MirrorState.LOST, event_id="", change_key="", updated_at=now
                )
            for pk, event_id in reidentify:
                MirrorEvent.objects.filter(pk=pk).update(event_id=event_id, updated_at=now)
            for pk, event_id, change_key in adopt:
                MirrorEvent.objects.filter(pk=pk).update(
                    state=MirrorState.SYNCED,
                    event_id=event_id,
                    change_key=change_key,
                    content_hash="",
                    updated_at=now,
                )
            if restore_ids:
                MirrorEvent.objects.filter(pk__in=restore_ids).update(content_hash="", updated_at=now)
            if lines:
                SyncLogEntry.objects.bulk_create(lines, batch_size=500)
        if replan:
            run_items(ctx, [WorkItem(k, Trigger.RECONCILE) for k in sorted(replan)], leases=leases)
    finally:
        leases.release()
    return report


def _same_event(row: MirrorEvent, events: list[EventSnapshot], two_way: bool) -> bool:
    """Whether the one tagged event standing for ``row`` is the row's own event under its other id
    (see the module docstring): the change key the row recorded says so; in two-way mode an edit
    since is the two-way reads' business."""
    if row.state == MirrorState.PENDING_CREATE or not row.event_id or len(events) != 1:
        return False
    return two_way or bool(row.change_key and events[0].change_key == row.change_key)


def _ref(ctx: CompanyContext, source: str, record_id: str) -> SourceRef | None:
    try:
        return SourceRef(ctx.slug, source, record_id)
    except InputError:
        return None


def _row_line(
    ctx: CompanyContext, row: MirrorEvent, operation: str, message: str, subject: str
) -> SyncLogEntry:
    return log_line(
        ctx,
        trigger=Trigger.RECONCILE,
        operation=operation,
        result=LogResult.SUCCESS,
        employee_id=row.employee_id,
        login_id=row.login_id,
        mailbox=row.mailbox,
        calendar_name=row.calendar_name,
        ref=_ref(ctx, row.source, row.record_id),
        subject=subject,
        message=message,
    )
