"""The SQLite backend queues the writers of one process (sfacal.web.sqlite3): the queue is held
exactly while a write transaction is open, and a writer that cannot start within the database's
timeout gets SQLite's own "database is locked" (the doors answer 503)."""

from __future__ import annotations

import threading

import pytest
from django.db import OperationalError, connection, transaction

from sfacal import config
from sfacal.directory.companies.provisioning import ensure_company
from sfacal.engine import inbox
from sfacal.engine.models import StoredSchedule
from sfacal.web.sqlite3.base import _writer_lock
from tests.engine.conftest import meeting

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(config.database_config().engine != "sqlite", reason="the SQLite backend's own"),
]


def _lock() -> threading.Lock:
    return _writer_lock(str(connection.settings_dict["NAME"]))


def test_the_queue_is_held_while_a_transaction_is_open_and_let_go_however_it_ends() -> None:
    with transaction.atomic():
        assert _lock().locked()
        with transaction.atomic():  # a savepoint: the same transaction, nothing taken twice
            assert _lock().locked()
    assert not _lock().locked()
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        assert _lock().locked()
        _ = 1 / 0
    assert not _lock().locked()
    with transaction.atomic():
        connection.close()  # a connection closed inside its transaction lets go too
    assert not _lock().locked()


def test_a_writer_that_cannot_start_in_time_gets_database_is_locked_and_stores_nothing(monkeypatch) -> None:
    company = ensure_company("acme", "ACME")
    monkeypatch.setitem(connection.settings_dict["OPTIONS"], "timeout", 0.2)
    held = _lock()
    assert held.acquire(timeout=5)  # another thread's write transaction
    try:
        with pytest.raises(OperationalError, match="database is locked"), transaction.atomic():
            pass
        with pytest.raises(inbox.Unavailable):
            inbox.accept(company, meeting("1"), trigger="push")
    finally:
        held.release()
    assert not StoredSchedule.objects.exists()
    assert inbox.accept(company, meeting("1"), trigger="push").outcome is inbox.Outcome.ACCEPTED
