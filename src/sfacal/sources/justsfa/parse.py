"""Normalising a JUST.SFA record (webhook body or records-API item) into a canonical schedule.

Pure functions, no I/O. Tolerant by design (JUST.SFA has no public spec; see
``docs/justsfa-setup.md`` for what is confirmed and what is inferred):

* datetimes ``2025-12-30T09:00+09:00`` (confirmed), also with seconds, fractions, ``Z``, a space or
  ``/`` separators; a time without offset is read in the company's time zone, as RFC 5545 reads it
  (:mod:`sfacal.core.localtime`: a time that does not exist is moved forward by the gap, one that
  occurs twice is the first occurrence; the schedule's ``time_notes`` say what was adjusted);
* text values go through :func:`sfacal.core.text.incoming_text`, like every source's: at most
  20,000 characters (an error naming the JUST.SFA field above), control characters (NUL included)
  and lone surrogates removed, newlines normalised;
* identifiers (``recordId``, participants' user IDs) are kept as they are, and refused, naming the
  field, when they hold a NUL character or a lone surrogate
  (:func:`sfacal.core.text.check_storable`, as the push API refuses them);
* years outside 1900-2200 are refused, naming the field (as the push API and the CSV import do);
* a period of two dates ``["2025-12-30", "2025-12-31"]`` is all-day, the end date *included*
  (inferred); with ``midnight_all_day`` (default) a period from local midnight to a later local
  midnight is all-day too, the end excluded;
* participants ``[["userId", "name"], ...]`` (confirmed nesting); also ``["userId", ...]`` and
  ``[{"userId": ...}, ...]``; order kept, duplicates dropped;
* the schedule value is ``record[F] = {F_period, F_participants}`` (confirmed); ``F_period`` /
  ``F_participants`` at the top level of the record are accepted too;
* a record whose schedule field is present but *empty* (no period) is not a calendar schedule:
  it becomes a :class:`ScheduleDeletion` (its mirrored events are removed);
* 見出し / 場所 / 内容 go to ``Schedule.extra`` under the render keys
  (:data:`~sfacal.core.render.EXTRA_SUBJECT` ...) and to ``title`` / ``customer_address`` /
  ``content``; the record key (when ``key_field`` is set) under :data:`EXTRA_RECORD_KEY`.

Every problem raises :class:`~sfacal.core.errors.InputError` naming the JUST.SFA field (or
``recordId``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any

from sfacal.core.errors import InputError
from sfacal.core.localtime import LocalTimeNote, resolve_local, resolve_span
from sfacal.core.render import EXTRA_BODY, EXTRA_LOCATION, EXTRA_SUBJECT
from sfacal.core.schedule import (
    AllDaySpan,
    Change,
    Kind,
    Schedule,
    ScheduleDeletion,
    SourceRef,
    Span,
    Status,
    TimedSpan,
    check_year,
    zone,
)
from sfacal.core.text import check_storable, incoming_text

from .settings import JustSfaSettings

__all__ = [
    "EXTRA_CONTENT",
    "EXTRA_PLACE",
    "EXTRA_RECORD_KEY",
    "EXTRA_TITLE",
    "field_text",
    "parse_datetime",
    "parse_participants",
    "pick_element",
    "raw_field_text",
    "record_change",
    "record_id_of",
    "record_identity",
    "ref_for",
]

EXTRA_TITLE = EXTRA_SUBJECT  # 見出し
EXTRA_PLACE = EXTRA_LOCATION  # 場所
EXTRA_CONTENT = EXTRA_BODY  # 内容
EXTRA_RECORD_KEY = "justsfa.record_key"
"""The record key field's value (write-back addresses the record by it, T1)."""

_DT_RE = re.compile(
    r"^(?P<y>\d{4})[-/](?P<mo>\d{1,2})[-/](?P<d>\d{1,2})"
    r"(?:[T ](?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2})(?:[.,](?P<f>\d{1,9}))?)?)?"
    r"\s*(?P<tz>Z|z|[+-]\d{2}(?::?\d{2})?)?$"
)
MAX_RECORD_ID = 200


