"""RenderedEvent <-> Microsoft Graph event JSON (S5, S6).

What the product writes (every field on every update, so a calendar-side edit -- even turning the
event into an all-day one, S7 -- is overwritten by the SFA version):

* ``subject``; ``body`` as text; ``location.displayName``;
* ``start``/``end`` as ``dateTimeTimeZone`` wall-clock times in the company's zone, named by its
  Windows zone (CLDR ``windowsZones``, e.g. ``Tokyo Standard Time``, ``W. Europe Standard Time``
  for ``Europe/Amsterdam``): Graph refuses most IANA names; ``isAllDay`` with midnight-to-midnight
  times;
* ``sensitivity: normal`` (public, as the first manual states) and ``showAs: busy``; reminders
  are left to Outlook's defaults (not sent, so a reminder the user changes stays);
* the product's tag: the single-value extended property :data:`TAG_PROPERTY_ID` holding
  :attr:`~sfacal.calendars.base.EventTag.value` (company, source, schedule id, login id);
* on create only, the caller's ``transactionId`` (Graph de-duplicates a repeated create).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sfacal.core.render import RenderedEvent, windows_timezone
from sfacal.core.schedule import quote_part
from sfacal.core.windows_zones import iana_for

from ..base import EventSnapshot, EventTag

__all__ = [
    "TAG_GUID",
    "TAG_NAME",
    "TAG_PROPERTY_ID",
    "event_body",
    "iana_zone",
    "odata_literal",
    "parse_event",
    "prefer_timezone",
    "tag_expand",
    "tag_filter",
    "tag_value",
    "written_ids",
]

TAG_GUID = "b88f5454-3481-429d-ac95-b53f2af779b5"
"""The product's fixed property-set GUID (never change it: events are found by it)."""
TAG_NAME = "sfacalScheduleId"
TAG_PROPERTY_ID = f"String {{{TAG_GUID}}} Name {TAG_NAME}"

_FRACTION = re.compile(
    r"^(?P<main>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2})?)(?:\.(?P<frac>\d+))?(?P<tz>Z|[+-]\d{2}:?\d{2})?$"
)


@functools.lru_cache(maxsize=256)
def graph_zone_name(iana: str) -> str:
    """The zone name to send Graph for an IANA zone: its Windows name (CLDR). A zone without one
    is refused when a company enters it; one stored before that check goes out as it is."""
    return windows_timezone(iana) or iana


def prefer_timezone(iana: str) -> str:
    """The ``Prefer`` header value asking Graph for times in ``iana``."""
    return f'outlook.timezone="{graph_zone_name(iana)}"'


def tag_value(tag: EventTag) -> str:
    """``tag.value`` (company:source:record_id:login_id, each part percent-encoded): the
    reference's text is the one :class:`SourceRef` keeps (already made for the transaction id),
    and a login ID that needs no encoding is not encoded (the usual case; the result is the same)."""
    return f"{tag.ref}:{quote_part(tag.login_id)}"


def written_ids(data: Mapping[str, Any]) -> tuple[str, str | None]:
    """``(id, change key)`` of a created or updated event's JSON, as :func:`parse_event` reads
    them, without converting the rest (the hot path only needs these two)."""
    event_id = str(data.get("id") or "")
    change_key = data.get("changeKey")
    if not change_key:
        etag = str(data.get("@odata.etag") or "")
        change_key = etag[3:-1] if etag.startswith('W/"') and etag.endswith('"') else (etag or None)
    return event_id, str(change_key) if change_key else None


def iana_zone(name: str | None) -> str | None:
    """The IANA zone for a Windows or IANA zone name Graph returned, or ``None``."""
    return iana_for(name)


def odata_literal(value: str) -> str:
    """A quoted OData string literal (single quotes doubled)."""
    return "'" + value.replace("'", "''") + "'"


def tag_filter(tag: EventTag | None = None) -> str:
    """``$filter`` for events carrying our tag (any value, or exactly ``tag``)."""
    clause = f"ep/id eq {odata_literal(TAG_PROPERTY_ID)}"
    if tag is not None:
        clause += f" and ep/value eq {odata_literal(tag.value)}"
    return f"singleValueExtendedProperties/Any(ep: {clause})"


def tag_expand() -> str:
    """``$expand`` returning our tag property with each event."""
    return f"singleValueExtendedProperties($filter=id eq {odata_literal(TAG_PROPERTY_ID)})"


def _wall(dt: datetime) -> str:
    """The wall-clock time to the second, no offset (``isoformat`` always writes a four-digit year,
    so the first 19 characters are ``YYYY-MM-DDTHH:MM:SS`` whatever follows)."""
    return dt.isoformat()[:19]


