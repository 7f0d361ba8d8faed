"""Between the push API's JSON and the canonical :class:`~sfacal.core.schedule.Schedule`.

All-day convention of the API: ``start`` and ``end`` are dates and ``end`` is the *last* day,
included (``2026-11-24`` .. ``2026-11-24`` is one day), as SFA screens show it. The core stores the
end exclusive; :func:`schedule_to_out` converts back.

A date and time without an offset is read in ``timezone`` as RFC 5545 reads it
(:func:`sfacal.core.localtime.resolve_span`: a time that does not exist is moved forward by the
gap, one that occurs twice is the first occurrence); the schedule keeps what was adjusted
(``time_notes``) for the log and the answer's ``warnings``. Free text (title, content, ...) goes
through :func:`sfacal.core.text.incoming_text`, like every source's: at most 20,000 characters
(422 naming the field above), control characters and lone surrogates removed.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sfacal.core.errors import InputError
from sfacal.core.localtime import LocalTimeNote, resolve_span
from sfacal.core.schedule import AllDaySpan, Schedule, SourceRef, Span, TimedSpan, check_year, zone
from sfacal.core.text import incoming_text
from sfacal.sources.push.schemas import ScheduleIn

SOURCE = "push"
"""The ``source`` part of every record the push API (and, by default, the CSV import) writes."""


def parse_point(text: str, field_name: str) -> date | datetime:
    """An ISO 8601 date (``2026-11-24``) or date and time (with or without an offset)."""
    raw = text.strip()
    if not raw:
        raise InputError(
            field_name, "a date or date and time is required", reason_ja="日付または日時が必要です"
        )
    value: date | datetime
    try:
        if len(raw) == 10 and "T" not in raw and " " not in raw:
            value = date.fromisoformat(raw)
        else:
            value = datetime.fromisoformat(raw.replace("Z", "+00:00") if raw.endswith("Z") else raw)
    except ValueError as exc:
        raise InputError(
            field_name,
            f"not an ISO 8601 date or date and time: {raw[:40]!r}",
            reason_ja="日付・日時の形式が正しくありません（例: 2026-11-24T10:00:00+09:00）",
        ) from exc
    check_year(value if isinstance(value, date) else value.date(), field_name)
    return value


def _in_range(value: datetime, field_name: str) -> datetime:
    try:
        value.astimezone(UTC)
    except (OverflowError, ValueError) as exc:  # pragma: no cover - guarded by the year range
        raise InputError(field_name, "out of range", reason_ja="範囲外の日時です") from exc
    return value


def build_span(
    start_text: str, end_text: str, all_day: bool | None, tz_name: str
) -> tuple[Span, str, tuple[LocalTimeNote, ...]]:
    """The span of a schedule, the time zone to render it in and what reading wall-clock times in
    it adjusted (RFC 5545; see the module docstring)."""
    start = parse_point(start_text, "start")
    end = parse_point(end_text, "end")
    start_is_date = not isinstance(start, datetime)
    end_is_date = not isinstance(end, datetime)
    if all_day is None:
        if start_is_date != end_is_date:
            wrong = "end" if start_is_date else "start"
            raise InputError(
                wrong,
                "start and end must both be dates (all-day) or both dates and times",
                reason_ja="開始と終了は、両方とも日付（終日）か、両方とも日時にしてください",
            )
        all_day = start_is_date
    if all_day:
        for name, value in (("start", start), ("end", end)):
            if isinstance(value, datetime):
                raise InputError(
                    name,
                    "an all-day schedule takes a date (YYYY-MM-DD)",
                    reason_ja="終日予定は日付（YYYY-MM-DD）で指定してください",
                )
        assert not isinstance(start, datetime) and not isinstance(end, datetime)
        if end < start:
            raise InputError("end", "the end is before the start", reason_ja="終了が開始より前です")
        return AllDaySpan.inclusive(start, end), tz_name, ()
    for name, value in (("start", start), ("end", end)):
        if not isinstance(value, datetime):
            raise InputError(
                name,
                "a date and time is required (or set all_day)",
                reason_ja="日時を指定してください（終日の場合は all_day を指定）",
            )
    assert isinstance(start, datetime) and isinstance(end, datetime)
    start_at, end_at, notes = resolve_span(start, end, zone(tz_name))
    return TimedSpan(_in_range(start_at, "start"), _in_range(end_at, "end")), tz_name, notes


def to_schedule(
    company_slug: str, source_id: str, body: ScheduleIn, *, default_timezone: str, now: datetime
) -> Schedule:
    """The canonical schedule for ``body``; :class:`InputError` names the API field at fault."""
    tz_name = (body.timezone or "").strip() or default_timezone
    zone(tz_name)
    span, tz_name, notes = build_span(body.start, body.end, body.all_day, tz_name)
    updated_at = body.updated_at or now
    if updated_at.tzinfo is None or updated_at.utcoffset() is None:
        updated_at = updated_at.replace(tzinfo=zone(tz_name))
    check_year(updated_at.date(), "updated_at")
    version = str(body.version) if body.version is not None else None
    if version is not None and len(version) > 128:
        raise InputError("version", "longer than 128 characters", reason_ja="128文字以内にしてください")
    try:
        ref = SourceRef(company_slug, SOURCE, source_id)
    except InputError as exc:
        if exc.field == "record_id":
            raise InputError(
                "source_id", exc.params.get("reason", "invalid"), reason_ja=exc.params.get("reason_ja")
            ) from exc
        raise
    return Schedule(
        ref=ref,
        kind=body.kind,  # type: ignore[arg-type]  # parsed (aliases included) by Schedule
        status=body.status,  # type: ignore[arg-type]
        span=span,
        updated_at=updated_at,
        title=_text(body.title, "title"),
        content=_text(body.content, "content"),
        purpose=_text(body.purpose, "purpose"),
        business_name=_text(body.business_name, "business_name"),
        customer_name=_text(body.customer_name, "customer_name"),
        customer_address=_text(body.customer_address, "customer_address"),
        participants=tuple(body.participants),
        timezone=tz_name,
        version=version,
        time_notes=notes,
    )


def _text(value: str | None, field_name: str) -> str:
    return incoming_text(value, field_name) if value else ""


def etag_of(content_hash: str) -> str:
    return f'"{content_hash[:32]}"'


def matches_etag(header: str, content_hash: str | None) -> bool:
    """Whether an ``If-Match`` value matches the stored state (``*``: any existing state)."""
    if content_hash is None:
        return False
    current = etag_of(content_hash).strip('"')
    for part in header.split(","):
        tag = part.strip()
        if tag == "*":
            return True
        if tag.startswith("W/"):
            tag = tag[2:]
        if tag.strip('"') == current:
            return True
    return False


def schedule_to_out(schedule: Schedule, etag: str, outcome: str) -> dict[str, Any]:
    """The API's representation of a stored schedule."""
    span = schedule.span
    if isinstance(span, AllDaySpan):
        start, end = span.start.isoformat(), (span.end - timedelta(days=1)).isoformat()
    else:
        start, end = span.start.isoformat(), span.end.isoformat()
    return {
        "source_id": schedule.ref.record_id,
        "kind": schedule.kind.value,
        "status": schedule.status.value,
        "all_day": schedule.is_all_day,
        "start": start,
        "end": end,
        "timezone": schedule.timezone,
        "title": schedule.title,
        "content": schedule.content,
        "purpose": schedule.purpose,
        "business_name": schedule.business_name,
        "customer_name": schedule.customer_name,
        "customer_address": schedule.customer_address,
        "participants": list(schedule.participants),
        "updated_at": schedule.updated_at.isoformat(),
        "version": schedule.version,
        "etag": etag,
        "outcome": outcome,
        "warnings": [],
    }