def parse_datetime(text: object, tz_name: str, field_name: str) -> datetime | date:
    """A JUST.SFA date or datetime. Date-only text gives a :class:`date`; see the module doc."""
    value = _parse_point(text, tz_name, field_name)
    if isinstance(value, datetime) and value.tzinfo is None:
        return resolve_local(value, zone(tz_name), field_name)[0]
    return value


def _parse_point(text: object, tz_name: str, field_name: str) -> datetime | date:
    """:func:`parse_datetime`, but a time without offset stays naive (a span reads both of its ends
    in the zone together: :func:`~sfacal.core.localtime.resolve_span`)."""
    if not isinstance(text, str) or not text.strip():
        raise InputError(field_name, "a date and time is required", reason_ja="日時が必要です")
    m = _DT_RE.match(text.strip())
    if m is None:
        raise InputError(
            field_name,
            f"{text[:40]!r} is not a date and time like 2025-12-30T09:00+09:00",
            reason_ja=f"「{text[:40]}」は日時の形式（例: 2025-12-30T09:00+09:00）ではありません",
        )
    try:
        day = date(int(m["y"]), int(m["mo"]), int(m["d"]))
        check_year(day, field_name)
        if m["h"] is None:
            if m["tz"]:
                raise ValueError("a date with a UTC offset")
            return day
        frac = (m["f"] or "0")[:6].ljust(6, "0")
        naive = datetime.combine(day, time(int(m["h"]), int(m["mi"]), int(m["s"] or 0), int(frac)))
    except InputError:
        raise
    except ValueError as exc:
        raise InputError(
            field_name,
            f"{text[:40]!r} is not a valid date and time",
            reason_ja=f"「{text[:40]}」は正しい日時ではありません",
        ) from exc
    tzs = m["tz"]
    if tzs is None:
        zone(tz_name)  # an unknown zone is named here
        return naive
    if tzs in ("Z", "z"):
        return naive.replace(tzinfo=UTC)
    digits = tzs[1:].replace(":", "")
    minutes = int(digits[:2]) * 60 + int(digits[2:4] or 0)
    if minutes > 14 * 60:
        raise InputError(field_name, f"bad UTC offset in {text[:40]!r}", reason_ja="UTC オフセットが不正です")
    offset = timedelta(minutes=minutes if tzs[0] == "+" else -minutes)
    return naive.replace(tzinfo=timezone(offset))


def _user_id(item: object, element: int = 0) -> str | None:
    """The user ID of one participant: a string, a number, ``[a, b, ...]`` at ``element`` (a
    one-element list: its element), or an object's ``userId``."""
    if isinstance(item, str):
        return item.strip() or None
    if isinstance(item, int) and not isinstance(item, bool):
        return str(item)
    if isinstance(item, list | tuple) and item:
        if len(item) > element:
            return _user_id(item[element])
        return _user_id(item[0]) if len(item) == 1 else None
    if isinstance(item, Mapping):
        for key in ("userId", "user_id", "id", "loginId", "login_id"):
            if key in item:
                return _user_id(item[key])
    return None


def parse_participants(value: object, field_name: str, element: int = 0) -> tuple[str, ...]:
    """JUST.SFA user IDs from a participants value; ``element``: which element of a participant
    ``[a, b]`` is the user ID (J1 setting ``participant_element``); see the module doc."""
    if value is None or value == "":
        return ()
    if not isinstance(value, list | tuple):
        raise InputError(
            field_name,
            "a list of participants ([[userId, name], ...]) is required",
            reason_ja="参加者の一覧（[[ユーザーID, 名前], ...]）が必要です",
        )
    out: dict[str, None] = {}
    for item in value:
        uid = _user_id(item, element)
        if uid is None:
            raise InputError(
                field_name,
                f"a participant has no user ID: {str(item)[:60]}",
                reason_ja="ユーザーIDのない参加者があります",
            )
        out.setdefault(check_storable(uid, field_name), None)
    return tuple(out)


