""" "See before you trust": the first records as the product reads them, for "Save and test" (J1).

Public JUST.SFA clients disagree on which element of an array value is the useful one
(participants, selects, lookups), so the connection test shows what the current settings make of
real records -- participants, purpose / business name, status, period, customer and address --
before anything is written to a calendar. :func:`preview_records` is pure; the screen resolves
participants to employees and purposes / business names to the masters
(:func:`sfacal.web.checks.resolve_preview`).

Guarantees: never raises for a record's content (a record that cannot be read is shown with its
error, naming the field); shows at most :data:`PREVIEW_LIMIT` records; every text is cleaned.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sfacal.core.errors import InputError
from sfacal.core.schedule import AllDaySpan, Schedule, Status, zone
from sfacal.core.text import clean_text

from .client import RecordItem
from .parse import record_change
from .settings import JustSfaSettings

__all__ = ["PREVIEW_LIMIT", "preview_records"]

PREVIEW_LIMIT = 5


def _period(schedule: Schedule, tz_name: str) -> str:
    span = schedule.span
    if isinstance(span, AllDaySpan):
        last = span.end - timedelta(days=1)
        days = (
            span.start.isoformat() if last == span.start else f"{span.start.isoformat()} – {last.isoformat()}"
        )
        return f"{days} (all day)"
    tz = zone(tz_name)
    start: datetime = span.start.astimezone(tz)
    end: datetime = span.end.astimezone(tz)
    if start.date() == end.date():
        return f"{start:%Y-%m-%d %H:%M} – {end:%H:%M}"
    return f"{start:%Y-%m-%d %H:%M} – {end:%Y-%m-%d %H:%M}"


def preview_records(
    settings: JustSfaSettings, items: list[RecordItem], *, now: datetime
) -> list[dict[str, Any]]:
    """One row per record (at most :data:`PREVIEW_LIMIT`): ``record_id``, ``title``,
    ``participants`` (user IDs as read), ``purpose``, ``business``, ``status`` (``plan`` /
    ``actual``), ``period``, ``customer``, ``address``, or ``error`` and ``field``."""
    rows: list[dict[str, Any]] = []
    for item in items[:PREVIEW_LIMIT]:
        shown_id = clean_text(str(item.record_id if item.record_id is not None else ""))[:40]
        try:
            change = record_change(settings, item.record, item.record_id, received_at=now)
        except InputError as exc:
            rows.append(
                {
                    "record_id": shown_id,
                    "error": exc.user_message("en"),
                    "error_ja": exc.user_message("ja"),
                    "field": exc.field,
                }
            )
            continue
        if not isinstance(change, Schedule):
            rows.append({"record_id": change.ref.record_id, "title": "", "empty": True})
            continue
        rows.append(
            {
                "record_id": change.ref.record_id,
                "title": change.title[:80],
                "participants": list(change.participants),
                "purpose": change.purpose or "",
                "business": change.business_name or "",
                "status": "actual" if change.status is Status.ACTUAL else "plan",
                "period": _period(change, settings.timezone),
                "customer": change.customer_name or "",
                "address": change.customer_address or "",
            }
        )
    return rows
