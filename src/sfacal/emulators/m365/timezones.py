"""Time zone names as Graph accepts them: Windows names ("Tokyo Standard Time") and IANA names.

The Windows → IANA table follows the Unicode CLDR ``windowsZones`` mapping (territory
"001"), which is what Exchange uses to translate between the two naming schemes.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WINDOWS_TO_IANA: dict[str, str] = {
    "Dateline Standard Time": "Etc/GMT+12",
    "UTC-11": "Etc/GMT+11",
    "Aleutian Standard Time": "America/Adak",
    "Hawaiian Standard Time": "Pacific/Honolulu",
    "Marquesas Standard Time": "Pacific/Marquesas",
    "Alaskan Standard Time": "America/Anchorage",
    "UTC-09": "Etc/GMT+9",
    "Pacific Standard Time (Mexico)": "America/Tijuana",
    "UTC-08": "Etc/GMT+8",
    "Pacific Standard Time": "America/Los_Angeles",
    "US Mountain Standard Time": "America/Phoenix",
    "Mountain Standard Time (Mexico)": "America/Mazatlan",
    "Mountain Standard Time": "America/Denver",
    "Yukon Standard Time": "America/Whitehorse",
    "Central America Standard Time": "America/Guatemala",
    "Central Standard Time": "America/Chicago",
    "Easter Island Standard Time": "Pacific/Easter",
    "Central Standard Time (Mexico)": "America/Mexico_City",
    "Canada Central Standard Time": "America/Regina",
    "SA Pacific Standard Time": "America/Bogota",
    "Eastern Standard Time (Mexico)": "America/Cancun",
    "Eastern Standard Time": "America/New_York",
    "Haiti Standard Time": "America/Port-au-Prince",
    "Cuba Standard Time": "America/Havana",
    "US Eastern Standard Time": "America/Indiana/Indianapolis",
    "Turks And Caicos Standard Time": "America/Grand_Turk",
    "Paraguay Standard Time": "America/Asuncion",
    "Atlantic Standard Time": "America/Halifax",
    "Venezuela Standard Time": "America/Caracas",
    "Central Brazilian Standard Time": "America/Cuiaba",
    "SA Western Standard Time": "America/La_Paz",
    "Pacific SA Standard Time": "America/Santiago",
    "Newfoundland Standard Time": "America/St_Johns",
    "Tocantins Standard Time": "America/Araguaina",
    "E. South America Standard Time": "America/Sao_Paulo",
    "SA Eastern Standard Time": "America/Cayenne",
    "Argentina Standard Time": "America/Argentina/Buenos_Aires",
    "Greenland Standard Time": "America/Nuuk",
    "Montevideo Standard Time": "America/Montevideo",
    "Magallanes Standard Time": "America/Punta_Arenas",
    "Saint Pierre Standard Time": "America/Miquelon",
    "Bahia Standard Time": "America/Bahia",
    "UTC-02": "Etc/GMT+2",
    "Azores Standard Time": "Atlantic/Azores",
    "Cape Verde Standard Time": "Atlantic/Cape_Verde",
    "UTC": "Etc/UTC",
    "GMT Standard Time": "Europe/London",
    "Greenwich Standard Time": "Atlantic/Reykjavik",
    "Sao Tome Standard Time": "Africa/Sao_Tome",
    "Morocco Standard Time": "Africa/Casablanca",
    "W. Europe Standard Time": "Europe/Berlin",
    "Central Europe Standard Time": "Europe/Budapest",
    "Romance Standard Time": "Europe/Paris",
    "Central European Standard Time": "Europe/Warsaw",
    "W. Central Africa Standard Time": "Africa/Lagos",
    "Jordan Standard Time": "Asia/Amman",
    "GTB Standard Time": "Europe/Bucharest",
    "Middle East Standard Time": "Asia/Beirut",
    "Egypt Standard Time": "Africa/Cairo",
    "E. Europe Standard Time": "Europe/Chisinau",
    "Syria Standard Time": "Asia/Damascus",
    "West Bank Standard Time": "Asia/Hebron",
    "South Africa Standard Time": "Africa/Johannesburg",
    "FLE Standard Time": "Europe/Kyiv",
    "Israel Standard Time": "Asia/Jerusalem",
    "South Sudan Standard Time": "Africa/Juba",
    "Kaliningrad Standard Time": "Europe/Kaliningrad",
    "Sudan Standard Time": "Africa/Khartoum",
    "Libya Standard Time": "Africa/Tripoli",
    "Namibia Standard Time": "Africa/Windhoek",
    "Arabic Standard Time": "Asia/Baghdad",
    "Turkey Standard Time": "Europe/Istanbul",
    "Arab Standard Time": "Asia/Riyadh",
    "Belarus Standard Time": "Europe/Minsk",
    "Russian Standard Time": "Europe/Moscow",
    "E. Africa Standard Time": "Africa/Nairobi",
    "Volgograd Standard Time": "Europe/Volgograd",
    "Iran Standard Time": "Asia/Tehran",
    "Arabian Standard Time": "Asia/Dubai",
    "Astrakhan Standard Time": "Europe/Astrakhan",
    "Azerbaijan Standard Time": "Asia/Baku",
    "Russia Time Zone 3": "Europe/Samara",
    "Mauritius Standard Time": "Indian/Mauritius",
    "Saratov Standard Time": "Europe/Saratov",
    "Georgian Standard Time": "Asia/Tbilisi",
    "Caucasus Standard Time": "Asia/Yerevan",
    "Afghanistan Standard Time": "Asia/Kabul",
    "West Asia Standard Time": "Asia/Tashkent",
    "Ekaterinburg Standard Time": "Asia/Yekaterinburg",
    "Pakistan Standard Time": "Asia/Karachi",
    "Qyzylorda Standard Time": "Asia/Qyzylorda",
    "India Standard Time": "Asia/Kolkata",
    "Sri Lanka Standard Time": "Asia/Colombo",
    "Nepal Standard Time": "Asia/Kathmandu",
    "Central Asia Standard Time": "Asia/Almaty",
    "Bangladesh Standard Time": "Asia/Dhaka",
    "Omsk Standard Time": "Asia/Omsk",
    "Myanmar Standard Time": "Asia/Yangon",
    "SE Asia Standard Time": "Asia/Bangkok",
    "Altai Standard Time": "Asia/Barnaul",
    "W. Mongolia Standard Time": "Asia/Hovd",
    "North Asia Standard Time": "Asia/Krasnoyarsk",
    "N. Central Asia Standard Time": "Asia/Novosibirsk",
    "Tomsk Standard Time": "Asia/Tomsk",
    "China Standard Time": "Asia/Shanghai",
    "North Asia East Standard Time": "Asia/Irkutsk",
    "Singapore Standard Time": "Asia/Singapore",
    "W. Australia Standard Time": "Australia/Perth",
    "Taipei Standard Time": "Asia/Taipei",
    "Ulaanbaatar Standard Time": "Asia/Ulaanbaatar",
    "Aus Central W. Standard Time": "Australia/Eucla",
    "Transbaikal Standard Time": "Asia/Chita",
    "Tokyo Standard Time": "Asia/Tokyo",
    "North Korea Standard Time": "Asia/Pyongyang",
    "Korea Standard Time": "Asia/Seoul",
    "Yakutsk Standard Time": "Asia/Yakutsk",
    "Cen. Australia Standard Time": "Australia/Adelaide",
    "AUS Central Standard Time": "Australia/Darwin",
    "E. Australia Standard Time": "Australia/Brisbane",
    "AUS Eastern Standard Time": "Australia/Sydney",
    "West Pacific Standard Time": "Pacific/Port_Moresby",
    "Tasmania Standard Time": "Australia/Hobart",
    "Vladivostok Standard Time": "Asia/Vladivostok",
    "Lord Howe Standard Time": "Australia/Lord_Howe",
    "Bougainville Standard Time": "Pacific/Bougainville",
    "Russia Time Zone 10": "Asia/Srednekolymsk",
    "Magadan Standard Time": "Asia/Magadan",
    "Norfolk Standard Time": "Pacific/Norfolk",
    "Sakhalin Standard Time": "Asia/Sakhalin",
    "Central Pacific Standard Time": "Pacific/Guadalcanal",
    "Russia Time Zone 11": "Asia/Kamchatka",
    "New Zealand Standard Time": "Pacific/Auckland",
    "UTC+12": "Etc/GMT-12",
    "Fiji Standard Time": "Pacific/Fiji",
    "Chatham Islands Standard Time": "Pacific/Chatham",
    "UTC+13": "Etc/GMT-13",
    "Tonga Standard Time": "Pacific/Tongatapu",
    "Samoa Standard Time": "Pacific/Apia",
    "Line Islands Standard Time": "Pacific/Kiritimati",
}

_WINDOWS_BY_LOWER = {k.lower(): k for k in WINDOWS_TO_IANA}
IANA_TO_WINDOWS: dict[str, str] = {v: k for k, v in WINDOWS_TO_IANA.items()}
IANA_TO_WINDOWS.update(
    {
        "UTC": "UTC",
        "Etc/GMT": "UTC",
        "GMT": "UTC",
        "Asia/Calcutta": "India Standard Time",
        "Asia/Katmandu": "Nepal Standard Time",
        "Asia/Rangoon": "Myanmar Standard Time",
        "Europe/Kiev": "FLE Standard Time",
        "America/Buenos_Aires": "Argentina Standard Time",
        "America/Godthab": "Greenland Standard Time",
        "America/Indianapolis": "US Eastern Standard Time",
        "Japan": "Tokyo Standard Time",
    }
)

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
        return UTC if iana == "Etc/UTC" else ZoneInfo(iana)
    if key.upper() in ("UTC", "GMT", "ETC/UTC", "ETC/GMT"):
        return UTC
    if ".." in key or key.startswith("/"):
        raise TimeZoneError(name)
    try:
        return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise TimeZoneError(name) from exc


def to_windows(name: str) -> str | None:
    """The Windows name for a Windows or IANA name (None when there is no mapping)."""
    windows = _WINDOWS_BY_LOWER.get(name.strip().lower())
    if windows is not None:
        return windows
    return IANA_TO_WINDOWS.get(name.strip())


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
