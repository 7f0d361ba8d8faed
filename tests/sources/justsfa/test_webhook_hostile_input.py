"""J2 against hostile bodies (issue 14, item 1): a lone UTF-16 surrogate or a NUL character in
``recordId`` or a participant, a body nested a hundred thousand levels deep, a period at the edge of
the datetime range -- each is a 400 with the usual JSON error naming the field (the push API refuses
the same values with 422), nothing is stored, and a good delivery right after it is accepted.
The same bodies through the served product (uvicorn): ``tests/fuzz/test_served_hostile.py``."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from sfacal.directory.connections.models import SourceConnection
from sfacal.engine.models import InboxEntry, StoredSchedule, SyncLogEntry
from tests.sources.justsfa import test_webhook_bad_input as bad_input
from tests.sources.justsfa.test_webhook_bad_input import SF, assert_good_one_is_accepted, error_of, post

pytestmark = pytest.mark.django_db

connection = bad_input.connection  # the fixture: a company's JUST.SFA connection with a secret header
PERIOD = f"{SF}_period"
PARTICIPANTS = f"{SF}_participants"


def _record(period: list[str] | None = None, participants: Any = None, title: str = "訪問") -> dict[str, Any]:
    return {
        "field_1700000010": title,
        SF: {
            PERIOD: period or ["2025-12-30T10:00+09:00", "2025-12-30T11:00+09:00"],
            PARTICIPANTS: participants if participants is not None else [["yamada", "山田"]],
        },
    }


def _raw(body: dict[str, Any]) -> str:
    """``body`` as JSON text, lone surrogates written as ``\\udXXX`` escapes (valid JSON)."""
    return json.dumps(body, ensure_ascii=True)


HOSTILE: dict[str, tuple[str, str, str]] = {
    # name: (body, code, field)
    "surrogate in recordId": (
        _raw({"type": "ADD_RECORD", "recordId": "a\ud800b", "record": _record()}),
        "input_invalid",
        "recordId",
    ),
    "surrogate in recordId of a deletion": (
        _raw({"type": "DELETE_RECORD", "recordId": "\udfff"}),
        "input_invalid",
        "recordId",
    ),
    "NUL in recordId": (
        _raw({"type": "ADD_RECORD", "recordId": "a\x00b", "record": _record()}),
        "input_invalid",
        "recordId",
    ),
    "surrogate in a participant": (
        _raw(
            {"type": "ADD_RECORD", "recordId": 5, "record": _record(participants=[["ya\udc00mada", "山田"]])}
        ),
        "input_invalid",
        PARTICIPANTS,
    ),
    "NUL in a participant": (
        _raw({"type": "ADD_RECORD", "recordId": 5, "record": _record(participants=["ya\x00mada"])}),
        "input_invalid",
        PARTICIPANTS,
    ),
    "100,000 nested brackets": ("[" * 100_000, "invalid_json", ""),
    "100,000 nested brackets inside the record": (
        '{"type": "ADD_RECORD", "recordId": 5, "record": ' + "[" * 100_000 + "}",
        "invalid_json",
        "",
    ),
    "deep but complete nesting": (
        '{"type": "ADD_RECORD", "recordId": 5, "record": ' + "[" * 500 + "]" * 500 + "}",
        "invalid_json",
        "",
    ),
    "period at year 1 with +14:00": (
        _raw(
            {
                "type": "ADD_RECORD",
                "recordId": 5,
                "record": _record(["0001-01-01T00:00+14:00", "0001-01-01T01:00+14:00"]),
            }
        ),
        "input_invalid",
        PERIOD,
    ),
    "period at year 9999 with -14:00": (
        _raw(
            {
                "type": "ADD_RECORD",
                "recordId": 5,
                "record": _record(["9999-12-31T22:00-14:00", "9999-12-31T23:00-14:00"]),
            }
        ),
        "input_invalid",
        PERIOD,
    ),
    "surrogate in the type": (_raw({"type": "\ud800", "recordId": 5}), "unknown_type", "type"),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_j2_hostile_body_is_a_400_naming_the_field_and_loses_nothing(
    client: Client, connection: SourceConnection, name: str
):
    body, code, field = HOSTILE[name]
    client.raise_request_exception = False
    response = post(client, connection, body)
    assert response.status_code == 400, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    error = error_of(response)
    assert error["code"] == code and error["message"] and error["message_ja"]
    if field:
        assert error["field"] == field
    assert InboxEntry.objects.count() == 0 and not StoredSchedule.objects.exists()
    refusal = SyncLogEntry.objects.get(trigger="webhook", result="failure")
    assert refusal.error_code == code
    assert_good_one_is_accepted(client, connection)


def test_j2_a_surrogate_in_the_title_is_cleaned_not_refused(client: Client, connection: SourceConnection):
    body = _raw({"type": "ADD_RECORD", "recordId": 5, "record": _record(title="定例\ud800\x00会議")})
    response = post(client, connection, body)
    assert response.status_code == 200, response.content
    assert StoredSchedule.objects.get(record_id="5").payload["title"] == "定例会議"


def test_j2_the_year_range_is_the_push_apis(client: Client, connection: SourceConnection):
    for year, status in (("1899", 400), ("1900", 200), ("2200", 200), ("2201", 400)):
        body = {
            "type": "ADD_RECORD",
            "recordId": 5,
            "record": _record([f"{year}-06-01T10:00+09:00", f"{year}-06-01T11:00+09:00"]),
        }
        response = post(client, connection, body)
        assert response.status_code == status, (year, response.content)
        if status == 400:
            assert error_of(response)["field"] == PERIOD and "1900" in error_of(response)["message"]


def test_j2_an_unforeseen_error_is_json_not_html(
    client: Client, connection: SourceConnection, monkeypatch: pytest.MonkeyPatch
):
    from sfacal.sources.justsfa import webhook

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise KeyError("a bug")

    monkeypatch.setattr(webhook, "_handle_record", broken)
    client.raise_request_exception = False
    response = post(
        client, connection, json.loads(_raw({"type": "ADD_RECORD", "recordId": 5, "record": _record()}))
    )
    assert response.status_code == 500
    assert error_of(response)["code"] == "internal_error"
