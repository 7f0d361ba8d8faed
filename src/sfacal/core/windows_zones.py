"""Windows time zone names for IANA zones (S5): the names the product sends Microsoft Graph.

Graph's ``dateTimeTimeZone`` takes any Windows time zone name, but only a short list of IANA names
(Microsoft's "dateTimeTimeZone resource type" page); other IANA names are refused with
``400 TimeZoneNotSupportedException``. So the product never sends an IANA name:

* :func:`windows_zone` -- the Windows name of an IANA zone by the Unicode CLDR ``windowsZones``
  table, as the maintained ``tzlocal`` package ships it (``tzlocal.windows_tz``: every IANA name
  CLDR maps, aliases included, e.g. ``Europe/Amsterdam`` -> ``W. Europe Standard Time``), or
  ``None`` when CLDR has no Windows zone for it (``Factory``, ``Antarctica/Troll``, a few legacy
  names). Updating ``tzlocal`` updates the table; nothing here is kept by hand.
* :func:`require_windows_zone` -- the settings-time check: the zone must exist and have a Windows
  name that keeps its clocks (the same UTC offset in January and July of this year and the next;
  where CLDR and this machine's database disagree, e.g. ``America/Scoresbysund``, events would
  land at the wrong hour), else :class:`~sfacal.core.errors.InputError` naming the field. A company
  time zone Graph cannot be given is refused when it is entered, not when the first event is written.
* :func:`iana_for` -- the reverse, for the names Graph returns: a Windows name (any case) becomes
  the IANA zone CLDR gives for it (its ``001`` territory; ``UTC`` stays ``UTC``), always one this
  machine's time zone database can load; an IANA name it knows is returned as it is; anything else
  is ``None``.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tzlocal.windows_tz import tz_win, win_tz

from sfacal.core.errors import InputError
from sfacal.core.schedule import zone

__all__ = ["iana_for", "require_windows_zone", "windows_zone"]

_WINDOWS_BY_LOWER = {name.lower(): name for name in win_tz}


def windows_zone(iana: str) -> str | None:
    """The Windows zone name for the IANA zone ``iana`` (CLDR), or ``None`` when there is none."""
    return tz_win.get(iana.strip()) or None


def require_windows_zone(name: str, field_name: str = "timezone") -> str:
    """``name`` stripped, if it is an IANA zone with a Windows name; else :class:`InputError`."""
    own = zone(name, field_name)
    text = name.strip()
    windows = windows_zone(text)
    if windows is None or not _same_clocks(own, iana_for(windows)):
        raise InputError(
            field_name,
            f"Microsoft 365 has no time zone for {text!r}: choose the zone of a nearby city",
            reason_ja=f"Microsoft 365 には {text} に当たるタイムゾーンがありません。近くの都市のタイムゾーンを選んでください",
        )
    return text


def _same_clocks(own: ZoneInfo, other: str | None) -> bool:
    if other is None:
        return False
    theirs = ZoneInfo(other)
    year = datetime.now(UTC).year
    instants = [datetime(y, m, 15, 12, tzinfo=UTC) for y in (year, year + 1) for m in (1, 7)]
    return all(t.astimezone(own).utcoffset() == t.astimezone(theirs).utcoffset() for t in instants)


def _loads(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


@functools.lru_cache(maxsize=256)
def _iana_of_windows(windows: str) -> str | None:
    """The loadable IANA zone for a canonical Windows name: CLDR's own choice, else (a machine
    whose database lacks that older alias) the first loadable IANA name CLDR maps to it."""
    first = win_tz[windows]
    if first == "Etc/UTC":
        return "UTC"
    if _loads(first):
        return first
    return next((name for name in sorted(tz_win) if tz_win[name] == windows and _loads(name)), None)


@functools.lru_cache(maxsize=256)
def iana_for(name: str | None) -> str | None:
    """The IANA zone for a Windows or IANA zone name Graph returned, or ``None``."""
    text = (name or "").strip()
    if not text:
        return None
    windows = _WINDOWS_BY_LOWER.get(text.lower())
    if windows is not None:
        return _iana_of_windows(windows)
    return text if _loads(text) else None
