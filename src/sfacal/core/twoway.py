"""T1-T5 and S9: what to do with a change seen on the calendar side.

:func:`decide_calendar_change` takes a :class:`CalendarSnapshot` (an event as the calendar shows it
now, converted by the connector), our mirror row, the current schedule and the company settings,
and returns a :class:`TwoWayDecision`:

* ``NONE`` -- the event still has the content we wrote: nothing happened;
* ``IGNORE`` -- T3: not our event (no tag; created in the calendar, never registered in the SFA);
  also: one-way mode (S9: edits are overwritten at the next SFA change), unknown rows, the schedule
  is gone (S4 deletes the event) or frozen (S1);
* ``MARK_LOST`` -- the event was deleted in the calendar: the SFA record is *not* deleted (T4);
  the engine stores :func:`~sfacal.core.planner.lost_row` and the next SFA change re-creates it (S9);
* ``CONFLICT_SFA_WINS`` -- T5: both sides changed since the last sync: the SFA wins, log it, and
  :func:`restore_row` so the next plan re-sends the SFA version;
* ``RESTORE`` -- T2: several participants: edits are not written back; :func:`restore_row`;
* ``WRITE_BACK`` -- T1: one participant: ``edit`` holds the changed fields (subject, location,
  body, times/all-day); :func:`apply_edit` gives the schedule to send to the SFA, and
  ``calendar_hash`` is the content hash to record so the write-back does not bounce back.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta
from enum import StrEnum

from sfacal.core.planner import MirrorRow
from sfacal.core.render import (
    BODY_GAP,
    MAX_BODY,
    MAX_LOCATION,
    MAX_SUBJECT,
    FieldMapping,
    RenderedEvent,
    clean_line,
    clean_text,
    content_hash,
    render,
    subject_overflow,
    truncate_utf16,
)
from sfacal.core.schedule import DEFAULT_TIMEZONE, AllDaySpan, Schedule, SourceRef, Span, TimedSpan, zone

__all__ = [
    "CalendarSnapshot",
    "ScheduleEdit",
    "TwoWayAction",
    "TwoWayDecision",
    "apply_edit",
    "decide_calendar_change",
    "restore_row",
]


@dataclass(frozen=True)
class CalendarSnapshot:
    """An event as read from the calendar. ``tag`` is the schedule our tag names (``None``:
    untagged). ``start``/``end`` are wall-clock times in ``timezone`` (the zone of the read)."""

    event_id: str
    tag: SourceRef | None
    deleted: bool = False
    subject: str = ""
    location: str = ""
    body: str = ""
    start: datetime | None = None
    end: datetime | None = None
    timezone: str = DEFAULT_TIMEZONE
    is_all_day: bool = False
    change_key: str | None = None

    def as_rendered(self, timezone: str) -> RenderedEvent | None:
        """The snapshot in the form :func:`~sfacal.core.render.render` produces, in ``timezone``."""
        if self.deleted or self.start is None or self.end is None:
            return None
        start, end = self.start.replace(tzinfo=None), self.end.replace(tzinfo=None)
        if self.is_all_day:
            first = start.date()
            last = max(end.date(), first + timedelta(days=1))
            start, end = datetime.combine(first, time()), datetime.combine(last, time())
        else:
            src, dst = zone(self.timezone), zone(timezone)
            start = start.replace(tzinfo=src).astimezone(dst).replace(tzinfo=None)
            end = max(end.replace(tzinfo=src).astimezone(dst).replace(tzinfo=None), start)
        return RenderedEvent(
            subject=truncate_utf16(clean_line(self.subject), MAX_SUBJECT),
            location=truncate_utf16(clean_line(self.location), MAX_LOCATION),
            body=truncate_utf16(clean_text(self.body), MAX_BODY),
            start=start,
            end=end,
            timezone=timezone,
            is_all_day=self.is_all_day,
        )


class TwoWayAction(StrEnum):
    NONE = "none"
    IGNORE = "ignore"
    MARK_LOST = "mark_lost"
    CONFLICT_SFA_WINS = "conflict_sfa_wins"
    RESTORE = "restore"
    WRITE_BACK = "write_back"


@dataclass(frozen=True)
class ScheduleEdit:
    """Calendar-side changes to write back; ``None`` = unchanged."""

    subject: str | None = None
    location: str | None = None
    body: str | None = None
    span: Span | None = None

    @property
    def is_empty(self) -> bool:
        return self.subject is None and self.location is None and self.body is None and self.span is None

    @property
    def changed_fields(self) -> tuple[str, ...]:
        return tuple(
            name for name in ("subject", "location", "body", "span") if getattr(self, name) is not None
        )


@dataclass(frozen=True)
class TwoWayDecision:
    action: TwoWayAction
    rule: str  # the SPEC rule behind it: "T1".."T5", "S1", "S4", "S9"
    edit: ScheduleEdit | None = None
    calendar_hash: str | None = None


def _span_of(event: RenderedEvent, timezone: str) -> Span:
    if event.is_all_day:
        return AllDaySpan(event.start.date(), event.end.date())
    tz = zone(timezone)
    return TimedSpan(event.start.replace(tzinfo=tz), event.end.replace(tzinfo=tz))


def _diff(seen: RenderedEvent, ours: RenderedEvent, timezone: str) -> ScheduleEdit:
    times_changed = (seen.start, seen.end, seen.is_all_day) != (ours.start, ours.end, ours.is_all_day)
    return ScheduleEdit(
        subject=seen.subject if seen.subject != ours.subject else None,
        location=seen.location if seen.location != ours.location else None,
        body=seen.body if seen.body != ours.body else None,
        span=_span_of(seen, timezone) if times_changed else None,
    )


def decide_calendar_change(
    snapshot: CalendarSnapshot,
    mirror: MirrorRow | None,
    schedule: Schedule | None,
    *,
    two_way: bool,
    timezone: str = DEFAULT_TIMEZONE,
    sfa_changed: bool | None = None,
    mapping: FieldMapping | None = None,
) -> TwoWayDecision:
    """Decide T1-T5 / S9 for one calendar-side change (see the module docstring).

    ``sfa_changed``: whether the SFA record changed since our last write; by default, whether its
    revision differs from ``mirror.synced_revision``.
    """
    if snapshot.tag is None:
        return TwoWayDecision(TwoWayAction.IGNORE, "T3")
    if mirror is None or mirror.ref != snapshot.tag:
        return TwoWayDecision(TwoWayAction.IGNORE, "S6")
    if snapshot.deleted:
        return TwoWayDecision(TwoWayAction.MARK_LOST, "T4" if two_way else "S9")
    if schedule is None:
        return TwoWayDecision(TwoWayAction.IGNORE, "S4")
    seen = snapshot.as_rendered(timezone)
    if seen is None:
        return TwoWayDecision(TwoWayAction.IGNORE, "S9")
    seen_hash = content_hash(seen)
    unchanged = (mirror.change_key is not None and snapshot.change_key == mirror.change_key) or (
        seen_hash == mirror.content_hash
    )
    if unchanged:
        return TwoWayDecision(TwoWayAction.NONE, "T1" if two_way else "S9")
    if not two_way:
        return TwoWayDecision(TwoWayAction.IGNORE, "S9")
    if not schedule.is_plan:
        return TwoWayDecision(TwoWayAction.IGNORE, "S1")
    if sfa_changed is None:
        sfa_changed = mirror.synced_revision is not None and schedule.revision != mirror.synced_revision
    if sfa_changed:
        return TwoWayDecision(TwoWayAction.CONFLICT_SFA_WINS, "T5")
    if len(schedule.participants) > 1:
        return TwoWayDecision(TwoWayAction.RESTORE, "T2")
    edit = _diff(seen, render(schedule, timezone, mapping), timezone)
    if edit.is_empty:
        return TwoWayDecision(TwoWayAction.NONE, "T1", calendar_hash=seen_hash)
    return TwoWayDecision(TwoWayAction.WRITE_BACK, "T1", edit=edit, calendar_hash=seen_hash)


def restore_row(row: MirrorRow) -> MirrorRow:
    """The row after a calendar edit that must be overwritten (T2, T5): its content hash is cleared,
    so the next plan of the schedule re-sends the SFA version."""
    return replace(row, content_hash=None)


def _without_subject(body: str, whole: str) -> str:
    if not whole:
        return body
    if body == whole:
        return ""
    return body[len(whole) + len(BODY_GAP) :] if body.startswith(whole + BODY_GAP) else body


def apply_edit(schedule: Schedule, edit: ScheduleEdit, mapping: FieldMapping | None = None) -> Schedule:
    """The schedule with a write-back applied (T1), for the source connector to send to the SFA.

    Subject goes to ``title``, location to ``customer_address``, body to ``content``; with a
    ``mapping`` (JUST.SFA 見出し / 場所 / 内容), the mapped ``extra`` fields are set as well. A body
    that still opens with the whole text of a cut subject (what :func:`render` put there) gives the
    content without it, so the SFA's content never grows by its own title.
    """
    changes: dict[str, object] = {}
    extra = dict(schedule.extra)
    if edit.subject is not None:
        changes["title"] = edit.subject
        if mapping is not None and mapping.subject:
            extra[mapping.subject] = edit.subject
    if edit.location is not None:
        changes["customer_address"] = edit.location
        if mapping is not None and mapping.location:
            extra[mapping.location] = edit.location
    if edit.body is not None:
        body = _without_subject(edit.body, subject_overflow(schedule, mapping))
        changes["content"] = body
        if mapping is not None and mapping.body:
            extra[mapping.body] = body
    if edit.span is not None:
        changes["span"] = edit.span
    changes["extra"] = extra
    return schedule.replace(**changes)