def _text(record: Mapping[str, Any], field_id: str | None, element: str = "join") -> str:
    """A field's value as text ('' when not configured, missing or empty), checked and cleaned
    (:func:`~sfacal.core.text.incoming_text`, naming the JUST.SFA field). An array value is read
    by ``element`` (:data:`~.settings.ELEMENT_CHOICES`)."""
    value = _raw_text(record, field_id, element)
    return incoming_text(value, field_id or "") if value else ""


def pick_element(items: list[str], element: str) -> str:
    """One text of an array value's texts, by ``element`` (``1``–``4``, ``last``, ``join``)."""
    if element == "join":
        return ", ".join(p for p in items if p)
    if element == "last":
        return next((p for p in reversed(items) if p), "")
    index = int(element) - 1
    if len(items) > index:
        return items[index]
    return items[0] if len(items) == 1 else ""


def _raw_text(record: Mapping[str, Any], field_id: str | None, element: str = "join") -> str:
    if not field_id:
        return ""
    value = record.get(field_id)
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
    if isinstance(value, list | tuple):
        parts = []
        for item in value:
            if isinstance(item, list | tuple):  # a user value [[id, name]]: the name reads best
                item = item[-1] if item else ""
            parts.append(_raw_text({"v": item}, "v"))
        return pick_element(parts, element)
    if isinstance(value, Mapping):
        for key in ("value", "label", "name", "text"):
            if key in value:
                return _raw_text(value, key)
    raise InputError(field_id, "a text value is required", reason_ja="文字列の値が必要です")


def raw_field_text(record: Mapping[str, Any], field_id: str) -> str:
    """A field's value as text exactly as received (arrays joined), without cleaning: what the
    write-back test must restore."""
    return _raw_text(record, field_id)


def field_text(settings: JustSfaSettings, record: Mapping[str, Any], setting: str) -> str:
    """The text of the field configured as ``setting`` (e.g. ``customer_field``), an array value
    read by that field's element setting; stripped."""
    return _text(record, getattr(settings, setting), settings.element_for(setting)).strip()


def record_id_of(raw: object) -> str:
    """The record ID of a webhook body or list item (``recordId``, a positive integer or text)."""
    if isinstance(raw, bool) or raw is None:
        raise InputError("recordId", "is required", reason_ja="recordId が必要です")
    if isinstance(raw, int):
        if raw <= 0:
            raise InputError("recordId", "must be a positive number", reason_ja="正の数が必要です")
        return str(raw)
    if isinstance(raw, str) and raw.strip() and len(raw.strip()) <= MAX_RECORD_ID:
        return check_storable(raw.strip(), "recordId")
    raise InputError("recordId", "a record number is required", reason_ja="レコード番号が必要です")


def record_identity(settings: JustSfaSettings, raw_id: object, record: object) -> str:
    """The ID a record is stored under: the ``record_id_field``'s value when one is configured
    (the autonumber 予定番号, for tenants whose list items carry no ``recordId``; then it is the
    identity everywhere, webhook and poll alike), else ``recordId``."""
    field_id = settings.record_id_field
    if not field_id:
        if raw_id is None:
            raise InputError(
                "recordId",
                "is missing: if JUST.SFA sends no recordId, set the record-ID field (the autonumber 予定番号)",
                reason_ja="recordId がありません。JUST.SFA が recordId を送らない場合は、レコードIDフィールド（採番の予定番号）を設定してください",
            )
        return record_id_of(raw_id)
    value = _text(record, field_id, "1").strip() if isinstance(record, Mapping) else ""
    if not value:
        raise InputError(
            field_id,
            "the record-ID field has no value (check that the panel and the webhook send it)",
            reason_ja="レコードIDフィールドに値がありません（パネルと Webhook の送信対象に含まれているか確認してください）",
        )
    return record_id_of(value)


