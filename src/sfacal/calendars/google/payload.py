"""RenderedEvent <-> Google Calendar event JSON (S5, S6).

What the product writes (every field on every update, so a calendar-side edit -- even turning the
event into an all-day one, S7 -- is overwritten by the SFA version):

* ``summary``, ``description`` (text), ``location``;
* ``start``/``end``: ``dateTime`` with the UTC offset of the wall-clock time in the company's zone
  and ``timeZone`` (IANA; Google takes every IANA name), or ``date`` for all-day events (end
  exclusive);
* ``visibility: default`` (``private`` for a private schedule), ``transparency: opaque`` (busy),
  ``status: confirmed`` (restores an event a user deleted when its id is written again);
* the tag in ``extendedProperties.private`` (:data:`TAG_PROPERTY`), found with
  ``privateExtendedProperty``; the transaction id beside it (:data:`TX_PROPERTY`) and a mark
  (:data:`MARK_PROPERTY`) that lists every event of ours with one filter;
* on create, the event ``id`` :func:`event_id_for` derives from the transaction id: Google refuses
  a second insert of an id with ``409 duplicate``, so a resent create cannot make a second event.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sfacal.core.render import RenderedEvent

from ..base import EventSnapshot, EventTag

__all__ = ["MARK_PROPERTY", "TAG_PROPERTY", "TX_PROPERTY", "event_body", "event_id_for", "parse_event"]

TAG_PROPERTY = "sfacalTag"
TX_PROPERTY = "sfacalTx"
MARK_PROPERTY = "sfacal"
"""Set to ``"1"`` on every event of ours, so reconciliation lists them with one filter."""
_VISIBILITY = {
    "normal": "default",
    "private": "private",
    "personal": "private",
    "confidential": "confidential",
}


def event_id_for(transaction_id: str) -> str:
    """The event id for a transaction id: base32hex (``0-9a-v``) of its SHA-256, 52 characters,
    as Google's id rules ask (5-1024 characters of ``a-v`` and ``0-9``)."""
    digest = hashlib.sha256(b"sfacal-event\x1f" + transaction_id.encode("utf-8")).digest()
    return base64.b32hexencode(digest).decode("ascii").rstrip("=").lower()


def _when(moment: datetime, zone: str) -> dict[str, str]:
    aware = moment.replace(tzinfo=ZoneInfo(zone))
    return {"dateTime": aware.isoformat(), "timeZone": zone}


def event_body(
    event: RenderedEvent, tag: EventTag, *, event_id: str | None = None, transaction_id: str | None = None
) -> dict[str, Any]:
    """The JSON for events.insert (with ``event_id``) or events.update."""
    if event.is_all_day:
        start: dict[str, str] = {"date": event.start.date().isoformat()}
        end: dict[str, str] = {"date": event.end.date().isoformat()}
    else:
        start, end = _when(event.start, event.timezone), _when(event.end, event.timezone)
    private = {MARK_PROPERTY: "1", TAG_PROPERTY: tag.value}
    if transaction_id:
        private[TX_PROPERTY] = transaction_id
    body: dict[str, Any] = {
        "summary": event.subject,
        "description": event.body,
        "location": event.location,
        "start": start,
        "end": end,
        "visibility": _VISIBILITY.get(event.sensitivity, "default"),
        "transparency": "opaque",
        "status": "confirmed",
        "extendedProperties": {"private": private},
    }
    if event_id:
        body["id"] = event_id
    return body


def _wall(value: dict[str, Any], zone: ZoneInfo) -> tuple[datetime | None, bool]:
    if "dateTime" in value:
        moment = datetime.fromisoformat(str(value["dateTime"]).replace("Z", "+00:00"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=ZoneInfo(str(value.get("timeZone") or "UTC")))
        return moment.astimezone(zone).replace(tzinfo=None), False
    if "date" in value:
        day = date.fromisoformat(str(value["date"]))
        return datetime(day.year, day.month, day.day), True
    return None, False


def parse_event(data: dict[str, Any], timezone: str | None, calendar_id: str | None = None) -> EventSnapshot:
    """An event JSON as the product sees it: wall-clock times in ``timezone`` (else the event's
    own zone, else UTC); a ``cancelled`` event is a deletion."""
    event_id = str(data.get("id", ""))
    if data.get("status") == "cancelled":
        return EventSnapshot(event_id, change_key=data.get("etag"), deleted=True, calendar_id=calendar_id)
    own = (data.get("start") or {}).get("timeZone")
    name = timezone or own or "UTC"
    zone = ZoneInfo(name)
    start, all_day = _wall(data.get("start") or {}, zone)
    end, _ = _wall(data.get("end") or {}, zone)
    if all_day and start is not None and end is None:
        end = start + timedelta(days=1)
    private = ((data.get("extendedProperties") or {}).get("private")) or {}
    tag_value = private.get(TAG_PROPERTY)
    updated = data.get("updated")
    return EventSnapshot(
        id=event_id,
        change_key=data.get("etag"),
        subject=str(data.get("summary", "")),
        start=start,
        end=end,
        timezone=name,
        is_all_day=all_day,
        location=str(data.get("location", "")),
        body=str(data.get("description", "")),
        body_type="text",
        tag=EventTag.parse(tag_value),
        tag_value=tag_value,
        transaction_id=private.get(TX_PROPERTY),
        calendar_id=calendar_id,
        last_modified=datetime.fromisoformat(updated.replace("Z", "+00:00")) if updated else None,
    )
