"""Executing a pass's operations: many mailboxes at once, fed while the pass is still planning.

The calendar writes run on the engine loop (:mod:`sfacal.engine.loop`). An :class:`Execution` has
one worker task per mailbox, started when the first operations of that mailbox arrive
(:meth:`Execution.feed`, called from the pass's thread after each planned slice has been written
ahead). A worker sends its mailbox's operations as soon as a full JSON batch is waiting (or the
pass has planned everything): inside a mailbox the connector keeps at most 4 requests in flight and
packs the writes into batches of 20 (:meth:`CalendarService.apply`).

Database work never runs on the loop. The pass's own thread serves it through a
:class:`DbBridge` between planned slices and, once planning is over, until the execution ends:
the workers ask it to record outcomes (mirror rows and log lines) and to renew leases. Up to
:data:`COALESCE` requests are committed in one transaction (each in its own savepoint) and answered
only after the commit, so "recorded" always means "durable". A worker does not wait for its
outcomes to be recorded before sending its next batch: every create was written ahead before it
was handed over, so a crash before recording only means the same creates are sent again (with the
same ``transactionId``) by a later pass.

Memory: an operation is held from the moment it is fed until its outcome is recorded; after that
the execution keeps only a :class:`~sfacal.engine.mirrors.Settled` (record, employee, status,
error; the operation itself only when it was not written). :attr:`Execution.outstanding` (fed, not
yet recorded) lets the pass plan only a few batches per mailbox ahead of what is sent
(:mod:`sfacal.engine.processor`), and :meth:`DbBridge.serve_next` lets it serve the execution's
database calls while it waits.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import queue
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import replace
from typing import Any, TypeVar

from django.db import transaction

from sfacal.calendars.base import CalendarService, EventWrite, UpdateEvent, WriteOutcome, write_for_operation
from sfacal.core.errors import SfacalError, TransientError, redact
from sfacal.core.planner import Operation, OpKind
from sfacal.directory.companies.models import CompanySettings
from sfacal.engine import loop as engine_loop
from sfacal.engine.context import RecordKey
from sfacal.engine.leases import LeaseSet
from sfacal.engine.mirrors import OpResult, OpStatus, Recorder, Settled

__all__ = ["BATCH", "CHUNK", "COALESCE", "DbBridge", "Execution", "write_for"]

log = logging.getLogger(__name__)
T = TypeVar("T")

BATCH = 20  # a worker sends once this many operations wait (one full JSON batch)
CHUNK = 100  # at most this many operations per connector call
COALESCE = 8

_Request = tuple[Callable[..., Any], tuple[Any, ...], asyncio.AbstractEventLoop, "asyncio.Future[Any]"]


class DbBridge:
    """Database calls from the engine loop, served by the thread that runs the pass."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[_Request | None] = queue.SimpleQueue()
        self._running: concurrent.futures.Future[Any] | None = None

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        running = asyncio.get_running_loop()
        future: asyncio.Future[T] = running.create_future()
        self._queue.put((fn, args, running, future))
        return await future

    def start(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Start ``coro`` on the engine loop; serve its database calls with :meth:`serve_pending`
        and :meth:`finish`."""
        cf: concurrent.futures.Future[T] = engine_loop.submit(coro)
        cf.add_done_callback(lambda _: self._queue.put(None))
        self._running = cf
        return cf

    def serve_pending(self) -> None:
        """Serve the database calls waiting now (never blocks)."""
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            if item is None:
                self._queue.put(None)  # keep the "done" mark for finish()
                return
            self._serve(self._more(item))

    def serve_next(self, timeout: float) -> bool:
        """Serve the next database call, waiting up to ``timeout`` seconds for one; ``False`` once
        the coroutine from :meth:`start` has ended (no call will come any more)."""
        try:
            item = self._queue.get(timeout=timeout)
        except queue.Empty:
            return True
        if item is None:
            self._queue.put(None)  # keep the "done" mark for finish()
            return False
        self._serve(self._more(item))
        return True

    def finish(self, cf: concurrent.futures.Future[T]) -> T:
        """Serve database calls until ``cf`` (from :meth:`start`) is done; its result."""
        while True:
            item = self._queue.get()
            if item is None:
                if cf.done():
                    return cf.result()
                continue
            self._serve(self._more(item))

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the engine loop, serving its database calls here until it ends."""
        return self.finish(self.start(coro))

    def _more(self, first: _Request) -> list[_Request]:
        batch = [first]
        while len(batch) < COALESCE:
            try:
                more = self._queue.get_nowait()
            except queue.Empty:
                break
            if more is None:
                self._queue.put(None)
                break
            batch.append(more)
        return batch

    @staticmethod
    def _serve(batch: list[_Request]) -> None:
        results: list[tuple[bool, Any]] = []
        try:
            with transaction.atomic():
                for fn, args, _, _ in batch:
                    try:
                        with transaction.atomic():
                            results.append((True, fn(*args)))
                    except Exception as exc:
                        log.exception("database work of a pass failed")
                        results.append((False, exc))
        except Exception as exc:  # the commit itself failed: nothing of the batch is durable
            log.exception("committing the work of a pass failed")
            results = [(False, exc)] * len(batch)
        for (ok, value), (_, _, owner, future) in zip(results, batch, strict=True):
            owner.call_soon_threadsafe(_settle, future, ok, value)


def _settle(future: asyncio.Future[Any], ok: bool, value: Any) -> None:
    if future.cancelled() or future.done():
        return
    if ok:
        future.set_result(value)
    else:
        future.set_exception(value)


def write_for(op: Operation) -> EventWrite:
    """The calendar write of a planned operation; an update may re-create its event (S9)."""
    write = write_for_operation(op)
    if op.kind is OpKind.UPDATE and isinstance(write, UpdateEvent):
        write = replace(write, recreate_transaction_id=op.recreate().transaction_id)
    return write


def _as_error(exc: BaseException) -> SfacalError:
    if isinstance(exc, SfacalError):
        return exc
    return TransientError(redact(f"{type(exc).__name__}: {exc}"))


class _Mailbox:
    __slots__ = ("ops", "task", "wake")

    def __init__(self) -> None:
        self.ops: list[Operation] = []
        self.wake = asyncio.Event()
        self.task: asyncio.Task[None] | None = None


class Execution:
    """The loop side of a pass (see the module docstring). Build it, start :meth:`main` on the
    engine loop with :meth:`DbBridge.start`, hand over written-ahead operations with
    :meth:`feed`, and :meth:`close` when everything is planned; :meth:`main` returns one
    :class:`Settled` per operation. ``owner`` (``id(operation)`` -> record, filled by the pass
    before it feeds an operation) names each operation's record; an entry is taken out when the
    operation is recorded (its id may be reused once the operation is freed)."""

    def __init__(
        self,
        settings: CompanySettings,
        bridge: DbBridge,
        recorder: Recorder,
        leases: LeaseSet,
        on_chunk: Callable[[list[OpResult]], None] | None = None,
        owner: dict[int, RecordKey] | None = None,
    ) -> None:
        self.settings = settings
        self.owner: dict[int, RecordKey] = owner if owner is not None else {}
        # Counted on the pass's thread only (feed, and recording, which the bridge runs there).
        self.fed = 0
        self.recorded = 0
        self.bridge = bridge
        self.recorder = recorder
        self.leases = leases
        self.on_chunk = on_chunk
        self._loop: asyncio.AbstractEventLoop | None = None
        self._early: list[dict[str, list[Operation]]] = []
        self._closed = False
        self._boxes: dict[str, _Mailbox] = {}
        self._records: list[asyncio.Future[list[Settled]]] = []
        self._service: CalendarService | SfacalError | None = None
        self._ready = asyncio.Event()
        self._done = asyncio.Event()

    # -- from the pass's thread -------------------------------------------------------------------
    @property
    def outstanding(self) -> int:
        """Operations fed and not recorded yet (read on the pass's thread)."""
        return self.fed - self.recorded

    def feed(self, jobs: dict[str, list[Operation]]) -> None:
        """Hand over operations per mailbox (each create already written ahead)."""
        self.fed += sum(len(ops) for ops in jobs.values())
        loop = engine_loop.get_loop()
        loop.call_soon_threadsafe(self._feed, jobs)

    def close(self) -> None:
        """Nothing more will be fed: workers send what they hold and finish."""
        loop = engine_loop.get_loop()
        loop.call_soon_threadsafe(self._close)

    # -- on the loop ------------------------------------------------------------------------------
    def _feed(self, jobs: dict[str, list[Operation]]) -> None:
        for mailbox, ops in jobs.items():
            box = self._boxes.get(mailbox)
            if box is None:
                box = self._boxes[mailbox] = _Mailbox()
                box.task = asyncio.get_running_loop().create_task(self._worker(mailbox, box))
            box.ops.extend(ops)
            if len(box.ops) >= BATCH:
                box.wake.set()

    def _close(self) -> None:
        self._closed = True
        for box in self._boxes.values():
            box.wake.set()
        self._done.set()

    async def _worker(self, mailbox: str, box: _Mailbox) -> None:
        await self._ready.wait()
        while True:
            if len(box.ops) < BATCH and not self._closed:
                box.wake.clear()
                await box.wake.wait()
                continue
            if not box.ops:
                return
            take = len(box.ops) if self._closed else len(box.ops) - len(box.ops) % BATCH
            take = min(take, CHUNK)
            chunk, box.ops = box.ops[:take], box.ops[take:]
            outcomes = await self._send(mailbox, chunk)
            self._records.append(asyncio.ensure_future(self._recorded(chunk, outcomes)))
            del chunk, outcomes  # held by the recording task only until it is recorded

    async def _send(self, mailbox: str, chunk: list[Operation]) -> Sequence[WriteOutcome | SfacalError]:
        service = self._service
        if isinstance(service, SfacalError) or service is None:
            return [service or SfacalError("no calendar service")] * len(chunk)
        try:
            return await service.apply(mailbox, [write_for(op) for op in chunk])
        except Exception as exc:  # the protocol promises outcomes; stay safe anyway
            log.exception("calendar apply failed for %s", mailbox)
            return [_as_error(exc)] * len(chunk)

    async def _recorded(
        self, chunk: list[Operation], outcomes: Sequence[WriteOutcome | SfacalError]
    ) -> list[Settled]:
        """Record a sent chunk; what the pass keeps of it (see :class:`Settled`)."""
        try:
            settled = await self.bridge.call(self._record, chunk, outcomes)
        except Exception as exc:  # sent but not recorded: creates stay PENDING, retried later
            err = _as_error(exc)
            return [Settled.of(OpResult(op, OpStatus.RETRY, err), self.owner.get(id(op))) for op in chunk]
        for op in chunk:  # still alive here, so its id cannot have been reused yet
            self.owner.pop(id(op), None)
        return settled

    def _record(
        self, chunk: list[Operation], outcomes: Sequence[WriteOutcome | SfacalError]
    ) -> list[Settled]:
        """On the pass's thread: store the outcomes; report progress."""
        try:
            got = self.recorder.record(chunk, outcomes)
            if self.on_chunk is not None:
                self.on_chunk(got)
        finally:
            self.recorded += len(chunk)
        owner = self.owner
        return [Settled.of(r, owner.get(id(r.op))) for r in got]

    async def main(self) -> list[Settled]:
        """Run until :meth:`close` was called and every mailbox is done; one result per operation."""
        try:
            self._service = await engine_loop.service_for(self.settings)
        except SfacalError as exc:
            self._service = exc
        except Exception as exc:
            log.exception("building the calendar service failed")
            self._service = _as_error(exc)
        self._ready.set()
        renew = asyncio.create_task(_renew(self.bridge, self.leases, max(0.5, self.leases.ttl / 3)))
        try:
            await self._done.wait()
            await asyncio.gather(*(box.task for box in self._boxes.values() if box.task is not None))
            results: list[Settled] = []
            for got in await asyncio.gather(*self._records):
                results.extend(got)
            return results
        finally:
            renew.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await renew


async def _renew(bridge: DbBridge, leases: LeaseSet, every: float) -> None:
    while True:
        await asyncio.sleep(every)
        try:
            lost = await bridge.call(leases.renew)
        except Exception:
            log.exception("renewing leases failed")
            continue
        if lost:
            log.warning("leases lost while working (taken over after expiry): %s", sorted(lost))
