"""The writing half of the Graph calendar connector: creates, updates, deletes, in JSON batches.

:meth:`GraphCalendarWrites.apply` groups writes for one mailbox into batches of up to 20; writes
touching the same event go into later waves so they keep their order; the batches of a wave run
concurrently within the mailbox's 4 slots. An update whose event is gone is re-created when the
caller allows it (S9); an update with a stale change key is re-read and sent again (the SFA wins).
"Gone" is a 404 or a 400 ``ErrorInvalidIdMalformed`` (an id Graph cannot read names no event):
a delete of such an id counts as done, an update of it is re-created like a deleted event.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace

from sfacal.core.errors import (
    CalendarNotFoundError,
    ConflictError,
    NotFoundError,
    SfacalError,
    redact,
)
from sfacal.core.render import RenderedEvent
from sfacal.core.settings import normalize_calendar

from ..base import (
    CreateEvent,
    DeleteEvent,
    EventSnapshot,
    EventTag,
    EventWrite,
    UpdateEvent,
    WriteOutcome,
)
from .client import BatchItem, GraphResponse, item_path, user_path
from .errors import event_gone, graph_error
from .payload import event_body, parse_event, written_ids
from .reads import GraphCalendarReads, calendar_name_key

__all__ = ["GraphCalendarWrites"]

log = logging.getLogger(__name__)

_CONFLICT_RETRIES = 3


def _is_transaction_replay(response: GraphResponse) -> bool:
    """Graph's answer to a create whose ``transactionId`` already made a different event."""
    if response.status != 400 or not isinstance(response.body, Mapping):
        return False
    error = response.body.get("error")
    return isinstance(error, Mapping) and error.get("code") == "ErrorDuplicateTransactionId"


