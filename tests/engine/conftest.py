"""Fixtures of the engine tests: a company with sync on, employees, an in-memory calendar."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sfacal.core.schedule import Schedule, ScheduleDeletion, SourceRef, TimedSpan
from sfacal.directory.companies.models import Company, CompanySettings
from sfacal.directory.companies.provisioning import ensure_company
from sfacal.directory.employees.models import Employee
from tests.engine.fakecal import FakeCalendar, installed

DOMAIN = "example.com"
T0 = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
START = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)


@pytest.fixture
def fake() -> Iterator[FakeCalendar]:
    with installed() as cal:
        yield cal


@pytest.fixture
def company(db: Any) -> Company:
    c = ensure_company("acme", "ACME")
    CompanySettings.objects.filter(company=c).update(sync_enabled=True, write_to_calendar=True, domain=DOMAIN)
    return c


def employee(
    company: Company, login: str, *, state: str = "on", calendar_name: str = "", **kw: Any
) -> Employee:
    return Employee.objects.create(
        company=company,
        login_id=login,
        state=state,
        user_id_mode=kw.pop("user_id_mode", "login_at_domain"),
        calendar_name=calendar_name,
        sync_start=kw.pop("sync_start", T0 - timedelta(days=30)),
        **kw,
    )


def meeting(
    record: str = "1",
    *,
    participants: tuple[str, ...] = ("taro", "hanako"),
    updated: datetime | None = None,
    status: str = "予定",
    purpose: str = "定期訪問",
    start: datetime = START,
    content: str = "打ち合わせ",
    source: str = "push",
) -> Schedule:
    return Schedule(
        ref=SourceRef("acme", source, record),
        kind="商談",
        status=status,
        span=TimedSpan(start, start + timedelta(hours=1)),
        updated_at=updated or T0,
        title="定期訪問",
        content=content,
        purpose=purpose,
        customer_name="赤木電機",
        customer_address="東京都千代田区",
        participants=participants,
    )


def deletion(record: str = "1", updated: datetime | None = None, source: str = "push") -> ScheduleDeletion:
    return ScheduleDeletion(SourceRef("acme", source, record), updated or T0 + timedelta(hours=1))


def switched_to_sales(company: Company, fake: FakeCalendar, n: int = 3) -> Employee:
    """taro with ``n`` events in the default calendar, whose target calendar was just set to 営業
    (saved; the back-fill not started yet)."""
    from sfacal.engine import inbox, passes

    emp = employee(company, "taro")
    fake.add_mailbox(f"taro@{DOMAIN}", "営業")
    for i in range(n):
        inbox.accept(company, meeting(str(i), participants=("taro",)), trigger="push")
    passes.process_inbox(company.pk)
    emp.calendar_name = "営業"
    emp.save()
    return emp
