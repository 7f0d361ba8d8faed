"""Builders shared by the core unit tests."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sfacal.core.schedule import AllDaySpan, Kind, Schedule, SourceRef, Status, TimedSpan
from sfacal.core.settings import EmployeeSettings, SyncState, UserIdMode

TOKYO = ZoneInfo("Asia/Tokyo")
T0 = datetime(2025, 7, 1, 9, 0, tzinfo=TOKYO)
DOMAIN = "example.onmicrosoft.com"


def ref(record_id: str = "1", company: str = "acme", source: str = "push") -> SourceRef:
    return SourceRef(company, source, record_id)


def meeting(
    record_id: str = "1",
    *,
    participants: tuple[str, ...] = ("taro",),
    purpose: str | None = "定期訪問",
    customer: str | None = "赤木電機",
    address: str | None = "東京都千代田区",
    status: Status = Status.PLAN,
    start: datetime = datetime(2025, 7, 11, 10, 30, tzinfo=TOKYO),
    minutes: int = 60,
    updated_at: datetime = T0,
    **kw: Any,
) -> Schedule:
    return Schedule(
        ref=ref(record_id),
        kind=Kind.MEETING,
        status=status,
        span=TimedSpan(start, start + timedelta(minutes=minutes)),
        updated_at=updated_at,
        purpose=purpose,
        customer_name=customer,
        customer_address=address,
        participants=participants,
        **kw,
    )


def task(
    record_id: str = "2",
    *,
    participants: tuple[str, ...] = ("taro",),
    business_name: str | None = "会議",
    title: str = "週次定例",
    all_day: bool = False,
    status: Status = Status.PLAN,
    updated_at: datetime = T0,
    **kw: Any,
) -> Schedule:
    span: TimedSpan | AllDaySpan
    if all_day:
        span = AllDaySpan(date(2025, 7, 16), date(2025, 7, 17))
    else:
        start = datetime(2025, 7, 16, 9, 0, tzinfo=TOKYO)
        span = TimedSpan(start, start + timedelta(hours=1))
    return Schedule(
        ref=ref(record_id),
        kind=Kind.TASK,
        status=status,
        span=span,
        updated_at=updated_at,
        business_name=business_name,
        title=title,
        participants=participants,
        **kw,
    )


def employee(
    login_id: str = "taro",
    *,
    state: SyncState = SyncState.ON,
    calendar_name: str | None = None,
    sync_start: datetime | None = datetime(2025, 1, 1, tzinfo=UTC),
    **kw: Any,
) -> EmployeeSettings:
    return EmployeeSettings(
        login_id=login_id,
        state=state,
        user_id_mode=kw.pop("user_id_mode", UserIdMode.LOGIN_AT_DOMAIN),
        calendar_name=calendar_name,
        sync_start=sync_start,
        **kw,
    )
