"""Time zone names as Graph accepts them: Windows names, and the IANA names Graph lists.

Microsoft's "dateTimeTimeZone resource type" page: ``timeZone`` "can be set to any of the time
zones currently supported by Windows, as well as the additional time zones supported by the
calendar API" -- a list of 99 IANA names (:data:`DOCUMENTED_IANA`). Anything else is answered
``400 TimeZoneNotSupportedException`` "A valid TimeZone value must be specified. The following
TimeZone value is not supported: '…'." (observed: microsoftgraph/microsoft-graph-docs#4758, for
"Greenwich Mean Time"). So ``Asia/Tokyo`` is accepted and ``Europe/Amsterdam`` is not.

The Windows zones are those of the Unicode CLDR ``windowsZones`` table (every Windows zone, with
the IANA zone of its ``001`` territory), as the ``tzlocal`` package ships it; Windows names are
matched regardless of case. The documented IANA names are matched exactly; where the page gives
two spellings ("Europe/Kyiv (Kiev)", "Asia/Yangon (Rangoon)") both are accepted.
"""

from __future__ import annotations

import contextlib
import re
from datetime import UTC, date, datetime, timedelta, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tzlocal.windows_tz import tz_win, win_tz

WINDOWS_TO_IANA: dict[str, str] = dict(win_tz)
"""Every Windows zone name (CLDR) -> the IANA zone of its ``001`` territory."""

_WINDOWS_BY_LOWER = {k.lower(): k for k in WINDOWS_TO_IANA}

# The page's list, in its order; "A (B)" entries name one zone two ways.
_DOCUMENTED = """
Etc/GMT+12 Etc/GMT+11 Pacific/Honolulu America/Anchorage America/Santa_Isabel America/Los_Angeles
America/Phoenix America/Chihuahua America/Denver America/Guatemala America/Chicago
America/Mexico_City America/Regina America/Bogota America/New_York America/Indiana/Indianapolis
America/Caracas America/Asuncion America/Halifax America/Cuiaba America/La_Paz America/Santiago
America/St_Johns America/Sao_Paulo America/Argentina/Buenos_Aires America/Cayenne America/Godthab
America/Montevideo America/Bahia Etc/GMT+2 Atlantic/Azores Atlantic/Cape_Verde Africa/Casablanca
Etc/GMT Europe/London Atlantic/Reykjavik Europe/Berlin Europe/Budapest Europe/Paris Europe/Warsaw
Africa/Lagos Africa/Windhoek Europe/Bucharest Asia/Beirut Africa/Cairo Asia/Damascus
Africa/Johannesburg Europe/Kyiv(Europe/Kiev) Europe/Istanbul Asia/Jerusalem Asia/Amman Asia/Baghdad
Europe/Kaliningrad Asia/Riyadh Africa/Nairobi Asia/Tehran Asia/Dubai Asia/Baku Europe/Moscow
Indian/Mauritius Asia/Tbilisi Asia/Yerevan Asia/Kabul Asia/Karachi Asia/Toshkent(Asia/Tashkent)
Asia/Kolkata Asia/Colombo Asia/Kathmandu Asia/Astana(Asia/Almaty) Asia/Dhaka Asia/Yekaterinburg
Asia/Yangon(Asia/Rangoon) Asia/Bangkok Asia/Novosibirsk Asia/Shanghai Asia/Krasnoyarsk
Asia/Singapore Australia/Perth Asia/Taipei Asia/Ulaanbaatar Asia/Irkutsk Asia/Tokyo Asia/Seoul
Australia/Adelaide Australia/Darwin Australia/Brisbane Australia/Sydney Pacific/Port_Moresby
Australia/Hobart Asia/Yakutsk Pacific/Guadalcanal Asia/Vladivostok Pacific/Auckland Etc/GMT-12
Pacific/Fiji Asia/Magadan Pacific/Tongatapu Pacific/Apia Pacific/Kiritimati
"""


