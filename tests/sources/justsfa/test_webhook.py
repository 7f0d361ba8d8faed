"""J2 end to end: the JUST.SFA emulator delivers webhooks over HTTP to the running Django service,
and the inbox holds the right canonical schedules."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from sfacal.core.schedule import AllDaySpan, Schedule, TimedSpan, change_from_dict
from sfacal.directory.companies.provisioning import ensure_company
from sfacal.directory.connections.models import SourceConnection
from sfacal.directory.employees.models import Employee
from sfacal.emulators.justsfa import EmulatorHandle, ScheduleSetup
from sfacal.engine.models import InboxEntry, StoredSchedule, SyncLogEntry

from .conftest import TENANT, config_for, schedule_record

pytestmark = pytest.mark.django_db(transaction=True)

JST = timezone(timedelta(hours=9))
HEADER = ("X-Sfacal-Secret", "s3cr3t-header-value")


@pytest.fixture
def connection(emu: EmulatorHandle, setup: ScheduleSetup) -> SourceConnection:
    company = ensure_company("acme", "ACME")
    return SourceConnection.objects.create(
        company=company,
        kind="justsfa",
        config=config_for(emu, setup),
        api_key=setup.api_key,
        webhook_header_name=HEADER[0],
        webhook_header_value=HEADER[1],
    )


@pytest.fixture
def hook(emu: EmulatorHandle, setup: ScheduleSetup, connection: SourceConnection, live_server: Any) -> str:
    url = f"{live_server.url}/hooks/justsfa/{connection.webhook_token}"
    created = emu.control.add_webhook(TENANT, setup.table_id, url, headers=dict([HEADER]))
    return str(created["webhookId"])


def stored(record_id: int) -> Schedule:
    row = StoredSchedule.objects.get(source="justsfa", record_id=str(record_id))
    change = change_from_dict(row.payload)
    assert isinstance(change, Schedule)
    return change


def test_j2_j4_create_update_delete_land_in_the_inbox(emu: EmulatorHandle, setup: ScheduleSetup, hook: str):
    c = emu.control
    created = c.create_record(
        TENANT,
        setup.table_id,
        schedule_record(
            setup,
            "赤木電機 訪問",
            ["yamada"],
            **{setup.location_field: "東京都千代田区", setup.content_field: "見積"},
        ),
    )
    rid = created["recordId"]
    c.wait_deliveries(1)
    s = stored(rid)
    assert s.title == "赤木電機 訪問" and s.extra["場所"] == "東京都千代田区" and s.content == "見積"
    assert s.participants == ("yamada",)
    assert s.span == TimedSpan(
        datetime(2025, 12, 30, 10, 0, tzinfo=JST), datetime(2025, 12, 30, 11, 0, tzinfo=JST)
    )

    # Change of time, participants and title.
    c.update_record(
        TENANT,
        setup.table_id,
        rid,
        {
            setup.title_field: "赤木電機 再訪問",
            setup.schedule_field: setup.schedule_value(
                "2025-12-31T13:00+09:00", "2025-12-31T14:30+09:00", ["yamada", "suzuki"]
            ),
        },
    )
    c.wait_deliveries(2)
    s = stored(rid)
    assert s.title == "赤木電機 再訪問"
    assert s.participants == ("yamada", "suzuki")
    assert s.span == TimedSpan(
        datetime(2025, 12, 31, 13, 0, tzinfo=JST), datetime(2025, 12, 31, 14, 30, tzinfo=JST)
    )

    # All-day.
    c.update_record(
        TENANT,
        setup.table_id,
        rid,
        {setup.schedule_field: setup.schedule_value("2026-01-05", "2026-01-06", ["suzuki"])},
    )
    c.wait_deliveries(3)
    s = stored(rid)
    assert s.span == AllDaySpan(date(2026, 1, 5), date(2026, 1, 7)) and s.participants == ("suzuki",)

    c.delete_record(TENANT, setup.table_id, rid)
    rows = c.wait_deliveries(4)
    assert [r["state"] for r in rows] == ["delivered"] * 4
    row = StoredSchedule.objects.get(source="justsfa", record_id=str(rid))
    assert row.deleted
    entries = list(InboxEntry.objects.order_by("id"))
    assert [e.trigger for e in entries] == ["webhook"] * 4
    assert [e.is_deletion for e in entries] == [False, False, False, True]
    assert all(a["attempts"][0]["status"] == 200 for a in rows)
    assert SyncLogEntry.objects.filter(trigger="webhook", result="success").count() == 4
    # J4: the webhooks carried the records; handling them made no API request.
    assert emu.control.journal(tenant=TENANT) == []


def test_j2_same_delivery_twice_is_one_change(
    emu: EmulatorHandle, setup: ScheduleSetup, hook: str, connection: SourceConnection, live_server: Any
):
    created = emu.control.create_record(TENANT, setup.table_id, schedule_record(setup, "会議", ["tanaka"]))
    (delivery,) = emu.control.wait_deliveries(1)
    url = f"{live_server.url}/hooks/justsfa/{connection.webhook_token}"
    again = httpx.post(url, json=delivery["body"], headers=dict([HEADER]), trust_env=False)
    assert again.status_code == 200 and again.json()["outcome"] == "duplicate"
    assert InboxEntry.objects.count() == 1
    assert stored(created["recordId"]).participants == ("tanaka",)


def test_j2_test_send_is_answered_and_logged(emu: EmulatorHandle, setup: ScheduleSetup, hook: str):
    emu.control.test_webhook(TENANT, setup.table_id, hook)
    (row,) = emu.control.wait_deliveries(1)
    assert row["state"] == "delivered" and row["attempts"][0]["status"] == 200
    assert InboxEntry.objects.count() == 0
    assert SyncLogEntry.objects.filter(operation="test", result="success").count() == 1


def test_j2_wrong_secret_header_is_refused_and_retried_delivery_fails(
    emu: EmulatorHandle, setup: ScheduleSetup, connection: SourceConnection, live_server: Any
):
    emu.control.set_knobs(retry_delays=[0.05], max_attempts=2)
    url = f"{live_server.url}/hooks/justsfa/{connection.webhook_token}"
    emu.control.add_webhook(TENANT, setup.table_id, url, headers={HEADER[0]: "wrong"})
    emu.control.create_record(TENANT, setup.table_id, schedule_record(setup, "会議", ["tanaka"]))
    (row,) = emu.control.wait_deliveries(1)
    assert row["state"] == "failed" and [a["status"] for a in row["attempts"]] == [401, 401]
    assert InboxEntry.objects.count() == 0


def test_j3_unknown_participant_is_kept_and_logged(
    emu: EmulatorHandle, setup: ScheduleSetup, hook: str, connection: SourceConnection
):
    Employee.objects.create(company=connection.company, login_id="yamada", state="on")
    created = emu.control.create_record(
        TENANT, setup.table_id, schedule_record(setup, "会議", ["yamada", "suzuki"])
    )
    emu.control.wait_deliveries(1)
    assert stored(created["recordId"]).participants == ("yamada", "suzuki")
    entry = SyncLogEntry.objects.get(trigger="webhook")
    assert "suzuki" in entry.message and "yamada" not in entry.message.split("mapping")[-1]


def test_s1_actual_status_is_stored_as_actual(emu: EmulatorHandle, setup: ScheduleSetup, hook: str):
    created = emu.control.create_record(
        TENANT, setup.table_id, schedule_record(setup, "訪問", ["yamada"], **{setup.status_field: "実績"})
    )
    emu.control.wait_deliveries(1)
    assert not stored(created["recordId"]).is_plan
