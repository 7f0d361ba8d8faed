"""Where the change feed of a calendar stands (:class:`DeltaCursor`) and reading it (on the engine
loop: no database work here)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sfacal.calendars.base import CalendarService, EventSnapshot
from sfacal.core.errors import ResyncRequiredError, SfacalError
from sfacal.core.planner import backfill_window_start
from sfacal.directory.employees.models import Employee
from sfacal.engine import loop as engine_loop
from sfacal.engine.context import CompanyContext
from sfacal.engine.models import MirrorEvent
from sfacal.engine.relocation import Moved, locate

WINDOW_AHEAD = timedelta(days=400)
WINDOW_MIN_AHEAD = timedelta(days=180)
WINDOW_MAX_AGE = timedelta(days=31)


@dataclass(frozen=True)
class DeltaCursor:
    """Where the delta of one employee's default calendar stands (stored in
    ``DeltaState.delta_link`` as JSON). ``error`` is the code of the last read failure (logged
    once, not at every poll)."""

    mailbox: str
    start: datetime
    end: datetime
    link: str = ""
    error: str = ""

    def dump(self) -> str:
        return json.dumps(
            {
                "v": 1,
                "mailbox": self.mailbox,
                "start": self.start.isoformat(),
                "end": self.end.isoformat(),
                "link": self.link,
                "error": self.error,
            },
            separators=(",", ":"),
        )

    @classmethod
    def load(cls, text: str | None) -> DeltaCursor | None:
        if not text:
            return None
        try:
            data = json.loads(text)
            cursor = cls(
                mailbox=str(data["mailbox"]),
                start=datetime.fromisoformat(data["start"]),
                end=datetime.fromisoformat(data["end"]),
                link=str(data.get("link") or ""),
                error=str(data.get("error") or ""),
            )
        except (ValueError, KeyError, TypeError):
            return None
        if cursor.start.tzinfo is None or cursor.end.tzinfo is None:
            return None
        return cursor

    def usable(self, mailbox: str, now: datetime, tz: str) -> bool:
        """Whether the round can go on: same mailbox, window not too old nor running out."""
        return (
            self.mailbox == mailbox
            and self.start >= backfill_window_start(now, tz) - WINDOW_MAX_AGE
            and self.end >= now + WINDOW_MIN_AHEAD
        )


def fresh_window(now: datetime, tz: str) -> tuple[datetime, datetime]:
    return backfill_window_start(now, tz), now + WINDOW_AHEAD


# -- reading (on the engine loop: no database work here) -------------------------------------------


@dataclass
class Place:
    employee: Employee
    mailbox: str
    calendar_name: str | None
    rows: dict[str, MirrorEvent]  # event id -> row
    cursor: DeltaCursor | None  # the usable stored cursor (default calendar only)
    window: tuple[datetime, datetime]  # for a fresh round


@dataclass
class Read:
    found: dict[str, EventSnapshot | None] = field(default_factory=dict)  # None: deleted
    cursor: DeltaCursor | None = None  # the next cursor (default calendar only)
    error: SfacalError | None = None
    moved: dict[str, Moved] = field(default_factory=dict)  # moved by the user to another calendar


async def read_place(service: CalendarService, place: Place, tz: str) -> Read:
    try:
        listed: dict[str, EventSnapshot]
        cursor: DeltaCursor | None = None
        if place.calendar_name is None:
            start, end = place.window
            link: str | None = None
            if place.cursor is not None:
                start, end, link = place.cursor.start, place.cursor.end, place.cursor.link or None
            try:
                page = await service.read_changes(
                    place.mailbox, start=start, end=end, delta_token=link, timezone=tz
                )
            except ResyncRequiredError:
                start, end = place.window
                page = await service.read_changes(place.mailbox, start=start, end=end, timezone=tz)
            cursor = DeltaCursor(place.mailbox, start, end, page.delta_token)
            listed = {snap.id: snap for snap in page.events}
            wanted = [
                eid
                for eid, snap in listed.items()
                if eid in place.rows
                and (snap.deleted or not snap.change_key or snap.change_key != place.rows[eid].change_key)
            ]
            have: dict[str, EventSnapshot | None] = {}
        else:
            listing = await service.list_tagged(place.mailbox, place.calendar_name, timezone=tz)
            listed = {snap.id: snap for snap in listing}
            have = {
                eid: listed[eid]
                for eid, row in place.rows.items()
                if eid in listed and listed[eid].change_key != row.change_key
            }
            wanted = [eid for eid in place.rows if eid not in listed]
        fetched = await asyncio.gather(*(service.get_event(place.mailbox, eid, tz) for eid in wanted))
        have.update(zip(wanted, fetched, strict=True))
        return Read(have, cursor, moved=await _whereabouts(service, place, listed, have, tz))
    except SfacalError as exc:
        return Read(error=exc)


async def _whereabouts(
    service: CalendarService,
    place: Place,
    listed: dict[str, EventSnapshot],
    have: dict[str, EventSnapshot | None],
    tz: str,
) -> dict[str, Moved]:
    """Events of ours the place's calendar no longer shows but that answer to their id: where they
    are now (:mod:`sfacal.engine.relocation`). One in no calendar at all is deleted (``have``
    becomes ``None``: it may sit in Deleted Items). In the default calendar, delta's "removed" also
    means "left the window": an event found there again has not moved."""
    moved: dict[str, Moved] = {}
    for eid, snap in list(have.items()):
        if snap is None or snap.tag is None:
            continue
        if place.calendar_name is None and not (eid in listed and listed[eid].deleted):
            continue  # reported changed, not removed: it is where it was
        if place.calendar_name is not None and eid in listed:
            continue
        found = await locate(
            service, place.mailbox, snap, snap.tag, not_in=place.calendar_name, timezone_name=tz
        )
        if found is None:
            have[eid] = None
        elif place.calendar_name is not None or not found.calendar.is_default:
            moved[eid] = found
    return moved


async def read_all(ctx: CompanyContext, places: list[Place]) -> list[Read]:
    try:
        service = await engine_loop.service_for(ctx.settings)
    except SfacalError as exc:
        return [Read(error=exc) for _ in places]
    return list(await asyncio.gather(*(read_place(service, p, ctx.policy.timezone) for p in places)))
