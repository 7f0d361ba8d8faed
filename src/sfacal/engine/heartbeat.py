"""Worker heartbeats: which worker processes are alive, for ``/readyz`` and ``/metrics``.

Guarantees:

- Every worker process (``sfacal worker``, and the worker inside ``sfacal serve``) has one
  :class:`~sfacal.engine.models.WorkerHeartbeat` row, renewed every :func:`interval` seconds
  (``SFACAL_HEARTBEAT_SECONDS``, default 10) by one daemon thread, however many worker threads the
  process runs (:func:`start` is idempotent).
- A worker is *live* when its row was renewed within :func:`live_window` (three intervals): a
  killed worker stops counting after at most that long; one stopped cleanly removes its row at
  once (:func:`stop`).
- Rows not renewed for a day are deleted by the live workers (a crashed worker's row does not
  stay forever).
- A failing beat (database briefly unreachable) is logged as a WARNING and retried at the next
  interval; the thread never dies of it.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from datetime import datetime, timedelta

from django.db import close_old_connections, connection
from django.utils import timezone

from sfacal.engine.models import WorkerHeartbeat

__all__ = ["beat", "interval", "live_window", "live_workers", "start", "stop"]

log = logging.getLogger(__name__)

DEFAULT_INTERVAL_S = 10.0
FORGET_AFTER = timedelta(days=1)

_lock = threading.Lock()
_thread: threading.Thread | None = None
_stopping = threading.Event()
_worker_id = ""


def interval() -> float:
    """Seconds between two beats (``SFACAL_HEARTBEAT_SECONDS``, default 10, at least 0.2)."""
    raw = os.environ.get("SFACAL_HEARTBEAT_SECONDS", "").strip()
    try:
        value = float(raw) if raw else DEFAULT_INTERVAL_S
    except ValueError:
        value = DEFAULT_INTERVAL_S
    return max(0.2, value)


def live_window() -> timedelta:
    """How recent a beat must be for its worker to count as live."""
    return timedelta(seconds=3 * interval())


def worker_id() -> str:
    global _worker_id
    if not _worker_id:
        _worker_id = f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    return _worker_id


def beat(now: datetime | None = None) -> None:
    """Renew this process's row (create it on the first beat) and forget long-dead workers."""
    now = now or timezone.now()
    updated = WorkerHeartbeat.objects.filter(worker=worker_id()).update(seen_at=now)
    if not updated:
        WorkerHeartbeat.objects.create(
            worker=worker_id(),
            host=socket.gethostname()[:100],
            pid=os.getpid(),
            started_at=now,
            seen_at=now,
        )
        WorkerHeartbeat.objects.filter(seen_at__lt=now - FORGET_AFTER).delete()


def live_workers(now: datetime | None = None) -> int:
    """The number of workers whose last beat is within :func:`live_window`."""
    now = now or timezone.now()
    return WorkerHeartbeat.objects.filter(seen_at__gte=now - live_window()).count()


def _run() -> None:
    while not _stopping.is_set():
        try:
            close_old_connections()
            beat()
        except Exception:
            log.warning("the worker heartbeat could not be written; trying again", exc_info=True)
        _stopping.wait(interval())
    try:
        WorkerHeartbeat.objects.filter(worker=worker_id()).delete()
    except Exception:
        log.warning("the worker heartbeat could not be removed", exc_info=True)
    finally:
        connection.close()


def start() -> None:
    """Start this process's heartbeat thread unless it runs already."""
    global _thread
    with _lock:
        if _thread is not None and _thread.is_alive():
            return
        _stopping.clear()
        _thread = threading.Thread(target=_run, name="sfacal-heartbeat", daemon=True)
        _thread.start()


def stop(timeout: float = 5.0) -> None:
    """Stop the heartbeat thread; its row is removed (the worker is no longer counted)."""
    global _thread
    with _lock:
        thread, _thread = _thread, None
    if thread is None:
        return
    _stopping.set()
    thread.join(timeout)
