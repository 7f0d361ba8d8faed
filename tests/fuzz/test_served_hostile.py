"""Issue 14, item 1, through the served product (uvicorn, a SQLite file): the hostile bodies that
made the JUST.SFA webhook answer an HTML 500 are each a 400 with the JSON error naming the field;
the push API refuses the same values with 422 (or 400 for the body). A good change sent right after
each one is stored, and the server's log shows no traceback."""

from __future__ import annotations

import pytest

from tests.fuzz.served import Served, good_record, good_schedule
from tests.sources.justsfa.test_webhook_hostile_input import HOSTILE

PUSH_HOSTILE: dict[str, tuple[str, str, int, str | None]] = {
    # name: (path, body, status, field)
    "surrogate in a participant": (
        "/schedules/h1",
        '{"kind": "業務", "status": "予定", "start": "2026-11-24", "end": "2026-11-24", "participants": ["a\\ud800"]}',
        422,
        "participants[0]",
    ),
    "NUL in the ID": (
        "/schedules/a%00b",
        '{"kind": "業務", "status": "予定", "start": "2026-11-24", "end": "2026-11-24"}',
        422,
        "source_id",
    ),
    "100,000 nested brackets": ("/schedules/h2", "[" * 100_000, 400, None),
    "year 1 with +14:00": (
        "/schedules/h3",
        '{"kind": "業務", "status": "予定", "start": "0001-01-01T00:00+14:00", "end": "0001-01-01T01:00+14:00"}',
        422,
        "start",
    ),
    "year 9999 with -14:00": (
        "/schedules/h4",
        '{"kind": "業務", "status": "予定", "start": "9999-12-31T22:00-14:00", "end": "9999-12-31T23:00-14:00"}',
        422,
        "start",
    ),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_j2_served_webhook_answers_a_hostile_body_with_400_json(served: Served, name: str) -> None:
    body, code, field = HOSTILE[name]
    response = served.webhook(body)
    assert response.status_code == 400, response.text[:300]
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == code and error["message"] and error["message_ja"]
    if field:
        assert error["field"] == field
    record = f"after-{abs(hash(name)) % 10**6}"
    good = served.webhook({"type": "ADD_RECORD", "recordId": record, "record": good_record()})
    assert good.status_code == 200 and good.json()["outcome"] == "accepted", good.text


@pytest.mark.parametrize("name", list(PUSH_HOSTILE))
def test_served_push_api_refuses_the_same_values_naming_the_field(served: Served, name: str) -> None:
    path, body, status, field = PUSH_HOSTILE[name]
    response = served.api("PUT", path, body)
    assert response.status_code == status, response.text[:300]
    error = response.json()["error"]
    assert error["message"] and error["message_ja"]
    if field:
        assert error["field"] == field
    good = served.api("PUT", f"/schedules/after-{name.replace(' ', '-')}", good_schedule())
    assert good.status_code == 201, good.text


def test_served_log_has_no_traceback_after_the_hostile_bodies(served: Served) -> None:
    for body, _, _ in HOSTILE.values():
        served.webhook(body)
    log = served.log()
    assert "Traceback" not in log and "Internal Server Error" not in log, log[-3000:]
    stored = served.stack.query(
        "from sfacal.engine.models import StoredSchedule\n"
        "result = sorted(StoredSchedule.objects.values_list('record_id', flat=True))"
    )
    assert stored and all(record.startswith("after-") for record in stored), stored  # only the good ones
