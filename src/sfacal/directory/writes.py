"""Long writes as a series of short transactions, so that no other writer waits long.

SQLite has one write lock for the whole database: an import that writes 100,000 rows in one
transaction (or in chunks back to back) keeps a webhook waiting until its busy timeout runs out.
:func:`write_in_chunks` is how every long write shares the lock (the CSV imports, bulk employee
changes). Guarantees:

* the items are written in order, a chunk at a time, each chunk in one transaction: a chunk is
  stored whole or not at all, and a chunk that committed stays committed whatever happens next;
* a chunk holds the lock for about :data:`BUDGET` seconds: its size adapts to the measured time
  of the one before (at least one item, at most ``most``), so a slow machine writes smaller chunks;
* between two chunks the writer lets go of the lock for :data:`PAUSE` seconds on SQLite -- longer
  than the longest sleep of SQLite's busy handler (100 ms) -- so a writer that is waiting gets its
  turn instead of missing every short gap; any other writer so waits about a chunk at most;
* a failure (a database error, an interrupt) raises :class:`Interrupted`, which says how many
  items were committed before it; nothing of the failed chunk is stored.

Inside an enclosing transaction (a test, a caller's own ``atomic``) the chunks are savepoints of
it: nothing is released early and there is no pause.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TypeVar

from django.db import connection, transaction

__all__ = ["BUDGET", "PAUSE", "Interrupted", "write_in_chunks"]

T = TypeVar("T")

BUDGET = 0.75
"""Seconds a chunk may hold the write lock (other writers wait about this much at most)."""
PAUSE = 0.12
"""Seconds the lock is left free between chunks on SQLite (> the busy handler's 100 ms sleep)."""
FIRST = 20
"""Items in the first chunk, before anything is measured."""


class Interrupted(Exception):
    """A chunked write stopped: ``done`` items (the chunks before) are committed, the rest not."""

    def __init__(self, done: int, cause: BaseException) -> None:
        super().__init__(f"stopped after {done} items: {type(cause).__name__}: {cause}")
        self.done = done
        self.cause = cause


def _next_size(size: int, seconds: float, budget: float, most: int) -> int:
    """The next chunk's size: what fits in ``budget`` at the measured pace, at most doubling."""
    fits = size * 2 if seconds <= 0 else int(size * budget / seconds)
    return max(1, min(most, size * 2, fits))


def _let_others_write() -> None:
    if connection.vendor == "sqlite" and not connection.in_atomic_block:
        time.sleep(PAUSE)


def write_in_chunks(
    items: Sequence[T],
    write: Callable[[Sequence[T]], None],
    *,
    budget: float = BUDGET,
    most: int = 1000,
    on_commit: Callable[[int], None] | None = None,
) -> None:
    """Call ``write(chunk)`` for consecutive chunks of ``items``, each in its own transaction
    (see the module docstring); ``on_commit(done)`` after each chunk commits. :class:`Interrupted`
    if a chunk fails."""
    done = 0
    size = min(FIRST, most)
    while done < len(items):
        chunk = items[done : done + size]
        started = time.monotonic()
        try:
            with transaction.atomic():
                write(chunk)
        except BaseException as exc:  # an interrupt too: the report must say where it stopped
            raise Interrupted(done, exc) from exc
        done += len(chunk)
        if on_commit is not None:
            on_commit(done)
        size = _next_size(len(chunk), time.monotonic() - started, budget, most)
        if done < len(items):
            _let_others_write()
