"""Cell values as Japanese spreadsheets write them: dates, times, yes/no, lists of login IDs.

Every parser raises :class:`CellError` (Japanese and English reason); the importer adds the line
and column.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, date, datetime, time, timedelta, timezone

MIN_YEAR = 1900
MAX_YEAR = 2200


class CellError(ValueError):
    def __init__(self, reason_ja: str, reason_en: str) -> None:
        super().__init__(reason_en)
        self.reason_ja = reason_ja
        self.reason_en = reason_en


_DATE = r"(?P<y>\d{4})\s*[/\-.年]\s*(?P<m>\d{1,2})\s*[/\-.月]\s*(?P<d>\d{1,2})\s*日?"
_TIME = r"(?P<H>\d{1,2})\s*[:時]\s*(?P<M>\d{1,2})(?:\s*[:分]\s*(?P<S>\d{1,2}(?:\.\d+)?))?\s*[分秒]?"
_ZONE = r"(?P<z>Z|[+-]\d{2}:?\d{2})"
_POINT = re.compile(rf"^{_DATE}(?:(?:\s+|T)(?:\([^)]*\)\s*)?{_TIME})?\s*{_ZONE}?$", re.IGNORECASE)
_WEEKDAY = re.compile(r"[（(][月火水木金土日][）)]")
_TIME_ONLY = re.compile(rf"^{_TIME}$")


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip()


def _zone(text: str | None) -> timezone | None:
    if not text:
        return None
    if text.upper() == "Z":
        return UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:])
    if hours > 23 or minutes > 59:
        raise CellError("タイムゾーンのオフセットが正しくありません", "invalid UTC offset")
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def parse_point(text: str) -> date | datetime:
    """``2026/11/24 10:00``, ``2026-11-24T10:00+09:00``, ``2026年11月24日 10時00分``,
    ``2026/11/24(火) 9:00`` or a date alone -> a date, or a datetime (naive unless an offset is given)."""
    folded = _WEEKDAY.sub(" ", _fold(text)).strip()
    match = _POINT.match(folded)
    if match is None:
        raise CellError(
            "日付・日時の形式が正しくありません（例: 2026/11/24 10:00）",
            "not a date or date and time (e.g. 2026/11/24 10:00)",
        )
    try:
        day = date(int(match["y"]), int(match["m"]), int(match["d"]))
    except ValueError as exc:
        raise CellError("存在しない日付です", "no such date") from exc
    if not MIN_YEAR <= day.year <= MAX_YEAR:
        raise CellError(
            f"年は {MIN_YEAR}〜{MAX_YEAR} にしてください", f"the year must be {MIN_YEAR}-{MAX_YEAR}"
        )
    if match["H"] is None:
        if match["z"]:
            raise CellError("日付だけの値にタイムゾーンは付けられません", "a date alone takes no UTC offset")
        return day
    moment = datetime.combine(day, _time(match["H"], match["M"], match["S"]))
    zone = _zone(match["z"])
    return moment.replace(tzinfo=zone) if zone is not None else moment


def _time(hour: str, minute: str, second: str | None) -> time:
    h, m = int(hour), int(minute)
    s = int(float(second)) if second else 0
    if h == 24 and m == 0 and s == 0:
        raise CellError("24:00 は翌日の 0:00 と書いてください", "write 24:00 as 0:00 of the next day")
    if h > 23 or m > 59 or s > 59:
        raise CellError("時刻が正しくありません", "invalid time of day")
    return time(h, m, s)


def parse_time(text: str) -> time:
    """``10:00``, ``9:05:00``, ``10時30分``."""
    match = _TIME_ONLY.match(_fold(text))
    if match is None:
        raise CellError("時刻の形式が正しくありません（例: 10:00）", "not a time of day (e.g. 10:00)")
    return _time(match["H"], match["M"], match["S"])


_TRUE = {"1", "true", "yes", "y", "on", "はい", "○", "〇", "◯", "✓", "✔", "終日", "する", "あり"}
_FALSE = {"0", "false", "no", "n", "off", "いいえ", "×", "-", "しない", "なし"}


def parse_flag(text: str) -> bool | None:
    """Yes/no in the usual spellings (1/0, true/false, はい/いいえ, ○/×, 終日); empty -> ``None``."""
    folded = _fold(text).lower()
    if not folded:
        return None
    if folded in _TRUE:
        return True
    if folded in _FALSE:
        return False
    raise CellError(
        "「1/0」「はい/いいえ」「○/×」のいずれかにしてください", "use 1/0, true/false, yes/no or ○/×"
    )


_SPLIT = re.compile(r"[;；、,，\s]+")


def parse_list(text: str) -> list[str]:
    """Login IDs separated by ``;``, ``、``, ``,`` or spaces (full-width forms too)."""
    return [part for part in _SPLIT.split(text.strip()) if part]
