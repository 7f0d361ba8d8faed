"""Issue 14, item 9, in-process: a database that cannot take a write now (locked past its busy
timeout) makes both doors answer 503 with ``Retry-After`` and the usual JSON error -- never the
push API's 500 -- and nothing is half-stored. The same against a real locked SQLite file, through
the served product: ``tests/integration/test_database_locked.py``."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import OperationalError
from django.test import Client

from sfacal.directory.connections.models import SourceConnection
from sfacal.engine import inbox
from sfacal.engine.models import InboxEntry, StoredSchedule
from tests.sources.justsfa.test_webhook_bad_input import CONFIG
from tests.sources.justsfa.test_webhook_bad_input import good_body as good_delivery

from .conftest import meeting

pytestmark = pytest.mark.django_db


def locked(*args: Any, **kwargs: Any) -> Any:
    raise OperationalError("database is locked")


def assert_unavailable(response: Any) -> dict[str, Any]:
    assert response.status_code == 503, response.content
    assert response["Retry-After"] == str(inbox.RETRY_AFTER_SECONDS)
    body: dict[str, Any] = response.json()
    return body


def test_push_put_and_delete_answer_503_with_retry_after(api: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr(inbox, "_accept_once", locked)
    error = assert_unavailable(api.put("/schedules/S-1", meeting()))["error"]
    assert error["code"] == "unavailable" and error["message"] and error["message_ja"]
    assert_unavailable(api.delete("/schedules/S-1"))
    assert not StoredSchedule.objects.exists() and not InboxEntry.objects.exists()
    monkeypatch.undo()
    assert api.put("/schedules/S-1", meeting()).status_code == 201


def test_push_batch_with_nothing_stored_answers_503(api: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr(inbox, "_accept_once", locked)
    items = [{"op": "upsert", "source_id": f"B-{i}", "schedule": meeting()} for i in range(3)]
    assert_unavailable(api.post("/schedules:batch", {"items": items}))
    assert not StoredSchedule.objects.exists()


def test_push_batch_stopped_midway_reports_the_rest_as_503(api: Any, monkeypatch: Any) -> None:
    real = inbox._accept_once
    calls = 0

    def second_call_locked(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        return locked() if calls >= 2 else real(*args, **kwargs)

    monkeypatch.setattr(inbox, "_accept_once", second_call_locked)
    items = [{"op": "upsert", "source_id": f"B-{i}", "schedule": meeting()} for i in range(4)]
    response = api.post("/schedules:batch", {"items": items})
    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert [r["status"] for r in results] == [201, 503, 503, 503]
    assert all(r["error"]["code"] == "unavailable" for r in results[1:])
    assert [r["source_id"] for r in results] == ["B-0", "B-1", "B-2", "B-3"]
    assert list(StoredSchedule.objects.values_list("record_id", flat=True)) == ["B-0"]
    assert calls == 2  # the items after the first refusal were not tried


def test_push_employee_write_answers_503(api: Any, monkeypatch: Any) -> None:
    from sfacal.directory.employees import changes

    monkeypatch.setattr(changes, "settings_changed", locked)
    assert_unavailable(api.put("/employees/tanaka", {"state": "off"}))


def test_push_read_works_when_the_token_use_cannot_be_recorded(api: Any, monkeypatch: Any) -> None:
    from sfacal.directory.connections.models import ApiToken

    monkeypatch.setattr(type(ApiToken.objects.none()), "update", locked)
    assert api.get("/employees").status_code == 200


def test_webhook_answers_503_with_retry_after_and_stores_nothing(company: Any, monkeypatch: Any) -> None:
    connection = SourceConnection.objects.create(
        company=company, kind="justsfa", config=CONFIG, api_key="k" * 32
    )
    monkeypatch.setattr(inbox, "_accept_once", locked)
    response = Client().post(
        f"/hooks/justsfa/{connection.webhook_token}",
        data=json.dumps(good_delivery()),
        content_type="application/json",
    )
    body = assert_unavailable(response)
    assert body["ok"] is False and body["error"]["code"] == "unavailable"
    assert not StoredSchedule.objects.exists() and not InboxEntry.objects.exists()
