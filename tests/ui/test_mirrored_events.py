"""The mirrored-events pages: what the mirror table says is in an employee's calendar (U1, U2, L1).

The rows are made by the real engine (inbox, planner, executor) against an in-memory calendar.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from sfacal.core.schedule import AllDaySpan, Schedule, ScheduleDeletion, SourceRef, TimedSpan
from sfacal.directory.companies.models import CompanySettings, Role
from sfacal.directory.employees.models import Employee, SyncState
from sfacal.engine import inbox, passes
from sfacal.engine.models import MirrorEvent
from sfacal.web.employees.demo_links import VIEWER_ENV
from tests.engine.fakecal import FakeCalendar, installed
from tests.ui.conftest import make_user

pytestmark = pytest.mark.django_db

DOMAIN = "acme.onmicrosoft.com"
T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
DAY = datetime(2031, 3, 10, 1, 0, tzinfo=UTC)  # 10:00 in Tokyo


@pytest.fixture
def fake() -> Iterator[FakeCalendar]:
    with installed() as cal:
        yield cal


@pytest.fixture
def synced(company: Any, employee: Employee, fake: FakeCalendar) -> Employee:
    CompanySettings.objects.filter(company=company).update(sync_enabled=True, write_to_calendar=True)
    Employee.objects.filter(pk=employee.pk).update(
        state=SyncState.ON, user_id_mode="login_at_domain", sync_start=T0 - timedelta(days=30)
    )
    fake.add_mailbox(f"taro@{DOMAIN}", "営業")
    employee.refresh_from_db()
    return employee


def meeting(record: str, start: datetime, *, customer: str = "赤木電機", **kw: Any) -> Schedule:
    return Schedule(
        ref=SourceRef("acme", "push", record),
        kind="商談",
        status="予定",
        span=TimedSpan(start, start + timedelta(hours=1)),
        updated_at=kw.pop("updated", T0),
        title="定例",
        content="打ち合わせ",
        purpose="定期訪問",
        customer_name=customer,
        participants=kw.pop("participants", ("taro",)),
    )


def accept_and_run(company: Any, *changes: Any) -> None:
    for change in changes:
        inbox.accept(company, change, trigger="push")
    assert passes.process_inbox(company.pk) is not None


def body_of(response: Any) -> str:
    assert response.status_code == 200
    return response.content.decode()


def test_admin_sees_subject_time_calendar_state_and_last_result(admin_client, company, synced):
    all_day = Schedule(
        ref=SourceRef("acme", "push", "R2"),
        kind="業務",
        status="予定",
        span=AllDaySpan(DAY.date(), DAY.date() + timedelta(days=2)),
        updated_at=T0,
        business_name="資料作成",
        participants=("taro",),
    )
    accept_and_run(company, meeting("R1", DAY), all_day)
    body = body_of(admin_client.get(reverse("employee_events", args=[synced.pk])))
    assert "赤木電機/定期訪問" in body and "資料作成" in body
    assert "2031-03-10 10:00–11:00" in body  # in the company's time zone
    assert "2031-03-10 – 2031-03-11" in body  # an all-day event shown by its days
    assert f"taro@{DOMAIN}" in body and "標準の予定表" in body
    assert body.count('class="badge mirror-active"') == 3  # the summary and both rows
    assert '<span class="badge mirror-active">カレンダーに登録済み</span> 2 ·' in body
    assert '<span class="badge mirror-removed">削除済み</span> 0 ·' in body
    assert "予定の作成" in body  # the last log line's operation
    assert "record=R1&amp;source=push&amp;employee=taro" in body


def test_states_removed_and_lost_are_shown_and_filterable(admin_client, company, synced, fake):
    accept_and_run(company, meeting("R1", DAY), meeting("R2", DAY + timedelta(days=1), customer="青葉商事"))
    accept_and_run(company, ScheduleDeletion(SourceRef("acme", "push", "R2"), T0 + timedelta(minutes=5)))
    MirrorEvent.objects.filter(record_id="R1").update(state="lost")
    url = reverse("employee_events", args=[synced.pk])
    body = body_of(admin_client.get(url))
    assert '<span class="badge mirror-lost">カレンダーで削除済み</span>' in body
    assert '<span class="badge mirror-removed">削除済み</span>' in body
    assert "青葉商事/定期訪問" in body  # a deleted schedule keeps the subject of its log line
    removed = body_of(admin_client.get(url, {"state": "removed"}))
    assert "青葉商事" in removed and "赤木電機" not in removed
    lost = body_of(admin_client.get(url, {"state": "lost"}))
    assert "赤木電機" in lost and "青葉商事" not in lost


def test_date_filter_pagination_and_a_bad_range(admin_client, company, synced):
    accept_and_run(company, *(meeting(f"R{i:02d}", DAY + timedelta(days=i)) for i in range(30)))
    url = reverse("employee_events", args=[synced.pk])
    first = body_of(admin_client.get(url))
    assert "2031-04-08" in first and "2031-03-10 " not in first  # newest first, 25 a page
    assert "1 / 2 ページ" in first
    second = body_of(admin_client.get(url, {"page": 2}))
    assert "2031-03-10 10:00" in second
    day = body_of(admin_client.get(url, {"date_from": "2031-03-12", "date_to": "2031-03-12"}))
    assert len(re.findall(r"2031-03-12 10:00", day)) == 1 and "2031-03-13" not in day
    bad = body_of(admin_client.get(url, {"date_from": "2031-03-12", "date_to": "2031-03-01"}))
    assert "終了日が開始日より前です" in bad and "赤木電機" not in bad


def test_the_log_link_shows_the_schedules_lines(admin_client, company, synced):
    accept_and_run(company, meeting("R1", DAY), meeting("R2", DAY, customer="青葉商事"))
    log = body_of(admin_client.get(reverse("logs"), {"record": "R1", "source": "push", "employee": "taro"}))
    assert "赤木電機/定期訪問" in log and "青葉商事" not in log


def test_employee_sees_own_events_only(client_for, company, synced, fake):
    colleague_user = make_user(company, "hanako", Role.EMPLOYEE)
    colleague = Employee.objects.create(
        company=company,
        login_id="hanako",
        account=colleague_user,
        state=SyncState.ON,
        user_id_mode="login_at_domain",
        sync_start=T0 - timedelta(days=30),
    )
    fake.add_mailbox(f"hanako@{DOMAIN}")
    accept_and_run(
        company, meeting("R1", DAY), meeting("R2", DAY, customer="青葉商事", participants=("hanako",))
    )
    client = client_for(synced.account)
    own = body_of(client.get(reverse("my_events")))
    assert "赤木電機" in own and "青葉商事" not in own
    assert "employee=" not in own  # an employee's log link needs no employee filter
    assert client.get(reverse("employee_events", args=[colleague.pk])).status_code == 403
    assert client.get(reverse("employee_events", args=[synced.pk])).status_code == 403


def test_u2_another_companys_administrator_cannot_see_the_page(client_for, synced, other_company):
    stranger = make_user(other_company, "other-admin", Role.COMPANY_ADMIN)
    assert client_for(stranger).get(reverse("employee_events", args=[synced.pk])).status_code == 404


def test_member_without_employee_record_has_no_own_page(admin_client):
    assert admin_client.get(reverse("my_events")).status_code == 404


def test_links_from_the_list_edit_personal_and_dashboard_pages(admin_client, client_for, synced):
    target = reverse("employee_events", args=[synced.pk])
    assert target in body_of(admin_client.get(reverse("employees")))
    assert target in body_of(admin_client.get(reverse("employee_edit", args=[synced.pk])))
    employee_client = client_for(synced.account)
    assert reverse("my_events") in body_of(employee_client.get(reverse("personal_settings")))
    assert reverse("my_events") in body_of(employee_client.get(reverse("dashboard")))


def test_demo_mailbox_link_only_in_demo_mode(admin_client, client_for, synced, monkeypatch):
    url = reverse("employee_events", args=[synced.pk])
    monkeypatch.delenv(VIEWER_ENV, raising=False)
    assert "demo-link" not in body_of(admin_client.get(url))
    assert "demo-link" not in body_of(admin_client.get(reverse("dashboard")))
    monkeypatch.setenv(VIEWER_ENV, "https://127.0.0.1:9999/_control/view")
    body = body_of(admin_client.get(url))
    assert f'href="https://127.0.0.1:9999/_control/view/taro@{DOMAIN}"' in body
    assert 'href="https://127.0.0.1:9999/_control/view"' in body_of(admin_client.get(reverse("dashboard")))
    own = body_of(client_for(synced.account).get(reverse("dashboard")))
    assert f'href="https://127.0.0.1:9999/_control/view/taro@{DOMAIN}"' in own
    monkeypatch.setenv(VIEWER_ENV, "javascript:alert(1)")
    assert "demo-link" not in body_of(admin_client.get(url))


def test_a_page_costs_the_same_queries_whatever_its_rows(admin_client, company, synced):
    url = reverse("employee_events", args=[synced.pk])
    accept_and_run(company, meeting("R00", DAY))
    with CaptureQueriesContext(connection) as one:
        body_of(admin_client.get(url))
    accept_and_run(company, *(meeting(f"R{i:02d}", DAY + timedelta(days=i)) for i in range(1, 25)))
    with CaptureQueriesContext(connection) as many:
        body_of(admin_client.get(url))
    assert len(many.captured_queries) == len(one.captured_queries)
