"""What the mirrored-events page shows for one employee: their rows of the mirror table.

* One :class:`MirrorRow` per :class:`~sfacal.engine.models.MirrorEvent` of the employee (a calendar
  move keeps the old place's row next to the new one, so both are listed).
* Subject and time are the stored schedule rendered as the calendar gets it (S5,
  :func:`sfacal.core.render.render` with the source's field mapping). A schedule that is no
  longer stored as a schedule (deleted in the SFA) shows the latest subject its log lines gave and
  its last known start.
* The state is one of :data:`STATES` (active, pending, failed, removed, lost), translated.
* The last result is the latest log line about the schedule for this employee, in the reader's
  language; a page of rows costs a fixed number of queries, whatever its size.
* Rows are filtered by the schedule's start (dates in the company's time zone) and by state,
  newest start first.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import Count, F, OuterRef, QuerySet, Subquery
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from sfacal.core.errors import InputError
from sfacal.core.render import RenderedEvent, render
from sfacal.core.schedule import Schedule
from sfacal.core.stored import change_from_stored
from sfacal.directory.employees.models import Employee
from sfacal.engine.context import mapping_for
from sfacal.engine.models import MirrorEvent, MirrorState, StoredSchedule, SyncLogEntry
from sfacal.web.dateranges import day_bounds
from sfacal.web.logs.presenters import LogLine, describe

__all__ = ["STATES", "MirrorRow", "mirror_rows", "mirrors_of", "state_counts"]

STATES: dict[str, tuple[Promise, tuple[str, ...]]] = {
    "active": (_("In the calendar"), (MirrorState.SYNCED,)),
    "pending": (_("Pending"), (MirrorState.PENDING_CREATE,)),
    "failed": (_("Failed"), (MirrorState.FAILED,)),
    "removed": (_("Removed"), (MirrorState.REMOVED,)),
    "lost": (_("Deleted in the calendar"), (MirrorState.LOST,)),
}
"""Shown state -> (label, the stored states it covers)."""
_SHOWN = {stored: shown for shown, (_label, covered) in STATES.items() for stored in covered}


@dataclass(frozen=True)
class MirrorRow:
    mirror: MirrorEvent
    state: str  # a key of STATES
    subject: str
    start: datetime | None  # wall-clock time in the company's zone (aware when only the start is known)
    end: datetime | None
    all_day: bool
    last: LogLine | None

    @property
    def state_label(self) -> Promise:
        return STATES[self.state][0]

    @property
    def last_day(self) -> date | None:
        """An all-day event's last day (its end is exclusive)."""
        if not self.all_day or self.end is None:
            return None
        return (self.end - timedelta(days=1)).date()

    @property
    def same_day(self) -> bool:
        return self.start is not None and self.end is not None and self.start.date() == self.end.date()


def mirrors_of(
    employee: Employee,
    zone: zoneinfo.ZoneInfo,
    *,
    date_from: date | None = None,
    date_to: date | None = None,
    state: str = "",
) -> QuerySet[MirrorEvent]:
    """The employee's mirror rows with their schedule's start (``starts_at``), filtered, newest first."""
    stored = StoredSchedule.objects.filter(
        company=OuterRef("company"), source=OuterRef("source"), record_id=OuterRef("record_id")
    )
    qs = (
        MirrorEvent.objects.for_company(employee.company_id)
        .filter(employee=employee)
        .annotate(starts_at=Subquery(stored.values("starts_at")[:1]))
    )
    start, end = day_bounds(date_from, date_to, zone)
    if start is not None:
        qs = qs.filter(starts_at__gte=start)
    if end is not None:
        qs = qs.filter(starts_at__lt=end)
    if state in STATES:
        qs = qs.filter(state__in=STATES[state][1])
    return qs.order_by(F("starts_at").desc(nulls_last=True), "-id")


def state_counts(qs: QuerySet[MirrorEvent]) -> dict[str, int]:
    """How many of ``qs`` are in each shown state (every state, zero included)."""
    counts = dict.fromkeys(STATES, 0)
    for stored, n in qs.order_by().values_list("state").annotate(n=Count("id")):
        counts[_SHOWN.get(stored, "failed")] += n
    return counts


def _rendered(payload: object, source: str, tz_name: str) -> RenderedEvent | None:
    if not isinstance(payload, dict) or payload.get("deleted"):
        return None
    try:
        change = change_from_stored(payload)
    except (InputError, TypeError, ValueError, KeyError):
        return None
    if not isinstance(change, Schedule):
        return None
    try:
        return render(change, tz_name, mapping_for(source))
    except (InputError, ValueError):
        return None


def _latest_lines(
    employee: Employee, keys: set[tuple[str, str]], lang: str
) -> tuple[dict[tuple[str, str], LogLine], dict[tuple[str, str], str]]:
    """The latest log line of each (source, record) in ``keys`` for ``employee``, and the latest
    subject a line gave it (a line about a deletion may carry none)."""
    latest: dict[tuple[str, str], LogLine] = {}
    subjects: dict[tuple[str, str], str] = {}
    if not keys:
        return latest, subjects
    lines = (
        SyncLogEntry.objects.for_company(employee.company_id)
        .filter(employee=employee, record_id__in={record for _source, record in keys})
        .order_by("-at", "-id")
    )
    for entry in lines.iterator(chunk_size=200):
        key = (entry.source, entry.record_id)
        if key not in keys:
            continue
        if key not in latest:
            latest[key] = describe(entry, lang)
        if entry.subject and key not in subjects:
            subjects[key] = entry.subject
        if len(latest) == len(subjects) == len(keys):
            break
    return latest, subjects


def mirror_rows(
    employee: Employee, mirrors: Iterable[MirrorEvent], tz_name: str, lang: str
) -> list[MirrorRow]:
    """The rows of one page of ``mirrors`` (from :func:`mirrors_of`)."""
    page = list(mirrors)
    keys = {(m.source, m.record_id) for m in page}
    stored = {
        (s.source, s.record_id): s.payload
        for s in StoredSchedule.objects.for_company(employee.company_id).filter(
            source__in={source for source, _record in keys}, record_id__in={r for _s, r in keys}
        )
    }
    latest, subjects = _latest_lines(employee, keys, lang)
    rows: list[MirrorRow] = []
    for mirror in page:
        key = (mirror.source, mirror.record_id)
        event = _rendered(stored.get(key), mirror.source, tz_name)
        last = latest.get(key)
        start: datetime | None
        end: datetime | None
        if event is not None:
            subject, start, end, all_day = event.subject, event.start, event.end, event.is_all_day
        else:
            subject = subjects.get(key, "")
            start, end, all_day = getattr(mirror, "starts_at", None), None, False
        rows.append(
            MirrorRow(
                mirror=mirror,
                state=_SHOWN.get(mirror.state, "failed"),
                subject=subject,
                start=start,
                end=end,
                all_day=all_day,
                last=last,
            )
        )
    return rows
