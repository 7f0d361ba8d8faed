"""Requests borrow long-lived threads (sfacal.web.request_threads): one request at a time per
thread, the same threads again for later requests, and a new thread when all are busy."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from asgiref.sync import sync_to_async

from sfacal.web.request_threads import PooledThreadsASGIHandler


class Probe(PooledThreadsASGIHandler):
    """Records the thread each request's synchronous code runs in (instead of Django's work)."""

    def __init__(self, threads: int) -> None:
        super().__init__(threads)
        self.seen: list[int] = []
        self.running: set[int] = set()
        self.overlap = False
        self.gate: asyncio.Event | None = None

    async def handle(self, scope: Any, receive: Any, send: Any) -> None:
        ident = await sync_to_async(threading.get_ident)()
        if ident in self.running:
            self.overlap = True
        self.running.add(ident)
        if self.gate is not None:
            await self.gate.wait()
        again = await sync_to_async(threading.get_ident)()  # the whole request stays in one thread
        assert again == ident
        self.running.discard(ident)
        self.seen.append(ident)


HTTP = {"type": "http"}


def test_later_requests_reuse_the_same_threads() -> None:
    app = Probe(threads=2)

    async def run() -> None:
        for _ in range(6):
            await app(HTTP, None, None)

    asyncio.run(run())
    assert len(set(app.seen)) == 1  # one at a time: the same thread each time, none made per request
    assert threading.get_ident() not in app.seen


def test_concurrent_requests_each_have_a_thread_and_extra_ones_get_new_threads() -> None:
    app = Probe(threads=2)

    async def run() -> None:
        app.gate = asyncio.Event()
        tasks = [asyncio.create_task(app(HTTP, None, None)) for _ in range(5)]
        while len(app.running) < 5:
            await asyncio.sleep(0.01)
        app.gate.set()
        await asyncio.gather(*tasks)

    asyncio.run(asyncio.wait_for(run(), 20))
    assert len(set(app.seen)) == 5  # two lent threads and three new ones, all at once
    assert not app.overlap


def test_other_scopes_are_refused_as_django_refuses_them() -> None:
    with pytest.raises(ValueError, match="websocket"):
        asyncio.run(PooledThreadsASGIHandler(threads=1)({"type": "websocket"}, None, None))
