"""Issue 14, item 9, against a real SQLite file: while another connection holds the write lock
(``BEGIN IMMEDIATE``) longer than the busy timeout (lowered to one second for the test,
``busy_settings.py``), both doors of the served product answer 503 with ``Retry-After`` and their
JSON error -- the push API used to answer 500 -- reads still work, and nothing of the refused
changes is stored. Once the lock is gone the same changes are accepted."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fuzz.served import Served, good_record, good_schedule, running

RETRY_AFTER = "10"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    busy = {"DJANGO_SETTINGS_MODULE": "tests.integration.busy_settings"}
    with running(tmp_path_factory.mktemp("locked") / "data", busy) as product:
        yield product


class WriteLock:
    """A second connection to the product's SQLite file holding the write lock."""

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(path, timeout=30, isolation_level=None)

    def __enter__(self) -> WriteLock:
        self.db.execute("BEGIN IMMEDIATE")
        return self

    def __exit__(self, *exc: Any) -> None:
        self.db.execute("ROLLBACK")
        self.db.close()


def assert_unavailable(response: Any) -> dict[str, Any]:
    assert response.status_code == 503, response.text[:500]
    assert response.headers["retry-after"] == RETRY_AFTER
    assert response.headers["content-type"].startswith("application/json")
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == "unavailable" and error["message"] and error["message_ja"]
    return error


def test_both_doors_answer_503_while_the_database_is_locked_and_store_nothing(served: Served) -> None:
    assert served.api("PUT", "/schedules/kept", good_schedule()).status_code == 201
    with WriteLock(served.stack.data_dir / "sfacal.sqlite3"):
        assert_unavailable(served.webhook({"type": "ADD_RECORD", "recordId": "w-1", "record": good_record()}))
        assert_unavailable(served.api("PUT", "/schedules/p-1", good_schedule()))
        assert_unavailable(served.api("DELETE", "/schedules/kept"))
        batch = {
            "items": [{"op": "upsert", "source_id": f"b-{i}", "schedule": good_schedule()} for i in range(3)]
        }
        assert_unavailable(served.api("POST", "/schedules:batch", batch))
        assert_unavailable(served.api("PUT", "/employees/sato", {"name": "佐藤"}))
        # Reads do not wait for the writer (WAL).
        read = served.api("GET", "/schedules/kept")
        assert read.status_code == 200 and read.json()["title"] == "定例"
    for source, record in (("justsfa", "w-1"), ("push", "p-1"), ("push", "b-0")):
        assert served.stored(source, record) is None, record
    kept = served.stored("push", "kept")
    assert kept is not None and kept["deleted"] is False  # the refused deletion did not happen
    entries = served.stack.query(
        "from sfacal.engine.models import InboxEntry\n"
        "result = sorted(InboxEntry.objects.values_list('record_id', flat=True))"
    )
    assert entries == ["kept"]
    log = served.log()
    assert "Traceback" not in log and "internal_error" not in log, log[-3000:]
    # The lock is gone: the same changes are accepted.
    webhook = served.webhook({"type": "ADD_RECORD", "recordId": "w-1", "record": good_record()})
    assert webhook.status_code == 200 and webhook.json()["outcome"] == "accepted"
    assert served.api("PUT", "/schedules/p-1", good_schedule()).status_code == 201
    assert served.api("POST", "/schedules:batch", batch).json()["succeeded"] == 3
