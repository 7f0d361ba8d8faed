"""Rebuilding a change from what this package stored itself (the inbox's and the schedule
table's ``to_dict()`` payloads), without validating every field again.

A pass decodes thousands of stored schedules; :func:`change_from_stored` takes a payload exactly in
``Schedule.to_dict()`` form straight to a :class:`~sfacal.core.schedule.Schedule`, and gives
anything else to :func:`~sfacal.core.schedule.change_from_dict` and its full validation (a
property test proves both give the same result).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from sfacal.core.errors import InputError
from sfacal.core.frozen import FrozenMap
from sfacal.core.schedule import (
    MAX_REF_PART,
    AllDaySpan,
    Change,
    Kind,
    Schedule,
    SourceRef,
    Span,
    Status,
    TimedSpan,
    change_from_dict,
    require_aware,
    zone,
)

__all__ = ["change_from_stored", "stored_participants"]


def change_from_stored(data: Mapping[str, Any]) -> Change:
    """:func:`change_from_dict` for what this package stored itself (``to_dict()`` of a valid
    change): a payload exactly in that form is rebuilt without validating every field again;
    anything else goes through :func:`change_from_dict` and its validation."""
    if type(data) is dict and data.get("deleted") is not True:
        fast = _stored_schedule(data)
        if fast is not None:
            return fast
    return change_from_dict(data)


_STORED_KEYS = frozenset(
    (
        "ref", "kind", "status", "all_day", "start", "end", "updated_at", "title", "content", "purpose",
        "business_name", "customer_name", "customer_address", "participants", "timezone", "version",
        "extra",
    )
)  # fmt: skip
_KINDS: Mapping[object, Kind] = Kind._value2member_map_  # type: ignore[assignment]
_STATUSES: Mapping[object, Status] = Status._value2member_map_  # type: ignore[assignment]


def stored_participants(data: object) -> tuple[str, ...] | None:
    """The participants :func:`change_from_stored` gives ``data``, read without rebuilding the
    rest; ``None`` unless ``data`` has the stored form with participants as stored (rebuild it then).

    For such a payload the fast path takes the list as it is, and full validation (strip, drop
    empty, keep the first of duplicates) leaves plain, unique login IDs unchanged: the same tuple
    either way (a property test checks it)."""
    if type(data) is not dict or data.keys() != _STORED_KEYS:
        return None
    participants = data["participants"]
    if type(participants) is not list or not all(_plain(login) for login in participants):
        return None
    if len(set(participants)) != len(participants):
        return None
    return tuple(participants)


def _plain(value: object) -> bool:
    """Text as a valid schedule stores it (stripped, not empty)."""
    return type(value) is str and bool(value) and value.strip() == value


def _stored_schedule(data: dict[str, Any]) -> Schedule | None:
    """The schedule ``data`` stores when it is exactly ``Schedule.to_dict()`` output, else None."""
    if data.keys() != _STORED_KEYS:
        return None
    ref, participants, extra = data["ref"], data["participants"], data["extra"]
    kind, status = _KINDS.get(data["kind"]), _STATUSES.get(data["status"])
    if (
        kind is None
        or status is None
        or type(ref) is not dict
        or ref.keys() != {"company", "source", "record_id"}
        or not all(_plain(part) and len(part) <= MAX_REF_PART for part in ref.values())
        or type(participants) is not list
        or not all(_plain(login) for login in participants)
        or len(set(participants)) != len(participants)
        or type(extra) is not dict
        or not all(type(k) is str and type(v) is str for k, v in extra.items())
        or type(data["title"]) is not str
        or type(data["content"]) is not str
        or not all(
            data[name] is None or _plain(data[name])
            for name in ("purpose", "business_name", "customer_name", "customer_address", "version")
        )
        or not _plain(data["timezone"])
    ):
        return None
    try:
        span: Span
        if data["all_day"] is True:
            span = AllDaySpan(date.fromisoformat(data["start"]), date.fromisoformat(data["end"]))
        elif data["all_day"] is False:
            span = TimedSpan(datetime.fromisoformat(data["start"]), datetime.fromisoformat(data["end"]))
        else:
            return None
        updated_at = require_aware(datetime.fromisoformat(data["updated_at"]), "updated_at")
        zone(data["timezone"])
    except (InputError, TypeError, ValueError):
        return None
    # Frozen instances filled through their __dict__ (what object.__setattr__ does, in one step).
    source_ref = object.__new__(SourceRef)
    source_ref.__dict__.update(company=ref["company"], source=ref["source"], record_id=ref["record_id"])
    schedule = object.__new__(Schedule)
    schedule.__dict__.update(
        {
            "ref": source_ref,
            "kind": kind,
            "status": status,
            "span": span,
            "updated_at": updated_at,
            "title": data["title"],
            "content": data["content"],
            "purpose": data["purpose"],
            "business_name": data["business_name"],
            "customer_name": data["customer_name"],
            "customer_address": data["customer_address"],
            "participants": tuple(participants),
            "timezone": data["timezone"],
            "version": data["version"],
            "extra": FrozenMap(extra),
            "time_notes": (),  # the stored form holds no notes (a payload with them has the key)
        }
    )
    return schedule
