"""The canonical schedule: validation naming the field, JSON round trips."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sfacal.core.errors import InputError
from sfacal.core.schedule import (
    AllDaySpan,
    Kind,
    Schedule,
    ScheduleDeletion,
    SourceRef,
    Status,
    TimedSpan,
    change_from_dict,
    localize,
    zone,
)
from tests.unit.helpers import T0, TOKYO, meeting, ref, task


def _field(exc: pytest.ExceptionInfo[InputError]) -> str:
    return exc.value.field


def test_source_ref_string_form_is_stable_and_parseable() -> None:
    r = SourceRef("acme:jp", "just/sfa", "12 3")
    assert str(r) == "acme%3Ajp:just%2Fsfa:12%203"
    assert SourceRef.parse(str(r)) == r
    assert SourceRef.from_value(r.to_dict()) == r and SourceRef.from_value(str(r)) == r
    assert SourceRef("a", "b", 7).record_id == "7"  # type: ignore[arg-type]
    assert SourceRef(" a ", "b", "c").company == "a"


@pytest.mark.parametrize(
    "args,field",
    [
        (("", "b", "c"), "company"),
        (("a", " ", "c"), "source"),
        (("a", "b", None), "record_id"),
        (("a", "b", "x" * 201), "record_id"),
    ],
)
def test_source_ref_validation_names_the_field(args: tuple[Any, ...], field: str) -> None:
    with pytest.raises(InputError) as exc:
        SourceRef(*args)
    assert _field(exc) == field


def test_source_ref_parse_rejects_garbage() -> None:
    for bad in ("a:b", "a:b:c:d", 3):
        with pytest.raises(InputError):
            SourceRef.parse(bad)  # type: ignore[arg-type]
    with pytest.raises(InputError):
        SourceRef.from_value(3.5)


def test_kind_and_status_parse_aliases() -> None:
    assert (
        Kind.parse("商談") is Kind.MEETING
        and Kind.parse("task") is Kind.TASK
        and Kind.parse("MEETING") is Kind.MEETING
    )
    assert (
        Status.parse("実績") is Status.ACTUAL
        and Status.parse(" plan ") is Status.PLAN
        and Status.parse("Actual") is Status.ACTUAL
    )
    with pytest.raises(InputError) as exc:
        Kind.parse("visit")
    assert _field(exc) == "kind" and "商談" in str(exc.value.user_message())
    with pytest.raises(InputError) as exc2:
        Status.parse(1)
    assert _field(exc2) == "status"


def test_timed_span_validation() -> None:
    start = datetime(2025, 7, 1, 10, tzinfo=TOKYO)
    assert TimedSpan(start, start).end == start  # zero length is allowed
    with pytest.raises(InputError) as exc:
        TimedSpan(start, start - timedelta(minutes=1))
    assert _field(exc) == "end"
    with pytest.raises(InputError) as exc:
        TimedSpan(datetime(2025, 7, 1, 10), start)
    assert _field(exc) == "start" and "naive" in exc.value.user_message("en")
    with pytest.raises(InputError) as exc:
        TimedSpan(start, "tomorrow")  # type: ignore[arg-type]
    assert _field(exc) == "end"


def test_all_day_span_end_is_exclusive() -> None:
    span = AllDaySpan.inclusive(date(2025, 7, 1), date(2025, 7, 3))
    assert span.end == date(2025, 7, 4) and span.is_all_day
    with pytest.raises(InputError) as exc:
        AllDaySpan(date(2025, 7, 1), date(2025, 7, 1))
    assert _field(exc) == "end"
    with pytest.raises(InputError) as exc:
        AllDaySpan(datetime(2025, 7, 1, tzinfo=TOKYO), date(2025, 7, 2))
    assert _field(exc) == "start"


def test_schedule_normalises_fields() -> None:
    s = meeting(participants=("taro", " hanako ", "taro", ""), purpose="  ", customer="", title=None)  # type: ignore[arg-type]
    assert s.participants == ("taro", "hanako")
    assert s.purpose is None and s.customer_name is None and s.title == ""
    assert s.is_plan and not s.is_all_day and s.start < s.end  # type: ignore[operator]
    assert s.kind is Kind.MEETING
    assert hash(s) == hash(meeting(participants=("taro", "hanako"), purpose=None, customer=None))
    assert s.revision == T0.astimezone(UTC).isoformat()
    assert meeting(version="v9").revision == "v9"


@pytest.mark.parametrize(
    "changes,field",
    [
        ({"kind": "visit"}, "kind"),
        ({"status": "maybe"}, "status"),
        ({"updated_at": datetime(2025, 1, 1)}, "updated_at"),
        ({"title": 5}, "title"),
        ({"participants": "taro"}, "participants"),
        ({"participants": ["taro", 3]}, "participants"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"timezone": ""}, "timezone"),
        ({"extra": ["x"]}, "extra"),
        ({"extra": {"見出し": 3}}, "extra.見出し"),
        ({"extra": {3: "x"}}, "extra"),
        ({"span": "today"}, "start"),
        ({"ref": "acme:push:1"}, "ref"),
    ],
)
def test_schedule_validation_names_the_field(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(InputError) as exc:
        meeting().replace(**changes)
    assert _field(exc) == field


def test_schedule_dict_round_trip_timed_and_all_day() -> None:
    for s in (meeting(extra={"見出し": "訪問"}, version="3"), task(all_day=True, content="memo\n2行目")):
        data = json.loads(json.dumps(s.to_dict(), ensure_ascii=False))
        assert Schedule.from_dict(data) == s
        assert change_from_dict(data) == s
    deletion = ScheduleDeletion(ref("9"), T0, version=4)  # type: ignore[arg-type]
    assert deletion.version == "4" and deletion.revision == "4"
    back = change_from_dict(json.loads(json.dumps(deletion.to_dict())))
    assert back == deletion and isinstance(back, ScheduleDeletion)
    assert ScheduleDeletion(ref("9"), T0).revision == T0.astimezone(UTC).isoformat()


def test_from_dict_accepts_string_ref_and_defaults() -> None:
    data = {
        "ref": "acme:push:5",
        "kind": "業務",
        "status": "予定",
        "start": "2025-07-01T10:00:00Z",
        "end": "2025-07-01T11:00:00+00:00",
        "updated_at": "2025-07-01T00:00:00+09:00",
        "unknown_key": "ignored",
    }
    s = Schedule.from_dict(data)
    assert s.ref == ref("5") and s.timezone == "Asia/Tokyo" and s.participants == () and s.extra == {}


@pytest.mark.parametrize(
    "changes,field",
    [
        ({"start": "2025-07-01 bogus"}, "start"),
        ({"end": 5}, "end"),
        ({"updated_at": "2025-07-01T10:00:00"}, "updated_at"),
        ({"all_day": "yes"}, "all_day"),
        ({"all_day": True, "start": "2025-07-01", "end": "07/02"}, "end"),
        ({"all_day": True, "start": 20250701, "end": "2025-07-02"}, "start"),
        ({"ref": None}, "ref"),
    ],
)
def test_from_dict_errors_name_the_field(changes: dict[str, Any], field: str) -> None:
    data = {**meeting().to_dict(), **changes}
    with pytest.raises(InputError) as exc:
        Schedule.from_dict(data)
    assert _field(exc) == field


def test_from_dict_rejects_non_objects() -> None:
    for loader in (Schedule.from_dict, ScheduleDeletion.from_dict, change_from_dict):
        with pytest.raises(InputError) as exc:
            loader([])  # type: ignore[arg-type]
        assert _field(exc) == "schedule"
    with pytest.raises(InputError) as exc2:
        ScheduleDeletion("acme:push:1", T0)  # type: ignore[arg-type]
    assert _field(exc2) == "ref"


def test_from_dict_accepts_native_dates() -> None:
    data = {**task(all_day=True).to_dict(), "start": date(2025, 7, 16), "end": date(2025, 7, 18)}
    assert Schedule.from_dict(data).end == date(2025, 7, 18)
    data2 = {
        **meeting().to_dict(),
        "start": datetime(2025, 7, 1, 1, tzinfo=UTC),
        "end": datetime(2025, 7, 1, 2, tzinfo=UTC),
    }
    assert Schedule.from_dict(data2).start == datetime(2025, 7, 1, 10, tzinfo=TOKYO)


def test_localize_and_zone() -> None:
    aware = localize(datetime(2025, 7, 1, 10))
    assert aware.utcoffset() == timedelta(hours=9)
    assert localize(aware, "UTC") is aware
    assert zone(" UTC ").key == "UTC"


text = st.text(max_size=30)
opt_text = st.none() | st.text(min_size=1, max_size=10).filter(lambda t: t.strip() == t and t != "")
aware_dt = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.sampled_from([UTC, TOKYO])
)


@given(
    kind=st.sampled_from(Kind),
    status=st.sampled_from(Status),
    start=aware_dt,
    minutes=st.integers(0, 10_000),
    all_day=st.booleans(),
    title=text,
    content=text,
    purpose=opt_text,
    participants=st.lists(
        st.text(min_size=1, max_size=5).map(str.strip).filter(bool), max_size=4, unique=True
    ),
    extra=st.dictionaries(st.text(max_size=5), text, max_size=3),
)
def test_schedule_round_trip_property(
    kind: Kind,
    status: Status,
    start: datetime,
    minutes: int,
    all_day: bool,
    title: str,
    content: str,
    purpose: str | None,
    participants: list[str],
    extra: dict[str, str],
) -> None:
    span: TimedSpan | AllDaySpan
    if all_day:
        span = AllDaySpan(start.date(), start.date() + timedelta(days=1 + minutes // 1440))
    else:
        span = TimedSpan(start, start + timedelta(minutes=minutes))
    s = Schedule(
        ref("p"),
        kind,
        status,
        span,
        start,
        title,
        content,
        purpose,
        participants=tuple(participants),
        extra=extra,
    )
    assert Schedule.from_dict(json.loads(json.dumps(s.to_dict()))) == s


def test_none_collections_mean_empty() -> None:
    s = meeting().replace(participants=None, extra=None)
    assert s.participants == () and s.extra == {}
    assert SourceRef.from_value(s.ref) is s.ref


_texts = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12)


@st.composite
def _schedules(draw: st.DrawFn) -> Schedule:
    all_day = draw(st.booleans())
    start = datetime(2030, 1, 1, tzinfo=UTC) + timedelta(minutes=draw(st.integers(0, 500_000)))
    span: Any = (
        AllDaySpan(start.date(), start.date() + timedelta(days=draw(st.integers(1, 3))))
        if all_day
        else TimedSpan(start, start + timedelta(minutes=draw(st.integers(0, 600))))
    )
    return Schedule(
        ref=SourceRef(draw(st.sampled_from(["acme", " a b "])), "push", draw(_texts.filter(str.strip))),
        kind=draw(st.sampled_from(["商談", "業務", "meeting"])),
        status=draw(st.sampled_from(["予定", "実績"])),
        span=span,
        updated_at=start,
        title=draw(_texts),
        content=draw(_texts),
        purpose=draw(st.none() | _texts),
        business_name=draw(st.none() | _texts),
        customer_name=draw(st.none() | _texts),
        customer_address=draw(st.none() | _texts),
        participants=tuple(draw(st.lists(_texts, max_size=4))),
        timezone=draw(st.sampled_from(["Asia/Tokyo", "UTC", " Asia/Tokyo "])),
        version=draw(st.none() | _texts | st.integers(0, 9)),
        extra=draw(st.dictionaries(_texts, _texts, max_size=3)),
    )


@given(_schedules())
def test_s11_stored_form_decodes_to_the_same_schedule_as_full_validation(s: Schedule) -> None:
    from sfacal.core.stored import _stored_schedule, change_from_stored

    data = json.loads(json.dumps(s.to_dict(), ensure_ascii=False))
    assert _stored_schedule(data) is not None  # the canonical form takes the fast path
    assert change_from_stored(data) == Schedule.from_dict(data) == s


@pytest.mark.parametrize(
    "changes",
    [
        {"participants": [" taro "]},
        {"participants": ["taro", "taro"]},
        {"purpose": ""},
        {"kind": "meeting"},
        {"timezone": "Nowhere/City"},
        {"start": "2030-01-01T10:00:00"},
        {"ref": {"company": "acme", "source": "push", "record_id": " 1"}},
        {"extra": {"a": 1}},
    ],
)
def test_s11_stored_form_not_exactly_canonical_goes_through_validation(changes: dict[str, Any]) -> None:
    from sfacal.core.stored import change_from_stored

    data = {**meeting().to_dict(), **changes}
    try:
        expected: Any = Schedule.from_dict(data)
    except InputError as exc:
        with pytest.raises(InputError) as got:
            change_from_stored(data)
        assert got.value.detail == exc.detail
    else:
        assert change_from_stored(data) == expected


@given(
    _schedules(),
    st.lists(st.sampled_from(["taro", " taro", "", "hanako ", "jiro", 7, None]), max_size=4),
    st.sampled_from([{}, {"timezone": "Nowhere/City"}, {"start": "x"}, {"kind": "?"}]),
)
def test_s11_stored_participants_are_those_decoding_gives(
    s: Schedule, participants: list[Any], broken: dict[str, Any]
) -> None:
    """A pass takes leases from ``stored_participants`` and decodes later: whenever it names the
    participants, decoding (fast path or full validation) gives exactly those, or fails."""
    from sfacal.core.stored import change_from_stored, stored_participants

    canonical = json.loads(json.dumps(s.to_dict(), ensure_ascii=False))
    assert stored_participants(canonical) == s.participants
    data = {**canonical, "participants": participants, **broken}
    named = stored_participants(data)
    try:
        decoded = change_from_stored(data)
    except InputError:
        return
    if named is not None:
        assert isinstance(decoded, Schedule) and decoded.participants == named
    assert stored_participants({**canonical, "deleted": True}) is None  # not the stored form
