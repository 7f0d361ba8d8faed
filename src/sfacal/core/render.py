"""S5: how a schedule looks in the calendar.

:func:`render` turns a :class:`~sfacal.core.schedule.Schedule` into a :class:`RenderedEvent`:

* 商談 subject ``顧客名/商談目的`` (``赤木電機/定期訪問``); a missing part is left out; 業務 subject
  = 業務名, or the title when there is none; an empty subject falls back to the title, then to the
  kind (``商談`` / ``業務``);
* location = the customer's address; body = the content, plain text;
* times as wall-clock times in the company's time zone; all-day = midnight to midnight, end
  exclusive; sensitivity always ``normal`` (public);
* with a :class:`FieldMapping` (JUST.SFA 見出し / 場所 / 内容), subject, location and body come from
  the schedule's ``extra`` fields instead, each falling back to the rule above when empty.

Text is cleaned to what the calendar accepts (:func:`clean_text`): control characters other than
``\\n``/``\\t`` removed, newlines normalised to ``\\n``, lone surrogates dropped; subject and location
are one line of at most :data:`MAX_SUBJECT` UTF-16 code units (Exchange's unit; so also at most that
many code points), cut at a character boundary that never splits a surrogate pair, an emoji
sequence or a combining sequence, and marked with ``…``; the body is capped at :data:`MAX_BODY`.

:func:`content_hash` is a deterministic digest of everything the connector sends, so an unchanged
event is never sent again.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any

import orjson

from sfacal.core.errors import InputError
from sfacal.core.frozen import quick_init
from sfacal.core.schedule import DEFAULT_TIMEZONE, AllDaySpan, Kind, Schedule, zone

__all__ = [
    "EXTRA_BODY",
    "EXTRA_LOCATION",
    "EXTRA_SUBJECT",
    "MAX_BODY",
    "MAX_SUBJECT",
    "FieldMapping",
    "RenderedEvent",
    "clean_line",
    "clean_text",
    "content_hash",
    "render",
    "truncate_utf16",
    "windows_timezone",
]

MAX_SUBJECT = 255
MAX_LOCATION = 255
MAX_BODY = 32_000
ELLIPSIS = "…"

EXTRA_SUBJECT = "見出し"
EXTRA_LOCATION = "場所"
EXTRA_BODY = "内容"

_WINDOWS_ZONES = {
    "Asia/Tokyo": "Tokyo Standard Time",
    "UTC": "UTC",
    "Etc/UTC": "UTC",
    "Asia/Seoul": "Korea Standard Time",
    "Asia/Shanghai": "China Standard Time",
    "Asia/Singapore": "Singapore Standard Time",
    "Asia/Taipei": "Taipei Standard Time",
    "Asia/Bangkok": "SE Asia Standard Time",
    "Europe/London": "GMT Standard Time",
    "Europe/Berlin": "W. Europe Standard Time",
    "America/New_York": "Eastern Standard Time",
    "America/Los_Angeles": "Pacific Standard Time",
}


def windows_timezone(iana: str) -> str | None:
    """The Windows zone name Exchange prefers for a few common IANA zones, else ``None``."""
    return _WINDOWS_ZONES.get(iana)


@dataclass(frozen=True)
class FieldMapping:
    """Which ``Schedule.extra`` fields give subject, location and body (JUST.SFA 見出し/場所/内容)."""

    subject: str | None = EXTRA_SUBJECT
    location: str | None = EXTRA_LOCATION
    body: str | None = EXTRA_BODY


@quick_init
@dataclass(frozen=True)
class RenderedEvent:
    """The calendar event for one schedule: everything the connector needs to build its payload.

    ``start``/``end`` are naive wall-clock times in ``timezone`` (IANA). All-day events run from
    midnight to midnight, end exclusive.
    """

    subject: str
    location: str
    body: str
    start: datetime
    end: datetime
    timezone: str = DEFAULT_TIMEZONE
    is_all_day: bool = False
    sensitivity: str = "normal"
    body_type: str = "text"

    def __post_init__(self) -> None:
        for name in ("start", "end"):
            if getattr(self, name).tzinfo is not None:
                raise InputError(
                    name, "a wall-clock time without zone is required", reason_ja="ローカル時刻が必要です"
                )
        zone(self.timezone)
        if self.end < self.start:
            raise InputError("end", "the end is before the start", reason_ja="終了が開始より前です")
        if self.is_all_day and (
            self.start.time() != time() or self.end.time() != time() or self.end <= self.start
        ):
            raise InputError(
                "is_all_day",
                "an all-day event runs from midnight to a later midnight",
                reason_ja="終日予定は0時から翌日以降の0時までです",
            )

    @property
    def start_aware(self) -> datetime:
        return self.start.replace(tzinfo=zone(self.timezone))

    @property
    def end_aware(self) -> datetime:
        return self.end.replace(tzinfo=zone(self.timezone))

    @property
    def windows_timezone(self) -> str | None:
        return windows_timezone(self.timezone)

    def to_dict(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "location": self.location,
            "body": self.body,
            "body_type": self.body_type,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "timezone": self.timezone,
            "is_all_day": self.is_all_day,
            "sensitivity": self.sensitivity,
        }


# ------------------------------------------------------------------------------------------------
# Text cleaning

_NEWLINES = re.compile(r"\r\n|\r|\u2028|\u2029|\x85|\x0b|\x0c")
_LINE_WS = re.compile(r"[\s]+")
_ZWJ = "\u200d"
# What clean_text drops once newlines are normalised: the other control characters (Unicode
# category Cc: U+0000-U+001F and U+007F-U+009F, except \t and \n), lone surrogates (Cs) and the
# non-characters U+FFFE/U+FFFF.
_DROP = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


# Any character clean_text would change (not counting trailing whitespace): most text has none,
# and one search is cheaper than the substitutions.
_NOT_CLEAN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufffe\uffff]")
# What clean_line would change besides that: whitespace other than a single space.
_NOT_ONE_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufffe\uffff]|[^\\S ]|  ")


def clean_text(value: str) -> str:
    """Normalise newlines to ``\\n``; drop control characters (except ``\\n``/``\\t``), lone
    surrogates and non-characters; strip trailing whitespace at the end."""
    if _NOT_CLEAN.search(value) is None:
        return value.rstrip()
    return _DROP.sub("", _NEWLINES.sub("\n", value)).rstrip()


def clean_line(value: str) -> str:
    """:func:`clean_text`, then every run of whitespace (newlines, tabs) becomes one space."""
    if _NOT_ONE_LINE.search(value) is None:
        return value.strip()
    return _LINE_WS.sub(" ", clean_text(value)).strip()


def utf16_units(text: str) -> int:
    """The length of ``text`` in UTF-16 code units (what Graph's limits count)."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _utf16_len(ch: str) -> int:
    return 2 if ord(ch) > 0xFFFF else 1


def _extends(ch: str) -> bool:
    """Whether ``ch`` belongs to the character before it (must not start a cut-off tail)."""
    cp = ord(ch)
    return (
        unicodedata.category(ch) in ("Mn", "Me", "Mc")
        or ch == _ZWJ
        or 0xFE00 <= cp <= 0xFE0F  # variation selectors
        or 0xE0100 <= cp <= 0xE01EF
        or 0x1F3FB <= cp <= 0x1F3FF  # emoji skin tones
        or 0xE0020 <= cp <= 0xE007F  # emoji tag sequences
        or 0x3099 <= cp <= 0x309A  # kana voicing marks
    )


def _is_regional_indicator(ch: str) -> bool:
    return 0x1F1E6 <= ord(ch) <= 0x1F1FF


def _safe_cut(text: str, cut: int) -> int:
    """Move ``cut`` back so ``text[:cut]`` ends at a character (grapheme) boundary."""
    while 0 < cut < len(text):
        nxt, prev = text[cut], text[cut - 1]
        if _extends(nxt) or prev == _ZWJ:
            cut -= 1
            continue
        if _is_regional_indicator(nxt) and _is_regional_indicator(prev):
            run = 0  # count the regional indicators before the cut: a flag is an even pair
            while cut - run - 1 >= 0 and _is_regional_indicator(text[cut - run - 1]):
                run += 1
            if run % 2 == 1:
                cut -= 1
                continue
        break
    return cut


def truncate_utf16(text: str, limit: int, marker: str = ELLIPSIS) -> str:
    """``text`` if it fits in ``limit`` UTF-16 code units, else cut at a safe boundary + ``marker``."""
    if len(text) * 2 <= limit or utf16_units(text) <= limit:
        return text
    budget = limit - utf16_units(marker)
    used = 0
    cut = 0
    for cut, ch in enumerate(text):  # noqa: B007 - cut is used after the loop
        if used + _utf16_len(ch) > budget:
            break
        used += _utf16_len(ch)
    cut = _safe_cut(text, cut)
    return text[:cut].rstrip() + marker


# ------------------------------------------------------------------------------------------------
# Rendering


def _default_subject(schedule: Schedule) -> str:
    if schedule.kind is Kind.MEETING:
        cleaned = (clean_line(p) for p in (schedule.customer_name, schedule.purpose) if p)
        subject = "/".join(p for p in cleaned if p)
    else:
        subject = clean_line(schedule.business_name or "")
    return subject or clean_line(schedule.title) or schedule.kind.value


def event_subject(schedule: Schedule, mapping: FieldMapping | None = None) -> str:
    """The subject :func:`render` gives ``schedule`` (S5; also for log lines about it)."""
    subject = ""
    if mapping is not None and mapping.subject:
        subject = clean_line(schedule.extra.get(mapping.subject, ""))
    return truncate_utf16(subject or _default_subject(schedule), MAX_SUBJECT)


def render(
    schedule: Schedule, timezone: str = DEFAULT_TIMEZONE, mapping: FieldMapping | None = None
) -> RenderedEvent:
    """The event for ``schedule`` in the company's ``timezone`` (S5); see the module docstring."""
    tz = zone(timezone)
    location = schedule.customer_address or ""
    body = schedule.content
    if mapping is not None:
        if mapping.location and clean_line(schedule.extra.get(mapping.location, "")):
            location = schedule.extra[mapping.location]
        if mapping.body and clean_text(schedule.extra.get(mapping.body, "")):
            body = schedule.extra[mapping.body]
    span = schedule.span
    if isinstance(span, AllDaySpan):
        start = datetime.combine(span.start, time())
        end = datetime.combine(span.end, time())
    else:
        start = span.start.astimezone(tz).replace(tzinfo=None)
        end = span.end.astimezone(tz).replace(tzinfo=None)
    return RenderedEvent(
        subject=event_subject(schedule, mapping),
        location=truncate_utf16(clean_line(location), MAX_LOCATION),
        body=truncate_utf16(clean_text(body), MAX_BODY),
        start=start,
        end=end,
        timezone=timezone.strip(),
        is_all_day=isinstance(span, AllDaySpan),
    )


def content_hash(event: RenderedEvent) -> str:
    """SHA-256 (hex) over the canonical JSON of the event: equal content, equal hash."""
    data = event.to_dict()
    try:
        payload = orjson.dumps(data, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # a lone surrogate: the standard encoder gives the same bytes for the rest
        text = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        payload = text.encode("utf-8", "surrogatepass")
    return hashlib.sha256(payload).hexdigest()
