"""Mirrored events the user moved to another calendar of the mailbox: found, followed, put back.

The connector asks Graph for immutable ids, so an event the user moves to another calendar keeps
the id the mirror table holds. Reconciliation (:mod:`sfacal.engine.reconcile`) and the two-way
reads (:mod:`sfacal.engine.twoway`) notice an event of ours that its calendar no longer shows but
that still answers to its id, and hand it here.

Guarantees (each has a test in ``tests/integration/test_moved_events.py``):

* **Found where it is.** Such an event is looked for, by its tag (S6), in the mailbox's calendars
  (:func:`locate`); found in none of them -- an event deleted in Outlook may sit in Deleted Items
  and still answer to its id -- it counts as deleted (S9, T4).
* **Followed.** The mirror table records where it is (:func:`follow`): the row of the calendar it
  is in now takes the event; the row of the calendar the employee syncs to becomes LOST, with a
  log line saying where the event went.
* **Put back, never duplicated** -- in one-way and two-way mode alike: the target calendar is the
  employee's setting (E3, P2), not a field the T rules write back. The schedule is planned again
  at once, as after a calendar switch (P4, make-before-break): the event is created in the target
  calendar with the next generation's ``transactionId`` (Graph has no move for events) and the
  moved one is deleted only once the target holds ours. Until then, updates still reach the moved
  event by its id. In two-way mode the moved event's content is judged by the T rules first (an
  edit made together with the move is written back before the event is put back).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from sfacal.calendars.base import CalendarInfo, CalendarService, EventSnapshot, EventTag, calendar_name_key
from sfacal.core.errors import InputError, SfacalError
from sfacal.core.schedule import SourceRef
from sfacal.core.settings import normalize_calendar
from sfacal.engine.context import CompanyContext
from sfacal.engine.loglines import log_line
from sfacal.engine.models import LogResult, MirrorEvent, MirrorState, SyncLogEntry

__all__ = ["Moved", "find_moved", "follow", "locate", "tag_of"]


@dataclass(frozen=True)
class Moved:
    """Where a mirrored event is now, and how it looks there."""

    calendar: CalendarInfo
    snapshot: EventSnapshot


def tag_of(row: MirrorEvent, company_slug: str) -> EventTag | None:
    """The tag the row's event carries (``None`` for a row that cannot have one)."""
    try:
        return EventTag(SourceRef(company_slug, row.source, row.record_id), row.login_id)
    except InputError:
        return None


async def locate(
    service: CalendarService,
    mailbox: str,
    snap: EventSnapshot,
    tag: EventTag,
    *,
    not_in: str | None = None,
    timezone_name: str | None = None,
) -> Moved | None:
    """The calendar of ``mailbox`` that holds the event ``snap`` (found by its tag), or ``None``
    when no calendar does. ``not_in``: a calendar known not to hold it (``""``: the default one)."""
    skip = None if not_in is None else calendar_name_key(not_in)
    for cal in sorted(await service.list_calendars(mailbox), key=lambda c: not c.is_default):
        key = "" if cal.is_default else calendar_name_key(cal.name)
        if key == skip:
            continue
        name = None if cal.is_default else cal.name
        for found in await service.find_by_tag(mailbox, tag, name, timezone_name):
            if found.id == snap.id:
                return Moved(cal, found)
    return None


async def find_moved(
    service: CalendarService, company_slug: str, rows: Sequence[MirrorEvent], timezone_name: str
) -> dict[int, Moved | SfacalError | None]:
    """For rows whose event their calendar no longer shows: where each event is now (``None``:
    gone), or the error that kept us from knowing (then nothing is concluded)."""

    async def one(row: MirrorEvent) -> Moved | SfacalError | None:
        tag = tag_of(row, company_slug)
        try:
            snap = await service.get_event(row.mailbox, row.event_id, timezone_name)
            if snap is None or tag is None or snap.tag != tag:
                return None
            return await locate(
                service, row.mailbox, snap, tag, not_in=row.calendar_name, timezone_name=timezone_name
            )
        except SfacalError as exc:
            return exc

    found = await asyncio.gather(*(one(row) for row in rows))
    return {int(row.pk): result for row, result in zip(rows, found, strict=True)}


def follow(ctx: CompanyContext, row: MirrorEvent, moved: Moved, trigger: str) -> SyncLogEntry:
    """Record that ``row``'s event now lives in ``moved.calendar`` (see the module docstring); the
    caller plans the record again, which puts the event back. Returns the (unsaved) log line."""
    name = "" if moved.calendar.is_default else normalize_calendar(moved.calendar.name) or ""
    now = timezone.now()
    with transaction.atomic():
        current = MirrorEvent.objects.select_for_update().get(pk=row.pk)
        place = {
            "company_id": current.company_id,
            "source": current.source,
            "record_id": current.record_id,
            "login_id": current.login_id,
            "mailbox": current.mailbox,
            "calendar_name": name,
        }
        values = {
            "employee_id": current.employee_id,
            "event_id": moved.snapshot.id,
            "transaction_id": current.transaction_id,
            "content_hash": current.content_hash,
            "change_key": (moved.snapshot.change_key or "")[:255],
            "synced_version": current.synced_version,
            "state": MirrorState.SYNCED,
            "last_error_code": "",
            "updated_at": now,
        }
        there = MirrorEvent.objects.filter(**place).first()
        if there is None:
            MirrorEvent.objects.create(**place, **values)
        else:  # a row of an earlier stay in that calendar: it keeps its generation
            MirrorEvent.objects.filter(pk=there.pk).update(**values)
        MirrorEvent.objects.filter(pk=current.pk).update(
            state=MirrorState.LOST, event_id="", change_key="", updated_at=now
        )
    return log_line(
        ctx,
        trigger=trigger,
        operation="moved",
        result=LogResult.WARNING,
        employee_id=current.employee_id,
        login_id=current.login_id,
        mailbox=current.mailbox,
        calendar_name=current.calendar_name,
        ref=tag.ref if (tag := tag_of(current, ctx.slug)) is not None else None,
        subject=moved.snapshot.subject,
        message=f"moved to the calendar {moved.calendar.name} in Outlook: put back into the target calendar",
    )