_FLAG_TRUE = frozenset({"1", "true", "on", "yes", "終日", "○", "◯", "✓", "はい"})


def _flagged_all_day(settings: JustSfaSettings, record: Mapping[str, Any]) -> bool:
    if not settings.all_day_field:
        return False
    value = record.get(settings.all_day_field)
    if value is True:
        return True
    return _text(record, settings.all_day_field, "1").strip().lower() in _FLAG_TRUE


def ref_for(settings: JustSfaSettings, record_id: str) -> SourceRef:
    return SourceRef(settings.company, settings.source, record_id)


def _schedule_value(settings: JustSfaSettings, record: Mapping[str, Any]) -> tuple[object, object] | None:
    """``(period, participants)`` of the schedule field, or ``None`` when its value is empty."""
    sf = settings.schedule_field
    pkey, ukey = f"{sf}_period", f"{sf}_participants"
    value = record.get(sf)
    if isinstance(value, Mapping):
        period, participants = (
            value.get(pkey, value.get("period")),
            value.get(ukey, value.get("participants")),
        )
    elif pkey in record:
        period, participants = record.get(pkey), record.get(ukey)
    elif sf in record and value in (None, "", [], {}):
        return None
    elif sf in record:
        raise InputError(
            sf,
            f"the schedule field holds {type(value).__name__}, not {{'{pkey}': [...], '{ukey}': [...]}}",
            reason_ja="スケジュールフィールドの値の形式が正しくありません（スケジュール型のフィールドか確認してください）",
        )
    else:
        raise InputError(
            sf,
            "the record does not contain the schedule field (check the identifier, and that the webhook "
            "sends this field)",
            reason_ja="レコードにスケジュールフィールドがありません（識別名と、Webhook の送信対象フィールドを確認してください）",
        )
    if period in (None, "", [], {}):
        return None
    return period, participants


def _period(
    settings: JustSfaSettings, period: object, flagged: bool = False
) -> tuple[Span, tuple[LocalTimeNote, ...]]:
    """The span of a period and what reading its wall-clock times adjusted (RFC 5545).
    ``flagged``: the all-day field says all-day, so a timed period covers its local days."""
    sf = settings.schedule_field
    pkey = f"{sf}_period"
    if isinstance(period, Mapping):
        period = [period.get("start"), period.get("end")]
    if not isinstance(period, list | tuple) or len(period) != 2:
        raise InputError(pkey, "[start, end] is required", reason_ja="[開始, 終了] が必要です")
    start = _parse_point(period[0], settings.timezone, pkey)
    end_raw = period[1] if period[1] not in (None, "") else period[0]
    end = _parse_point(end_raw, settings.timezone, pkey)
    if isinstance(start, datetime) != isinstance(end, datetime):
        # One side a date, the other a datetime: read both as dates (an all-day period).
        start = start.date() if isinstance(start, datetime) else start
        end = end.date() if isinstance(end, datetime) else end
    if isinstance(start, datetime) and isinstance(end, datetime):
        tz = zone(settings.timezone)
        naive_pair = start.tzinfo is None and end.tzinfo is None
        if naive_pair and end < start:  # as received (reading them in the zone may move them)
            raise InputError(pkey, "the end is before the start", reason_ja="終了が開始より前です")
        start, end, notes = resolve_span(start, end, tz)
        if end < start:
            raise InputError(pkey, "the end is before the start", reason_ja="終了が開始より前です")
        local_start, local_end = start.astimezone(tz), end.astimezone(tz)
        if flagged:
            last = local_end.date()
            if local_end.time() == time() and last > local_start.date():
                last -= timedelta(days=1)  # midnight after the last day
            return AllDaySpan.inclusive(local_start.date(), max(last, local_start.date())), ()
        if (
            settings.midnight_all_day
            and local_start.time() == time()
            and local_end.time() == time()
            and local_end.date() > local_start.date()
        ):
            return AllDaySpan(local_start.date(), local_end.date()), ()
        return TimedSpan(start, end), notes
    assert isinstance(start, date) and isinstance(end, date)
    if end < start:
        raise InputError(pkey, "the end is before the start", reason_ja="終了が開始より前です")
    return AllDaySpan.inclusive(start, end), ()


