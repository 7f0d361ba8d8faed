"""Django's ASGI handler with long-lived request threads.

Django's own handler runs the synchronous part of every request (middleware, views, the ORM) in a
thread made for that request, and starts another one to join it afterwards; each new thread also
opens a new database connection. On the acknowledgement path (push API, webhook) that is a large
part of a request's cost. This handler keeps :data:`REQUEST_THREADS` threads and lends one to each
request instead (asgiref's ``ThreadSensitiveContext(executor=...)``, which leaves the executor to
its owner).

Guarantees:

* a request's synchronous code still runs in one thread of its own while it runs: a thread is lent
  to one request at a time, and every request that finds none free gets a new thread exactly as
  Django would give it (never waits for one);
* a database connection lives in its thread as Django's ``CONN_MAX_AGE`` allows and is checked at
  the start and end of each request as usual (a broken or expired one is closed);
* everything else is Django's: the same request handling, signals and middleware.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from asgiref.sync import ThreadSensitiveContext
from django.core.handlers.asgi import ASGIHandler

REQUEST_THREADS = 32
"""Threads kept for requests; more requests at once each get a thread of their own."""


class PooledThreadsASGIHandler(ASGIHandler):
    """:class:`ASGIHandler` whose requests borrow a long-lived thread (see the module docstring)."""

    def __init__(self, threads: int = REQUEST_THREADS) -> None:
        super().__init__()
        self._idle = [
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="sfacal-request") for _ in range(threads)
        ]

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not self._idle:
            await super().__call__(scope, receive, send)  # also refuses non-HTTP scopes as Django does
            return
        executor = self._idle.pop()
        try:
            async with ThreadSensitiveContext(executor=executor):
                await self.handle(scope, receive, send)
        finally:
            self._idle.append(executor)
