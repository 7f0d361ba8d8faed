"""S5: rendering, text cleaning and the content hash."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sfacal.core.errors import InputError
from sfacal.core.render import (
    MAX_BODY,
    MAX_SUBJECT,
    FieldMapping,
    RenderedEvent,
    clean_line,
    clean_text,
    content_hash,
    render,
    truncate_utf16,
    windows_timezone,
)
from sfacal.core.schedule import AllDaySpan, TimedSpan
from tests.unit.helpers import meeting, task


def _u16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def test_s5_meeting_subject_is_customer_slash_purpose() -> None:
    ev = render(meeting(content="新製品の説明"))
    assert ev.subject == "赤木電機/定期訪問"
    assert ev.location == "東京都千代田区" and ev.body == "新製品の説明"
    assert ev.sensitivity == "normal" and ev.body_type == "text" and not ev.is_all_day
    assert (ev.start, ev.end) == (datetime(2025, 7, 11, 10, 30), datetime(2025, 7, 11, 11, 30))
    assert ev.timezone == "Asia/Tokyo" and ev.windows_timezone == "Tokyo Standard Time"


def test_s5_meeting_subject_with_missing_parts() -> None:
    assert render(meeting(purpose=None)).subject == "赤木電機"
    assert render(meeting(customer=None)).subject == "定期訪問"
    assert render(meeting(customer=None, purpose=None, title="打合せ")).subject == "打合せ"
    assert render(meeting(customer=None, purpose=None)).subject == "商談"


def test_s5_task_subject_is_business_name_or_title() -> None:
    assert render(task(business_name="会議")).subject == "会議"
    assert render(task(business_name=None, title="見積作成")).subject == "見積作成"
    assert render(task(business_name=None, title=" \n")).subject == "業務"
    assert render(task()).location == ""


def test_s5_all_day_is_midnight_to_midnight_exclusive() -> None:
    ev = render(task(all_day=True))
    assert ev.is_all_day
    assert ev.start == datetime(2025, 7, 16, 0, 0) and ev.end == datetime(2025, 7, 17, 0, 0)
    multi = render(task().replace(span=AllDaySpan.inclusive(date(2025, 7, 30), date(2025, 8, 1))))
    assert (multi.start, multi.end) == (datetime(2025, 7, 30), datetime(2025, 8, 2))


def test_s5_utc_schedule_rendered_in_tokyo() -> None:
    s = meeting().replace(
        span=TimedSpan(datetime(2025, 7, 10, 23, 0, tzinfo=UTC), datetime(2025, 7, 11, 0, 30, tzinfo=UTC))
    )
    ev = render(s, "Asia/Tokyo")
    assert (ev.start, ev.end) == (datetime(2025, 7, 11, 8, 0), datetime(2025, 7, 11, 9, 30))
    assert ev.start_aware == datetime(2025, 7, 10, 23, 0, tzinfo=UTC)
    assert ev.end_aware == datetime(2025, 7, 11, 0, 30, tzinfo=UTC)
    in_utc = render(s, "UTC")
    assert in_utc.start == datetime(2025, 7, 10, 23, 0) and in_utc.windows_timezone == "UTC"
    # Every IANA zone CLDR maps (no hand-kept list): Graph takes few IANA names (S5).
    assert windows_timezone("Pacific/Fiji") == "Fiji Standard Time"
    assert windows_timezone("Europe/Amsterdam") == "W. Europe Standard Time"
    assert windows_timezone("America/Toronto") == "Eastern Standard Time"
    assert windows_timezone("Asia/Kuala_Lumpur") == "Singapore Standard Time"
    assert windows_timezone("Factory") is None


def test_s5_emoji_subject_kept_whole() -> None:
    ev = render(meeting(customer="🍣寿司屋👨‍👩‍👧", purpose="🇯🇵訪問"))
    assert ev.subject == "🍣寿司屋👨‍👩‍👧/🇯🇵訪問"


def test_s5_thousand_character_title_is_cut_to_255() -> None:
    ev = render(task(business_name=None, title="あ" * 1000))
    assert len(ev.subject) == MAX_SUBJECT and ev.subject.endswith("…") and ev.subject.startswith("あ" * 254)
    emoji = render(task(business_name=None, title="😀" * 1000))
    assert _u16(emoji.subject) <= MAX_SUBJECT and set(emoji.subject[:-1]) == {"😀"}
    assert len(emoji.subject) == 128  # 127 emoji (254 UTF-16 units) + the marker


@pytest.mark.parametrize(
    "unit",
    [
        "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466",  # family (ZWJ sequence)
        "\U0001f1ef\U0001f1f5",  # flag (regional indicator pair)
        "\U0001f44d\U0001f3fd",  # skin tone modifier
        "\u304b\u3099",  # decomposed ga (kana + combining voicing mark)
        "e\u0301",  # e + combining acute
        "\u2764\ufe0f",  # heart + variation selector
        "\U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f",  # tag sequence
    ],
)
def test_s5_truncation_never_splits_a_character(unit: str) -> None:
    for prefix in range(0, 12):
        text = "x" * prefix + unit * 200
        out = truncate_utf16(text, 255)
        assert _u16(out) <= 255 and out.endswith("…")
        body = out[:-1][prefix:]
        assert body == unit * (len(body) // len(unit)), (prefix, out[-20:])


def test_s5_control_characters_removed_and_newlines_normalised() -> None:
    s = task(
        business_name="会\x00議\x07",
        content="1行目\r\n2行目\r3行目\x0b\x1b[31m赤\t字\u2028終\ud800わり  \n\n",
    )
    ev = render(s)
    assert ev.subject == "会議"
    assert ev.body == "1行目\n2行目\n3行目\n[31m赤\t字\n終わり"
    assert clean_line(" a \n b\t\tc ") == "a b c"
    assert clean_text("x\ufffey\uffff") == "xy"


def test_s5_body_is_capped() -> None:
    ev = render(task(content="a" * (MAX_BODY + 500)))
    assert len(ev.body) == MAX_BODY and ev.body.endswith("…")


def test_s5_subject_is_one_line() -> None:
    assert render(meeting(customer="赤木\n電機", purpose="定期\t訪問")).subject == "赤木 電機/定期 訪問"


def test_s5_justsfa_field_mapping() -> None:
    s = task(
        business_name=None,
        title="raw title",
        content="raw body",
        extra={"見出し": "JUST 見出し", "場所": "大阪市北区", "内容": "JUST 内容\r\n2行"},
    )
    ev = render(s, mapping=FieldMapping())
    assert (ev.subject, ev.location, ev.body) == ("JUST 見出し", "大阪市北区", "JUST 内容\n2行")
    custom = FieldMapping(subject="field_title", location=None, body="field_memo")
    ev2 = render(s.replace(extra={"field_title": "件名X", "field_memo": ""}), mapping=custom)
    assert (ev2.subject, ev2.location, ev2.body) == ("件名X", "", "raw body")  # empty mapped body falls back
    assert render(s.replace(extra={}), mapping=FieldMapping()).subject == "raw title"


def test_s6_content_hash_is_deterministic_and_sensitive() -> None:
    a, b = render(meeting()), render(meeting())
    assert content_hash(a) == content_hash(b) and len(content_hash(a)) == 64
    for changed in (
        replace(a, subject="x"),
        replace(a, location="x"),
        replace(a, body="x"),
        replace(a, end=datetime(2025, 7, 11, 12, 0)),
        replace(a, timezone="UTC"),
    ):
        assert content_hash(changed) != content_hash(a)
    # Non-rendered schedule changes (another participant) do not change the hash.
    assert content_hash(render(meeting(participants=("taro", "hanako")))) == content_hash(a)


def test_rendered_event_validation() -> None:
    with pytest.raises(InputError) as exc:
        RenderedEvent("s", "", "", datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 1, 2))
    assert exc.value.field == "start"
    with pytest.raises(InputError) as exc:
        RenderedEvent("s", "", "", datetime(2025, 1, 2), datetime(2025, 1, 1))
    assert exc.value.field == "end"
    with pytest.raises(InputError) as exc:
        RenderedEvent("s", "", "", datetime(2025, 1, 1, 9), datetime(2025, 1, 2), is_all_day=True)
    assert exc.value.field == "is_all_day"


@given(st.text(max_size=600))
def test_s5_clean_subject_property(raw: str) -> None:
    out = truncate_utf16(clean_line(raw), MAX_SUBJECT)
    assert _u16(out) <= MAX_SUBJECT
    assert "\n" not in out and "\r" not in out
    assert all(not (0xD800 <= ord(c) <= 0xDFFF) for c in out)
    out.encode("utf-8")  # always encodable (no lone surrogates)


def _clean_text_by_category(value: str) -> str:
    """The definition of clean_text, character by character (Unicode categories)."""
    import re
    import unicodedata

    text = re.sub(r"\r\n|\r|\u2028|\u2029|\x85|\x0b|\x0c", "\n", value)
    kept = [
        ch
        for ch in text
        if ch in "\n\t" or (unicodedata.category(ch) not in ("Cc", "Cs") and ch not in ("\ufffe", "\uffff"))
    ]
    return "".join(kept).rstrip()


_ANY_TEXT = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x10FFFF), max_size=40)
# Mostly already-clean text (letters, kana, single and double spaces, an occasional tab or newline):
# the fast paths of clean_text and clean_line.
_PIECES = ["a", "b", " ", "  ", "赤木電機", "/", "-", "\t", "\n", "\u3000"]
_MOSTLY_CLEAN = st.lists(st.sampled_from(_PIECES), max_size=12).map("".join)


@given(st.one_of(_ANY_TEXT, _MOSTLY_CLEAN))
def test_s5_clean_text_and_clean_line_match_their_definitions(value: str) -> None:
    import re

    from sfacal.core.render import clean_line, clean_text

    assert clean_text(value) == _clean_text_by_category(value)
    assert clean_line(value) == re.sub(r"\s+", " ", _clean_text_by_category(value)).strip()


@given(st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x10FFFF), max_size=30))
def test_s5_content_hash_is_sha256_of_sorted_compact_json(value: str) -> None:
    import hashlib
    import json

    from sfacal.core.render import RenderedEvent, content_hash

    event = RenderedEvent(
        subject=value,
        location=value[::-1],
        body=value + "\n",
        start=datetime(2030, 1, 1, 9),
        end=datetime(2030, 1, 1, 10),
    )
    text = json.dumps(event.to_dict(), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    assert content_hash(event) == hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
