"""Cell formats of Japanese spreadsheets, encodings and header matching."""

from __future__ import annotations

import codecs
from datetime import UTC, date, datetime, time, timedelta, timezone

import pytest

from sfacal.sources.csv.reader import decode, normalize_header
from sfacal.sources.csv.report import FileError
from sfacal.sources.csv.values import CellError, parse_flag, parse_list, parse_point, parse_time

JST = timezone(timedelta(hours=9))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026/11/24 10:00", datetime(2026, 11, 24, 10, 0)),
        ("2026/1/5 9:05", datetime(2026, 1, 5, 9, 5)),
        ("2026/11/24 10:00:30", datetime(2026, 11, 24, 10, 0, 30)),
        ("2026-11-24T10:00+09:00", datetime(2026, 11, 24, 10, 0, tzinfo=JST)),
        ("2026-11-24 10:00:00Z", datetime(2026, 11, 24, 10, 0, tzinfo=UTC)),
        ("2026年11月24日 10時00分", datetime(2026, 11, 24, 10, 0)),
        ("2026/11/24(火) 9:00", datetime(2026, 11, 24, 9, 0)),
        ("２０２６／１１／２４（火）　９：００", datetime(2026, 11, 24, 9, 0)),
        ("2026/11/24", date(2026, 11, 24)),
        ("2026年11月24日", date(2026, 11, 24)),
        ("2026.11.24", date(2026, 11, 24)),
    ],
)
def test_dates_as_spreadsheets_write_them(text, expected):
    value = parse_point(text)
    assert value == expected and type(value) is type(expected)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "tomorrow",
        "2026/13/01",
        "2026/02/30",
        "2026/11/24 25:00",
        "2026/11/24 24:00",
        "0999/01/01",
        "11/24",
    ],
)
def test_bad_dates_are_cell_errors(text):
    with pytest.raises(CellError) as info:
        parse_point(text)
    assert info.value.reason_ja and info.value.reason_en


def test_times_flags_and_lists():
    assert parse_time("9:30") == time(9, 30) and parse_time("10時05分") == time(10, 5)
    with pytest.raises(CellError):
        parse_time("noon")
    assert [parse_flag(v) for v in ("1", "はい", "○", "TRUE", "終日", "0", "×", "いいえ", "")] == [
        True,
        True,
        True,
        True,
        True,
        False,
        False,
        False,
        None,
    ]
    with pytest.raises(CellError):
        parse_flag("maybe")
    assert parse_list("tanaka;sato、suzuki  kato，ito") == ["tanaka", "sato", "suzuki", "kato", "ito"]
    assert parse_list("  ") == []


def test_encodings_are_detected():
    text = "社員ログインID,氏名\ntanaka,田中\n"
    assert decode(text.encode("utf-8")) == (text, "utf-8")
    assert decode(codecs.BOM_UTF8 + text.encode("utf-8"))[1] == "utf-8-sig"
    assert decode(text.encode("cp932")) == (text, "cp932")
    assert decode(text.encode("utf-16")) == (text, "utf-16")
    assert decode(text.encode("cp932"), "cp932")[1] == "cp932"
    with pytest.raises(FileError):
        decode(text.encode("utf-8"), "ascii")
    with pytest.raises(FileError):
        decode(b"x", "no-such-codec")


def test_header_names_ignore_case_spacing_and_width():
    assert (
        normalize_header(" Login ID ") == normalize_header("login_id") == normalize_header("ＬＯＧＩＮ＿ＩＤ")
    )
    assert normalize_header("社員ログインＩＤ") == normalize_header("社員ログインID")
