"""L3: this month's figures of a company (synced users, executions, failures) for the dashboard.

"This month" starts at 00:00 on the first day of the month in the company's time zone. An
execution is a calendar write (create, update, delete, re-create) or a failed attempt at one;
planning decisions ("skipped") and warnings do not count.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from sfacal.directory.companies.models import Company
from sfacal.engine.models import LogResult, SyncLogEntry

__all__ = ["EXECUTIONS", "MonthlyFigures", "month_start", "monthly_figures"]

EXECUTIONS = ("create", "update", "delete", "recreate", "resolve")


@dataclass(frozen=True)
class MonthlyFigures:
    month_start: datetime
    synced_users: int  # employees with at least one successful execution this month
    executions: int
    failures: int


def month_start(tz_name: str, now: datetime | None = None) -> datetime:
    try:
        tz = zoneinfo.ZoneInfo(tz_name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        tz = zoneinfo.ZoneInfo("Asia/Tokyo")
    local = (now or timezone.now()).astimezone(tz)
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def monthly_figures(company: Company, now: datetime | None = None) -> MonthlyFigures:
    start = month_start(company.timezone, now)
    month = SyncLogEntry.objects.filter(company=company, at__gte=start, operation__in=EXECUTIONS).filter(
        result__in=[LogResult.SUCCESS, LogResult.FAILURE]
    )
    if now is not None:
        month = month.filter(at__lte=now)
    synced = (
        month.filter(result=LogResult.SUCCESS).exclude(employee=None).values("employee").distinct().count()
    )
    return MonthlyFigures(
        month_start=start,
        synced_users=synced,
        executions=month.count(),
        failures=month.filter(result=LogResult.FAILURE).count(),
    )
