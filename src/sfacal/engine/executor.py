"""Executing a pass's operations: many mailboxes at once, database work beside them.

The calendar writes run on the engine loop (:mod:`sfacal.engine.loop`): one task per mailbox, all
mailboxes concurrently; inside a mailbox the connector keeps at most 4 requests in flight and packs
waiting writes into JSON batches (:meth:`CalendarService.apply`).

Database work never runs on the loop. The pass's own thread serves it through a
:class:`DbBridge` while it waits for the loop: each mailbox task asks it to write ahead its
creates, then sends them, then asks it to record the outcomes. The bridge commits up to
:data:`COALESCE` requests in one transaction (each in its own savepoint) and answers them only after
the commit, so "recorded" always means "durable".

Per mailbox, operations run in chunks of :data:`CHUNK` (write ahead -> send -> record), so a crash
re-sends at most one chunk, and progress (P4 back-fill) is visible as chunks complete.
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
from sfacal.engine import loop as engine_loop
from sfacal.engine.context import RecordKey
from sfacal.engine.leases import LeaseSet
from sfacal.engine.mirrors import OpResult, OpStatus, Recorder
from sfacal.web.companies.models import CompanySettings

__all__ = ["CHUNK", "COALESCE", "DbBridge", "execute", "write_for"]

log = logging.getLogger(__name__)
T = TypeVar("T")

CHUNK = 100
COALESCE = 8
MAX_MAILBOXES = 1000

_Request = tuple[Callable[..., Any], tuple[Any, ...], asyncio.AbstractEventLoop, "asyncio.Future[Any]"]


class DbBridge:
    """Database calls from the engine loop, served by the thread that runs the pass."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[_Request | None] = queue.SimpleQueue()

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        running = asyncio.get_running_loop()
        future: asyncio.Future[T] = running.create_future()
        self._queue.put((fn, args, running, future))
        return await future

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the engine loop, serving its database calls here until it ends."""
        cf: concurrent.futures.Future[T] = engine_loop.submit(coro)
        cf.add_done_callback(lambda _: self._queue.put(None))
        while True:
            item = self._queue.get()
            if item is None:
                if cf.done():
                    return cf.result()
                continue
            batch = [item]
            while len(batch) < COALESCE:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._queue.put(None)
                    break
                batch.append(more)
            self._serve(batch)

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


async def _mailbox(
    service: CalendarService | SfacalError,
    mailbox: str,
    ops: Sequence[Operation],
    bridge: DbBridge,
    recorder: Recorder,
    triggers: dict[RecordKey, str],
    on_chunk: Callable[[list[OpResult]], None] | None,
) -> list[OpResult]:
    results: list[OpResult] = []
    for start in range(0, len(ops), CHUNK):
        chunk = list(ops[start : start + CHUNK])
        try:
            await bridge.call(recorder.write_ahead, chunk)
        except Exception as exc:  # not durable: do not send
            err = _as_error(exc)
            results.extend(OpResult(op, OpStatus.RETRY, err) for op in chunk)
            continue
        outcomes: Sequence[WriteOutcome | SfacalError]
        if isinstance(service, SfacalError):
            outcomes = [service] * len(chunk)
        else:
            try:
                outcomes = await service.apply(mailbox, [write_for(op) for op in chunk])
            except Exception as exc:  # the protocol promises outcomes; stay safe anyway
                log.exception("calendar apply failed for %s", mailbox)
                outcomes = [_as_error(exc)] * len(chunk)
        try:
            got = await bridge.call(recorder.record, chunk, outcomes, triggers)
        except Exception as exc:  # sent but not recorded: creates stay PENDING and are re-sent
            err = _as_error(exc)
            got = [OpResult(op, OpStatus.RETRY, err) for op in chunk]
        results.extend(got)
        if on_chunk is not None:
            await bridge.call(on_chunk, got)
    return results


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


async def execute(
    settings: CompanySettings,
    jobs: dict[str, list[Operation]],
    bridge: DbBridge,
    recorder: Recorder,
    triggers: dict[RecordKey, str],
    leases: LeaseSet,
    on_chunk: Callable[[list[OpResult]], None] | None = None,
) -> list[OpResult]:
    """Run every mailbox's operations (see the module docstring); one result per operation."""
    service: CalendarService | SfacalError
    try:
        service = await engine_loop.service_for(settings)
    except SfacalError as exc:
        service = exc
    except Exception as exc:
        log.exception("building the calendar service failed")
        service = _as_error(exc)
    renew = asyncio.create_task(_renew(bridge, leases, max(0.5, leases.ttl / 3)))
    gate = asyncio.Semaphore(MAX_MAILBOXES)

    async def one(mailbox: str, ops: list[Operation]) -> list[OpResult]:
        async with gate:
            return await _mailbox(service, mailbox, ops, bridge, recorder, triggers, on_chunk)

    try:
        parts = await asyncio.gather(*(one(m, ops) for m, ops in jobs.items()))
    finally:
        renew.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await renew
    return [r for part in parts for r in part]