def _loads(name: str) -> bool:
    with contextlib.suppress(ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(name) is not None
    return False


def _documented() -> dict[str, str]:
    """Each accepted IANA spelling -> a zone key this machine's database loads."""
    out: dict[str, str] = {}
    for entry in _DOCUMENTED.split():
        names = entry.replace(")", "").split("(")
        key = next((n for n in names if _loads(n)), names[-1])
        out.update(dict.fromkeys(names, key))
    return out


DOCUMENTED_IANA: dict[str, str] = _documented()
"""The IANA names Graph's page lists (both spellings where it gives two) -> a loadable zone key."""


_DATETIME = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})(?:T(?P<h>\d{2}):(?P<m>\d{2})(?::(?P<s>\d{2})(?:\.(?P<f>\d{1,7}))?)?"
    r"(?P<tz>Z|[+-]\d{2}:\d{2})?)?$"
)

_WALL = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\Z", re.ASCII)


class TimeZoneError(ValueError):
    """A time zone name Graph would not accept."""


@lru_cache(maxsize=512)
def resolve(name: str) -> tzinfo:
    """The tzinfo for a Windows or IANA time zone name; raises :class:`TimeZoneError`."""
    zone = _RESOLVED.get(name) if isinstance(name, str) else None
    if zone is None:
        zone = _resolve(name)
        if len(_RESOLVED) < 1024:
            _RESOLVED[name] = zone
    return zone


_RESOLVED: dict[str, tzinfo] = {}


def _resolve(name: str) -> tzinfo:
    if not isinstance(name, str) or not name.strip():
        raise TimeZoneError(name)
    key = name.strip()
    windows = _WINDOWS_BY_LOWER.get(key.lower())
    if windows is not None:
        iana = WINDOWS_TO_IANA[windows]
        if iana == "Etc/UTC":
            return UTC
        if not _loads(iana):  # a machine whose database lacks CLDR's (older) alias
            iana = next(n for n in sorted(tz_win) if tz_win[n] == windows and _loads(n))
        return ZoneInfo(iana)
    documented = DOCUMENTED_IANA.get(key)
    if documented is None:
        raise TimeZoneError(name)
    return ZoneInfo(documented)


def parse_local(value: str) -> tuple[datetime, bool]:
    """Parse a dateTimeTimeZone.dateTime string.

    Returns (naive local datetime or aware datetime if the string carried an offset, date_only).
    Raises ValueError for anything Graph would reject.
    """
    if not isinstance(value, str):
        raise ValueError("dateTime must be a string")
    if len(value) == 19 and _WALL.match(value):  # YYYY-MM-DDTHH:MM:SS, what most clients send
        return datetime.fromisoformat(value), False
    m = _DATETIME.match(value.strip())
    if not m:
        raise ValueError(f"not an ISO 8601 date-time: {value!r}")
    d = date.fromisoformat(m.group("date"))
    if m.group("h") is None:
        return datetime(d.year, d.month, d.day), True
    frac = (m.group("f") or "0").ljust(7, "0")
    dt = datetime(
        d.year,
        d.month,
        d.day,
        int(m.group("h")),
        int(m.group("m")),
        int(m.group("s") or 0),
        int(frac[:6]),
    )
    tz = m.group("tz")
    if tz:
        if tz == "Z":
            dt = dt.replace(tzinfo=UTC)
        else:
            sign = 1 if tz[0] == "+" else -1
            hours, minutes = int(tz[1:3]), int(tz[4:6])
            from datetime import timezone

            dt = dt.replace(tzinfo=timezone(sign * timedelta(hours=hours, minutes=minutes)))
    return dt, False


def to_utc(local: datetime, zone: tzinfo) -> datetime:
    """A wall-clock time in ``zone`` (or an aware datetime) as an aware UTC datetime."""
    if local.tzinfo is None:
        local = local.replace(tzinfo=zone)
    return local.astimezone(UTC)


def format_graph(dt: datetime) -> str:
    """Graph's dateTime format: seven fractional digits, no offset."""
    return dt.isoformat(timespec="microseconds")[:26] + "0"


def format_offset(dt: datetime) -> str:
    """An ISO 8601 UTC timestamp as Graph writes DateTimeOffset values (seven digits + Z)."""
    return format_graph(dt if dt.tzinfo is UTC else dt.astimezone(UTC)) + "Z"
