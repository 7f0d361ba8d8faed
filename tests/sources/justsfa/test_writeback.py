"""T1: calendar-side edits (subject, times, all-day, location, body) are written back to the
JUST.SFA record's configured fields, participants kept -- once the write-back test has proven the
configured update form; before that nothing is sent."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from sfacal.core.errors import InputError, SourceError, SourceIdentifierError, WriteBackUnprovenError
from sfacal.core.schedule import AllDaySpan, Schedule, TimedSpan
from sfacal.core.twoway import ScheduleEdit
from sfacal.emulators.justsfa import EmulatorHandle, ScheduleSetup
from sfacal.sources.base import Source
from sfacal.sources.justsfa import JustSfaSettings, JustSfaSource, record_change, write_back_item
from sfacal.sources.justsfa.writeback_test import run_writeback_test

from .conftest import TENANT, ClientFactory, config_for, schedule_record

JST = timezone(timedelta(hours=9))
NOW = datetime(2025, 12, 1, tzinfo=UTC)


def current(emu: EmulatorHandle, setup: ScheduleSetup, settings: JustSfaSettings, record_id: int) -> Schedule:
    rec = emu.control.record(TENANT, setup.table_id, record_id)
    change = record_change(settings, rec["record"], record_id, received_at=NOW)
    assert isinstance(change, Schedule)
    return change


def proven(settings: JustSfaSettings, make_client: ClientFactory, record: str) -> JustSfaSettings:
    """``settings`` after a passed write-back test on ``record``."""
    report = run_writeback_test(settings, record, make_client(settings))
    assert report.ok, report.steps
    return dataclasses.replace(settings, writeback_test=report.as_dict(settings.writeback_fingerprint()))


def source(settings: JustSfaSettings, make_client: ClientFactory) -> JustSfaSource:
    if not settings.writeback_proven:
        key = settings.writeback_form == "recordKey"
        settings = proven(settings, make_client, "1" if key else str(_first_record(settings, make_client)))
    return JustSfaSource(settings, client_factory=lambda s: make_client(s))


def _first_record(settings: JustSfaSettings, make_client: ClientFactory) -> object:
    (item,) = make_client(settings).list_records(limit=1) or [None]
    return item.record_id if item is not None else 1


@pytest.fixture
def record_id(emu: EmulatorHandle, setup: ScheduleSetup) -> int:
    rec = schedule_record(
        setup, "訪問", ["yamada"], **{setup.location_field: "大阪", setup.content_field: "メモ"}
    )
    return int(emu.control.create_record(TENANT, setup.table_id, rec, fire_webhooks=False)["recordId"])


def test_t1_nothing_is_written_back_before_the_write_back_test_passed(
    emu, setup, settings, make_client, record_id
):
    sched = current(emu, setup, settings, record_id)
    unproven = JustSfaSource(settings, client_factory=lambda s: make_client(s))
    with pytest.raises(WriteBackUnprovenError):
        unproven.write_back(sched, ScheduleEdit(subject="x"))
    assert not [e for e in emu.control.journal(tenant=TENANT) if e["method"] == "PUT"]
    # A proof holds for the form it was made with only.
    ok = proven(settings, make_client, str(record_id))
    assert ok.writeback_proven
    assert not dataclasses.replace(ok, writeback_form="recordKey").writeback_proven
    assert not dataclasses.replace(ok, table="table_other").writeback_proven


def test_t1_source_implements_the_protocol(settings, make_client):
    assert isinstance(JustSfaSource(settings, client_factory=make_client), Source)


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
    # Addressed by recordId, the default form (the write-back test's two PUTs come first).
    put = [e for e in emu.control.journal(tenant=TENANT) if e["method"] == "PUT"][-1]
    assert put["body"]["records"][0]["recordId"] == record_id


def test_t1_the_record_key_form_when_chosen(emu, setup, make_client, record_id):
    settings = JustSfaSettings.from_config(config_for(emu, setup, writeback_form="recordKey"), setup.api_key)
    sched = current(emu, setup, settings, record_id)
    source(settings, make_client).write_back(sched, ScheduleEdit(subject="キー指定"))
    put = [e for e in emu.control.journal(tenant=TENANT) if e["method"] == "PUT"][-1]
    assert put["body"]["records"][0]["recordKey"] == {setup.key_field: "1"}
    assert current(emu, setup, settings, record_id).title == "キー指定"


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
    with pytest.raises(InputError) as err:
        JustSfaSettings.from_config(config_for(emu, setup, key_field=None, writeback_form="recordKey"), "k")
    assert err.value.field == "key_field"
    settings = JustSfaSettings.from_config(config_for(emu, setup, key_field=None), setup.api_key)
    sched = current(emu, setup, settings, record_id)
    assert write_back_item(settings, sched, ScheduleEdit(body="x"))["recordId"] == record_id
    source(settings, make_client).write_back(sched, ScheduleEdit(body="本文のみ"))
    assert current(emu, setup, settings, record_id).content == "本文のみ"


def test_t1_gone_record_is_a_typed_error(emu, setup, settings, make_client, record_id):
    sched = current(emu, setup, settings, record_id)
    writer = source(settings, make_client)
    emu.control.delete_record(TENANT, setup.table_id, record_id, fire_webhooks=False)
    with pytest.raises(SourceError) as err:
        writer.write_back(sched, ScheduleEdit(subject="x"))
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
    proof = {"ok": True, "fingerprint": settings.writeback_fingerprint()}
    writer = JustSfaSource(dataclasses.replace(settings, writeback_test=proof), client_factory=make_client)
    with pytest.raises(InputError):
        writer.write_back(sched, ScheduleEdit())


# -- the write-back test (T1 proof), as a matrix over what a tenant may accept ------------------


@pytest.mark.parametrize(
    ("form", "accepted", "status", "passes"),
    [
        ("recordId", ["recordId", "recordKey"], 200, True),
        ("recordId", ["recordId"], 204, True),  # 2xx without a body is success
        ("recordKey", ["recordKey"], 204, True),
        ("recordId", ["recordKey"], 200, False),
        ("recordKey", ["recordId"], 200, False),
    ],
)
def test_t1_write_back_test_reports_what_jsfa_answered_and_restores(
    emu, setup, make_client, record_id, form, accepted, status, passes
):
    emu.control.set_knobs(update_forms=accepted, update_status=status)
    settings = JustSfaSettings.from_config(config_for(emu, setup, writeback_form=form), setup.api_key)
    named = "1" if form == "recordKey" else str(record_id)
    report = run_writeback_test(settings, named, make_client(settings))
    assert report.ok is passes
    steps = [(s["step"], s["status"], s["ok"]) for s in report.steps]
    if passes:
        assert steps == [
            ("read", 200, True),
            ("write", status, True),
            ("read_back", 200, True),
            ("restore", status, True),
            ("read_restored", 200, True),
        ]
    else:
        assert steps == [("read", 200, True), ("write", 400, False)]
        assert "UNSUPPORTED_UPDATE_FORM" in report.steps[1]["answer"]
    assert form in report.steps[1]["request"]
    # Only the content field was touched, and it is back as it was.
    after = current(emu, setup, settings, record_id)
    assert after.content == "メモ" and after.title == "訪問" and after.extra["場所"] == "大阪"


def test_t1_write_back_test_that_does_not_take_is_a_failure(emu, setup, make_client, record_id, monkeypatch):
    settings = JustSfaSettings.from_config(config_for(emu, setup), setup.api_key)
    client = make_client(settings)
    monkeypatch.setattr(client, "update_records", lambda items: [])  # "success", nothing changed
    report = run_writeback_test(settings, str(record_id), client)
    assert not report.ok and "read back" in report.message_en
    missing = run_writeback_test(settings, "999", make_client(settings))
    assert not missing.ok and [s["step"] for s in missing.steps] == ["read"]
    assert missing.steps[0]["status"] == 404
