"""S5 at the doors: the push API and the JUST.SFA webhook take the same long or dirty text, clean it
the same way (one function, ``sfacal.core.text.incoming_text``) and refuse only what is over 20,000
characters, naming the field with a message about characters. A subject too long for the calendar
is cut, its whole text kept at the top of the event's body, and the log line says so."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from sfacal.core.render import MAX_SUBJECT, clean_text
from sfacal.core.schedule import Schedule
from sfacal.core.text import MAX_TEXT
from sfacal.directory.companies.models import Company, CompanySettings
from sfacal.directory.companies.provisioning import ensure_company
from sfacal.directory.connections.models import ApiToken, SourceConnection
from sfacal.directory.employees.models import Employee
from sfacal.engine import passes
from sfacal.engine.models import StoredSchedule, SyncLogEntry
from sfacal.web.logs.presenters import describe
from tests.engine.fakecal import FakeCalendar, installed
from tests.sources.justsfa.test_webhook_bad_input import CONFIG, SF

pytestmark = pytest.mark.django_db

TITLE = CONFIG["title_field"]
CONTENT = CONFIG["content_field"]
MAILBOX = "yamada@example.com"
DIRTY = [
    "あ" * 1000,
    "定例\x00会議",
    "前\x07\x1b[31m後\r\n2行目\ud800",
    "末尾の空白   \n\n",
    "x" * MAX_TEXT,
]


@pytest.fixture
def company() -> Company:
    c = ensure_company("acme", "ACME")
    CompanySettings.objects.filter(company=c).update(
        sync_enabled=True, write_to_calendar=True, domain="example.com"
    )
    Employee.objects.create(company=c, login_id="yamada", state="on", user_id_mode="login_at_domain")
    return c


@pytest.fixture
def fake() -> Iterator[FakeCalendar]:
    with installed() as cal:
        yield cal


@pytest.fixture
def push(company: Company) -> Any:
    _, token = ApiToken.issue(company, "sfa")

    def put(record: str, **fields: Any) -> Any:
        body = {
            "kind": "業務",
            "status": "予定",
            "participants": ["yamada"],
            "start": "2026-11-24T10:00:00+09:00",
            "end": "2026-11-24T11:00:00+09:00",
            **fields,
        }
        return Client().put(
            f"/api/v1/schedules/{record}",
            data=json.dumps(body),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {token}",
        )

    return put


@pytest.fixture
def webhook(company: Company) -> Any:
    connection = SourceConnection.objects.create(
        company=company, kind="justsfa", config=CONFIG, api_key="k" * 32
    )

    def post(record_id: int, kind: str = "ADD_RECORD", **fields: Any) -> Any:
        record = {
            SF: {
                f"{SF}_period": ["2026-11-24T10:00+09:00", "2026-11-24T11:00+09:00"],
                f"{SF}_participants": [["yamada", "山田"]],
            },
            **fields,
        }
        body = {"type": kind, "recordId": record_id, "record": record}
        return Client().post(
            f"/hooks/justsfa/{connection.webhook_token}",
            data=json.dumps(body),
            content_type="application/json",
        )

    return post


def stored(source: str, record: str) -> Schedule:
    return Schedule.from_dict(StoredSchedule.objects.get(source=source, record_id=record).payload)


@pytest.mark.parametrize("text", DIRTY)
def test_s5_both_doors_accept_and_clean_the_same_text_the_same_way(push, webhook, text):
    assert push("P-1", title=text, content=text).status_code == 201
    response = webhook(1, **{TITLE: text, CONTENT: text})
    assert response.status_code == 200 and response.json()["outcome"] == "accepted"
    by_push, by_webhook = stored("push", "P-1"), stored("justsfa", "1")
    assert by_push.title == by_webhook.title == clean_text(text)
    assert by_push.content == by_webhook.content == clean_text(text)
    assert by_webhook.extra["見出し"] == clean_text(text)
    assert "\x00" not in json.dumps(StoredSchedule.objects.get(source="push").payload)


@pytest.mark.parametrize("field", ["title", "content", "purpose", "business_name", "customer_name"])
def test_s5_push_api_over_20000_characters_is_422_naming_the_field_in_characters(push, field):
    response = push("P-1", **{field: "x" * (MAX_TEXT + 1)})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["field"] == field
    assert error["message"] == f"{field}: longer than 20,000 characters (20,001)"
    assert error["message_ja"] == f"{field}: 20,000文字以内にしてください（20,001文字）"
    assert "items" not in error["message"]
    assert not StoredSchedule.objects.exists()


def test_s5_push_batch_names_the_item_field_over_20000_characters(company):
    _, token = ApiToken.issue(company, "b")
    item = {
        "op": "upsert",
        "source_id": "B-1",
        "schedule": {
            "kind": "業務",
            "status": "予定",
            "start": "2026-11-24T10:00:00+09:00",
            "end": "2026-11-24T11:00:00+09:00",
            "title": "y" * (MAX_TEXT + 1),
        },
    }
    response = Client().post(
        "/api/v1/schedules:batch",
        data=json.dumps({"items": [item]}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    (result,) = response.json()["results"]
    assert result["status"] == 422 and result["error"]["field"] == "items[0].schedule.title"
    assert "characters" in result["error"]["message"]


def test_s5_webhook_over_20000_characters_is_400_naming_the_justsfa_field(webhook):
    response = webhook(1, **{TITLE: "x" * (MAX_TEXT + 1)})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["field"] == TITLE and error["code"] == "input_invalid"
    assert "longer than 20,000 characters" in error["message"]
    assert "20,000文字以内" in error["message_ja"]
    assert not StoredSchedule.objects.exists()
    line = SyncLogEntry.objects.get(operation="receive")
    assert line.result == "failure" and line.error_params["field"] == TITLE


def test_s5_openapi_documents_the_text_limit(push):
    schema = Client().get("/api/v1/openapi.json").json()["components"]["schemas"]["ScheduleIn"]
    title = schema["properties"]["title"]
    limits = [part.get("maxLength") for part in title.get("anyOf", [title])]
    assert MAX_TEXT in limits


@pytest.mark.parametrize("door", ["push", "webhook"])
def test_s5_l1_a_cut_subject_keeps_its_whole_text_in_the_body_and_the_log_says_so(
    company, fake, push, webhook, door
):
    title = "長い件名" * 250  # 1,000 characters
    if door == "push":
        assert push("P-1", title=title, content="本文").status_code == 201
        record = "P-1"
    else:
        assert webhook(7, **{TITLE: title, CONTENT: "本文"}).status_code == 200
        record = "7"
    fake.add_mailbox(MAILBOX)
    passes.process_inbox(company.pk)
    (event,) = fake.of(MAILBOX)
    assert len(event.event.subject) == MAX_SUBJECT and event.event.subject.endswith("…")
    assert event.event.body == title + "\n\n本文"  # nothing of the title is lost
    (line,) = SyncLogEntry.objects.filter(operation="create", record_id=record)
    assert line.result == "success" and line.error_params == {"subject_shortened": "1"}
    assert describe(line, "en").notes == (
        "The subject was too long for the calendar and was shortened; its whole text is at the top of "
        "the event's body",
    )
    assert describe(line, "ja").notes == (
        "件名がカレンダーには長すぎるため短縮しました。全文は予定の本文の先頭にあります",
    )


def test_s5_push_answer_warns_that_the_subject_is_cut(push):
    body = push("P-1", title="t" * 300).json()
    (warning,) = body["warnings"]
    assert warning["code"] == "subject_shortened" and warning["field"] == "subject"
    assert "300" in warning["message"] and warning["message_ja"]
    assert push("P-2", title="短い").json()["warnings"] == []


def test_l1_webhook_deletion_receive_line_names_what_was_deleted(company, webhook):
    assert webhook(3, **{TITLE: "A社 定例", CONTENT: "", CONFIG["location_field"]: ""}).status_code == 200
    assert webhook(3, kind="DELETE_RECORD").status_code == 200
    lines = list(SyncLogEntry.objects.filter(operation="receive").order_by("id"))
    assert [(x.message, x.subject) for x in lines] == [
        ("ADD_RECORD accepted", "A社 定例"),
        ("DELETE_RECORD accepted", "A社 定例"),
    ]
