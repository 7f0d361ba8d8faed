"""A blocking facade over :class:`~.service.MicrosoftGraphCalendar` for synchronous callers
(web buttons, management commands, worker tasks that are not async).

It owns one event loop in a background thread; the async connector (and its connection pool) lives
in that loop, and each method waits for its coroutine there. Use it as a context manager, or call
:meth:`BlockingGraphCalendar.close`.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Sequence
from datetime import datetime
from typing import Any, TypeVar

from sfacal.core.render import RenderedEvent

from ..base import CalendarInfo, ChangePage, CheckResult, EventSnapshot, EventTag, EventWrite, WriteOutcome
from .service import MicrosoftGraphCalendar
from .settings import GraphSettings

__all__ = ["BlockingGraphCalendar", "check_connection", "check_mailbox"]

T = TypeVar("T")


class BlockingGraphCalendar:
    """The connector's methods, blocking (see the module docstring)."""

    def __init__(self, settings: GraphSettings, **kwargs: Any) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="sfacal-msgraph", daemon=True)
        self._thread.start()
        self.service = MicrosoftGraphCalendar(settings, **kwargs)
        self._closed = False

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        if self._closed:
            coro.close()
            raise RuntimeError("the calendar connection is closed")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    def close(self) -> None:
        if self._closed:
            return
        try:
            self._run(self.service.aclose())
        finally:
            self._closed = True
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            if not self._thread.is_alive():
                self._loop.close()

    def __enter__(self) -> BlockingGraphCalendar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def list_calendars(self, mailbox: str) -> list[CalendarInfo]:
        return self._run(self.service.list_calendars(mailbox))

    def resolve_calendar(self, mailbox: str, calendar_name: str | None) -> CalendarInfo:
        return self._run(self.service.resolve_calendar(mailbox, calendar_name))

    def create_event(
        self,
        mailbox: str,
        event: RenderedEvent,
        tag: EventTag,
        transaction_id: str,
        calendar_name: str | None = None,
    ) -> EventSnapshot:
        return self._run(self.service.create_event(mailbox, event, tag, transaction_id, calendar_name))

    def update_event(
        self,
        mailbox: str,
        event_id: str,
        event: RenderedEvent,
        tag: EventTag,
        *,
        change_key: str | None = None,
        calendar_name: str | None = None,
        recreate_transaction_id: str | None = None,
    ) -> WriteOutcome:
        return self._run(
            self.service.update_event(
                mailbox,
                event_id,
                event,
                tag,
                change_key=change_key,
                calendar_name=calendar_name,
                recreate_transaction_id=recreate_transaction_id,
            )
        )

    def delete_event(self, mailbox: str, event_id: str) -> bool:
        return self._run(self.service.delete_event(mailbox, event_id))

    def get_event(self, mailbox: str, event_id: str, timezone: str | None = None) -> EventSnapshot | None:
        return self._run(self.service.get_event(mailbox, event_id, timezone))

    def find_by_tag(
        self, mailbox: str, tag: EventTag, calendar_name: str | None = None, timezone: str | None = None
    ) -> list[EventSnapshot]:
        return self._run(self.service.find_by_tag(mailbox, tag, calendar_name, timezone))

    def list_tagged(
        self, mailbox: str, calendar_name: str | None = None, timezone: str | None = None
    ) -> list[EventSnapshot]:
        return self._run(self.service.list_tagged(mailbox, calendar_name, timezone))

    def read_changes(
        self,
        mailbox: str,
        *,
        start: datetime,
        end: datetime,
        delta_token: str | None = None,
        timezone: str | None = None,
    ) -> ChangePage:
        return self._run(
            self.service.read_changes(
                mailbox, start=start, end=end, delta_token=delta_token, timezone=timezone
            )
        )

    def apply(self, mailbox: str, writes: Sequence[EventWrite]) -> list[WriteOutcome]:
        return self._run(self.service.apply(mailbox, writes))

    def check_connection(self, probe_mailbox: str | None = None) -> CheckResult:
        return self._run(self.service.check_connection(probe_mailbox))

    def check_mailbox(self, user_id: str, calendar_name: str | None = None) -> CheckResult:
        return self._run(self.service.check_mailbox(user_id, calendar_name))


def check_connection(settings: GraphSettings, probe_mailbox: str | None = None) -> CheckResult:
    """C7 "save and test", blocking: never raises for a connection problem."""
    with BlockingGraphCalendar(settings) as cal:
        return cal.check_connection(probe_mailbox)


def check_mailbox(settings: GraphSettings, user_id: str, calendar_name: str | None = None) -> CheckResult:
    """E5 "check" button, blocking: never raises for a mailbox problem."""
    with BlockingGraphCalendar(settings) as cal:
        return cal.check_mailbox(user_id, calendar_name)
