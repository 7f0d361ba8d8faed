"""The explainer screens (why a schedule is or is not in a calendar) and the audit trail screen:
what they show, and who may see what (U1, U2).

Schedules go through the real engine (inbox, planner, executor) into an in-memory calendar.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.urls import reverse

from sfacal.core.schedule import Schedule, ScheduleDeletion, SourceRef, TimedSpan
from sfacal.directory.companies.audit import record_changes, record_event
from sfacal.directory.companies.models import AuditEntry, CompanySettings, Role
from sfacal.directory.employees.models import Employee, SyncState
from sfacal.engine import inbox, passes
from sfacal.engine.models import LogResult, MirrorEvent, StoredSchedule, SyncLogEntry, Trigger
from tests.engine.fakecal import FakeCalendar, installed
from tests.ui.conftest import make_user, signed_in

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
    fake.add_mailbox(f"taro@{DOMAIN}")
    fake.add_mailbox(f"hanako@{DOMAIN}")
    employee.refresh_from_db()
    return employee


@pytest.fixture
def hanako(company: Any) -> Employee:
    user = make_user(company, "hanako", Role.EMPLOYEE)
    return Employee.objects.create(
        company=company,
        login_id="hanako",
        name="花子",
        account=user,
        state=SyncState.ON,
        excluded_purposes=["集金"],
        sync_start=T0 - timedelta(days=30),
    )


def meeting(
    record: str, *, purpose: str = "定期訪問", participants: tuple[str, ...] = ("taro",), **kw: Any
) -> Schedule:
    return Schedule(
        ref=SourceRef("acme", "push", record),
        kind="商談",
        status=kw.pop("status", "予定"),
        span=TimedSpan(DAY, DAY + timedelta(hours=1)),
        updated_at=kw.pop("updated", T0),
        title="定例",
        purpose=purpose,
        customer_name="赤木電機",
        customer_address="東京都千代田区",
        participants=participants,
    )


def run(company: Any, *changes: Any) -> None:
    for change in changes:
        inbox.accept(company, change, trigger="push")
    passes.process_inbox(company.pk)


def page(client: Any, record: str, lang: str = "ja") -> Any:
    return client.get(reverse("explain_schedule"), {"source": "push", "record": record})


def text_of(response: Any) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def test_S3_S5_admin_sees_the_event_every_participants_chain_the_mirror_and_the_log(
    admin_client, company, synced, hanako
):
    run(company, meeting("R1", purpose="集金", participants=("taro", "hanako", "ghost")))
    body = text_of(page(admin_client, "R1"))
    assert "赤木電機/集金" in body and "東京都千代田区" in body and "2031-03-10 10:00" in body
    assert 'data-login="taro"' in body and 'data-login="hanako"' in body and 'data-login="ghost"' in body
    assert "taro@acme.onmicrosoft.com" in body and "(S3)" in body
    assert "除外設定「集金」" in body and "(P3)" in body  # hanako excluded it
    assert "ghost は登録された社員ではありません" in body
    assert "状態: " in body  # the mirror row's state in the chain
    assert body.count('class="logrow"') >= 1
    assert 'id="explain-sync"' in body


def test_S1_frozen_actual_says_since_when(admin_client, company, synced):
    run(company, meeting("R1"))
    turned = datetime(2031, 1, 12, 1, 2, tzinfo=UTC)
    run(company, meeting("R1", status="実績", updated=turned))
    body = text_of(page(admin_client, "R1"))
    assert "2031/1/12 10:02 から実績のため、イベントは当時のまま固定されています" in body
    english = signed_in(make_user(company, "admin-en", Role.COMPANY_ADMIN), "en")
    body_en = text_of(page(english, "R1"))
    assert "実績 (actual) since 2031/1/12 10:02, so the event is frozen as it was" in body_en
    assert '<span class="rule">(S1)</span>' in body_en


def test_L2_E5_mailbox_error_the_last_failure_gives_its_hint(admin_client, company, synced):
    run(company, meeting("R1"))
    SyncLogEntry.objects.create(
        company=company,
        login_id="taro",
        employee=synced,
        mailbox=f"taro@{DOMAIN}",
        trigger=Trigger.BATCH,
        operation="update",
        result=LogResult.FAILURE,
        source="push",
        record_id="R1",
        error_code="mailbox_not_found",
    )
    body = text_of(page(admin_client, "R1"))
    assert "前回の処理は失敗しました" in body and "(L2)" in body
    assert "ユーザーID" in body  # the hint names the setting to fix


def test_search_finds_by_record_customer_and_date(admin_client, company, synced):
    run(company, meeting("R1"), meeting("R2", purpose="見積提出"))
    url = reverse("explain")
    assert "record=R1" in text_of(admin_client.get(url, {"q": "R1"}))
    both = text_of(admin_client.get(url, {"q": "赤木"}))
    assert "record=R1" in both and "record=R2" in both
    assert "record=R2" in text_of(admin_client.get(url, {"q": "見積", "on": "2031-03-10"}))
    assert "record=R1" not in text_of(admin_client.get(url, {"on": "2031-03-11"}))
    assert "該当するスケジュールはありません" in text_of(admin_client.get(url, {"q": "nothing"}))
    StoredSchedule.objects.create(
        company=company,
        source="justsfa",
        record_id="J1",
        payload={"title": "x", "extra": {"見出し": "青葉商事との定例"}, "participants": ["taro"]},
        content_hash="h",
    )
    assert "record=J1" in text_of(admin_client.get(url, {"q": "青葉商事"}))
    run(company, ScheduleDeletion(SourceRef("acme", "push", "R2"), T0 + timedelta(hours=1)))
    deleted = text_of(admin_client.get(url, {"q": "R2"}))  # a deletion has no customer: its last subject
    assert "record=R2" in deleted and "SFA で削除済み" in deleted and "赤木電機/見積提出" in deleted


def test_sync_now_replans_the_schedule(admin_client, company, synced, fake):
    run(company, meeting("R1"))
    MirrorEvent.objects.filter(record_id="R1").update(content_hash="stale")
    response = admin_client.post(reverse("explain_sync"), {"source": "push", "record": "R1"})
    assert response.status_code == 302 and "record=R1" in response.url
    body = text_of(admin_client.get(response.url))
    assert "今すぐ連携しました: カレンダーへの書き込み 1 件" in body
    assert MirrorEvent.objects.get(record_id="R1").content_hash != "stale"


def test_U1_employee_sees_only_their_own_verdict_and_not_anothers_schedule(company, synced, hanako):
    run(company, meeting("R1", participants=("taro", "hanako")), meeting("R2", participants=("hanako",)))
    taro = signed_in(synced.account)
    body = text_of(page(taro, "R1"))
    assert 'data-login="taro"' in body and 'data-login="hanako"' not in body
    assert page(taro, "R2").status_code == 404  # hanako's schedule only
    assert taro.post(reverse("explain_sync"), {"source": "push", "record": "R2"}).status_code == 404
    found = text_of(taro.get(reverse("explain"), {"q": "赤木"}))
    assert "record=R1" in found and "record=R2" not in found


def test_U2_company_admin_cannot_see_another_companys_schedule(company, other_company, synced):
    run(company, meeting("R1"))
    other_admin = signed_in(make_user(other_company, "other-admin", Role.COMPANY_ADMIN))
    assert page(other_admin, "R1").status_code == 200  # nothing of acme: the record is not theirs
    assert "赤木電機" not in page(other_admin, "R1").content.decode()
    assert "SFA から受け取っていません" in page(other_admin, "R1").content.decode()
    assert "record=R1" not in text_of(other_admin.get(reverse("explain"), {"q": "R1"}))


def test_log_rows_and_mirrored_events_link_to_the_explainer(admin_client, company, synced):
    run(company, meeting("R1"))
    link = reverse("explain_schedule") + "?source=push&amp;record=R1"
    assert link in text_of(admin_client.get(reverse("logs")))
    assert link in text_of(admin_client.get(reverse("employee_events", args=[synced.pk])))


# ------------------------------------------------------------------------------------------------
# The audit trail


def _audit(company: Any, user: Any, employee: Employee) -> None:
    settings = company.sync_settings
    before = {"sync_enabled": False, "client_secret": ""}
    settings.sync_enabled = True
    settings.client_secret = "s3cr3t-value"
    record_changes(
        company=company,
        user=user,
        instance=settings,
        before=before,
        fields=["sync_enabled"],
        secret_fields=["client_secret"],
        object_type="company_settings",
    )
    record_event(
        company=company,
        user=user,
        object_type="employee",
        object_id=str(employee.pk),
        field="state",
        new_value="on",
    )
    # a secret recorded with a value by mistake is still never shown
    AuditEntry.objects.create(
        company=company, user=user, object_type="justsfa", field="api_key", new_value="leaked-key"
    )


def test_audit_trail_shows_who_what_when_from_to_and_masks_secrets(company, admin_user, employee):
    _audit(company, admin_user, employee)
    body = text_of(signed_in(admin_user).get(reverse("audit")))
    assert "sync_enabled" in body and "false" in body and "true" in body
    assert "client_secret" in body and "s3cr3t" not in body and "leaked-key" not in body
    assert body.count("変更あり") >= 2
    assert "taro" in body  # the employee's login ID, not its pk
    assert "admin" in body


def test_audit_trail_filters_and_csv_export(company, admin_user, employee):
    _audit(company, admin_user, employee)
    client = signed_in(admin_user)
    employees_only = text_of(client.get(reverse("audit"), {"what": "employee"}))
    assert "state" in employees_only and "sync_enabled" not in employees_only
    assert "sync_enabled" not in text_of(client.get(reverse("audit"), {"who": "nobody"}))
    bad = text_of(client.get(reverse("audit"), {"date_from": "2031-01-02", "date_to": "2031-01-01"}))
    assert "変更はありません" in bad
    response = client.get(reverse("audit_export"), {"what": "company"})
    data = b"".join(response.streaming_content).decode("utf-8")
    assert data.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(data.lstrip("\ufeff"))))
    assert rows[0][0] == "日時" and any(r[4] == "sync_enabled" for r in rows[1:])
    assert "s3cr3t" not in data and "leaked" not in data


def test_audit_csv_neutralises_formulas(company, admin_user):
    record_event(
        company=company,
        user=admin_user,
        object_type="company",
        object_id="1",
        field="name",
        new_value="=HYPERLINK(1)",
    )
    data = b"".join(signed_in(admin_user).get(reverse("audit_export")).streaming_content).decode()
    assert "'=HYPERLINK(1)" in data


def test_U1_U2_audit_trail_is_for_the_companys_administrators_only(
    company, other_company, admin_user, employee
):
    _audit(company, admin_user, employee)
    assert signed_in(employee.account).get(reverse("audit")).status_code == 403
    assert signed_in(employee.account).get(reverse("audit_export")).status_code == 403
    other = signed_in(make_user(other_company, "other-admin", Role.COMPANY_ADMIN))
    assert "sync_enabled" not in text_of(other.get(reverse("audit")))
