"""How a log line (L1) is shown: its message and hint (L2) in the reader's language."""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from sfacal.core.errors import error_from_code, log_params
from sfacal.engine.models import LogResult, SyncLogEntry


@dataclass(frozen=True)
class LogLine:
    entry: SyncLogEntry
    message: str
    hint: str
    detail: str

    @property
    def failed(self) -> bool:
        return self.entry.result == LogResult.FAILURE


def error_params(entry: SyncLogEntry) -> dict[str, str]:
    """The parameters that re-hydrate ``entry``'s error: the stored ``error_params``, completed by
    the line's own columns (all that lines written before ``error_params`` existed have)."""
    stored = entry.error_params if isinstance(entry.error_params, dict) else {}
    params = log_params(stored)
    columns = {
        "mailbox": entry.mailbox,
        "calendar": entry.calendar_name,
        "source": entry.source,
        "login_id": entry.login_id,
    }
    for key, value in columns.items():
        if value and not params.get(key):
            params[key] = value
    return params


def describe(entry: SyncLogEntry, lang: str) -> LogLine:
    """The stored error code re-hydrated in ``lang``; the stored message stays as the detail."""
    if not entry.error_code:
        return LogLine(entry, entry.message, "", "")
    error = error_from_code(entry.error_code, error_params(entry))
    message = error.user_message(lang)
    detail = entry.message if entry.message and entry.message != message else ""
    return LogLine(entry, message, error.hint(lang), detail)


def month_start(tz_name: str, now: datetime | None = None) -> datetime:
    """The first instant of the current month in the company's time zone."""
    try:
        tz = zoneinfo.ZoneInfo(tz_name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        tz = zoneinfo.ZoneInfo("Asia/Tokyo")
    local = (now or timezone.now()).astimezone(tz)
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
