"""The request id travels with the jobs a request queues; a worker's log lines name both.

- When a task is queued while a request id is in force (a web request, or a job that queues
  more work), the id is added to the task's keyword arguments under :data:`REQUEST_KEY` (Huey's
  ``enqueued`` signal runs before the task is serialised, so the id is stored with the task in
  SQLite or Redis and reaches whichever worker runs it).
- Before a worker runs a task the id is taken out again (the task function never sees it) and
  ``request_id`` / ``job_id`` (the task id) are set for the task's log lines
  (:mod:`sfacal.core.logcontext`); after it, the previous values come back (in the immediate mode
  of the tests a task runs inside the request that queued it).
- A task queued with no request id in force (the scheduler's periodic jobs) runs with its own job
  id only.
"""

from __future__ import annotations

import logging
from typing import Any

from huey.contrib.djhuey import HUEY
from huey.signals import SIGNAL_ENQUEUED

from sfacal.core import logcontext

__all__ = ["REQUEST_KEY", "install"]

log = logging.getLogger(__name__)

REQUEST_KEY = "_sfacal_request_id"
_SAVED = "_sfacal_saved_ids"


def _carry_request_id(signal: str, task: Any, *args: Any) -> None:
    rid = logcontext.request_id.get()
    if not rid:
        return
    if task.kwargs is None:
        task.kwargs = {}
    task.kwargs.setdefault(REQUEST_KEY, rid)
    log.debug("queued job %s (%s)", task.id, task.name)


def _bind_ids(task: Any) -> None:
    carried = (task.kwargs or {}).pop(REQUEST_KEY, None)
    setattr(task, _SAVED, (logcontext.request_id.get(), logcontext.job_id.get()))
    logcontext.request_id.set(logcontext.clean_id(carried) if carried else "")
    logcontext.job_id.set(str(task.id))
    log.debug("job %s (%s) started", task.id, task.name)


def _unbind_ids(task: Any, task_value: Any, exc: BaseException | None) -> None:
    log.debug("job %s (%s) ended%s", task.id, task.name, " with an error" if exc is not None else "")
    previous = getattr(task, _SAVED, ("", ""))
    logcontext.request_id.set(previous[0])
    logcontext.job_id.set(previous[1])


_installed = False


def install() -> None:
    """Register the hooks with the queue (once; called when the engine app is ready)."""
    global _installed
    if _installed:
        return
    _installed = True
    HUEY.signal(SIGNAL_ENQUEUED)(_carry_request_id)
    HUEY.pre_execute(name="sfacal_bind_ids")(_bind_ids)
    HUEY.post_execute(name="sfacal_unbind_ids")(_unbind_ids)
