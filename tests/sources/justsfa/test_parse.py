"""J2: a JUST.SFA record becomes the right canonical schedule (tolerant parsing)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest

from sfacal.core.errors import InputError
from sfacal.core.render import FieldMapping, render
from sfacal.core.schedule import AllDaySpan, Kind, Schedule, ScheduleDeletion, Status, TimedSpan
from sfacal.sources.justsfa import EXTRA_RECORD_KEY, JustSfaSettings, parse_datetime, record_change

JST = timezone(timedelta(hours=9))
NOW = datetime(2025, 12, 1, 3, 0, tzinfo=UTC)
SF = "field_sched"

SETTINGS = JustSfaSettings.from_config(
    {
        "tenant": "fsz2",
        "table": "table_1",
        "panel": "panel_1",
        "filter": "filter_1",
        "schedule_field": SF,
        "title_field": "field_title",
        "location_field": "field_place",
        "content_field": "field_body",
        "key_field": "field_no",
        "status_field": "field_status",
        "kind_field": "field_kind",
        "purpose_field": "field_purpose",
        "customer_field": "field_customer",
    },
    "k" * 32,
    company="acme",
)


def rec(
    start: Any = "2025-12-30T10:00+09:00", end: Any = "2025-12-30T11:30+09:00", **values: Any
) -> dict[str, Any]:
    users = values.pop("users", [["yamada", "山田 太郎"], ["suzuki", "鈴木 花子"]])
    out: dict[str, Any] = {
        "field_no": "17",
        "field_title": "赤木電機 訪問",
        "field_place": "東京都千代田区",
        "field_body": "見積の説明\n2行目",
        SF: {f"{SF}_period": [start, end], f"{SF}_participants": users},
        "field_status": "予定",
    }
    out.update(values)
    return out


def parse(record: Any, record_id: Any = 17) -> Any:
    return record_change(SETTINGS, record, record_id, received_at=NOW)


def test_j2_record_becomes_schedule_with_title_location_content():
    s = parse(rec())
    assert isinstance(s, Schedule)
    assert str(s.ref) == "acme:justsfa:17"
    assert s.span == TimedSpan(
        datetime(2025, 12, 30, 10, 0, tzinfo=JST), datetime(2025, 12, 30, 11, 30, tzinfo=JST)
    )
    assert s.participants == ("yamada", "suzuki")
    assert s.status is Status.PLAN and s.kind is Kind.TASK
    assert s.title == "赤木電機 訪問" and s.content == "見積の説明\n2行目"
    assert s.customer_address == "東京都千代田区"
    assert s.extra[EXTRA_RECORD_KEY] == "17"
    event = render(s, "Asia/Tokyo", FieldMapping())
    assert (event.subject, event.location, event.body) == (
        "赤木電機 訪問",
        "東京都千代田区",
        "見積の説明\n2行目",
    )
    assert event.start == datetime(2025, 12, 30, 10, 0) and not event.is_all_day


@pytest.mark.parametrize(
    "text",
    [
        "2025-12-30T10:00+09:00",
        "2025-12-30T10:00:00+09:00",
        "2025-12-30T10:00:00.000+0900",
        "2025-12-30T01:00Z",
        "2025-12-30T01:00:00Z",
        "2025-12-30 10:00",
        "2025/12/30 10:00",
        "2025-12-29T20:00-05:00",
    ],
)
def test_j2_datetime_forms(text: str):
    value = parse_datetime(text, "Asia/Tokyo", "f")
    assert value == datetime(2025, 12, 30, 10, 0, tzinfo=JST)


@pytest.mark.parametrize(
    "text", ["", "tomorrow", "2025-13-01T10:00+09:00", "2025-12-30T25:00", "2025-12-30T10:00+15:00"]
)
def test_j2_bad_datetimes_name_the_field(text: str):
    with pytest.raises(InputError) as err:
        parse(rec(start=text))
    assert err.value.field == f"{SF}_period"


def test_j2_date_only_period_is_all_day_with_last_day_included():
    s = parse(rec("2025-12-30", "2025-12-31"))
    assert s.span == AllDaySpan(date(2025, 12, 30), date(2026, 1, 1))
    single = parse(rec("2025-12-30", "2025-12-30"))
    assert single.span == AllDaySpan(date(2025, 12, 30), date(2025, 12, 31))


def test_j2_midnight_to_midnight_is_all_day_unless_disabled():
    s = parse(rec("2025-12-30T00:00+09:00", "2025-12-31T00:00+09:00"))
    assert s.span == AllDaySpan(date(2025, 12, 30), date(2025, 12, 31))
    plain = JustSfaSettings.from_config(
        {
            **{k: getattr(SETTINGS, k) for k in ("table", "panel", "filter")},
            "tenant": "fsz2",
            "schedule_field": SF,
            "title_field": "field_title",
            "location_field": "field_place",
            "content_field": "field_body",
            "midnight_all_day": False,
        },
        "k" * 32,
    )
    timed = record_change(plain, rec("2025-12-30T00:00+09:00", "2025-12-31T00:00+09:00"), 1, received_at=NOW)
    assert isinstance(timed.span, TimedSpan)


def test_j2_end_before_start_is_refused_naming_the_period():
    with pytest.raises(InputError) as err:
        parse(rec("2025-12-30T11:00+09:00", "2025-12-30T10:00+09:00"))
    assert err.value.field == f"{SF}_period" and "before" in err.value.detail


@pytest.mark.parametrize(
    "users",
    [
        [["yamada", "山田"], ["suzuki"]],
        ["yamada", "suzuki"],
        [{"userId": "yamada"}, {"id": "suzuki"}],
        [["yamada", "山田"], ["yamada", "山田"], ["suzuki", "鈴木"]],
    ],
)
def test_j2_participant_forms(users: list[Any]):
    assert parse(rec(users=users)).participants == ("yamada", "suzuki")


def test_j2_bad_participants_are_refused():
    with pytest.raises(InputError) as err:
        parse(rec(users=[[None, "x"]]))
    assert err.value.field == f"{SF}_participants"


def test_j2_flat_schedule_keys_are_accepted():
    record = rec()
    value = record.pop(SF)
    record.update(value)
    assert parse(record).participants == ("yamada", "suzuki")


def test_j2_missing_schedule_field_is_an_error_naming_it():
    record = rec()
    del record[SF]
    with pytest.raises(InputError) as err:
        parse(record)
    assert err.value.field == SF


def test_j2_empty_schedule_value_means_not_a_calendar_schedule():
    change = parse(rec(**{SF: {f"{SF}_period": [], f"{SF}_participants": []}}))
    assert isinstance(change, ScheduleDeletion) and change.ref.record_id == "17"


def test_s1_actual_status_maps_to_actual():
    assert parse(rec(field_status="実績")).status is Status.ACTUAL
    assert parse(rec(field_status="")).status is Status.PLAN


def test_s2_purpose_and_kind_are_read():
    s = parse(rec(field_kind="商談", field_purpose="定期訪問", field_customer="赤木電機"))
    assert s.kind is Kind.MEETING and s.purpose == "定期訪問" and s.customer_name == "赤木電機"
    assert render(s, "Asia/Tokyo").subject == "赤木電機/定期訪問"


@pytest.mark.parametrize("record_id", [None, 0, -1, True, "", [1]])
def test_j2_record_id_is_required(record_id: Any):
    with pytest.raises(InputError) as err:
        parse(rec(), record_id)
    assert err.value.field == "recordId"


def test_j2_odd_value_shapes_are_read_as_text():
    s = parse(
        rec(field_title=123, field_place=["東京", "大阪"], field_body={"value": "メモ"}, field_no=["17"])
    )
    assert (s.title, s.extra["場所"], s.content, s.extra[EXTRA_RECORD_KEY]) == (
        "123",
        "東京, 大阪",
        "メモ",
        "17",
    )


def test_j2_record_must_be_an_object():
    with pytest.raises(InputError) as err:
        parse(["not", "a", "record"])
    assert err.value.field == "record"


# -- the variants public clients show (J1 field-element settings) -------------------------------


def variant_settings(**config: Any) -> JustSfaSettings:
    base = {
        "tenant": "fsz2",
        "table": "table_1",
        "panel": "panel_1",
        "filter": "filter_1",
        "schedule_field": SF,
        "title_field": "field_title",
        "location_field": "field_place",
        "content_field": "field_body",
        "key_field": "field_no",
        "status_field": "field_status",
        "purpose_field": "field_purpose",
        "customer_field": "field_customer",
    }
    return JustSfaSettings.from_config({**base, **config}, "k" * 32, company="acme")


def test_j1_array_values_are_read_by_the_element_of_each_field():
    record = rec(
        field_status=["実績"],
        field_purpose=["新規開拓"],
        field_customer=["12", "C-001", "", "株式会社A"],
    )
    s = record_change(variant_settings(), record, 17, received_at=NOW)
    assert isinstance(s, Schedule)
    assert (s.status, s.purpose, s.customer_name) == (Status.ACTUAL, "新規開拓", "株式会社A")
    joined = record_change(variant_settings(customer_element="join"), record, 17, received_at=NOW)
    assert joined.customer_name == "12, C-001, 株式会社A"  # type: ignore[union-attr]
    second = record_change(variant_settings(customer_element="2"), record, 17, received_at=NOW)
    assert second.customer_name == "C-001"  # type: ignore[union-attr]
    short = record_change(
        variant_settings(purpose_element="3"), rec(field_purpose=["定期訪問"]), 17, received_at=NOW
    )
    assert short.purpose == "定期訪問"  # type: ignore[union-attr]  # a one-element array: its element
    with pytest.raises(InputError) as err:
        variant_settings(status_element="5")
    assert err.value.field == "status_element"


def test_j1_participant_element_chooses_the_user_id():
    names_first = rec(users=[["山田 太郎", "yamada"], ["鈴木 花子", "suzuki"]])
    s = record_change(variant_settings(participant_element="2"), names_first, 17, received_at=NOW)
    assert s.participants == ("yamada", "suzuki")  # type: ignore[union-attr]
    plain = record_change(
        variant_settings(participant_element="2"), rec(users=[["yamada"], "suzuki"]), 17, received_at=NOW
    )
    assert plain.participants == ("yamada", "suzuki")  # type: ignore[union-attr]
    with pytest.raises(InputError):
        variant_settings(participant_element="3")


def test_j1_record_id_field_names_the_record_everywhere():
    settings = variant_settings(record_id_field="field_no")
    s = record_change(settings, rec(field_no=["17"]), None, received_at=NOW)
    assert s.ref.record_id == "17"
    assert record_change(settings, rec(field_no="17"), 999, received_at=NOW).ref.record_id == "17"
    with pytest.raises(InputError) as err:
        record_change(settings, rec(field_no=""), 5, received_at=NOW)
    assert err.value.field == "field_no"
    with pytest.raises(InputError) as err:
        record_change(variant_settings(), rec(), None, received_at=NOW)
    assert err.value.field == "recordId" and "record-ID field" in err.value.detail


@pytest.mark.parametrize(
    ("flag", "period", "span"),
    [
        (
            True,
            ("2025-12-30T10:00+09:00", "2025-12-30T11:00+09:00"),
            (date(2025, 12, 30), date(2025, 12, 31)),
        ),
        (
            "終日",
            ("2025-12-30T00:00+09:00", "2026-01-01T00:00+09:00"),
            (date(2025, 12, 30), date(2026, 1, 1)),
        ),
        (["1"], ("2025-12-30T09:00+09:00", "2025-12-31T18:00+09:00"), (date(2025, 12, 30), date(2026, 1, 1))),
        ("", ("2025-12-30T10:00+09:00", "2025-12-30T11:00+09:00"), None),
    ],
)
def test_s7_all_day_flag_field(flag, period, span):
    settings = variant_settings(all_day_field="field_allday")
    s = record_change(settings, rec(*period, field_allday=flag), 17, received_at=NOW)
    if span is None:
        assert isinstance(s.span, TimedSpan)  # type: ignore[union-attr]
    else:
        assert s.span == AllDaySpan(*span)  # type: ignore[union-attr]


def test_s7_midnight_to_midnight_and_two_dates_are_the_same_all_day():
    by_dates = parse(rec("2025-12-30", "2025-12-31"))
    by_midnight = parse(rec("2025-12-30T00:00+09:00", "2026-01-01T00:00+09:00"))
    assert by_dates.span == by_midnight.span == AllDaySpan(date(2025, 12, 30), date(2026, 1, 1))
