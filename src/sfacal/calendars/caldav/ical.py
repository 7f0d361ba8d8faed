"""Rendered events to iCalendar (RFC 5545) and back, with ``icalendar``.

Guarantees (each has a test in ``tests/calendars/test_caldav_ical.py`` or the contract suite):

* A timed event is written in the company's wall-clock time with ``TZID`` and the zone's
  ``VTIMEZONE`` (so any client shows it right, whatever zones it knows); UTC is written as ``Z``.
  All-day events are ``VALUE=DATE``, end exclusive (S5).
* Our mark (S6) is the ``X-SFACAL-TAG`` property; the ``UID`` is chosen by the caller and never
  changes on update.
* Reading gives wall-clock times in the zone asked for (default: the event's own zone), the tag
  when it is one of ours, and ``None`` for data without an event.
* Every field is written on update (S7): an update replaces the whole resource, so a user's
  all-day edit or added alarm does not survive the SFA's content.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, tzinfo

import icalendar

from sfacal.calendars.base import EventSnapshot, EventTag
from sfacal.core.render import RenderedEvent
from sfacal.core.schedule import zone

__all__ = [
    "PRODID",
    "TAG_PROPERTY",
    "event_to_ical",
    "ical_to_snapshot",
    "new_calendar",
    "uid_of",
    "vevent",
]

PRODID = "-//sfacal//sfacal//EN"
TAG_PROPERTY = "X-SFACAL-TAG"
TXID_PROPERTY = "X-SFACAL-TXID"

_CLASS = {"normal": "PUBLIC", "personal": "PRIVATE", "private": "PRIVATE", "confidential": "CONFIDENTIAL"}
_SENSITIVITY = {"PUBLIC": "normal", "PRIVATE": "private", "CONFIDENTIAL": "confidential"}


def vevent(
    event: RenderedEvent,
    uid: str,
    *,
    tag: EventTag | None = None,
    transaction_id: str | None = None,
    sequence: int = 0,
    now: datetime | None = None,
    modified: datetime | None = None,
) -> icalendar.Event:
    """The ``VEVENT`` for ``event`` (add it to a calendar, then ``add_missing_timezones``)."""
    vev = icalendar.Event()
    vev.add("uid", uid)
    vev.add("dtstamp", (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0))
    if modified is not None:
        vev.add("last-modified", modified.astimezone(UTC).replace(microsecond=0))
    vev.add("sequence", sequence)
    vev.add("summary", event.subject)
    if event.location:
        vev.add("location", event.location)
    if event.body:
        vev.add("description", event.body)
    if event.is_all_day:
        vev.add("dtstart", event.start.date())
        vev.add("dtend", event.end.date())
    else:
        tz = UTC if event.timezone == "UTC" else zone(event.timezone)
        vev.add("dtstart", event.start.replace(tzinfo=tz))
        vev.add("dtend", event.end.replace(tzinfo=tz))
    vev.add("class", _CLASS.get(event.sensitivity, "PUBLIC"))
    vev.add("transp", "OPAQUE")
    if tag is not None:
        vev.add(TAG_PROPERTY, tag.value)
    if transaction_id:
        vev.add(TXID_PROPERTY, transaction_id)
    return vev


def new_calendar() -> icalendar.Calendar:
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    return cal


def event_to_ical(
    event: RenderedEvent,
    tag: EventTag,
    uid: str,
    *,
    transaction_id: str | None = None,
    sequence: int = 0,
    now: datetime | None = None,
) -> str:
    """One ``VCALENDAR`` holding one ``VEVENT`` (and its ``VTIMEZONE``)."""
    cal = new_calendar()
    cal.add_component(vevent(event, uid, tag=tag, transaction_id=transaction_id, sequence=sequence, now=now))
    cal.add_missing_timezones()
    return cal.to_ical().decode("utf-8")


def _main_event(text: str | bytes) -> icalendar.Event | None:
    try:
        cal = icalendar.Calendar.from_ical(text)
    except ValueError:
        return None
    for component in cal.walk("VEVENT"):
        if component.get("recurrence-id") is None:
            return component  # type: ignore[return-value]
    return None


def uid_of(text: str | bytes) -> str | None:
    """The ``UID`` of the main event of a calendar resource."""
    vevent = _main_event(text)
    return str(vevent.get("uid")) if vevent is not None and vevent.get("uid") else None


def _wall(value: date | datetime, target: str | None) -> tuple[datetime, str, bool]:
    """(naive wall-clock time, zone name, all-day) of a DTSTART/DTEND value in ``target``."""
    if not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day), target or "UTC", True
    if value.tzinfo is None:  # floating time: the same wall-clock time everywhere
        return value, target or "UTC", False
    own = getattr(value.tzinfo, "key", None) or ("UTC" if value.utcoffset() == timedelta(0) else None)
    name = target or own or "UTC"
    tz: tzinfo = UTC if name == "UTC" else zone(name)
    return value.astimezone(tz).replace(tzinfo=None), name, False


def ical_to_snapshot(
    text: str | bytes,
    *,
    event_id: str | None = None,
    etag: str | None = None,
    calendar_id: str | None = None,
    timezone: str | None = None,
) -> EventSnapshot | None:
    """The event a calendar resource holds, as the calendar shows it (``None``: no event)."""
    vevent = _main_event(text)
    if vevent is None:
        return None
    dtstart = vevent.get("dtstart")
    if dtstart is None:
        return None
    start, zone_name, all_day = _wall(dtstart.dt, timezone)
    dtend = vevent.get("dtend")
    if dtend is not None:
        end = _wall(dtend.dt, zone_name if not all_day else timezone)[0]
    elif vevent.get("duration") is not None:
        end = start + vevent.get("duration").dt
    else:
        end = start + (timedelta(days=1) if all_day else timedelta(0))
    tag_value = str(vevent.get(TAG_PROPERTY)) if vevent.get(TAG_PROPERTY) is not None else None
    modified = vevent.get("last-modified")
    txid = vevent.get(TXID_PROPERTY)
    return EventSnapshot(
        id=event_id or str(vevent.get("uid", "")),
        change_key=etag,
        subject=str(vevent.get("summary", "")),
        start=start,
        end=end,
        timezone=zone_name if not all_day else (timezone or "UTC"),
        is_all_day=all_day,
        location=str(vevent.get("location", "")),
        body=str(vevent.get("description", "")),
        body_type="text",
        tag=EventTag.parse(tag_value),
        tag_value=tag_value,
        transaction_id=str(txid) if txid is not None else None,
        calendar_id=calendar_id,
        last_modified=modified.dt if modified is not None else None,
    )


def sensitivity_of(text: str | bytes) -> str:
    """The event's sensitivity in the product's words (``CLASS``)."""
    vevent = _main_event(text)
    value = str(vevent.get("class", "PUBLIC")).upper() if vevent is not None else "PUBLIC"
    return _SENSITIVITY.get(value, "normal")
