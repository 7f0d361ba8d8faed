"""S5 / L1: a wall-clock time that does not exist (or occurs twice) in the company's time zone is
read as RFC 5545 reads it -- by the push API, the JUST.SFA webhook and the CSV import alike -- and
the log line of its calendar write is a warning that says what was received, what was written and
why, in Japanese and English."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from django.test import Client

from sfacal.directory.companies.models import Company
from sfacal.directory.connections.models import ApiToken
from sfacal.engine import passes
from sfacal.engine.models import LogResult, StoredSchedule, SyncLogEntry
from sfacal.sources.csv import schedules as csv_schedules
from sfacal.sources.csv.reader import read_table
from sfacal.sources.csv.report import ImportReport
from sfacal.sources.justsfa import JustSfaSettings, record_change
from sfacal.web.logs.presenters import describe
from tests.engine.conftest import employee
from tests.engine.fakecal import FakeCalendar

pytestmark = pytest.mark.django_db

MAILBOX = "smith@example.com"
NY = "America/New_York"
NOW = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.fixture
def company(company: Company) -> Company:
    """The engine tests' company, in New York."""
    company.timezone = NY
    company.save()
    employee(company, "smith")
    return company


@pytest.fixture
def fake(fake: FakeCalendar) -> FakeCalendar:
    fake.add_mailbox(MAILBOX)
    return fake


def put(company: Company, start: str, end: str) -> Any:
    _, token = ApiToken.issue(company, "sfa")
    body = {"kind": "業務", "status": "予定", "business_name": "会議", "participants": ["smith"]}
    return Client().put(
        "/api/v1/schedules/S-1",
        data=json.dumps({**body, "start": start, "end": end}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )


def test_s5_l1_spring_forward_gap_is_resolved_as_rfc5545_and_logged_as_a_warning(company, fake):
    response = put(company, "2026-03-08T02:30:00", "2026-03-08T03:30:00")
    assert response.status_code == 201
    warnings = {w["field"]: w for w in response.json()["warnings"]}
    assert warnings["start"]["code"] == "local_time_gap" and warnings["start"]["value"] == "2026-03-08 02:30"
    assert "RFC 5545" in warnings["start"]["message"] and "RFC 5545" in warnings["start"]["message_ja"]
    assert warnings["end"]["code"] == "local_time_length_kept"
    passes.process_inbox(company.pk)
    (event,) = fake.of(MAILBOX)
    # 02:30 does not exist: 03:30 EDT; the hour received is kept (not a zero-length event)
    assert (event.event.start, event.event.end) == (datetime(2026, 3, 8, 3, 30), datetime(2026, 3, 8, 4, 30))
    assert event.event.timezone == NY
    (line,) = SyncLogEntry.objects.filter(operation="create")
    assert line.result == LogResult.WARNING  # not plain success
    assert line.error_params["start_received"] == "2026-03-08 02:30"
    assert line.error_params["start_written"] == "2026-03-08 03:30 (UTC-04:00)"
    en, ja = describe(line, "en"), describe(line, "ja")
    assert en.message == "Created (sync)"
    assert en.notes == (
        "The start 2026-03-08 02:30 does not exist in America/New_York (the clocks move forward): written "
        "as 2026-03-08 03:30 (UTC-04:00), as RFC 5545 prescribes",
        "The end 2026-03-08 03:30 would have left the event without length once its start moved: written "
        "as 2026-03-08 04:30 (UTC-04:00), keeping the length received",
    )
    assert ja.notes[0] == (
        "開始 2026-03-08 02:30 は America/New_York では存在しない時刻です（時計が進むため）。"
        "RFC 5545 に従い 2026-03-08 03:30 (UTC-04:00) として書き込みました"
    )


def test_s5_l1_fall_back_time_is_the_first_occurrence_and_logged(company, fake):
    assert put(company, "2026-11-01T01:30:00", "2026-11-01T02:30:00").status_code == 201
    passes.process_inbox(company.pk)
    stored = StoredSchedule.objects.get().payload
    assert stored["start"] == "2026-11-01T01:30:00-04:00"  # EDT: the first 01:30
    (line,) = SyncLogEntry.objects.filter(operation="create")
    assert line.result == LogResult.WARNING and line.error_params["start_issue"] == "fold"
    assert "first occurrence" in describe(line, "en").notes[0]
    assert "1回目" in describe(line, "ja").notes[0]


def test_s5_times_with_an_offset_or_that_exist_are_plain_success(company, fake):
    assert put(company, "2026-03-08T02:30:00-05:00", "2026-03-08T04:00:00-04:00").status_code == 201
    passes.process_inbox(company.pk)
    (line,) = SyncLogEntry.objects.filter(operation="create")
    assert line.result == LogResult.SUCCESS and line.error_params == {}
    assert describe(line, "en").notes == ()


def test_s5_justsfa_and_csv_read_a_gap_the_same_way_as_the_push_api():
    settings = JustSfaSettings.from_config(
        {
            "tenant": "fsz2",
            "table": "table_1",
            "panel": "panel_1",
            "filter": "filter_1",
            "schedule_field": "f_s",
            "title_field": "f_t",
            "location_field": "f_l",
            "content_field": "f_c",
        },
        "k" * 32,
        company="acme",
        timezone=NY,
    )
    record = {"f_t": "定例", "f_s": {"f_s_period": ["2026-03-08T02:30", "2026-03-08T03:30"]}}
    from_justsfa = record_change(settings, record, 1, received_at=NOW)
    table = read_table(
        "ID,業務名,開始,終了,参加者\nC-1,会議,2026-03-08 02:30,2026-03-08 03:30,smith\n".encode(),
        csv_schedules.SCHEDULE_COLUMNS,
    )
    ((_, from_csv),) = csv_schedules.parse_schedules(
        table, ImportReport("schedules"), company="acme", source="push", default_tz=NY, now=NOW
    )
    for change in (from_justsfa, from_csv):
        assert (change.span.start.isoformat(), change.span.end.isoformat()) == (
            "2026-03-08T03:30:00-04:00",
            "2026-03-08T04:30:00-04:00",
        )
        assert [(n.field, n.issue.value) for n in change.time_notes] == [
            ("start", "gap"),
            ("end", "length_kept"),
        ]
