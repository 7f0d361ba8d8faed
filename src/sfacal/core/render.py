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

Text is cleaned to what the calendar accepts (:mod:`sfacal.core.text`: control characters other
than ``\\n``/``\\t`` removed, newlines normalised to ``\\n``, lone surrogates dropped); subject and
location are one line of at most :data:`MAX_SUBJECT` UTF-16 code units (Exchange's unit; so also at
most that many code points), cut at a character boundary that never splits a surrogate pair, an
emoji sequence or a combining sequence, and marked with ``…``. **Nothing of a long subject is lost:**
when the subject is cut, its whole text opens the body (a blank line, then the content), and
:attr:`RenderedEvent.subject_cut` says so (the log line tells it). The body is capped at
:data:`MAX_BODY` UTF-16 code units, which holds a whole subject and a whole content of
:data:`~sfacal.core.text.MAX_TEXT` characters each.

:func:`content_hash` is a deterministic digest of everything the connector sends, so an unchanged
event is never sent again.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any

import orjson

from sfacal.core.errors import InputError
from sfacal.core.frozen import quick_init
from sfacal.core.schedule import DEFAULT_TIMEZONE, AllDaySpan, Kind, Schedule, zone
from sfacal.core.text import ELLIPSIS, clean_line, clean_text, truncate_utf16, utf16_units
from sfacal.core.windows_zones import windows_zone

__all__ = [
    "BODY_GAP",
    "ELLIPSIS",
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
    "event_subject",
    "render",
    "subject_overflow",
    "truncate_utf16",
    "utf16_units",
    "windows_timezone",
]

MAX_SUBJECT = 255
MAX_LOCATION = 255
MAX_BODY = 64_000
BODY_GAP = "\n\n"
"""Between a cut subject's whole text and the content in the body."""

EXTRA_SUBJECT = "見出し"
EXTRA_LOCATION = "場所"
EXTRA_BODY = "内容"


def windows_timezone(iana: str) -> str | None:
    """The Windows zone name Exchange takes for an IANA zone (CLDR, :mod:`.windows_zones`), else ``None``."""
    return windows_zone(iana)


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
    # The subject was cut to MAX_SUBJECT; its whole text opens the body. Not part of the event's
    # content (``to_dict``, the hash, equality): it only tells the log.
    subject_cut: bool = field(default=False, compare=False)

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
# Rendering


def _default_subject(schedule: Schedule) -> str:
    if schedule.kind is Kind.MEETING:
        cleaned = (clean_line(p) for p in (schedule.customer_name, schedule.purpose) if p)
        subject = "/".join(p for p in cleaned if p)
    else:
        subject = clean_line(schedule.business_name or "")
    return subject or clean_line(schedule.title) or schedule.kind.value


def _whole_subject(schedule: Schedule, mapping: FieldMapping | None) -> str:
    subject = ""
    if mapping is not None and mapping.subject:
        subject = clean_line(schedule.extra.get(mapping.subject, ""))
    return subject or _default_subject(schedule)


def event_subject(schedule: Schedule, mapping: FieldMapping | None = None) -> str:
    """The subject :func:`render` gives ``schedule`` (S5; also for log lines about it)."""
    return truncate_utf16(_whole_subject(schedule, mapping), MAX_SUBJECT)


def subject_overflow(schedule: Schedule, mapping: FieldMapping | None = None) -> str:
    """The whole subject when it is too long for :data:`MAX_SUBJECT` (what opens the body), else ``""``."""
    whole = _whole_subject(schedule, mapping)
    return whole if truncate_utf16(whole, MAX_SUBJECT) != whole else ""


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
    whole = _whole_subject(schedule, mapping)
    subject = truncate_utf16(whole, MAX_SUBJECT)
    body = clean_text(body)
    cut = subject != whole
    if cut:  # nothing of the subject is lost: its whole text opens the body
        body = whole + BODY_GAP + body if body else whole
    span = schedule.span
    if isinstance(span, AllDaySpan):
        start = datetime.combine(span.start, time())
        end = datetime.combine(span.end, time())
    else:
        start = span.start.astimezone(tz).replace(tzinfo=None)
        end = span.end.astimezone(tz).replace(tzinfo=None)
    return RenderedEvent(
        subject=subject,
        location=truncate_utf16(clean_line(location), MAX_LOCATION),
        body=truncate_utf16(body, MAX_BODY),
        start=start,
        end=end,
        timezone=timezone.strip(),
        is_all_day=isinstance(span, AllDaySpan),
        subject_cut=cut,
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
