"""What one calendar edit leads to (T1-T5): write-back, restore, lost; each with its log line."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from sfacal.calendars.base import EventSnapshot
from sfacal.core.errors import SfacalError, WriteBackUnsupportedError
from sfacal.core.planner import MirrorRow
from sfacal.core.render import FieldMapping, content_hash, render
from sfacal.core.schedule import Schedule
from sfacal.core.twoway import (
    CalendarSnapshot,
    TwoWayAction,
    TwoWayDecision,
    apply_edit,
    decide_calendar_change,
)
from sfacal.engine import inbox
from sfacal.engine.context import (
    CompanyContext,
    RecordKey,
    mapping_for,
)
from sfacal.engine.loglines import insert_log_lines, log_line
from sfacal.engine.mirrors import mirror_row
from sfacal.engine.models import LogResult, MirrorEvent, MirrorState, SyncLogEntry, Trigger
from sfacal.engine.naming import subject_of
from sfacal.engine.twoway.reads import Place
from sfacal.engine.twoway.sources import call_write_back, source_for

Restores = dict[RecordKey, set[str]]  # records to re-plan now -> the employees whose event to restore


@dataclass
class TwoWayReport:
    mailboxes: int = 0
    busy: int = 0
    unreadable: int = 0
    changed: int = 0
    written_back: int = 0
    restored: int = 0
    conflicts: int = 0
    lost: int = 0
    moved: int = 0
    postponed: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, int]:
        return {k: v for k, v in self.__dict__.items() if isinstance(v, int)}


def sfa_changed(
    schedule: Schedule | None, row: MirrorRow, tz: str, mapping: FieldMapping | None
) -> bool | None:
    """T5: whether the SFA has a change the calendar does not show yet (see the module doc);
    ``None`` (the revision rule) when no content hash was recorded."""
    if schedule is None or row.content_hash is None:
        return None
    try:
        return content_hash(render(schedule, tz, mapping)) != row.content_hash
    except SfacalError:
        return None


def apply_change(
    ctx: CompanyContext,
    place: Place,
    row: MirrorEvent,
    snap: EventSnapshot | None,
    schedule: Schedule | None,
    restore: Restores,
    report: TwoWayReport,
) -> bool:
    """Decide and act for one changed event; ``False`` when it must be read again (retry)."""
    core = mirror_row(row, ctx.slug)
    if core is None or core.event_id is None:
        return True
    if snap is not None and snap.tag is not None and snap.tag.login_id != row.login_id:
        return True  # another employee's copy (moved between mailboxes by hand): not this row's
    seen = snap.to_core() if snap is not None else CalendarSnapshot(row.event_id, core.ref, deleted=True)
    tz = ctx.policy.timezone
    mapping = mapping_for(row.source)
    decision = decide_calendar_change(
        seen,
        core,
        schedule,
        two_way=True,
        timezone=tz,
        sfa_changed=sfa_changed(schedule, core, tz, mapping),
        mapping=mapping,
    )
    report.changed += 1
    now = timezone.now()
    rows = MirrorEvent.objects.filter(pk=row.pk)
    new_key = (snap.change_key or "")[:255] if snap is not None else ""
    # Every line names the schedule: the calendar's subject, or (the event is gone) the SFA's.
    subject = snap.subject if snap is not None else subject_of(schedule) if schedule is not None else ""
    action = decision.action
    if action is TwoWayAction.MARK_LOST:
        rows.update(state=MirrorState.LOST, event_id="", change_key="", updated_at=now)
        report.lost += 1
        message = "T4: deleted in the calendar; the SFA record is kept and the event is re-created at its next change"
        insert_log_lines(
            [line_for(ctx, place, row, "lost", LogResult.SKIPPED, subject=subject, message=message)]
        )
        return True
    if action in (TwoWayAction.NONE, TwoWayAction.IGNORE):
        updates: dict[str, Any] = {"change_key": new_key, "updated_at": now}
        if action is TwoWayAction.NONE and decision.calendar_hash:
            updates["content_hash"] = decision.calendar_hash
        if new_key:
            rows.update(**updates)
        return True
    if action in (TwoWayAction.RESTORE, TwoWayAction.CONFLICT_SFA_WINS):
        _restore(ctx, place, row, new_key, decision, subject, restore, report)
        return True
    assert action is TwoWayAction.WRITE_BACK and decision.edit is not None and schedule is not None
    return _write_back_one(ctx, place, row, snap, schedule, decision, mapping, restore, report)


def _restore(
    ctx: CompanyContext,
    place: Place,
    row: MirrorEvent,
    new_key: str,
    decision: TwoWayDecision,
    subject: str,
    restore: Restores,
    report: TwoWayReport,
    *,
    error: SfacalError | None = None,
) -> None:
    """The SFA version goes back into the calendar (T2, T5, a refused write-back)."""
    MirrorEvent.objects.filter(pk=row.pk).update(
        content_hash="", change_key=new_key, updated_at=timezone.now()
    )
    restore.setdefault((row.source, row.record_id), set()).add(row.login_id)
    if error is not None:
        report.failed += 1
        line = line_for(ctx, place, row, "write_back", LogResult.FAILURE, subject=subject, error=error)
        line.message = f"{line.message} -- the SFA version is restored in the calendar"[:2000]
    elif decision.action is TwoWayAction.CONFLICT_SFA_WINS:
        report.conflicts += 1
        line = line_for(
            ctx,
            place,
            row,
            "conflict",
            LogResult.WARNING,
            subject=subject,
            message="T5: changed in the SFA and in the calendar since the last sync; the SFA version wins "
            "and is restored in the calendar",
        )
    else:
        report.restored += 1
        line = line_for(
            ctx,
            place,
            row,
            "restore",
            LogResult.SKIPPED,
            subject=subject,
            message="T2: the schedule has several participants; calendar edits are not written back "
            "and the SFA version is restored",
        )
    insert_log_lines([line])


def _write_back_one(
    ctx: CompanyContext,
    place: Place,
    row: MirrorEvent,
    snap: EventSnapshot | None,
    schedule: Schedule,
    decision: TwoWayDecision,
    mapping: FieldMapping | None,
    restore: Restores,
    report: TwoWayReport,
) -> bool:
    assert decision.edit is not None and snap is not None
    edit = decision.edit
    new_key = (snap.change_key or "")[:255]
    fields = ", ".join(edit.changed_fields)
    try:
        source = source_for(ctx.company, row.source)
        if source is None or not source.supports_write_back:
            raise WriteBackUnsupportedError(
                f"no source can take write-backs for {row.source}", source=row.source
            )
        call_write_back(source, schedule, edit, row)
    except SfacalError as exc:
        if exc.retryable:
            report.postponed += 1
            line = line_for(ctx, place, row, "write_back", LogResult.WARNING, subject=snap.subject, error=exc)
            line.message = f"{line.message} -- retried at the next check"[:2000]
            insert_log_lines([line])
            return False
        _restore(ctx, place, row, new_key, decision, snap.subject, restore, report, error=exc)
        return True
    # Later than the state it derives from (an SFA clock ahead of ours must not make it "stale").
    when = max(timezone.now(), schedule.updated_at + timedelta(milliseconds=1))
    updated = apply_edit(schedule, edit, mapping).replace(updated_at=when, version=None)
    with transaction.atomic():
        accepted = inbox.accept(ctx.company, updated, trigger=Trigger.WRITEBACK)
        MirrorEvent.objects.filter(pk=row.pk).update(
            content_hash=decision.calendar_hash or "",
            change_key=new_key,
            synced_version=updated.revision[:128],
            state=MirrorState.SYNCED,
            last_error_code="",
            updated_at=timezone.now(),
        )
        message = f"T1: {fields} written back to the SFA record"
        if accepted.outcome is inbox.Outcome.STALE:
            message += " (the SFA had a newer change meanwhile)"
        insert_log_lines(
            [
                line_for(
                    ctx, place, row, "write_back", LogResult.SUCCESS, subject=snap.subject, message=message
                )
            ]
        )
    report.written_back += 1
    return True


def line_for(
    ctx: CompanyContext,
    place: Place,
    row: MirrorEvent | None,
    operation: str,
    result: str,
    *,
    subject: str = "",
    error: SfacalError | None = None,
    message: str = "",
) -> SyncLogEntry:
    mirror = mirror_row(row, ctx.slug) if row is not None else None
    return log_line(
        ctx,
        trigger=Trigger.WRITEBACK,
        operation=operation,
        result=result,
        employee_id=int(place.employee.pk),
        login_id=place.employee.login_id,
        mailbox=place.mailbox,
        calendar_name=place.calendar_name,
        ref=mirror.ref if mirror is not None else None,
        subject=subject,
        error=error,
        message=message,
    )
