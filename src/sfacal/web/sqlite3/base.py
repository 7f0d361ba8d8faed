"""Django's SQLite backend with writers queued inside the process.

SQLite lets one transaction write at a time. A writer that finds the file locked waits in SQLite's
busy handler, which sleeps 1, 2, 5, 10 ... up to 100 ms between tries: under a burst of
acknowledgements, most of a request's time was spent asleep after the lock had been freed. Here the
threads of one process queue on a lock of their own before ``BEGIN IMMEDIATE`` and each starts the
moment the one before it commits.

Guarantees:

* the transactions are SQLite's own (``BEGIN IMMEDIATE`` ... ``COMMIT``): nothing is committed
  earlier, later or differently, so an acknowledged change is exactly as durable as before;
* one write transaction at a time per database file in this process, taken in arrival order
  (approximately: Python's lock is not strictly fair);
* a writer that cannot start within the database's ``timeout`` (default 30 s) gets the same
  ``OperationalError: database is locked`` SQLite gives (the doors answer 503 with
  ``Retry-After``); other processes on the same file (the command line, a second server) still
  wait in SQLite's busy handler as before;
* the queue is let go whenever the transaction ends: commit, rollback or a closed connection.
"""

from __future__ import annotations

import threading
from typing import Any

from django.db.backends.sqlite3 import base
from django.db.utils import OperationalError

_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def _writer_lock(name: str) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(name, threading.Lock())


_DjangoSqlite: Any = base.DatabaseWrapper  # its transaction hooks are private, absent from the stubs


class DatabaseWrapper(_DjangoSqlite):
    """See the module docstring."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._writing: threading.Lock | None = None

    def _start_transaction_under_autocommit(self) -> None:
        lock = _writer_lock(str(self.settings_dict["NAME"]))
        timeout = float(self.settings_dict.get("OPTIONS", {}).get("timeout", 30))
        if not lock.acquire(timeout=timeout):
            raise OperationalError("database is locked")
        self._writing = lock
        try:
            super()._start_transaction_under_autocommit()
        except BaseException:
            self._stop_writing()
            raise

    def _stop_writing(self) -> None:
        lock, self._writing = self._writing, None
        if lock is not None:
            lock.release()

    def _commit(self) -> Any:
        try:
            return super()._commit()
        finally:
            self._stop_writing()

    def _rollback(self) -> Any:
        try:
            return super()._rollback()
        finally:
            self._stop_writing()

    def _close(self) -> Any:
        try:
            return super()._close()
        finally:
            self._stop_writing()
