"""An in-memory calendar implementing the CalendarService protocol (fast engine tests).

It keeps Graph's semantics the engine relies on: a create with a known ``transactionId`` returns
the event created before (no duplicate); an update of a deleted event re-creates it when asked;
deleting a missing event reports "already gone"; a delete without id removes every event with the
tag. Faults are set per mailbox or globally.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sfacal.calendars.base import (
    CalendarInfo,
    ChangePage,
    CheckResult,
    CreateEvent,
    DeleteEvent,
    EventSnapshot,
    EventTag,
    EventWrite,
    UpdateEvent,
    WriteOutcome,
)
from sfacal.core.errors import CalendarNotFoundError, MailboxNotFoundError, SfacalError
from sfacal.core.render import RenderedEvent


@dataclass
class StoredEvent:
    id: str
    mailbox: str
    calendar: str  # "" = default
    event: RenderedEvent
    tag: EventTag
    transaction_id: str | None
    change_key: str


@dataclass
class FakeCalendar:
    """One in-memory "tenant": mailboxes with calendars and events."""

    mailboxes: dict[str, set[str]] = field(default_factory=dict)  # mailbox -> calendar names
    events: dict[str, StoredEvent] = field(default_factory=dict)
    errors: dict[str, SfacalError] = field(default_factory=dict)  # mailbox -> error for every write
    global_error: SfacalError | None = None
    fail_next: list[SfacalError] = field(default_factory=list)  # consumed one per write
    calls: list[tuple[str, str]] = field(default_factory=list)  # (mailbox, kind)
    _ids: Any = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _tx: dict[tuple[str, str], str] = field(default_factory=dict)

    def add_mailbox(self, mailbox: str, *calendars: str) -> None:
        self.mailboxes[mailbox.lower()] = set(calendars)

    def of(self, mailbox: str, calendar: str | None = None) -> list[StoredEvent]:
        return [
            e
            for e in self.events.values()
            if e.mailbox == mailbox.lower() and (calendar is None or e.calendar == calendar)
        ]

    def service(self) -> FakeService:
        return FakeService(self)

    # -- the write semantics ------------------------------------------------------------------------
    def _check(self, mailbox: str, calendar: str | None) -> None:
        if self.global_error is not None:
            raise self.global_error
        if mailbox in self.errors:
            raise self.errors[mailbox]
        if self.fail_next:
            raise self.fail_next.pop(0)
        if mailbox not in self.mailboxes:
            raise MailboxNotFoundError("no such mailbox", mailbox=mailbox)
        if calendar and calendar not in self.mailboxes[mailbox]:
            raise CalendarNotFoundError("no such calendar", mailbox=mailbox, calendar=calendar)

    def write(self, mailbox: str, w: EventWrite) -> WriteOutcome:
        mailbox = mailbox.lower()
        with self._lock:
            self.calls.append((mailbox, type(w).__name__))
            try:
                if isinstance(w, CreateEvent):
                    self._check(mailbox, w.calendar_name)
                    return self._create(mailbox, w)
                if isinstance(w, UpdateEvent):
                    self._check(mailbox, None)
                    found = self.events.get(w.event_id)
                    if found is None or found.mailbox != mailbox:
                        if w.recreate_transaction_id is None:
                            return WriteOutcome(w, error=SfacalError("gone"))
                        created = self._create(
                            mailbox, CreateEvent(w.event, w.tag, w.recreate_transaction_id, w.calendar_name)
                        )
                        return WriteOutcome(
                            w, event_id=created.event_id, change_key=created.change_key, recreated=True
                        )
                    found.event = w.event
                    found.change_key = f"ck{next(self._ids)}"
                    return WriteOutcome(w, event_id=found.id, change_key=found.change_key)
                assert isinstance(w, DeleteEvent)
                self._check(mailbox, None)
                if w.event_id is not None:
                    gone = self.events.pop(w.event_id, None)
                    return WriteOutcome(
                        w, deleted_ids=(w.event_id,) if gone else (), already_gone=gone is None
                    )
                ids = [
                    e.id
                    for e in self.events.values()
                    if e.mailbox == mailbox and e.tag == w.tag and e.calendar == (w.calendar_name or "")
                ]
                for i in ids:
                    del self.events[i]
                return WriteOutcome(w, deleted_ids=tuple(ids), already_gone=not ids)
            except SfacalError as exc:
                return WriteOutcome(w, error=exc)

    def _create(self, mailbox: str, w: CreateEvent) -> WriteOutcome:
        known = self._tx.get((mailbox, w.transaction_id))
        if known is not None and known in self.events:
            e = self.events[known]
            return WriteOutcome(w, event_id=e.id, change_key=e.change_key)
        ev = StoredEvent(
            id=f"ev{next(self._ids)}",
            mailbox=mailbox,
            calendar=w.calendar_name or "",
            event=w.event,
            tag=w.tag,
            transaction_id=w.transaction_id,
            change_key=f"ck{next(self._ids)}",
        )
        self.events[ev.id] = ev
        self._tx[(mailbox, w.transaction_id)] = ev.id
        return WriteOutcome(w, event_id=ev.id, change_key=ev.change_key)

    def user_delete(self, event_id: str) -> None:
        del self.events[event_id]

    def snapshot(self, e: StoredEvent) -> EventSnapshot:
        return EventSnapshot(
            id=e.id,
            change_key=e.change_key,
            subject=e.event.subject,
            start=e.event.start,
            end=e.event.end,
            timezone=e.event.timezone,
            is_all_day=e.event.is_all_day,
            location=e.event.location,
            body=e.event.body,
            tag=e.tag,
            tag_value=e.tag.value,
            transaction_id=e.transaction_id,
        )


class FakeService:
    """The CalendarService protocol over a :class:`FakeCalendar`."""

    def __init__(self, cal: FakeCalendar) -> None:
        self.cal = cal

    async def list_calendars(self, mailbox: str) -> list[CalendarInfo]:
        names = self.cal.mailboxes.get(mailbox.lower(), set())
        return [CalendarInfo("default", "予定表", True)] + [CalendarInfo(n, n) for n in sorted(names)]

    async def resolve_calendar(self, mailbox: str, calendar_name: str | None) -> CalendarInfo:
        if not calendar_name:
            return CalendarInfo("default", "予定表", True)
        if calendar_name in self.cal.mailboxes.get(mailbox.lower(), set()):
            return CalendarInfo(calendar_name, calendar_name)
        raise CalendarNotFoundError(mailbox=mailbox, calendar=calendar_name)

    async def create_event(
        self,
        mailbox: str,
        event: RenderedEvent,
        tag: EventTag,
        transaction_id: str,
        calendar_name: str | None = None,
    ) -> EventSnapshot:
        out = self.cal.write(mailbox, CreateEvent(event, tag, transaction_id, calendar_name))
        if out.error:
            raise out.error
        return self.cal.snapshot(self.cal.events[out.event_id or ""])

    async def update_event(self, mailbox: str, event_id: str, event: RenderedEvent, tag: EventTag, *, change_key: str | None = None, calendar_name: str | None = None, recreate_transaction_id: str | None = None) -> WriteOutcome:  # fmt: skip
        return self.cal.write(
            mailbox, UpdateEvent(event_id, event, tag, change_key, calendar_name, recreate_transaction_id)
        )

    async def delete_event(self, mailbox: str, event_id: str) -> bool:
        return bool(self.cal.write(mailbox, DeleteEvent(event_id)).deleted_ids)

    async def get_event(
        self, mailbox: str, event_id: str, timezone: str | None = None
    ) -> EventSnapshot | None:
        e = self.cal.events.get(event_id)
        return self.cal.snapshot(e) if e is not None else None

    async def find_by_tag(
        self, mailbox: str, tag: EventTag, calendar_name: str | None = None, timezone: str | None = None
    ) -> list[EventSnapshot]:
        return [s for s in await self.list_tagged(mailbox, calendar_name) if s.tag == tag]

    async def list_tagged(
        self, mailbox: str, calendar_name: str | None = None, timezone: str | None = None
    ) -> list[EventSnapshot]:
        if self.cal.global_error is not None:
            raise self.cal.global_error
        if mailbox.lower() not in self.cal.mailboxes:
            raise MailboxNotFoundError(mailbox=mailbox)
        return [self.cal.snapshot(e) for e in self.cal.of(mailbox, calendar_name or "")]

    async def read_changes(self, mailbox: str, *, start: datetime, end: datetime, delta_token: str | None = None, timezone: str | None = None) -> ChangePage:  # fmt: skip
        return ChangePage((), "token")

    async def apply(self, mailbox: str, writes: Sequence[EventWrite]) -> list[WriteOutcome]:
        return [self.cal.write(mailbox, w) for w in writes]

    async def check_connection(self, probe_mailbox: str | None = None) -> CheckResult:
        return CheckResult(True)

    async def check_mailbox(self, user_id: str, calendar_name: str | None = None) -> CheckResult:
        return CheckResult(True)

    async def aclose(self) -> None:
        return None


@contextlib.contextmanager
def installed(cal: FakeCalendar | None = None) -> Iterator[FakeCalendar]:
    """Make ``cal`` (a new one by default) every company's calendar service while the block runs,
    with no queue behind the inbox."""
    from sfacal.engine import calendar, inbox, loop

    cal = cal or FakeCalendar()
    calendar.set_service_factory(lambda settings: cal.service())
    loop.forget_services()
    inbox.set_dispatcher(None)
    try:
        yield cal
    finally:
        calendar.set_service_factory(None)
        loop.forget_services()
