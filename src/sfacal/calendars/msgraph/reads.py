"""The reading half of the Graph calendar connector: calendars, events, tags and changes.

:class:`GraphCalendarReads` owns the connection (:class:`~.client.GraphClient`) and resolves
calendar names (E3); :mod:`.writes` adds the writes and :mod:`.service` the checks.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Self

from sfacal.core.errors import (
    CalendarNotFoundError,
    InputError,
    SfacalError,
)
from sfacal.core.settings import normalize_calendar

from ..base import (
    CalendarInfo,
    ChangePage,
    EventSnapshot,
    EventTag,
    calendar_name_key,
    find_calendar,
)
from .auth import GraphAuth
from .client import GraphClient, GraphResponse, item_path, user_path
from .errors import event_gone, graph_error
from .payload import parse_event, prefer_timezone, tag_expand, tag_filter
from .settings import GraphSettings

__all__ = ["GraphCalendarReads", "calendar_name_key"]

_CALENDAR_TTL_S = 600.0
_GONE = (400, 404)  # answers that may say "no such event" (:func:`~.errors.event_gone`)


def _calendar_info(data: Mapping[str, Any]) -> CalendarInfo:
    owner = data.get("owner")
    address = owner.get("address") if isinstance(owner, Mapping) else None
    return CalendarInfo(
        id=str(data.get("id") or ""),
        name=str(data.get("name") or ""),
        is_default=bool(data.get("isDefaultCalendar")),
        can_edit=bool(data.get("canEdit", True)),
        owner=str(address) if address else None,
    )


@functools.lru_cache(maxsize=64)
def _prefer(timezone: str) -> str:
    return f'{prefer_timezone(timezone)}, outlook.body-content-type="text"'


def _iso_utc(value: datetime) -> str:
    if value.tzinfo is None:
        raise InputError(
            "start", "an aware date and time is required", reason_ja="タイムゾーン付きの日時が必要です"
        )
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class GraphCalendarReads:
    """Connection, calendars and reads of :class:`~.service.MicrosoftGraphCalendar`.

    Local credential problems (``.pfx``, thumbprint, token endpoint) do not raise when it is built:
    they are kept in :attr:`setup_error` and returned by every call (and by the checks) with their
    hint, so a wrong setting is reported where the administrator looks.
    """

    def __init__(
        self,
        settings: GraphSettings,
        *,
        auth: GraphAuth | None = None,
        client: GraphClient | None = None,
    ) -> None:
        self.settings = settings
        self.setup_error: SfacalError | None = None
        self.auth: GraphAuth | None = auth
        if self.auth is None:
            try:
                self.auth = GraphAuth(settings)
            except SfacalError as exc:
                self.setup_error = exc
        self._client = client
        if self._client is None and self.auth is not None:
            self._client = GraphClient(settings, self.auth)
        self._calendars: dict[tuple[str, str], tuple[float, CalendarInfo]] = {}

    @classmethod
    def from_settings(cls, settings: GraphSettings, **kwargs: Any) -> Self:
        return cls(settings, **kwargs)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(client_id={self.settings.client_id!r}, graph={self.settings.graph_base_url!r})"

    @property
    def http(self) -> GraphClient:
        if self.setup_error is not None:
            raise self.setup_error
        assert self._client is not None
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
        if self.auth is not None:
            await asyncio.to_thread(self.auth.close)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def _read_headers(self, timezone: str | None) -> dict[str, str]:
        tz = timezone or self.settings.timezone
        return {"Prefer": _prefer(tz)}

    # -- calendars --------------------------------------------------------------------------------
    async def list_calendars(self, mailbox: str) -> list[CalendarInfo]:
        rows = await self.http.get_all(
            f"{user_path(mailbox)}/calendars",
            mailbox=mailbox,
            params={"$top": "100"},
        )
        return [_calendar_info(row) for row in rows if isinstance(row, Mapping)]

    async def default_calendar(self, mailbox: str) -> CalendarInfo:
        response = await self.http.request("GET", f"{user_path(mailbox)}/calendar", mailbox=mailbox)
        body = response.body if isinstance(response.body, Mapping) else {}
        info = _calendar_info(body)
        return CalendarInfo(info.id, info.name, True, info.can_edit, info.owner)

    @staticmethod
    def match_calendar(calendars: Sequence[CalendarInfo], name: str) -> CalendarInfo | None:
        """The calendar called ``name``: exact match first, then ignoring case and width."""
        return find_calendar(calendars, name)

    async def resolve_calendar(self, mailbox: str, calendar_name: str | None) -> CalendarInfo:
        name = normalize_calendar(calendar_name)
        cache_key = (mailbox.strip().lower(), calendar_name_key(name) if name else "")
        cached = self._calendars.get(cache_key)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        if name is None:
            info = await self.default_calendar(mailbox)
        else:
            found = self.match_calendar(await self.list_calendars(mailbox), name)
            if found is None:
                raise CalendarNotFoundError(
                    f"no calendar named {name!r} in {mailbox}", mailbox=mailbox, calendar=name
                )
            info = found
        self._calendars[cache_key] = (time.monotonic() + _CALENDAR_TTL_S, info)
        return info

    def _forget_calendar(self, mailbox: str, calendar_name: str | None) -> None:
        name = normalize_calendar(calendar_name)
        self._calendars.pop((mailbox.strip().lower(), calendar_name_key(name) if name else ""), None)

    async def _events_path(self, mailbox: str, calendar_name: str | None) -> str:
        if calendar_name is None or normalize_calendar(calendar_name) is None:
            return user_path(mailbox) + "/calendar/events"
        info = await self.resolve_calendar(mailbox, calendar_name)
        return f"{user_path(mailbox)}/calendars/{item_path(info.id)}/events"

    async def delete_event(self, mailbox: str, event_id: str) -> bool:
        """``False`` when the event was gone already (404, or an id that names nothing)."""
        path = f"{user_path(mailbox)}/events/{item_path(event_id)}"
        response = await self.http.request("DELETE", path, mailbox=mailbox, accept=_GONE)
        return not self._gone(response, f"DELETE {path}", mailbox)

    @staticmethod
    def _gone(response: GraphResponse, what: str, mailbox: str) -> bool:
        """Whether an answer accepted as :data:`_GONE` says the event does not exist (else it is
        another 400, raised as such)."""
        if response.ok:
            return False
        if event_gone(response.status, response.body):
            return True
        raise graph_error(response.status, response.body, response.headers, mailbox=mailbox, what=what)

    async def get_event(
        self, mailbox: str, event_id: str, timezone: str | None = None
    ) -> EventSnapshot | None:
        path = f"{user_path(mailbox)}/events/{item_path(event_id)}"
        response = await self.http.request(
            "GET",
            path,
            mailbox=mailbox,
            params={"$expand": tag_expand()},
            headers=self._read_headers(timezone),
            accept=_GONE,
        )
        if self._gone(response, f"GET {path}", mailbox) or not isinstance(response.body, Mapping):
            return None
        return parse_event(response.body, timezone or self.settings.timezone)

    async def _find(
        self, mailbox: str, tag: EventTag | None, calendar_name: str | None, timezone: str | None
    ) -> list[EventSnapshot]:
        path = await self._events_path(mailbox, calendar_name)
        rows = await self.http.get_all(
            path,
            mailbox=mailbox,
            calendar=calendar_name,
            params={"$filter": tag_filter(tag), "$expand": tag_expand(), "$top": "100"},
            headers=self._read_headers(timezone),
        )
        tz = timezone or self.settings.timezone
        return [parse_event(row, tz) for row in rows if isinstance(row, Mapping)]

    async def find_by_tag(
        self, mailbox: str, tag: EventTag, calendar_name: str | None = None, timezone: str | None = None
    ) -> list[EventSnapshot]:
        found = await self._find(mailbox, tag, calendar_name, timezone)
        # Graph compares extended property values case-insensitively: keep exact matches only.
        return [snap for snap in found if snap.tag_value == tag.value]

    async def list_tagged(
        self, mailbox: str, calendar_name: str | None = None, timezone: str | None = None
    ) -> list[EventSnapshot]:
        return [
            snap for snap in await self._find(mailbox, None, calendar_name, timezone) if snap.tag is not None
        ]

    async def read_changes(
        self,
        mailbox: str,
        *,
        start: datetime,
        end: datetime,
        delta_token: str | None = None,
        timezone: str | None = None,
    ) -> ChangePage:
        headers = self._read_headers(timezone)
        headers["Prefer"] += ", odata.maxpagesize=100"
        if delta_token:
            response = await self.http.request("GET", delta_token, mailbox=mailbox, headers=headers)
        else:
            response = await self.http.request(
                "GET",
                f"{user_path(mailbox)}/calendarView/delta",
                mailbox=mailbox,
                params={"startDateTime": _iso_utc(start), "endDateTime": _iso_utc(end)},
                headers=headers,
            )
        tz = timezone or self.settings.timezone
        events: dict[str, EventSnapshot] = {}
        pages = 0
        while True:
            pages += 1
            body = response.body if isinstance(response.body, Mapping) else {}
            for row in body.get("value") or []:
                if isinstance(row, Mapping) and row.get("id"):
                    snap = parse_event(row, tz)
                    events[snap.id] = snap  # a later page wins
            next_link = body.get("@odata.nextLink")
            delta_link = body.get("@odata.deltaLink")
            if isinstance(delta_link, str) and delta_link:
                return ChangePage(tuple(events.values()), delta_link)
            if not isinstance(next_link, str) or not next_link or pages > 10_000:
                raise SfacalError(f"the change feed of {mailbox} ended without a delta link")
            response = await self.http.request("GET", next_link, mailbox=mailbox, headers=headers)