def event_body(event: RenderedEvent, tag: EventTag, transaction_id: str | None = None) -> dict[str, Any]:
    """The Graph JSON for ``event`` (create when ``transaction_id`` is given, else update)."""
    zone = graph_zone_name(event.timezone)
    body: dict[str, Any] = {
        "subject": event.subject,
        "body": {"contentType": "text" if event.body_type != "html" else "html", "content": event.body},
        "start": {"dateTime": _wall(event.start), "timeZone": zone},
        "end": {"dateTime": _wall(event.end), "timeZone": zone},
        "isAllDay": bool(event.is_all_day),
        "location": {"displayName": event.location},
        "sensitivity": event.sensitivity or "normal",
        "showAs": "busy",
        "singleValueExtendedProperties": [{"id": TAG_PROPERTY_ID, "value": tag_value(tag)}],
    }
    if transaction_id is not None:
        body["transactionId"] = transaction_id
    return body


def _parse_wall(value: str) -> tuple[datetime, bool] | None:
    """``(naive or aware datetime, had_offset)`` of a Graph ``dateTime`` string."""
    m = _FRACTION.match(value.strip())
    if not m:
        return None
    frac = (m.group("frac") or "")[:6].ljust(6, "0") if m.group("frac") else "000000"
    text = f"{m.group('main')}.{frac}"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    tz = m.group("tz")
    if tz:
        parsed = datetime.fromisoformat(text + ("+00:00" if tz == "Z" else tz))
        return parsed, True
    return parsed, False


def _times(start: Any, end: Any, want_zone: str | None) -> tuple[datetime | None, datetime | None, str]:
    """Start and end as wall-clock times in ``want_zone`` (or in the zone Graph used)."""
    out: list[datetime | None] = []
    zone_name = "UTC"
    for value in (start, end):
        if not isinstance(value, Mapping) or not isinstance(value.get("dateTime"), str):
            out.append(None)
            continue
        parsed = _parse_wall(value["dateTime"])
        if parsed is None:
            out.append(None)
            continue
        wall, aware = parsed
        src = iana_zone(str(value.get("timeZone") or "UTC")) or "UTC"
        target = want_zone or src
        if aware:
            wall = wall.astimezone(ZoneInfo(target)).replace(tzinfo=None)
        elif src != target:
            wall = wall.replace(tzinfo=ZoneInfo(src)).astimezone(ZoneInfo(target)).replace(tzinfo=None)
        zone_name = target
        out.append(wall)
    return out[0], out[1], zone_name


def _parse_instant(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    parsed = _parse_wall(value)
    if parsed is None:
        return None
    dt, aware = parsed
    return dt if aware else dt.replace(tzinfo=UTC)


def _tag_value(props: Any) -> str | None:
    if not isinstance(props, list):
        return None
    wanted = TAG_PROPERTY_ID.lower()
    for prop in props:
        if isinstance(prop, Mapping) and str(prop.get("id", "")).strip().lower() == wanted:
            value = prop.get("value")
            return str(value) if value is not None else None
    return None


def parse_event(data: Mapping[str, Any], timezone: str | None = None) -> EventSnapshot:
    """An :class:`EventSnapshot` from Graph's event JSON (or a delta ``@removed`` entry).

    All-day events keep their midnight dates as they are; timed events are converted to
    ``timezone`` (IANA) when given.
    """
    event_id = str(data.get("id") or "")
    if "@removed" in data:
        return EventSnapshot(id=event_id, deleted=True, timezone=timezone or "UTC")
    is_all_day = bool(data.get("isAllDay"))
    start, end, zone_name = _times(data.get("start"), data.get("end"), None if is_all_day else timezone)
    if is_all_day:
        zone_name = timezone or zone_name
    body = data.get("body") if isinstance(data.get("body"), Mapping) else {}
    location = data.get("location") if isinstance(data.get("location"), Mapping) else {}
    tag_value = _tag_value(data.get("singleValueExtendedProperties"))
    change_key = data.get("changeKey")
    if not change_key:
        etag = str(data.get("@odata.etag") or "")
        change_key = etag[3:-1] if etag.startswith('W/"') and etag.endswith('"') else (etag or None)
    return EventSnapshot(
        id=event_id,
        change_key=str(change_key) if change_key else None,
        subject=str(data.get("subject") or ""),
        start=start,
        end=end,
        timezone=zone_name,
        is_all_day=is_all_day,
        location=str((location or {}).get("displayName") or ""),
        body=str((body or {}).get("content") or ""),
        body_type=str((body or {}).get("contentType") or "text").lower(),
        tag=EventTag.parse(tag_value),
        tag_value=tag_value,
        transaction_id=str(data["transactionId"]) if data.get("transactionId") else None,
        calendar_id=None,
        last_modified=_parse_instant(data.get("lastModifiedDateTime")),
    )
