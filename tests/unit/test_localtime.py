"""Wall-clock times read as RFC 5545 (3.3.5) reads them: a time in a DST gap moves forward by the
gap, a time that occurs twice is the first occurrence, a span keeps the length it was received with
when its start leaves a gap -- and every adjustment is a note the log can tell."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sfacal.core.errors import InputError
from sfacal.core.localtime import LocalTimeIssue, LocalTimeNote, resolve_local, resolve_span
from sfacal.core.render import render
from sfacal.core.schedule import Schedule, TimedSpan, localize
from sfacal.core.stored import change_from_stored
from tests.unit.helpers import task

NY = ZoneInfo("America/New_York")
ZONES = [
    ZoneInfo(name)
    for name in (
        "America/New_York",
        "Europe/London",
        "Australia/Lord_Howe",  # a 30-minute shift
        "America/Santiago",  # transitions at midnight
        "Asia/Tokyo",  # none
    )
]


def wall(value: datetime) -> datetime:
    return value.replace(tzinfo=None)


def test_s5_new_york_spring_forward_0230_is_0330_edt_and_keeps_its_hour():
    start, end, notes = resolve_span(datetime(2026, 3, 8, 2, 30), datetime(2026, 3, 8, 3, 30), NY)
    assert start == datetime(2026, 3, 8, 7, 30, tzinfo=UTC)  # 03:30 EDT = 02:30 at the EST offset
    assert (start.isoformat(), end.isoformat()) == ("2026-03-08T03:30:00-04:00", "2026-03-08T04:30:00-04:00")
    assert [(n.field, n.issue) for n in notes] == [
        ("start", LocalTimeIssue.GAP),
        ("end", LocalTimeIssue.LENGTH_KEPT),
    ]
    assert notes[0].log_params() == {
        "start_issue": "gap",
        "start_received": "2026-03-08 02:30",
        "start_written": "2026-03-08 03:30 (UTC-04:00)",
        "timezone": "America/New_York",
    }


def test_s5_new_york_fall_back_0130_is_the_first_occurrence():
    written, note = resolve_local(datetime(2026, 11, 1, 1, 30), NY, "start")
    assert written.isoformat() == "2026-11-01T01:30:00-04:00"  # EDT, the first of the two
    assert note is not None and note.issue is LocalTimeIssue.FOLD
    assert note.log_params()["start_written"] == "2026-11-01 01:30 (UTC-04:00)"


def test_s5_times_that_exist_once_and_aware_times_are_not_noted():
    assert resolve_local(datetime(2026, 3, 8, 3, 30), NY, "start")[1] is None
    aware = datetime(2026, 3, 8, 2, 30, tzinfo=UTC)
    assert resolve_local(aware, NY, "start") == (aware, None)
    start, end, notes = resolve_span(datetime(2026, 3, 8, 1, 30), datetime(2026, 3, 8, 2, 30), NY)
    assert (wall(start), wall(end)) == (datetime(2026, 3, 8, 1, 30), datetime(2026, 3, 8, 3, 30))
    assert [n.issue for n in notes] == [LocalTimeIssue.GAP]  # only the end was in the gap
    assert (
        localize(datetime(2026, 3, 8, 2, 30), "America/New_York").isoformat() == "2026-03-08T03:30:00-04:00"
    )


naive = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2040, 1, 1))


@given(naive, st.sampled_from(ZONES))
def test_s5_every_wall_clock_time_becomes_one_that_exists_as_rfc5545_says(value: datetime, tz: ZoneInfo):
    written, note = resolve_local(value, tz, "start")
    assert wall(written.astimezone(UTC).astimezone(tz)) == wall(written)  # it exists
    before = value.replace(tzinfo=tz, fold=0).utcoffset()
    after = value.replace(tzinfo=tz, fold=1).utcoffset()
    assert before is not None and after is not None
    if note is None:
        assert wall(written) == value and before == after
        return
    assert (note.received, note.written, note.timezone) == (value, written, tz.key)
    if note.issue is LocalTimeIssue.GAP:
        # the UTC offset in force before the gap: moved forward by the gap's length
        assert written == (value - before).replace(tzinfo=UTC)
        assert wall(written) - value == after - before
    else:
        assert note.issue is LocalTimeIssue.FOLD
        assert wall(written) == value
        assert written == min(value.replace(tzinfo=tz, fold=f).astimezone(UTC) for f in (0, 1))


@given(naive, st.integers(0, 6 * 60), st.sampled_from(ZONES))
def test_s5_a_span_never_loses_its_length_to_a_gap(start: datetime, minutes: int, tz: ZoneInfo):
    end = start + timedelta(minutes=minutes)
    start_at, end_at, notes = resolve_span(start, end, tz)
    assert end_at >= start_at
    if minutes > 0:
        assert end_at > start_at  # never a zero-length event from a positive one
    kept = [n for n in notes if n.issue is LocalTimeIssue.LENGTH_KEPT]
    if kept:
        assert end_at - start_at == end - start and kept[0].written == end_at


def test_s5_notes_round_trip_with_the_schedule_and_reach_the_stored_form():
    start, end, notes = resolve_span(datetime(2026, 3, 8, 2, 30), datetime(2026, 3, 8, 3, 30), NY)
    base = task(timezone="America/New_York")
    s = base.replace(span=TimedSpan(start, end), time_notes=notes)
    data = json.loads(json.dumps(s.to_dict()))
    assert [n["issue"] for n in data["time_notes"]] == ["gap", "length_kept"]
    assert Schedule.from_dict(data) == s == change_from_stored(data)
    assert "time_notes" not in base.to_dict()  # the usual form is unchanged
    event = render(s, "America/New_York")
    assert (event.start, event.end) == (datetime(2026, 3, 8, 3, 30), datetime(2026, 3, 8, 4, 30))


@pytest.mark.parametrize("bad", ["note", [{"field": "start"}], [3]])
def test_s5_unreadable_notes_name_the_field(bad: object):
    with pytest.raises(InputError) as exc:
        task().replace(time_notes=bad)
    assert exc.value.field == "time_notes"


def test_s5_a_note_needs_a_wall_clock_time_and_an_instant():
    aware = datetime(2026, 3, 8, 7, 30, tzinfo=UTC)
    with pytest.raises(InputError):
        LocalTimeNote("start", LocalTimeIssue.GAP, aware, aware, "UTC")
    with pytest.raises(InputError):
        LocalTimeNote("start", LocalTimeIssue.GAP, wall(aware), wall(aware), "UTC")