def _choice(value: str, values: tuple[str, ...]) -> bool:
    return value.strip() in values


def _status(settings: JustSfaSettings, record: Mapping[str, Any]) -> Status:
    value = field_text(settings, record, "status_field")
    if value and _choice(value, settings.actual_values):
        return Status.ACTUAL
    return Status.PLAN


def _kind(settings: JustSfaSettings, record: Mapping[str, Any], purpose: str, customer: str) -> Kind:
    value = field_text(settings, record, "kind_field")
    if value and _choice(value, settings.meeting_values):
        return Kind.MEETING
    if value and _choice(value, settings.task_values):
        return Kind.TASK
    return Kind.MEETING if (purpose or customer) else Kind.TASK


def record_change(
    settings: JustSfaSettings,
    record: object,
    record_id: object,
    *,
    received_at: datetime,
) -> Change:
    """The canonical change for one record (a :class:`Schedule`, or a :class:`ScheduleDeletion`
    when the schedule field is empty). ``received_at`` is the update time unless the record has an
    ``updated_field`` value."""
    if not isinstance(record, Mapping):
        raise InputError(
            "record",
            "an object of field values is required",
            reason_ja="フィールド値のオブジェクトが必要です",
        )
    rid = record_identity(settings, record_id, record)
    updated_at = received_at
    if settings.updated_field and _text(record, settings.updated_field):
        value = parse_datetime(
            _text(record, settings.updated_field), settings.timezone, settings.updated_field
        )
        if isinstance(value, datetime):
            updated_at = value
    ref = ref_for(settings, rid)
    sched = _schedule_value(settings, record)
    if sched is None:
        return ScheduleDeletion(ref, updated_at)
    period, participants_raw = sched
    span, notes = _period(settings, period, _flagged_all_day(settings, record))
    participants = parse_participants(
        participants_raw, f"{settings.schedule_field}_participants", settings.participant_element
    )
    title = _text(record, settings.title_field)
    location = _text(record, settings.location_field)
    content = _text(record, settings.content_field)
    purpose = field_text(settings, record, "purpose_field")
    customer = field_text(settings, record, "customer_field")
    address = field_text(settings, record, "address_field")
    extra = {EXTRA_TITLE: title, EXTRA_PLACE: location, EXTRA_CONTENT: content}
    if settings.key_field:
        key = _text(record, settings.key_field, "1").strip()
        if key:
            extra[EXTRA_RECORD_KEY] = key
    return Schedule(
        ref=ref,
        kind=_kind(settings, record, purpose, customer),
        status=_status(settings, record),
        span=span,
        updated_at=updated_at,
        title=title,
        content=content,
        purpose=purpose or None,
        business_name=field_text(settings, record, "business_field") or None,
        customer_name=customer or None,
        customer_address=address or location.strip() or None,
        participants=participants,
        timezone=settings.timezone,
        extra=extra,
        time_notes=notes,
    )


def deletion(
    settings: JustSfaSettings, record_id: object, *, received_at: datetime, record: object = None
) -> ScheduleDeletion:
    """A deletion of the record (by :func:`record_identity`: with a record-ID field, the
    deletion's last values must carry it)."""
    return ScheduleDeletion(ref_for(settings, record_identity(settings, record_id, record)), received_at)


def format_datetime(value: datetime, tz_name: str) -> str:
    """``2025-12-30T09:00+09:00`` in the company's zone (JUST.SFA's own format, minute precision)."""
    local = value.astimezone(zone(tz_name))
    off = local.utcoffset() or timedelta(0)
    total = int(off.total_seconds() // 60)
    sign = "+" if total >= 0 else "-"
    total = abs(total)
    return f"{local:%Y-%m-%dT%H:%M}{sign}{total // 60:02d}:{total % 60:02d}"
