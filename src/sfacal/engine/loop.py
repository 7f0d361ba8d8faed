"""The engine's event loop: one background thread per process that drives every calendar request.

Worker threads (Huey's, the web's "sync now") hand coroutines to it with :func:`run` and wait for
the result. Keeping one long-lived loop lets calendar services (HTTP connection pools, tokens) be
reused across passes (:func:`service_for`); database work never runs on this loop (it is done in
the calling thread or a dedicated database thread).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from sfacal.calendars.base import CalendarService
from sfacal.core.errors import SfacalError
from sfacal.directory.companies.models import CompanySettings
from sfacal.engine import calendar

__all__ = ["forget_services", "get_loop", "run", "service_for", "shutdown", "submit"]

log = logging.getLogger(__name__)
T = TypeVar("T")

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_thread: threading.Thread | None = None
# company id -> (settings fingerprint, service or the error building it)
_services: dict[int, tuple[str, CalendarService | SfacalError]] = {}


def _ensure_loop() -> asyncio.AbstractEventLoop:
    global _loop, _thread
    with _lock:
        if _loop is not None and _thread is not None and _thread.is_alive():
            return _loop
        loop = asyncio.new_event_loop()
        ready = threading.Event()

        def main() -> None:
            asyncio.set_event_loop(loop)
            loop.call_soon(ready.set)
            loop.run_forever()

        thread = threading.Thread(target=main, name="sfacal-engine-loop", daemon=True)
        thread.start()
        ready.wait(10)
        _loop, _thread = loop, thread
        _services.clear()
        return loop


def get_loop() -> asyncio.AbstractEventLoop:
    """The engine loop (started on first use)."""
    return _ensure_loop()


def submit(coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
    """Start ``coro`` on the engine loop; its result arrives in the returned future."""
    return asyncio.run_coroutine_threadsafe(coro, _ensure_loop())


def run(coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
    """Run ``coro`` on the engine loop and wait for its result (from any other thread)."""
    return submit(coro).result(timeout)


async def service_for(settings: CompanySettings) -> CalendarService:
    """The company's calendar service, built on first use (on the engine loop); rebuilt when the
    company's connector settings changed. Raises the :class:`SfacalError` that building it gave."""
    key = calendar.fingerprint(settings)
    cached = _services.get(settings.company_id)
    if cached is not None and cached[0] == key:
        found = cached[1]
        if isinstance(found, SfacalError):
            raise found
        return found
    if cached is not None and not isinstance(cached[1], SfacalError):
        try:
            await cached[1].aclose()
        except Exception:  # closing an old client must not stop the new one
            log.debug("closing a replaced calendar service failed", exc_info=True)
    try:
        service: CalendarService | SfacalError = calendar.build_service(settings)
    except SfacalError as exc:
        service = exc
    _services[settings.company_id] = (key, service)
    if isinstance(service, SfacalError):
        raise service
    return service


def forget_services() -> None:
    """Close and drop every cached service (tests switch factories; settings changed)."""
    if _loop is None:
        _services.clear()
        return

    async def close_all() -> None:
        items = list(_services.values())
        _services.clear()
        for _, service in items:
            if not isinstance(service, SfacalError):
                try:
                    await service.aclose()
                except Exception:
                    log.debug("closing a calendar service failed", exc_info=True)

    run(close_all(), timeout=30)


def shutdown() -> None:
    """Stop the loop thread (tests; process exit does not need it)."""
    global _loop, _thread
    if _loop is None:
        return
    forget_services()
    loop, thread = _loop, _thread
    _loop, _thread = None, None
    loop.call_soon_threadsafe(loop.stop)
    if thread is not None:
        thread.join(10)
