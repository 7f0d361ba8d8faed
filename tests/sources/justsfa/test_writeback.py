"""T1: calendar-side edits (subject, times, all-day, location, body) are written back to the
JUST.SFA record's configured fields, participants kept."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from sfacal.core.errors import InputError, SourceError, SourceIdentifierError
from sfacal.core.schedule import AllDaySpan, Schedule, TimedSpan
from sfacal.core.twoway import ScheduleEdit
from sfacal.emulators.justsfa import EmulatorHandle, ScheduleSetup
from sfacal.sources.base import Source
from sfacal.sources.justsfa import JustSfaSettings, JustSfaSource, record_change, write_back_item

from .conftest import TENANT, ClientFactory, config_for, schedule_record

JST = timezone(timedelta(hours=9))
NOW = datetime(2025, 12, 1, tzinfo=UTC)


def current(emu: EmulatorHandle, setup: ScheduleSetup, settings: JustSfaSettings, record_id: int) -> Schedule:
    rec = emu.control.record(TENANT, setup.table_id, record_id)
    change = record_change(settings, rec["record"], record_id, received_at=NOW)
    assert isinstance(change, Schedule)
    return change


def source(settings: JustSfaSettings, make_client: ClientFactory) -> JustSfaSource:
    return JustSfaSource(settings, client_factory=lambda s: make_client(s))


@pytest.fixture
def record_id(emu: EmulatorHandle, setup: ScheduleSetup) -> int:
    rec = schedule_record(
        setup, "訪問", ["yamada"], **{setup.location_field: "大阪", setup.content_field: "メモ"}
    )
    return int(emu.control.create_record(TENANT, setup.table_id, rec, fire_webhooks=False)["recordId"])


def test_t1_source_implements_the_protocol(settings, make_client):
    assert isinstance(source(settings, make_client), Source)


def test_t1_subject_location_body_and_times_are_written_back(emu, setup, settings, make_client, record_id):
    sched = current(emu, setup, settings, record_id)
    edit = ScheduleEdit(
        subject="訪問（時間変更）",
        location="東京都千代田区",
        body="新しいメモ",
        span=TimedSpan(datetime(2025, 12, 30, 14, 0, tzinfo=JST), datetime(2025, 12, 30, 15, 30, tzinfo=JST)),
    )
    source(settings, make_client).write_back(sched, edit)
    after = current(emu, setup, settings, record_id)
    assert after.title == "訪問（時間変更）"
    assert after.extra["場所"] == "東京都千代田区" and after.content == "新しいメモ"
    assert after.span == edit.span
    assert after.participants == ("yamada",)
    # Addressed by the record key, the confirmed form.
    (put,) = [e for e in emu.control.journal(tenant=TENANT) if e["method"] == "PUT"]
    assert put["body"]["records"][0]["recordKey"] == {setup.key_field: "1"}


def test_t1_all_day_is_written_as_two_dates_last_day_included(emu, setup, settings, make_client, record_id):
    sched = current(emu, setup, settings, record_id)
    source(settings, make_client).write_back(
        sched, ScheduleEdit(span=AllDaySpan(date(2026, 1, 5), date(2026, 1, 7)))
    )
    raw = emu.control.record(TENANT, setup.table_id, record_id)["record"][setup.schedule_field]
    assert raw[f"{setup.schedule_field}_period"] == ["2026-01-05", "2026-01-06"]
    assert current(emu, setup, settings, record_id).span == AllDaySpan(date(2026, 1, 5), date(2026, 1, 7))


def test_t1_only_changed_fields_are_sent(emu, setup, settings, make_client, record_id):
    sched = current(emu, setup, settings, record_id)
    source(settings, make_client).write_back(sched, ScheduleEdit(subject="件名だけ"))
    after = current(emu, setup, settings, record_id)
    assert after.title == "件名だけ" and after.extra["場所"] == "大阪" and after.span == sched.span


def test_t1_without_key_field_the_record_id_is_used(emu, setup, make_client, record_id):
    settings = JustSfaSettings.from_config(config_for(emu, setup, key_field=None), setup.api_key)
    sched = current(emu, setup, settings, record_id)
    assert write_back_item(settings, sched, ScheduleEdit(body="x"))["recordId"] == record_id
    source(settings, make_client).write_back(sched, ScheduleEdit(body="本文のみ"))
    assert current(emu, setup, settings, record_id).content == "本文のみ"


def test_t1_gone_record_is_a_typed_error(emu, setup, settings, make_client, record_id):
    sched = current(emu, setup, settings, record_id)
    emu.control.delete_record(TENANT, setup.table_id, record_id, fire_webhooks=False)
    with pytest.raises(SourceError) as err:
        source(settings, make_client).write_back(sched, ScheduleEdit(subject="x"))
    assert not isinstance(err.value, SourceIdentifierError)
    assert err.value.http_status == 404


def test_t1_value_refused_by_jsfa_is_a_typed_error(emu, setup, settings, make_client, record_id):
    sched = current(emu, setup, settings, record_id)
    with pytest.raises(SourceError) as err:
        source(settings, make_client).write_back(sched, ScheduleEdit(subject="x" * 500))
    assert err.value.http_status == 400


def test_t1_empty_edit_is_refused_before_any_call(settings, make_client):
    sched = record_change(
        settings,
        {settings.schedule_field: {f"{settings.schedule_field}_period": ["2025-12-30", "2025-12-30"]}},
        3,
        received_at=NOW,
    )
    assert isinstance(sched, Schedule)
    with pytest.raises(InputError):
        source(settings, make_client).write_back(sched, ScheduleEdit())