class GraphCalendarWrites(GraphCalendarReads):
    """Writes of :class:`~.service.MicrosoftGraphCalendar` (see the module docstring)."""

    # -- single operations ------------------------------------------------------------------------
    async def create_event(
        self,
        mailbox: str,
        event: RenderedEvent,
        tag: EventTag,
        transaction_id: str,
        calendar_name: str | None = None,
    ) -> EventSnapshot:
        """Create one event and return it as Graph stored it (raises on failure)."""
        if self.setup_error is not None:
            raise self.setup_error
        write = CreateEvent(event, tag, transaction_id, calendar_name)
        item = await self._prepare(mailbox, write)
        assert isinstance(item, BatchItem)
        response = await self._single(mailbox, item)
        outcome = await self._created(mailbox, write, response)
        if outcome.error is not None:
            raise outcome.error
        if not response.ok:  # a replayed create brought up to date: read what Graph now holds
            current = await self.get_event(mailbox, outcome.event_id or "", event.timezone)
            if current is None:
                raise NotFoundError(f"event {outcome.event_id} vanished from {mailbox}", http_status=404)
            return current
        snap = parse_event(response.body, event.timezone)
        if snap.tag is None:
            snap = replace(snap, tag=tag, tag_value=tag.value)
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
        return (await self.apply(mailbox, [write]))[0]

    # -- batched writes ---------------------------------------------------------------------------
    async def apply(self, mailbox: str, writes: Sequence[EventWrite]) -> list[WriteOutcome]:
        """Run ``writes`` for one mailbox; one :class:`WriteOutcome` each, in order. Writes
        touching the same event run one after the other, in the given order."""
        outcomes: list[WriteOutcome | None] = [None] * len(writes)
        if self.setup_error is not None:
            return [WriteOutcome(w, error=self.setup_error) for w in writes]
        try:
            await self._apply(mailbox, writes, outcomes)
        except SfacalError as exc:
            for i, w in enumerate(writes):
                if outcomes[i] is None:
                    outcomes[i] = WriteOutcome(w, error=exc)
        except Exception as exc:  # a bug must not lose the other outcomes
            log.exception("unexpected failure while writing to %s", mailbox)
            err = SfacalError(redact(f"{type(exc).__name__}: {exc}", self.settings.secrets))
            for i, w in enumerate(writes):
                if outcomes[i] is None:
                    outcomes[i] = WriteOutcome(w, error=err)
        return [
            o if o is not None else WriteOutcome(w, error=SfacalError("no outcome"))
            for o, w in zip(outcomes, writes, strict=True)
        ]

    async def _apply(
        self, mailbox: str, writes: Sequence[EventWrite], outcomes: list[WriteOutcome | None]
    ) -> None:
        # 1. Writes that need a look-up first: deletes by tag; calendars of creates.
        prepared: list[tuple[int, BatchItem, str | None]] = []  # (index, request, event key)
        calendar_failures: dict[str, SfacalError] = {}  # a missing calendar is looked up once
        for i, write in enumerate(writes):
            name = normalize_calendar(write.calendar_name) if isinstance(write, CreateEvent) else None
            failed = calendar_failures.get(calendar_name_key(name)) if name else None
            if failed is not None:
                outcomes[i] = WriteOutcome(write, error=failed)
                continue
            try:
                item = await self._prepare(mailbox, write)
            except SfacalError as exc:
                if name and isinstance(exc, CalendarNotFoundError):
                    calendar_failures[calendar_name_key(name)] = exc
                outcomes[i] = WriteOutcome(write, error=exc)
                continue
            if isinstance(item, WriteOutcome):
                outcomes[i] = item
                continue
            key = write.event_id if isinstance(write, UpdateEvent | DeleteEvent) else None
            if isinstance(write, CreateEvent):
                key = "tx:" + write.transaction_id
            prepared.append((i, item, key))
        # 2. Waves: a wave holds at most one request per event; waves run in order.
        waves: list[list[tuple[int, BatchItem, str | None]]] = []
        seen_in: dict[str, int] = {}
        for entry in prepared:
            key = entry[2]
            wave = seen_in.get(key, -1) + 1 if key else 0
            while len(waves) <= wave:
                waves.append([])
            waves[wave].append(entry)
            if key:
                seen_in[key] = wave
        size = self.settings.batch_size
        for wave_entries in waves:
            chunks = [wave_entries[j : j + size] for j in range(0, len(wave_entries), size)]
            await asyncio.gather(*(self._run_chunk(mailbox, chunk, writes, outcomes) for chunk in chunks))

    async def _prepare(self, mailbox: str, write: EventWrite) -> BatchItem | WriteOutcome:
        # Writes carry no ``Prefer: outlook.timezone``: it only shapes the times in the answer,
        # of which nothing but the event id and change key is read (``written_ids``).
        if isinstance(write, CreateEvent):
            path = await self._events_path(mailbox, write.calendar_name)
            return BatchItem("POST", path, event_body(write.event, write.tag, write.transaction_id))
        user = user_path(mailbox)
        if isinstance(write, UpdateEvent):
            return BatchItem(
                "PATCH",
                f"{user}/events/{item_path(write.event_id)}",
                event_body(write.event, write.tag),
                {"If-Match": f'W/"{write.change_key}"'} if write.change_key else {},
            )
        if write.event_id is not None:
            return BatchItem("DELETE", f"{user}/events/{item_path(write.event_id)}")
        assert write.tag is not None
        found = await self.find_by_tag(mailbox, write.tag, write.calendar_name)
        deleted: list[str] = []
        for snap in found:
            if await self.delete_event(mailbox, snap.id):
                deleted.append(snap.id)
        return WriteOutcome(write, deleted_ids=tuple(deleted), already_gone=not deleted)

    async def _run_chunk(
        self,
        mailbox: str,
        chunk: list[tuple[int, BatchItem, str | None]],
        writes: Sequence[EventWrite],
        outcomes: list[WriteOutcome | None],
    ) -> None:
        try:
            if len(chunk) == 1:
                _, item, _ = chunk[0]
                responses = [await self._single(mailbox, item)]
            else:
                responses = await self.http.batch(mailbox, [item for _, item, _ in chunk])
        except SfacalError as exc:
            for i, _, _ in chunk:
                outcomes[i] = WriteOutcome(writes[i], error=exc)
            return
        follow_ups: list[tuple[int, UpdateEvent, int]] = []
        for (i, _, _), response in zip(chunk, responses, strict=True):
            write = writes[i]
            if isinstance(write, UpdateEvent) and (
                response.status == 412 or event_gone(response.status, response.body)
            ):
                follow_ups.append((i, write, 412 if response.status == 412 else 404))
            elif isinstance(write, CreateEvent) and _is_transaction_replay(response):
                outcomes[i] = await self._created(mailbox, write, response)
            else:
                outcomes[i] = self._outcome(mailbox, write, response)
        for i, write, status in follow_ups:
            try:
                outcomes[i] = await self._repair_update(mailbox, write, status)
            except SfacalError as exc:
                outcomes[i] = WriteOutcome(write, error=exc)

    async def _created(self, mailbox: str, write: CreateEvent, response: GraphResponse) -> WriteOutcome:
        """The outcome of a create. One re-sent after a crash whose content changed meanwhile is
        refused (the ``transactionId`` already made an event, with the older content): that event
        is found by its tag and ``transactionId`` and brought up to date with this content."""
        if not _is_transaction_replay(response):
            return self._outcome(mailbox, write, response)
        try:
            found = [
                snap
                for snap in await self.find_by_tag(mailbox, write.tag, write.calendar_name)
                if snap.transaction_id == write.transaction_id
            ]
            if not found:
                return WriteOutcome(
                    write,
                    error=SfacalError(
                        f"Graph refused transactionId {write.transaction_id} as already used, "
                        f"but no event in {mailbox} carries it"
                    ),
                )
            update = UpdateEvent(found[0].id, write.event, write.tag, None, write.calendar_name)
            item = await self._prepare(mailbox, update)
            assert isinstance(item, BatchItem)
            result = self._outcome(mailbox, update, await self._single(mailbox, item))
        except SfacalError as exc:
            return WriteOutcome(write, error=exc)
        return WriteOutcome(write, event_id=result.event_id, change_key=result.change_key, error=result.error)

    async def _single(self, mailbox: str, item: BatchItem) -> GraphResponse:
        """One write sent on its own (not worth a batch); error answers are returned."""
        return await self.http.request(
            item.method,
            item.url,
            mailbox=mailbox,
            json_body=item.body,
            headers=item.headers,
            accept=tuple(range(400, 600)),
        )

    def _outcome(self, mailbox: str, write: EventWrite, response: GraphResponse) -> WriteOutcome:
        body = response.body if isinstance(response.body, Mapping) else {}
        if isinstance(write, DeleteEvent):
            if event_gone(response.status, response.body):
                return WriteOutcome(write, already_gone=True)
            if response.ok:
                return WriteOutcome(write, deleted_ids=(write.event_id or "",))
        elif response.ok:
            event_id, change_key = written_ids(body)
            if not event_id:
                return WriteOutcome(
                    write, error=SfacalError(f"Graph answered {response.status} without an event id")
                )
            return WriteOutcome(write, event_id=event_id, change_key=change_key)
        calendar = write.calendar_name
        err = graph_error(
            response.status, response.body, response.headers, mailbox=mailbox, calendar=calendar
        )
        if isinstance(write, CreateEvent) and response.status == 404 and normalize_calendar(calendar):
            self._forget_calendar(mailbox, calendar)
            err = CalendarNotFoundError(
                err.detail,
                mailbox=mailbox,
                calendar=calendar,
                upstream_code=err.upstream_code,
                http_status=404,
            )
        return WriteOutcome(write, error=err)

    async def _repair_update(self, mailbox: str, write: UpdateEvent, status: int) -> WriteOutcome:
        """404 (or a malformed id): the event is gone -> re-create (S9) when allowed.
        412: the change key was stale -> read the current one and send the update again."""
        for _ in range(_CONFLICT_RETRIES):
            if status == 404:
                if not write.recreate_transaction_id:
                    return WriteOutcome(
                        write,
                        error=NotFoundError(
                            f"event {write.event_id} no longer exists in {mailbox}", http_status=404
                        ),
                    )
                create = CreateEvent(
                    write.event, write.tag, write.recreate_transaction_id, write.calendar_name
                )
                item = await self._prepare(mailbox, create)
                assert isinstance(item, BatchItem)
                created = await self._created(mailbox, create, await self._single(mailbox, item))
                return WriteOutcome(
                    write,
                    event_id=created.event_id,
                    change_key=created.change_key,
                    recreated=created.ok,
                    error=created.error,
                )
            current = await self.get_event(mailbox, write.event_id, write.event.timezone)
            if current is None:
                status = 404
                continue
            retry = UpdateEvent(
                write.event_id,
                write.event,
                write.tag,
                current.change_key,
                write.calendar_name,
                write.recreate_transaction_id,
            )
            item = await self._prepare(mailbox, retry)
            assert isinstance(item, BatchItem)
            response = await self._single(mailbox, item)
            if response.status == 412 or event_gone(response.status, response.body):
                status = 412 if response.status == 412 else 404
                continue
            result = self._outcome(mailbox, retry, response)
            return WriteOutcome(
                write, event_id=result.event_id, change_key=result.change_key, error=result.error
            )
        return WriteOutcome(
            write, error=ConflictError(f"event {write.event_id} kept changing while it was updated")
        )
