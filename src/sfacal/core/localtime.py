"""Wall-clock times without an offset, read in a time zone as RFC 5545 (3.3.5) reads them.

An SFA that sends ``2026-03-08T02:30`` for a company in ``America/New_York`` names a time that does
not exist (the clocks jump from 02:00 to 03:00 that night), and ``2026-11-01T01:30`` one that occurs
twice (the clocks go back from 02:00 to 01:00). Neither is refused -- an SFA must not lose a schedule
over it -- and neither passes silently:

* a time **in a gap** is read with the UTC offset in force before the gap, i.e. moved forward by the
  gap's length (``02:30`` -> ``03:30`` EDT), as RFC 5545 prescribes;
* a time that **occurs twice** is the first occurrence (``01:30`` -> ``01:30`` EDT, not EST), as RFC
  5545 prescribes;
* a span whose start was moved out of a gap onto or past its end (``02:30``-``03:30`` becomes
  ``03:30``-``03:30``) keeps the length it was received with (``03:30``-``04:30``): a zero-length
  event would hide the schedule in the calendar.

Each adjustment is a :class:`LocalTimeNote` (which end, what was received, what is written, why);
the schedule keeps them (:attr:`~sfacal.core.schedule.Schedule.time_notes`) so the log line of its
calendar writes can say so (a warning, L1). Times sent with an offset are exact instants and are
never adjusted. Pure functions over :mod:`zoneinfo` (PEP 495 ``fold``), no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from sfacal.core.errors import InputError

__all__ = ["LocalTimeIssue", "LocalTimeNote", "resolve_local", "resolve_span"]


class LocalTimeIssue(StrEnum):
    GAP = "gap"  # does not exist: moved forward by the gap (RFC 5545 3.3.5)
    FOLD = "fold"  # occurs twice: the first occurrence (RFC 5545 3.3.5)
    LENGTH_KEPT = "length_kept"  # the end moved with a start that left a gap: the length is kept


@dataclass(frozen=True)
class LocalTimeNote:
    """One adjusted end of a span: ``received`` (the wall-clock time as sent, naive), ``written``
    (the instant used, aware in ``timezone``) and why (``issue``)."""

    field: str  # "start" or "end"
    issue: LocalTimeIssue
    received: datetime
    written: datetime
    timezone: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "issue", LocalTimeIssue(self.issue))
        if self.received.tzinfo is not None:
            raise InputError("received", "a wall-clock time without zone is required")
        if self.written.tzinfo is None:
            raise InputError("written", "an aware date and time is required")

    def to_dict(self) -> dict[str, str]:
        return {
            "field": self.field,
            "issue": self.issue.value,
            "received": self.received.isoformat(),
            "written": self.written.isoformat(),
            "timezone": self.timezone,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LocalTimeNote:
        try:
            return cls(
                field=str(data["field"]),
                issue=LocalTimeIssue(data["issue"]),
                received=datetime.fromisoformat(data["received"]),
                written=datetime.fromisoformat(data["written"]),
                timezone=str(data["timezone"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(
                "time_notes", f"unreadable note: {exc}", reason_ja="読み取れない注記です"
            ) from exc

    def log_params(self) -> dict[str, str]:
        """What a log line stores to say it in any language (``start_issue``, ``start_received`` ...)."""
        offset = _offset_text(self.written)
        return {
            f"{self.field}_issue": self.issue.value,
            f"{self.field}_received": self.received.strftime("%Y-%m-%d %H:%M"),
            f"{self.field}_written": f"{self.written:%Y-%m-%d %H:%M} ({offset})",
            "timezone": self.timezone,
        }


def _offset_text(value: datetime) -> str:
    minutes = int((value.utcoffset() or timedelta(0)).total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _zone_name(tz: Any) -> str:
    return str(getattr(tz, "key", None) or tz)


def resolve_local(naive: datetime, tz: Any, field_name: str) -> tuple[datetime, LocalTimeNote | None]:
    """``naive`` read in the zone ``tz`` (a ``tzinfo``) as RFC 5545 does; the note says what
    changed (``None``: the time exists once, as it was sent). An aware ``naive`` is returned as is."""
    if naive.tzinfo is not None:
        return naive, None
    first = naive.replace(tzinfo=tz, fold=0)
    second = naive.replace(tzinfo=tz, fold=1)
    if first.utcoffset() == second.utcoffset():
        return first, None
    # Normalised through UTC: in a gap, fold=0 carries the offset before the transition (PEP 495),
    # which lands after the gap, on a wall-clock time that exists.
    written = first.astimezone(UTC).astimezone(tz)
    if written.replace(tzinfo=None) == naive:
        issue = LocalTimeIssue.FOLD  # it exists, twice: fold=0 is the first occurrence
    else:
        issue = LocalTimeIssue.GAP
    return written, LocalTimeNote(field_name, issue, naive, written, _zone_name(tz))


def resolve_span(
    start: datetime, end: datetime, tz: Any
) -> tuple[datetime, datetime, tuple[LocalTimeNote, ...]]:
    """Both ends of a timed span read with :func:`resolve_local`; a start moved out of a gap onto
    or past the end takes the end along, so the span keeps the length it was received with."""
    start_at, start_note = resolve_local(start, tz, "start")
    end_at, end_note = resolve_local(end, tz, "end")
    notes = [n for n in (start_note, end_note) if n is not None]
    if (
        start_note is not None
        and start_note.issue is LocalTimeIssue.GAP
        and end.tzinfo is None
        and end > start
        and end_at <= start_at
    ):
        end_at = (start_at.astimezone(UTC) + (end - start)).astimezone(tz)
        note = LocalTimeNote("end", LocalTimeIssue.LENGTH_KEPT, end, end_at, _zone_name(tz))
        notes = [start_note, note]
    return start_at, end_at, tuple(notes)
