"""The Google Calendar connector: :class:`GoogleCalendar` (async), for Google Workspace.

It implements :class:`~sfacal.calendars.base.CalendarService` over :class:`~.client.GoogleHttp`,
impersonating each employee (service account with domain-wide delegation).

Guarantees (each has a test in ``tests/contract`` or ``tests/calendars/test_google_*``):

* **No duplicate (S6).** A create inserts the id :func:`~.payload.event_id_for` derives from the
  transaction id; ``409 duplicate`` means the event was made before: it is found (wherever the user
  moved it) and overwritten with the content being sent, so a resent create -- with newer content
  too -- leaves one event.
* **A deleted event is never silently restored.** An update without a current etag reads the event
  first; a ``cancelled``/missing event is "gone" (``not_found``, or re-created under the
  re-creation transaction id, S9), never un-deleted by writing to it.
* **Ids survive moves.** Google keeps an event's id when it moves to another calendar; reads,
  updates and deletes that miss it where it was look in the user's other calendars.
* **Updates win (S7).** Every field is written; a stale etag (``412``) is re-read and the update
  sent again with the fresh one.
* **Two-way.** :meth:`read_changes` reads the primary calendar with ``syncToken``; an expired token
  (``410``) raises :class:`~sfacal.core.errors.ResyncRequiredError` and the next read is a full one.
* **Fast back-fill.** :meth:`apply` sends creates in batches (``batch_size`` per request) and the
  rest concurrently, at most ``per_user_concurrency`` requests in flight per user.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import httpx

from sfacal.core.errors import (
    CalendarNotFoundError,
    CalendarReadOnlyError,
    InputError,
    NotFoundError,
    SfacalError,
)
from sfacal.core.render import RenderedEvent
from sfacal.core.settings import normalize_calendar

from ..base import (
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
    find_calendar,
)
from .client import ApiCall, ApiResult, GoogleHttp
from .errors import api_error
from .payload import MARK_PROPERTY, TAG_PROPERTY, event_body, event_id_for, parse_event
from .settings import GoogleSettings

__all__ = ["GoogleCalendar"]

_CALENDAR_TTL_S = 300.0
_GONE = (400, 404, 410)
_EDITABLE = frozenset({"owner", "writer"})


def _events_path(calendar_id: str, event_id: str | None = None) -> str:
    path = f"calendars/{quote(calendar_id, safe='')}/events"
    return f"{path}/{quote(event_id, safe='')}" if event_id else path


def _live(result: ApiResult) -> bool:
    return result.status == 200 and isinstance(result.body, dict) and result.body.get("status") != "cancelled"


class GoogleCalendar:
    """Google Calendar through the Calendar API v3 (see the module docstring)."""

    def __init__(
        self, settings: GoogleSettings, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.settings = settings
        self.http = GoogleHttp(settings, transport=transport)
        self._calendars: dict[str, tuple[float, list[CalendarInfo]]] = {}

    @classmethod
    def from_settings(cls, settings: GoogleSettings, **kwargs: Any) -> GoogleCalendar:
        return cls(settings, **kwargs)

    async def __aenter__(self) -> GoogleCalendar:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self.http.aclose()

    def _error(self, result: ApiResult, what: str) -> SfacalError:
        return api_error(
            result.status, result.body, what=what, project=self.http.project, client_id=self.http.client_id
        )

    # -- calendars ------------------------------------------------------------------------------
    async def list_calendars(self, mailbox: str) -> list[CalendarInfo]:
        cached = self._calendars.get(mailbox)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        found: list[CalendarInfo] = []
        page: str | None = None
        while True:
            params = [("maxResults", "250"), *([("pageToken", page)] if page else [])]
            result = await self.http.call(mailbox, ApiCall("GET", "users/me/calendarList", params))
            body = result.body or {}
            for item in body.get("items", []):
                found.append(
                    CalendarInfo(
                        id=str(item["id"]),
                        name=str(item.get("summaryOverride") or item.get("summary") or item["id"]),
                        is_default=bool(item.get("primary")),
                        can_edit=item.get("accessRole") in _EDITABLE,
                        owner=mailbox,
                    )
                )
            page = body.get("nextPageToken")
            if not page:
                break
        self._calendars[mailbox] = (time.monotonic() + _CALENDAR_TTL_S, found)
        return found

    async def resolve_calendar(self, mailbox: str, calendar_name: str | None) -> CalendarInfo:
        name = normalize_calendar(calendar_name)
        calendars = await self.list_calendars(mailbox)
        if name is None:
            primary = next((c for c in calendars if c.is_default), None)
            return primary or CalendarInfo(id=mailbox, name=mailbox, is_default=True, owner=mailbox)
        chosen = find_calendar(calendars, name)
        if chosen is None:
            self._calendars.pop(mailbox, None)  # renamed or created since: read again next time
            raise CalendarNotFoundError(
                f"calendars of {mailbox}: {[c.name for c in calendars]}", mailbox=mailbox, calendar=name
            )
        return chosen

    # -- reads ----------------------------------------------------------------------------------
    async def _get(self, mailbox: str, calendar_id: str, event_id: str, timezone: str | None) -> ApiResult:
        params = [("timeZone", timezone)] if timezone else []
        return await self.http.call(
            mailbox, ApiCall("GET", _events_path(calendar_id, event_id), params), accept=_GONE
        )

    async def _locate(
        self, mailbox: str, event_id: str, first: str | None, timezone: str | None = None
    ) -> tuple[str, dict[str, Any]] | None:
        """``(calendar id, event JSON)`` of the live event ``event_id`` in any of the user's
        calendars (``first`` tried first), or ``None``."""
        tried: set[str] = set()
        order: list[str] = [first] if first else []
        if not first:
            order.append((await self.resolve_calendar(mailbox, None)).id)
        for calendar_id in order:
            tried.add(calendar_id)
            result = await self._get(mailbox, calendar_id, event_id, timezone)
            if _live(result):
                return calendar_id, result.body
        if not re.fullmatch(r"[a-v0-9_A-Z]{5,1024}", event_id):
            return None  # not an id Google gives: it names no event anywhere
        for calendar in await self.list_calendars(mailbox):
            if calendar.id in tried or not calendar.can_edit:
                continue
            result = await self._get(mailbox, calendar.id, event_id, timezone)
            if _live(result):
                return calendar.id, result.body
        return None

    async def get_event(
        self, mailbox: str, event_id: str, timezone: str | None = None
    ) -> EventSnapshot | None:
        found = await self._locate(mailbox, event_id, None, timezone)
        return parse_event(found[1], timezone, found[0]) if found else None

    async def _list(
        self, mailbox: str, calendar_id: str, params: list[tuple[str, str]]
    ) -> tuple[list[dict[str, Any]], str | None]:
        items: list[dict[str, Any]] = []
        page: str | None = None
        while True:
            query = [*params, ("maxResults", "2500"), *([("pageToken", page)] if page else [])]
            result = await self.http.call(mailbox, ApiCall("GET", _events_path(calendar_id), query))
            body = result.body or {}
            items.extend(body.get("items", []))
            page = body.get("nextPageToken")
            if not page:
                return items, body.get("nextSyncToken")

    async def find_by_tag(
        self, mailbox: str, tag: EventTag, calendar_name: str | None = None, timezone: str | None = None
    ) -> list[EventSnapshot]:
        calendar = await self.resolve_calendar(mailbox, calendar_name)
        params = [("privateExtendedProperty", f"{TAG_PROPERTY}={tag.value}")]
        if timezone:
            params.append(("timeZone", timezone))
        items, _ = await self._list(mailbox, calendar.id, params)
        found = [parse_event(item, timezone, calendar.id) for item in items]
        return [e for e in found if not e.deleted and e.tag_value == tag.value]

    async def list_tagged(
        self, mailbox: str, calendar_name: str | None = None, timezone: str | None = None
    ) -> list[EventSnapshot]:
        calendar = await self.resolve_calendar(mailbox, calendar_name)
        params = [("privateExtendedProperty", f"{MARK_PROPERTY}=1")]
        if timezone:
            params.append(("timeZone", timezone))
        items, _ = await self._list(mailbox, calendar.id, params)
        found = [parse_event(item, timezone, calendar.id) for item in items]
        return [e for e in found if not e.deleted and e.tag is not None]

    async def read_changes(
        self,
        mailbox: str,
        *,
        start: datetime,
        end: datetime,
        delta_token: str | None = None,
        timezone: str | None = None,
    ) -> ChangePage:
        calendar = await self.resolve_calendar(mailbox, None)
        params = [("syncToken", delta_token)] if delta_token else []
        if timezone:
            params.append(("timeZone", timezone))
        items, token = await self._list(mailbox, calendar.id, params)
        events: list[EventSnapshot] = []
        for item in items:
            snap = parse_event(item, timezone, calendar.id)
            if snap.deleted or self._overlaps(snap, start, end):
                events.append(snap)
        return ChangePage(tuple(events), token or delta_token or "")

    @staticmethod
    def _overlaps(snap: EventSnapshot, start: datetime, end: datetime) -> bool:
        if snap.start is None or snap.end is None:
            return False
        zone = ZoneInfo(snap.timezone)
        return snap.end.replace(tzinfo=zone) > start and snap.start.replace(tzinfo=zone) < end

    # -- writes ---------------------------------------------------------------------------------
    async def create_event(
        self,
        mailbox: str,
        event: RenderedEvent,
        tag: EventTag,
        transaction_id: str,
        calendar_name: str | None = None,
    ) -> EventSnapshot:
        calendar = await self.resolve_calendar(mailbox, calendar_name)
        event_id = event_id_for(transaction_id)
        body = event_body(event, tag, event_id=event_id, transaction_id=transaction_id)
        result = await self.http.call(
            mailbox, ApiCall("POST", _events_path(calendar.id), body=body), accept=(409,)
        )
        if result.status == 409:
            return await self._overwrite_existing(mailbox, calendar.id, event, tag, transaction_id)
        return parse_event(result.body, event.timezone, calendar.id)

    async def _overwrite_existing(
        self, mailbox: str, calendar_id: str, event: RenderedEvent, tag: EventTag, transaction_id: str
    ) -> EventSnapshot:
        """The id of ``transaction_id`` exists (409): write the content to the live event wherever
        it is now, else (the user deleted it) restore it in ``calendar_id``."""
        event_id = event_id_for(transaction_id)
        found = await self._locate(mailbox, event_id, calendar_id)
        target = found[0] if found else calendar_id
        body = event_body(event, tag, transaction_id=transaction_id)
        result = await self.http.call(mailbox, ApiCall("PUT", _events_path(target, event_id), body=body))
        return parse_event(result.body, event.timezone, target)

    async def update_event(
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
        write = UpdateEvent(event_id, event, tag, change_key, calendar_name, recreate_transaction_id)
        try:
            return await self._update(mailbox, write)
        except SfacalError as exc:
            return WriteOutcome(write, error=exc)

    async def _update(self, mailbox: str, write: UpdateEvent) -> WriteOutcome:
        # Where the event was written (cached calendar list: no request). With the stored etag the
        # update is one PUT; a stale etag, a deleted (cancelled) or moved event answers 412/404 and
        # the event is looked for before anything is written.
        calendar_id: str | None = (await self.resolve_calendar(mailbox, write.calendar_name)).id
        body = event_body(write.event, write.tag)
        etag = write.change_key
        for _ in range(4):
            if etag is None or calendar_id is None:
                found = await self._locate(mailbox, write.event_id, calendar_id)
                if found is None:
                    return await self._gone(mailbox, write)
                calendar_id, current = found
                etag = str(current.get("etag", ""))
            call = ApiCall(
                "PUT", _events_path(calendar_id, write.event_id), body=body, headers={"If-Match": etag}
            )
            result = await self.http.call(mailbox, call, accept=(*_GONE, 412))
            if result.status == 200:
                snap = parse_event(result.body, write.event.timezone, calendar_id)
                return WriteOutcome(write, event_id=snap.id, change_key=snap.change_key)
            etag = None  # stale (412) or not there: read where it is now and try again
            if result.status != 412:
                calendar_id = None
        raise self._error(ApiResult(412, None), f"PUT {write.event_id}")

    async def _gone(self, mailbox: str, write: UpdateEvent) -> WriteOutcome:
        if write.recreate_transaction_id is None:
            return WriteOutcome(
                write, error=NotFoundError(f"event {write.event_id} of {mailbox} is gone", http_status=404)
            )
        snap = await self.create_event(
            mailbox, write.event, write.tag, write.recreate_transaction_id, write.calendar_name
        )
        return WriteOutcome(write, event_id=snap.id, change_key=snap.change_key, recreated=True)

    async def _delete(self, mailbox: str, event_id: str, calendar_name: str | None = None) -> bool:
        first = (await self.resolve_calendar(mailbox, calendar_name)).id if calendar_name else None
        found = await self._locate(mailbox, event_id, first)
        if found is None:
            return False
        result = await self.http.call(
            mailbox, ApiCall("DELETE", _events_path(found[0], event_id)), accept=_GONE
        )
        return result.status < 300

    async def delete_event(self, mailbox: str, event_id: str) -> bool:
        return await self._delete(mailbox, event_id)

    async def _delete_write(self, mailbox: str, write: DeleteEvent) -> WriteOutcome:
        if write.event_id is not None:
            deleted = await self._delete(mailbox, write.event_id, write.calendar_name)
            ids = (write.event_id,) if deleted else ()
            return WriteOutcome(write, deleted_ids=ids, already_gone=not deleted)
        assert write.tag is not None
        removed: list[str] = []
        for snap in await self.find_by_tag(mailbox, write.tag, write.calendar_name):
            if await self._delete(mailbox, snap.id, write.calendar_name):
                removed.append(snap.id)
        return WriteOutcome(write, deleted_ids=tuple(removed), already_gone=not removed)

    async def _one(self, mailbox: str, write: EventWrite) -> WriteOutcome:
        try:
            if isinstance(write, CreateEvent):
                snap = await self.create_event(
                    mailbox, write.event, write.tag, write.transaction_id, write.calendar_name
                )
                return WriteOutcome(write, event_id=snap.id, change_key=snap.change_key)
            if isinstance(write, UpdateEvent):
                return await self._update(mailbox, write)
            return await self._delete_write(mailbox, write)
        except SfacalError as exc:
            return WriteOutcome(write, error=exc)

    async def apply(self, mailbox: str, writes: Sequence[EventWrite]) -> list[WriteOutcome]:
        outcomes: list[WriteOutcome | None] = [None] * len(writes)
        creates = [i for i, w in enumerate(writes) if isinstance(w, CreateEvent)]
        # The same transaction id twice in one call: the later ones go one by one after the batch.
        seen: set[str] = set()
        batched: list[int] = []
        later: list[int] = []
        for i in creates:
            write = writes[i]
            assert isinstance(write, CreateEvent)
            key = event_id_for(write.transaction_id)
            (later if key in seen else batched).append(i)
            seen.add(key)
        await self._batch_creates(mailbox, writes, batched, outcomes)
        rest = [i for i in range(len(writes)) if outcomes[i] is None and i not in later]
        done = await asyncio.gather(*(self._one(mailbox, writes[i]) for i in rest))
        for i, outcome in zip(rest, done, strict=True):
            outcomes[i] = outcome
        for i in later:
            outcomes[i] = await self._one(mailbox, writes[i])
        return [o for o in outcomes if o is not None]

    async def _batch_creates(
        self,
        mailbox: str,
        writes: Sequence[EventWrite],
        indexes: list[int],
        outcomes: list[WriteOutcome | None],
    ) -> None:
        calls: list[ApiCall] = []
        sent: list[tuple[int, str]] = []
        for i in indexes:
            write = writes[i]
            assert isinstance(write, CreateEvent)
            try:
                calendar = await self.resolve_calendar(mailbox, write.calendar_name)
            except SfacalError as exc:
                outcomes[i] = WriteOutcome(write, error=exc)
                continue
            body = event_body(
                write.event,
                write.tag,
                event_id=event_id_for(write.transaction_id),
                transaction_id=write.transaction_id,
            )
            calls.append(ApiCall("POST", _events_path(calendar.id), body=body))
            sent.append((i, calendar.id))
        if len(calls) < 2:
            return  # one create: the plain path
        results = await self.http.batch(mailbox, calls)
        for (i, calendar_id), result in zip(sent, results, strict=True):
            write = writes[i]
            assert isinstance(write, CreateEvent)
            if result.status == 200:
                snap = parse_event(result.body, write.event.timezone, calendar_id)
                outcomes[i] = WriteOutcome(write, event_id=snap.id, change_key=snap.change_key)
            elif result.status != 409:  # 409: made before -- the one-by-one path overwrites it
                outcomes[i] = WriteOutcome(write, error=self._error(result, "batch insert"))

    # -- checks ---------------------------------------------------------------------------------
    def expiry_warnings(self) -> tuple[()]:
        return ()

    def _details(self, check: str) -> dict[str, Any]:
        key = self.settings.key
        details: dict[str, Any] = {"check": check, "service": "google"}
        if key is not None:
            details.update(client_email=key.client_email, client_id=key.client_id, project=key.project_id)
        return details

    async def check_connection(self, probe_mailbox: str | None = None) -> CheckResult:
        """Save and test: the key signs a token request Google accepts and the Calendar API
        answers the service account itself (the API is enabled in its project); with
        ``probe_mailbox``, a token impersonating that user (delegation) and the user's calendars."""
        details = self._details("connection")
        try:
            await self.http.token(None)
            await self.http.call(None, ApiCall("GET", "users/me/calendarList", [("maxResults", "1")]))
            if probe_mailbox:
                details["calendars"] = [c.to_dict() for c in await self.list_calendars(probe_mailbox)]
        except SfacalError as exc:
            return CheckResult(False, exc, details)
        return CheckResult(True, None, details)

    async def check_mailbox(self, user_id: str, calendar_name: str | None = None) -> CheckResult:
        """The user exists and may be impersonated, the API is on, the target calendar exists
        (``None``/empty: the primary one) and may be written."""
        mailbox = (user_id or "").strip()
        name = normalize_calendar(calendar_name)
        details: dict[str, Any] = {**self._details("mailbox"), "mailbox": mailbox, "calendar_name": name}
        try:
            if not mailbox:
                raise InputError("user_id", "the user ID is required", reason_ja="連携ユーザーIDは必須です")
            self._calendars.pop(mailbox, None)
            calendars = await self.list_calendars(mailbox)
            details["calendars"] = [c.to_dict() for c in calendars]
            chosen = await self.resolve_calendar(mailbox, name)
            details["calendar"] = chosen.to_dict()
            if not chosen.can_edit:
                raise CalendarReadOnlyError(
                    f"the calendar {chosen.name!r} of {mailbox} is read-only",
                    mailbox=mailbox,
                    calendar=chosen.name,
                )
        except SfacalError as exc:
            return CheckResult(False, exc, details)
        return CheckResult(True, None, details)
