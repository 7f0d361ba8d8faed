"""The CalDAV connector: :class:`CalDavCalendar`, a :class:`~sfacal.calendars.base.CalendarService`
for any CalDAV server (RFC 4791).

Guarantees (the contract suite ``tests/contract/`` runs them against a real Radicale server):

* **One event per create (S6).** An event's ``UID`` -- which is also its id for the engine -- and
  its resource name (``<UID>.ics``) are derived from the tag and the transaction id. A create is a
  ``PUT`` with ``If-None-Match: *``; when the resource already exists (a create sent again after a
  crash) the newer content is written over it with ``If-Match``, never a second event.
* **Updates overwrite every field (S7)** with ``If-Match`` on the ETag; a stale ETag (the user
  edited the event) is re-read and the write retried -- the SFA wins. An update whose event is gone
  is ``not_found``, or re-created with the given transaction id (S9).
* **Ids survive a move.** The id is the ``UID``, not the URL: an event the user moved to another
  calendar is found there again (same resource name first, then a ``calendar-query`` on the UID in
  every calendar of the home).
* **Our events only (T3).** The tag lives in ``X-SFACAL-TAG``; the server may compare it ignoring
  case, so every match is checked again exactly.
* **Two-way reads** use ``sync-collection`` (RFC 6578) when the server offers it; otherwise the
  token carries the ETags last seen and changes are found by comparing them. A token the server no
  longer knows is ``resync_required``.
* At most ``concurrency`` requests in flight per mailbox in :meth:`apply`; writes to the same event
  run one after the other.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

from sfacal.calendars.base import (
    CalendarInfo,
    ChangePage,
    CheckResult,
    CreateEvent,
    EventSnapshot,
    EventTag,
    EventWrite,
    UpdateEvent,
    WriteOutcome,
    find_calendar,
)
from sfacal.core.errors import (
    CalendarNotFoundError,
    CalendarReadOnlyError,
    ConflictError,
    NotFoundError,
    SfacalError,
)
from sfacal.core.render import RenderedEvent
from sfacal.core.schedule import zone

from .dav import CALDAV, DAV, DavConnection, PropRow, multistatus
from .discovery import DavCalendar, discover_home, load_calendars
from .ical import TAG_PROPERTY, event_to_ical, ical_to_snapshot
from .queries import (
    ICS,
    XML,
    calendar_query,
    event_uid,
    parent,
    sequence_of,
    stem,
    sync_collection,
    text_match,
)
from .settings import CalDavSettings

__all__ = ["CalDavCalendar", "event_uid"]

_RETRIES = 3
_TOKEN_SYNC = "sync:"
_TOKEN_ETAGS = "etags:"


@dataclass(frozen=True)
class _Found:
    href: str
    etag: str | None
    text: str
    calendar: DavCalendar | None


class CalDavCalendar:
    """A calendar service for one company's CalDAV server(s) (see the module docstring)."""

    def __init__(self, settings: CalDavSettings | Callable[[], CalDavSettings]) -> None:
        """``settings``, or a blocking function that reads them (run once, in a worker thread,
        at first use -- the engine builds connectors on its event loop, where no database read
        may run)."""
        self._loader: Callable[[], CalDavSettings] | None = None
        if isinstance(settings, CalDavSettings):
            self._settings: CalDavSettings | None = settings
        else:
            self._settings, self._loader = None, settings
        self._loading = asyncio.Lock()
        self._connections: dict[tuple[str, str], DavConnection] = {}
        self._homes: dict[str, str] = {}
        self._calendars: dict[str, list[DavCalendar]] = {}
        self._where: dict[tuple[str, str], str] = {}
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}

    @property
    def settings(self) -> CalDavSettings:
        if self._settings is None:
            raise RuntimeError("the CalDAV settings are read at first use (await _ready())")
        return self._settings

    async def _ready(self) -> CalDavSettings:
        if self._settings is None:
            async with self._loading:
                if self._settings is None:
                    assert self._loader is not None
                    self._settings = await asyncio.to_thread(self._loader)
        return self._settings

    @classmethod
    def from_settings(cls, settings: CalDavSettings) -> CalDavCalendar:
        return cls(settings)

    async def __aenter__(self) -> CalDavCalendar:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        connections, self._connections = list(self._connections.values()), {}
        for conn in connections:
            await conn.aclose()

    # -------------------------------------------------------------------------------------------
    # Connections and calendars

    def _conn(self, mailbox: str) -> DavConnection:
        account = self.settings.account_for(mailbox)
        key = (account.url, account.username)
        conn = self._connections.get(key)
        if conn is None:
            conn = DavConnection(
                account, ca_bundle=self.settings.ca_bundle, timeout_s=self.settings.timeout_s
            )
            self._connections[key] = conn
        return conn

    async def _home(self, mailbox: str) -> str:
        home = self._homes.get(mailbox)
        if home is not None:
            return home
        conn = self._conn(mailbox)
        home = await discover_home(conn, mailbox) if conn.account.discover else conn.account.url
        self._homes[mailbox] = home
        return home

    async def _load_calendars(self, mailbox: str, *, fresh: bool = False) -> list[DavCalendar]:
        settings = await self._ready()
        if not fresh and mailbox in self._calendars:
            return self._calendars[mailbox]
        calendars = await load_calendars(
            self._conn(mailbox), await self._home(mailbox), mailbox, settings.default_calendar
        )
        self._calendars[mailbox] = calendars
        return calendars

    async def _calendar(self, mailbox: str, name: str | None) -> DavCalendar:
        for fresh in (False, True):
            calendars = await self._load_calendars(mailbox, fresh=fresh)
            if not name or not name.strip():
                default = next((c for c in calendars if c.info.is_default), None)
                if default is not None:
                    return default
            else:
                info = find_calendar([c.info for c in calendars], name.strip())
                if info is not None:
                    return next(c for c in calendars if c.info.id == info.id)
        raise CalendarNotFoundError(
            f"no calendar {name!r} for {mailbox}",
            mailbox=mailbox,
            calendar=(name or "").strip() or "(default)",
        )

    async def list_calendars(self, mailbox: str) -> list[CalendarInfo]:
        return [c.info for c in await self._load_calendars(mailbox, fresh=True)]

    async def resolve_calendar(self, mailbox: str, calendar_name: str | None) -> CalendarInfo:
        return (await self._calendar(mailbox, calendar_name)).info

    # -------------------------------------------------------------------------------------------
    # Reading resources

    async def _get(self, mailbox: str, href: str, calendar: DavCalendar | None) -> _Found | None:
        reply = await self._conn(mailbox).send("GET", href, mailbox=mailbox)
        if reply.status in (404, 410):
            return None
        if reply.status != 200:
            raise SfacalError(f"GET {urlsplit(href).path}: {reply.status}")
        return _Found(href, reply.etag, reply.text, calendar)

    async def _report(self, mailbox: str, calendar: DavCalendar, body: str) -> list[PropRow]:
        reply = await self._conn(mailbox).send(
            "REPORT", calendar.href, body, {"Depth": "1", "Content-Type": XML}, mailbox=mailbox
        )
        if reply.status == 404:
            raise CalendarNotFoundError(
                f"REPORT {calendar.info.id}: 404", mailbox=mailbox, calendar=calendar.info.name
            )
        if reply.status != 207:
            raise SfacalError(f"REPORT {calendar.info.id}: {reply.status}")
        return [r for r in multistatus(reply.body)[0] if r.status == 200]

    def _resource(self, calendar: DavCalendar, uid: str) -> str:
        return urljoin(calendar.href, quote(uid, safe="@") + ".ics")

    async def _locate(self, mailbox: str, uid: str, calendar_name: str | None = None) -> _Found | None:
        """The resource holding the event ``uid`` wherever it is in the mailbox's calendars."""
        calendars = await self._load_calendars(mailbox)
        cached = self._where.get((mailbox, uid))
        if cached is not None:
            found = await self._get(
                mailbox, cached, next((c for c in calendars if c.href == parent(cached)), None)
            )
            if found is not None:
                return found
            self._where.pop((mailbox, uid), None)
        first: list[DavCalendar] = []
        if calendar_name:
            try:
                first.append(await self._calendar(mailbox, calendar_name))
            except CalendarNotFoundError:
                pass
        order = first + [c for c in calendars if c not in first]
        for cal in order:
            found = await self._get(mailbox, self._resource(cal, uid), cal)
            if found is not None:
                self._where[(mailbox, uid)] = found.href
                return found
        for cal in order:
            for row in await self._report(mailbox, cal, calendar_query(text_match("UID", uid))):
                text = row.text(f"{{{CALDAV}}}calendar-data")
                snap = ical_to_snapshot(text) if text else None
                if snap is not None and snap.id == uid:
                    href = self._conn(mailbox).url(row.href)
                    self._where[(mailbox, uid)] = href
                    return _Found(href, row.text(f"{{{DAV}}}getetag"), text or "", cal)
        return None

    def _snapshot(self, found: _Found, uid: str | None, timezone: str | None) -> EventSnapshot | None:
        cal_id = found.calendar.info.id if found.calendar else urlsplit(parent(found.href)).path
        return ical_to_snapshot(
            found.text, event_id=uid, etag=found.etag, calendar_id=cal_id, timezone=timezone
        )

    async def get_event(
        self, mailbox: str, event_id: str, timezone: str | None = None
    ) -> EventSnapshot | None:
        found = await self._locate(mailbox, event_id)
        return None if found is None else self._snapshot(found, event_id, timezone)

    async def _tagged(
        self, mailbox: str, calendar_name: str | None, timezone: str | None, tag: EventTag | None
    ) -> list[EventSnapshot]:
        cal = await self._calendar(mailbox, calendar_name)
        prop = (
            text_match(TAG_PROPERTY, tag.value)
            if tag is not None
            else f'<c:prop-filter name="{TAG_PROPERTY}"/>'
        )
        out: list[EventSnapshot] = []
        conn = self._conn(mailbox)
        for row in await self._report(mailbox, cal, calendar_query(prop)):
            text = row.text(f"{{{CALDAV}}}calendar-data")
            if not text:
                continue
            href = conn.url(row.href)
            snap = ical_to_snapshot(
                text, etag=row.text(f"{{{DAV}}}getetag"), calendar_id=cal.info.id, timezone=timezone
            )
            if snap is None or snap.tag is None or (tag is not None and snap.tag_value != tag.value):
                continue
            self._where[(mailbox, snap.id)] = href
            out.append(snap)
        return out

    async def find_by_tag(
        self, mailbox: str, tag: EventTag, calendar_name: str | None = None, timezone: str | None = None
    ) -> list[EventSnapshot]:
        return await self._tagged(mailbox, calendar_name, timezone, tag)

    async def list_tagged(
        self, mailbox: str, calendar_name: str | None = None, timezone: str | None = None
    ) -> list[EventSnapshot]:
        return await self._tagged(mailbox, calendar_name, timezone, None)

    # -------------------------------------------------------------------------------------------
    # Writing

    async def _put(
        self, mailbox: str, href: str, body: str, condition: dict[str, str]
    ) -> tuple[int, str | None]:
        conn = self._conn(mailbox)
        reply = await conn.send("PUT", href, body, {"Content-Type": ICS, **condition}, mailbox=mailbox)
        if reply.status in (200, 201, 204):
            etag = reply.etag
            if etag is None:
                got = await self._get(mailbox, href, None)
                etag = got.etag if got is not None else None
            return reply.status, etag
        if reply.status in (404, 409, 412):
            return reply.status, None
        if reply.status == 403:
            raise CalendarReadOnlyError(
                f"PUT {urlsplit(href).path}: 403", mailbox=mailbox, calendar=stem(parent(href))
            )
        raise SfacalError(f"PUT {urlsplit(href).path}: {reply.status} {reply.text[:300]}")

    async def _overwrite(
        self, mailbox: str, found: _Found, uid: str, event: RenderedEvent, tag: EventTag, txid: str | None
    ) -> str | None:
        """Write ``event`` over the resource ``found`` with If-Match, re-reading a stale ETag."""
        current: _Found | None = found
        for _ in range(_RETRIES):
            if current is None:
                return None
            old = ical_to_snapshot(current.text)
            sequence = sequence_of(current.text) + 1 if old is not None else 0
            body = event_to_ical(
                event,
                tag,
                uid,
                transaction_id=txid or (old.transaction_id if old else None),
                sequence=sequence,
            )
            condition = {"If-Match": current.etag} if current.etag else {}
            status, etag = await self._put(mailbox, current.href, body, condition)
            if status in (200, 201, 204):
                self._where[(mailbox, uid)] = current.href
                return etag
            if status == 404:
                return None
            current = await self._get(mailbox, current.href, current.calendar)
        raise ConflictError(f"PUT {uid}: the ETag kept changing")

    async def create_event(
        self,
        mailbox: str,
        event: RenderedEvent,
        tag: EventTag,
        transaction_id: str,
        calendar_name: str | None = None,
    ) -> EventSnapshot:
        cal = await self._calendar(mailbox, calendar_name)
        uid = event_uid(tag, transaction_id)
        href = self._where.get((mailbox, uid)) or self._resource(cal, uid)
        body = event_to_ical(event, tag, uid, transaction_id=transaction_id)
        status, etag = await self._put(mailbox, href, body, {"If-None-Match": "*"})
        if status not in (200, 201, 204):
            # It is there already (a create sent again): the newer content goes over it.
            existing = await self._get(mailbox, href, cal)
            etag = None
            if existing is not None:
                etag = await self._overwrite(mailbox, existing, uid, event, tag, transaction_id)
            if existing is None or etag is None:
                status, etag = await self._put(mailbox, href, body, {"If-None-Match": "*"})
                if status not in (200, 201, 204):
                    raise ConflictError(f"PUT {uid}: {status}")
        self._where[(mailbox, uid)] = href
        snap = ical_to_snapshot(
            body, event_id=uid, etag=etag, calendar_id=cal.info.id, timezone=event.timezone
        )
        assert snap is not None
        return snap

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
            found = await self._locate(mailbox, event_id, calendar_name)
            etag = None
            if found is not None:
                etag = await self._overwrite(mailbox, found, event_id, event, tag, None)
            if found is None or etag is None:
                if recreate_transaction_id is None:
                    return WriteOutcome(write, error=NotFoundError(f"event {event_id} is gone"))
                made = await self.create_event(mailbox, event, tag, recreate_transaction_id, calendar_name)
                return WriteOutcome(write, event_id=made.id, change_key=made.change_key, recreated=True)
            return WriteOutcome(write, event_id=event_id, change_key=etag)
        except SfacalError as exc:
            return WriteOutcome(write, error=exc)

    async def delete_event(self, mailbox: str, event_id: str) -> bool:
        found = await self._locate(mailbox, event_id)
        if found is None:
            return False
        reply = await self._conn(mailbox).send("DELETE", found.href, mailbox=mailbox)
        self._where.pop((mailbox, event_id), None)
        if reply.status in (404, 410):
            return False
        if reply.status not in (200, 202, 204):
            raise SfacalError(f"DELETE {urlsplit(found.href).path}: {reply.status}")
        return True

    async def apply(self, mailbox: str, writes: Sequence[EventWrite]) -> list[WriteOutcome]:
        gate = asyncio.Semaphore(max(1, (await self._ready()).concurrency))

        async def one(write: EventWrite) -> WriteOutcome:
            key = _write_key(write)
            lock = self._locks.setdefault((mailbox, key), asyncio.Lock())
            async with gate, lock:
                try:
                    return await self._apply_one(mailbox, write)
                except SfacalError as exc:
                    return WriteOutcome(write, error=exc)

        return list(await asyncio.gather(*(one(w) for w in writes)))

    async def _apply_one(self, mailbox: str, write: EventWrite) -> WriteOutcome:
        if isinstance(write, CreateEvent):
            snap = await self.create_event(
                mailbox, write.event, write.tag, write.transaction_id, write.calendar_name
            )
            return WriteOutcome(write, event_id=snap.id, change_key=snap.change_key)
        if isinstance(write, UpdateEvent):
            outcome = await self.update_event(
                mailbox,
                write.event_id,
                write.event,
                write.tag,
                change_key=write.change_key,
                calendar_name=write.calendar_name,
                recreate_transaction_id=write.recreate_transaction_id,
            )
            return WriteOutcome(
                write,
                event_id=outcome.event_id,
                change_key=outcome.change_key,
                recreated=outcome.recreated,
                error=outcome.error,
            )
        if write.event_id is not None:
            gone = not await self.delete_event(mailbox, write.event_id)
            return WriteOutcome(write, already_gone=gone, deleted_ids=() if gone else (write.event_id,))
        assert write.tag is not None
        deleted = [
            e.id
            for e in await self.find_by_tag(mailbox, write.tag, write.calendar_name)
            if await self.delete_event(mailbox, e.id)
        ]
        return WriteOutcome(write, already_gone=not deleted, deleted_ids=tuple(deleted))

    # -------------------------------------------------------------------------------------------
    # Two-way

    async def read_changes(
        self,
        mailbox: str,
        *,
        start: datetime,
        end: datetime,
        delta_token: str | None = None,
        timezone: str | None = None,
    ) -> ChangePage:
        cal = await self._calendar(mailbox, None)
        if cal.sync and not (delta_token or "").startswith(_TOKEN_ETAGS):
            events, token = await self._sync_collection(mailbox, cal, delta_token, timezone)
        else:
            events, token = await self._etag_compare(mailbox, cal, delta_token, timezone)
        kept = tuple(e for e in events if e.deleted or _overlaps(e, start, end))
        return ChangePage(kept, token)

    async def _sync_collection(
        self, mailbox: str, cal: DavCalendar, delta_token: str | None, timezone: str | None
    ) -> tuple[list[EventSnapshot], str]:
        token = (delta_token or "")[len(_TOKEN_SYNC) :] if delta_token else ""
        events: list[EventSnapshot] = []
        conn = self._conn(mailbox)
        while True:
            body = sync_collection(token)
            reply = await conn.send("REPORT", cal.href, body, {"Content-Type": XML}, mailbox=mailbox)
            if reply.status != 207:
                raise SfacalError(f"sync-collection {cal.info.id}: {reply.status}")
            rows, new_token = multistatus(reply.body)
            for row in rows:
                if row.status == 404:
                    events.append(EventSnapshot(id=stem(row.href), deleted=True, calendar_id=cal.info.id))
                    continue
                text = row.text(f"{{{CALDAV}}}calendar-data")
                if text is None:
                    got = await self._get(mailbox, conn.url(row.href), cal)
                    text = got.text if got is not None else None
                snap = (
                    ical_to_snapshot(
                        text, etag=row.text(f"{{{DAV}}}getetag"), calendar_id=cal.info.id, timezone=timezone
                    )
                    if text
                    else None
                )
                if snap is not None:
                    self._where[(mailbox, snap.id)] = conn.url(row.href)
                    events.append(snap)
            truncated = any(r.status == 507 for r in rows)
            token = new_token or token
            if not truncated:
                return events, _TOKEN_SYNC + token

    async def _etag_compare(
        self, mailbox: str, cal: DavCalendar, delta_token: str | None, timezone: str | None
    ) -> tuple[list[EventSnapshot], str]:
        """Changes for servers without sync-collection: the token carries the ETags last seen."""
        seen: dict[str, str] = {}
        if delta_token and delta_token.startswith(_TOKEN_ETAGS):
            seen = json.loads(zlib.decompress(base64.urlsafe_b64decode(delta_token[len(_TOKEN_ETAGS) :])))
        now: dict[str, str] = {}
        events: list[EventSnapshot] = []
        for row in await self._report(mailbox, cal, calendar_query()):
            text = row.text(f"{{{CALDAV}}}calendar-data") or ""
            snap = ical_to_snapshot(
                text, etag=row.text(f"{{{DAV}}}getetag"), calendar_id=cal.info.id, timezone=timezone
            )
            if snap is None:
                continue
            now[snap.id] = snap.change_key or hashlib.sha256(text.encode()).hexdigest()
            if seen.get(snap.id) != now[snap.id]:
                events.append(snap)
        events.extend(
            EventSnapshot(id=uid, deleted=True, calendar_id=cal.info.id) for uid in seen if uid not in now
        )
        packed = base64.urlsafe_b64encode(zlib.compress(json.dumps(now, sort_keys=True).encode())).decode()
        return events, _TOKEN_ETAGS + packed

    # -------------------------------------------------------------------------------------------
    # Checks

    async def check_connection(self, probe_mailbox: str | None = None) -> CheckResult:
        try:
            if probe_mailbox:
                calendars = await self.list_calendars(probe_mailbox)
                details: dict[str, Any] = {
                    "check": "caldav_connection",
                    "calendars": [c.to_dict() for c in calendars],
                }
            else:
                await self._ready()
                conn = self._conn("")
                reply = await conn.send("PROPFIND", conn.account.url, "", {"Depth": "0"})
                if reply.status not in (200, 207):
                    raise SfacalError(f"PROPFIND {conn.account.url}: {reply.status}")
                details = {"check": "caldav_connection"}
            return CheckResult(ok=True, details=details)
        except SfacalError as exc:
            return CheckResult(ok=False, error=exc)

    async def check_mailbox(self, user_id: str, calendar_name: str | None = None) -> CheckResult:
        try:
            calendars = await self.list_calendars(user_id)
            cal = await self._calendar(user_id, calendar_name)
            if not cal.info.can_edit:
                raise CalendarReadOnlyError(mailbox=user_id, calendar=cal.info.name)
            return CheckResult(
                ok=True,
                details={
                    "check": "mailbox",
                    "calendar": cal.info.to_dict(),
                    "calendars": [c.to_dict() for c in calendars],
                },
            )
        except SfacalError as exc:
            return CheckResult(ok=False, error=exc)


def _write_key(write: EventWrite) -> str:
    if isinstance(write, CreateEvent):
        return event_uid(write.tag, write.transaction_id)
    if write.event_id is not None:
        return write.event_id
    assert write.tag is not None
    return write.tag.value


def _overlaps(event: EventSnapshot, start: datetime, end: datetime) -> bool:
    if event.start is None or event.end is None:
        return True
    tz = UTC if event.timezone == "UTC" else zone(event.timezone)
    s = event.start.replace(tzinfo=tz)
    e = max(event.end.replace(tzinfo=tz), s)
    return s < end and (e > start or (e == s and s >= start))
