"""The canonical schedule: what every SFA source is normalised into.

* :class:`SourceRef` -- which record (company, source, record id); its string form is stable and
  parseable, and is what the calendar tag (S6) holds.
* :class:`Schedule` -- one SFA schedule. Time is a :class:`TimedSpan` (aware datetimes) or an
  :class:`AllDaySpan` (dates, end exclusive).
* :class:`ScheduleDeletion` -- the record was deleted in the SFA (S4); it keeps the subject its
  events had (``subject``: the last known one, for the log lines of their deletion, L1).

A schedule whose wall-clock times had to be read as RFC 5545 reads a time that does not exist or
occurs twice (:mod:`sfacal.core.localtime`) keeps what was adjusted in ``time_notes``.

All are frozen; constructors validate and raise :class:`~sfacal.core.errors.InputError` naming the
field. ``to_dict``/``from_dict`` give a JSON-safe form that round-trips (inbox rows, push API).
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any, TypeVar
from urllib.parse import quote, unquote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sfacal.core.errors import InputError
from sfacal.core.frozen import FrozenMap, quick_init
from sfacal.core.localtime import LocalTimeNote, resolve_local

__all__ = [
    "DEFAULT_TIMEZONE",
    "AllDaySpan",
    "Change",
    "Kind",
    "Schedule",
    "ScheduleDeletion",
    "SourceRef",
    "Span",
    "Status",
    "TimedSpan",
    "change_from_dict",
    "check_year",
    "localize",
    "quote_part",
    "require_aware",
    "zone",
]

DEFAULT_TIMEZONE = "Asia/Tokyo"
_E = TypeVar("_E", bound=StrEnum)
MAX_REF_PART = 200
MIN_YEAR = 1900
MAX_YEAR = 2200
"""The years a source may send (a date outside them is a typo, and near year 1 or 9999 a UTC offset
would leave the calendar's range)."""


def check_year(value: date, field_name: str) -> date:
    """``value`` if its year is within :data:`MIN_YEAR`..:data:`MAX_YEAR`, else :class:`InputError`."""
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise InputError(
            field_name,
            f"the year must be between {MIN_YEAR} and {MAX_YEAR}",
            reason_ja=f"年は {MIN_YEAR}〜{MAX_YEAR} の範囲で指定してください",
        )
    return value


def zone(name: str, field_name: str = "timezone") -> ZoneInfo:
    """The IANA zone ``name``, or :class:`InputError` naming ``field_name``."""
    if not isinstance(name, str) or not name.strip():
        raise InputError(field_name, "a time zone name is required", reason_ja="タイムゾーン名が必要です")
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InputError(
            field_name, f"unknown time zone {name!r}", reason_ja=f"不明なタイムゾーンです: {name}"
        ) from exc


def require_aware(value: object, field_name: str) -> datetime:
    """``value`` if it is a timezone-aware datetime, else :class:`InputError`."""
    if not isinstance(value, datetime):
        raise InputError(field_name, "a date and time is required", reason_ja="日時が必要です")
    if value.tzinfo is None or value.utcoffset() is None:
        raise InputError(
            field_name,
            "the date and time has no time zone (naive)",
            reason_ja="日時にタイムゾーンがありません",
        )
    return value


def localize(naive: datetime, tz_name: str = DEFAULT_TIMEZONE) -> datetime:
    """Attach the zone ``tz_name`` to a wall-clock time (for sources that send local times); a time
    that does not exist or occurs twice is read as RFC 5545 reads it (:mod:`sfacal.core.localtime`)."""
    if naive.tzinfo is not None:
        return naive
    return resolve_local(naive, zone(tz_name), "start")[0]


class Kind(StrEnum):
    """商談 (business talk, has a customer and a purpose) or 業務 (task, has a business name)."""

    MEETING = "商談"
    TASK = "業務"

    @classmethod
    def parse(cls, value: object, field_name: str = "kind") -> Kind:
        return _parse_enum(cls, value, field_name, _KIND_ALIASES)


class Status(StrEnum):
    """予定 (plan) or 実績 (actual result)."""

    PLAN = "予定"
    ACTUAL = "実績"

    @classmethod
    def parse(cls, value: object, field_name: str = "status") -> Status:
        return _parse_enum(cls, value, field_name, _STATUS_ALIASES)


_KIND_ALIASES = {
    "meeting": "商談",
    "business_talk": "商談",
    "talk": "商談",
    "task": "業務",
    "business_task": "業務",
}
_STATUS_ALIASES = {"plan": "予定", "planned": "予定", "actual": "実績", "result": "実績", "done": "実績"}


def _parse_enum(cls: type[_E], value: object, field_name: str, aliases: Mapping[str, str]) -> _E:
    if isinstance(value, cls):
        return value
    exact = cls._value2member_map_.get(value) if isinstance(value, str) else None
    if exact is not None:  # the stored form: the member's own value
        return exact  # type: ignore[return-value]
    if isinstance(value, str):
        text = value.strip()
        text = aliases.get(text.lower(), text)
        for member in cls:
            if text in (member.value, member.name) or text.upper() == member.name:
                return member
    allowed = ", ".join(m.value for m in cls)
    raise InputError(
        field_name, f"unknown value {value!r} (allowed: {allowed})", reason_ja=f"不明な値です（{allowed}）"
    )


def _text(value: object, field_name: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InputError(field_name, "text is required", reason_ja="文字列が必要です")
    return value


def _optional_text(value: object, field_name: str) -> str | None:
    text = _text(value, field_name).strip()
    return text or None


_UNRESERVED = re.compile(r"[A-Za-z0-9_.~-]*\Z")


def quote_part(text: str) -> str:
    """``quote(text, safe="")``, without the work when nothing needs encoding (the usual case)."""
    return text if _UNRESERVED.match(text) else quote(text, safe="")


def _ref_part(value: object, field_name: str) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    text = _text(value, field_name).strip()
    if not text:
        raise InputError(field_name, "must not be empty", reason_ja="空にできません")
    if len(text) > MAX_REF_PART:
        raise InputError(
            field_name,
            f"longer than {MAX_REF_PART} characters",
            reason_ja=f"{MAX_REF_PART}文字以内にしてください",
        )
    return text


@quick_init
@dataclass(frozen=True, order=True)
class SourceRef:
    """Identifies one SFA record: ``company`` (slug), ``source`` (e.g. ``justsfa``), ``record_id``."""

    company: str
    source: str
    record_id: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "company", _ref_part(self.company, "company"))
        object.__setattr__(self, "source", _ref_part(self.source, "source"))
        object.__setattr__(self, "record_id", _ref_part(self.record_id, "record_id"))

    def __str__(self) -> str:
        """Stable form ``company:source:record_id``, each part percent-encoded."""
        return self._text

    @functools.cached_property
    def _text(self) -> str:
        return ":".join(quote_part(p) for p in (self.company, self.source, self.record_id))

    @classmethod
    def parse(cls, text: str) -> SourceRef:
        parts = text.split(":") if isinstance(text, str) else []
        if len(parts) != 3:
            raise InputError("ref", "expected company:source:record_id", reason_ja="形式が正しくありません")
        return cls(unquote(parts[0]), unquote(parts[1]), unquote(parts[2]))

    def to_dict(self) -> dict[str, str]:
        return {"company": self.company, "source": self.source, "record_id": self.record_id}

    @classmethod
    def from_value(cls, value: object) -> SourceRef:
        """From ``to_dict()`` output or the string form."""
        if isinstance(value, SourceRef):
            return value
        if isinstance(value, str):
            return cls.parse(value)
        if isinstance(value, Mapping):
            return cls(value.get("company"), value.get("source"), value.get("record_id"))  # type: ignore[arg-type]
        raise InputError("ref", "expected an object or a string", reason_ja="形式が正しくありません")


@quick_init
@dataclass(frozen=True)
class TimedSpan:
    """From ``start`` to ``end`` (aware datetimes, ``end >= start``)."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        require_aware(self.start, "start")
        require_aware(self.end, "end")
        if self.end < self.start:
            raise InputError("end", "the end is before the start", reason_ja="終了が開始より前です")

    @property
    def is_all_day(self) -> bool:
        return False


@quick_init
@dataclass(frozen=True)
class AllDaySpan:
    """Whole days from ``start`` up to, not including, ``end`` (``end > start``)."""

    start: date
    end: date

    def __post_init__(self) -> None:
        for name in ("start", "end"):
            value = getattr(self, name)
            if not isinstance(value, date) or isinstance(value, datetime):
                raise InputError(
                    name, "a date is required for an all-day schedule", reason_ja="日付が必要です"
                )
        if self.end <= self.start:
            raise InputError(
                "end",
                "an all-day schedule must end after its first day (the end is exclusive)",
                reason_ja="終日予定の終了日は開始日より後にしてください（終了日は含みません）",
            )

    @classmethod
    def inclusive(cls, first: date, last: date) -> AllDaySpan:
        """From a first and last day, both included (as SFA screens show them)."""
        return cls(first, date.fromordinal(last.toordinal() + 1))

    @property
    def is_all_day(self) -> bool:
        return True


Span = TimedSpan | AllDaySpan


def _participants(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise InputError(
            "participants", "a list of login IDs is required", reason_ja="ログインIDの一覧が必要です"
        )
    seen: dict[str, None] = {}
    for item in value:
        if not isinstance(item, str):
            raise InputError("participants", "login IDs must be text", reason_ja="ログインIDは文字列です")
        login = item.strip()
        if login:
            seen.setdefault(login, None)
    return tuple(seen)


def _extra(value: object) -> FrozenMap[str]:
    if value is None:
        return FrozenMap()
    if not isinstance(value, Mapping):
        raise InputError("extra", "an object of text fields is required", reason_ja="項目の一覧が必要です")
    out: dict[str, str] = {}
    for key, item in value.items():
        if not isinstance(key, str):
            raise InputError("extra", "field names must be text", reason_ja="項目名は文字列です")
        out[key] = _text(item, f"extra.{key}")
    return FrozenMap(out)


@quick_init
@dataclass(frozen=True)
class Schedule:
    """One SFA schedule, normalised. See the module docstring."""

    ref: SourceRef
    kind: Kind
    status: Status
    span: Span
    updated_at: datetime
    title: str = ""
    content: str = ""
    purpose: str | None = None
    business_name: str | None = None
    customer_name: str | None = None
    customer_address: str | None = None
    participants: tuple[str, ...] = ()
    timezone: str = DEFAULT_TIMEZONE
    version: str | None = None
    extra: Mapping[str, str] = field(default_factory=FrozenMap)
    time_notes: tuple[LocalTimeNote, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.ref, SourceRef):
            raise InputError("ref", "a SourceRef is required", reason_ja="参照が必要です")
        setattr_ = object.__setattr__
        setattr_(self, "kind", Kind.parse(self.kind))
        setattr_(self, "status", Status.parse(self.status))
        if not isinstance(self.span, TimedSpan | AllDaySpan):
            raise InputError("start", "a timed or all-day span is required", reason_ja="日時が必要です")
        require_aware(self.updated_at, "updated_at")
        setattr_(self, "title", _text(self.title, "title"))
        setattr_(self, "content", _text(self.content, "content"))
        for name in ("purpose", "business_name", "customer_name", "customer_address"):
            setattr_(self, name, _optional_text(getattr(self, name), name))
        setattr_(self, "version", _version(self.version))
        setattr_(self, "participants", _participants(self.participants))
        zone(self.timezone)
        setattr_(self, "timezone", self.timezone.strip())
        setattr_(self, "extra", _extra(self.extra))
        setattr_(self, "time_notes", _time_notes(self.time_notes))

    # -- convenience ------------------------------------------------------------------------

    @property
    def is_all_day(self) -> bool:
        return self.span.is_all_day

    @property
    def start(self) -> datetime | date:
        return self.span.start

    @property
    def end(self) -> datetime | date:
        return self.span.end

    @property
    def is_plan(self) -> bool:
        return self.status is Status.PLAN

    @property
    def revision(self) -> str:
        """What identifies this state of the record: its version, or else its update time (UTC)."""
        return self.version or self.updated_at.astimezone(UTC).isoformat()

    def replace(self, **changes: Any) -> Schedule:
        """A copy with ``changes`` applied and validated again."""
        return dataclasses.replace(self, **changes)

    # -- JSON -------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "ref": self.ref.to_dict(),
            "kind": self.kind.value,
            "status": self.status.value,
            "all_day": self.is_all_day,
            "start": self.span.start.isoformat(),
            "end": self.span.end.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "title": self.title,
            "content": self.content,
            "purpose": self.purpose,
            "business_name": self.business_name,
            "customer_name": self.customer_name,
            "customer_address": self.customer_address,
            "participants": list(self.participants),
            "timezone": self.timezone,
            "version": self.version,
            "extra": dict(self.extra),
        }
        if self.time_notes:  # rare: only then is the key stored (the usual form stays as it was)
            data["time_notes"] = [note.to_dict() for note in self.time_notes]
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Schedule:
        if not isinstance(data, Mapping):
            raise InputError("schedule", "an object is required", reason_ja="オブジェクトが必要です")
        all_day = data.get("all_day", False)
        if not isinstance(all_day, bool):
            raise InputError(
                "all_day", "true or false is required", reason_ja="true か false を指定してください"
            )
        span: Span
        if all_day:
            span = AllDaySpan(_parse_date(data.get("start"), "start"), _parse_date(data.get("end"), "end"))
        else:
            span = TimedSpan(
                _parse_datetime(data.get("start"), "start"), _parse_datetime(data.get("end"), "end")
            )
        return cls(
            ref=SourceRef.from_value(data.get("ref")),
            kind=data.get("kind"),  # type: ignore[arg-type]  # parsed in __post_init__
            status=data.get("status"),  # type: ignore[arg-type]
            span=span,
            updated_at=_parse_datetime(data.get("updated_at"), "updated_at"),
            title=data.get("title", ""),
            content=data.get("content", ""),
            purpose=data.get("purpose"),
            business_name=data.get("business_name"),
            customer_name=data.get("customer_name"),
            customer_address=data.get("customer_address"),
            participants=data.get("participants", ()),
            timezone=data.get("timezone") or DEFAULT_TIMEZONE,
            version=_version(data.get("version")),
            extra=data.get("extra") or {},
            time_notes=data.get("time_notes") or (),  # parsed in __post_init__
        )


@dataclass(frozen=True)
class ScheduleDeletion:
    """The record ``ref`` was deleted in the SFA at ``updated_at`` (S4). ``subject`` is the subject
    its events had (the last known state's; empty when none was known), so the log can name them."""

    ref: SourceRef
    updated_at: datetime
    version: str | None = None
    subject: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.ref, SourceRef):
            raise InputError("ref", "a SourceRef is required", reason_ja="参照が必要です")
        require_aware(self.updated_at, "updated_at")
        object.__setattr__(self, "version", _version(self.version))
        object.__setattr__(self, "subject", _text(self.subject, "subject"))

    @property
    def revision(self) -> str:
        return self.version or self.updated_at.astimezone(UTC).isoformat()

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "deleted": True,
            "ref": self.ref.to_dict(),
            "updated_at": self.updated_at.isoformat(),
            "version": self.version,
        }
        if self.subject:
            data["subject"] = self.subject
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ScheduleDeletion:
        if not isinstance(data, Mapping):
            raise InputError("schedule", "an object is required", reason_ja="オブジェクトが必要です")
        return cls(
            ref=SourceRef.from_value(data.get("ref")),
            updated_at=_parse_datetime(data.get("updated_at"), "updated_at"),
            version=_version(data.get("version")),
            subject=data.get("subject") or "",
        )


