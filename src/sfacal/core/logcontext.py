"""Which web request and which queued job a log line belongs to.

Two context variables, read by the log filter that adds ``request_id`` and ``job_id`` to every
record (``sfacal.web.logfilters.LogContextFilter``):

- ``request_id`` -- set for each web request (``sfacal.web.middleware.RequestIdMiddleware``) and
  carried with every job that request queues, so a worker's lines about that work name the same
  request (``sfacal.engine.jobcontext``);
- ``job_id`` -- set while a worker runs a queued job (the queue's task id).

Guarantees: an id is at most :data:`MAX_ID_LENGTH` characters of ``[A-Za-z0-9._-]``
(:func:`clean_id`; anything else is replaced by a fresh id), so a client-sent ``X-Request-ID``
cannot forge log lines or carry a secret-sized blob; :func:`bound` restores the previous values
when its block ends, also on an exception.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

__all__ = ["MAX_ID_LENGTH", "bound", "clean_id", "current", "new_id"]

MAX_ID_LENGTH = 64
_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")

request_id: ContextVar[str] = ContextVar("sfacal_request_id", default="")
job_id: ContextVar[str] = ContextVar("sfacal_job_id", default="")


def new_id() -> str:
    return uuid.uuid4().hex


def clean_id(value: str | None) -> str:
    """``value`` when it is a well-formed id, else a new one."""
    if value and _ID.fullmatch(value):
        return value
    return new_id()


def current() -> dict[str, str]:
    """The ids in force (empty strings when none)."""
    return {"request_id": request_id.get(), "job_id": job_id.get()}


@contextmanager
def bound(*, request: str | None = None, job: str | None = None) -> Iterator[None]:
    """Set the given ids for the block (``None`` leaves an id as it is)."""
    tokens = []
    if request is not None:
        tokens.append((request_id, request_id.set(request)))
    if job is not None:
        tokens.append((job_id, job_id.set(job)))
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)