Change = Schedule | ScheduleDeletion


def change_from_dict(data: Mapping[str, Any]) -> Change:
    """``Schedule.to_dict()`` or ``ScheduleDeletion.to_dict()`` output back to the object."""
    if isinstance(data, Mapping) and data.get("deleted") is True:
        return ScheduleDeletion.from_dict(data)
    return Schedule.from_dict(data)


def _time_notes(value: object) -> tuple[LocalTimeNote, ...]:
    if not value:
        return ()
    if isinstance(value, str | Mapping) or not isinstance(value, Iterable):
        raise InputError("time_notes", "a list of notes is required", reason_ja="注記の一覧が必要です")
    return tuple(item if isinstance(item, LocalTimeNote) else LocalTimeNote.from_dict(item) for item in value)


def _version(value: object) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return _optional_text(value, "version")


def _parse_datetime(value: object, field_name: str) -> datetime:
    if isinstance(value, datetime):
        return require_aware(value, field_name)
    if not isinstance(value, str):
        raise InputError(
            field_name, "an ISO 8601 date and time is required", reason_ja="ISO 8601 形式の日時が必要です"
        )
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise InputError(
            field_name,
            f"not an ISO 8601 date and time: {value[:40]!r}",
            reason_ja="日時の形式が正しくありません",
        ) from exc
    return require_aware(parsed, field_name)


def _parse_date(value: object, field_name: str) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        raise InputError(
            field_name, "an ISO 8601 date is required", reason_ja="ISO 8601 形式の日付が必要です"
        )
    try:
        return date.fromisoformat(value.strip())
    except ValueError as exc:
        raise InputError(
            field_name, f"not an ISO 8601 date: {value[:40]!r}", reason_ja="日付の形式が正しくありません"
        ) from exc
