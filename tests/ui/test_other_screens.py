"""C9 masters, J1–J3 JUST.SFA screens, push API tokens, L1–L3 log and dashboard, sign-in redirects.

Sign-in throttling: ``tests/ui/test_sign_in_throttle.py``."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from sfacal.directory.companies.models import AuditEntry, BusinessName, CompanySettings, Purpose
from sfacal.directory.connections.models import (
    ApiToken,
    SourceConnection,
    SourceKind,
    UserMapping,
    hash_token,
)
from sfacal.directory.employees.models import Employee, SyncState
from sfacal.engine.models import LogResult, SyncLogEntry, Trigger
from tests.ui.conftest import PASSWORD

pytestmark = pytest.mark.django_db


# -- masters -------------------------------------------------------------------------------------


def test_c9_add_rename_reorder_delete_purpose(admin_client, company, employee):
    admin_client.post(reverse("masters"), {"kind": "purpose", "p-name": "展示会", "p-counted_as_visit": "on"})
    row = Purpose.objects.for_company(company).get(name="展示会")
    assert row.counted_as_visit and row.position == 9
    employee.excluded_purposes = ["展示会"]
    employee.save()
    admin_client.post(
        reverse("master_row", args=["purpose", row.pk]), {"action": "save", "name": "展示会出展"}
    )
    employee.refresh_from_db()
    assert employee.excluded_purposes == ["展示会出展"]
    row.refresh_from_db()
    assert row.counted_as_visit is False  # unticked checkbox
    admin_client.post(reverse("master_row", args=["purpose", row.pk]), {"action": "up"})
    names = list(Purpose.objects.for_company(company).order_by("position").values_list("name", flat=True))
    assert names[-2:] == ["展示会出展", "TEL・FAX・MAIL"]
    admin_client.post(reverse("master_row", args=["purpose", row.pk]), {"action": "delete"})
    assert not Purpose.objects.filter(pk=row.pk).exists()
    employee.refresh_from_db()
    assert employee.excluded_purposes == []
    assert AuditEntry.objects.for_company(company).filter(object_type="purpose", field="deleted").exists()


def test_c9_business_name_duplicates_and_reserved_names_rejected(admin_client, company):
    dup = admin_client.post(reverse("masters"), {"kind": "business", "b-name": "会議"})
    assert "業務名: この名前は既に登録されています。" in dup.content.decode()
    reserved = admin_client.post(reverse("masters"), {"kind": "business", "b-name": "未選択"})
    assert "業務名: " in reserved.content.decode()
    assert BusinessName.objects.for_company(company).count() == 4


# -- JUST.SFA ------------------------------------------------------------------------------------


def justsfa_data(**changes):
    data = {
        "enabled": "on",
        "tenant": "fsz2",
        "api_key": "uPlazaMlyAx7Vvj1NqA0wYaCxdCJOtEn",
        "table": "table_162331777",
        "panel": "panel_1638871430",
        "schedule_field": "field_1638871621",
        "title_field": "field_1638871565",
        "location_field": "field_1638871584",
        "content_field": "field_1638871597",
        "filter": "filter_1650278004",
        "requests_per_minute": "50",
        "requests_per_day": "15000",
        "plan_values": "予定",
        "actual_values": "実績",
        "action": "save",
    }
    data.update(changes)
    return data


def test_j1_save_settings_api_key_never_shown(admin_client, company):
    response = admin_client.post(reverse("justsfa"), justsfa_data())
    assert response.status_code == 302
    source = SourceConnection.objects.for_company(company).get(kind=SourceKind.JUSTSFA)
    assert source.api_key == "uPlazaMlyAx7Vvj1NqA0wYaCxdCJOtEn"
    assert source.config["tenant"] == "fsz2" and source.config["table"] == "table_162331777"
    page = admin_client.get(reverse("justsfa")).content.decode()
    assert "uPlazaMlyAx7Vvj1NqA0wYaCxdCJOtEn" not in page
    assert ("api_key", "set") in set(
        AuditEntry.objects.for_company(company).values_list("field", "new_value")
    )


def test_j1_display_name_instead_of_identifier_names_the_field(admin_client):
    response = admin_client.post(reverse("justsfa"), justsfa_data(title_field="タイトル"))
    assert response.status_code == 200
    assert "見出しフィールド識別名: " in response.content.decode()


def test_j1_save_and_test_records_result(admin_client, company):
    response = admin_client.post(reverse("justsfa"), justsfa_data(action="test"), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert 'id="justsfa-test-result"' in response.content.decode()
    source = SourceConnection.objects.for_company(company).get(kind=SourceKind.JUSTSFA)
    assert source.last_test_at is not None


def test_j2_webhook_url_regenerate_and_secret_header(admin_client, company, settings):
    settings.PUBLIC_URL = "https://sync.example.jp"
    first = admin_client.get(reverse("justsfa")).context["webhook_url"]
    assert first.startswith("https://sync.example.jp/hooks/justsfa/")
    admin_client.post(reverse("webhook_regenerate"))
    second = admin_client.get(reverse("justsfa")).context["webhook_url"]
    assert second != first
    admin_client.post(
        reverse("justsfa"),
        justsfa_data(webhook_header_name="X-Sfacal-Secret", webhook_header_value="hdr-secret-1"),
    )
    source = SourceConnection.objects.for_company(company).get(kind=SourceKind.JUSTSFA)
    assert source.webhook_header_name == "X-Sfacal-Secret" and source.webhook_header_value == "hdr-secret-1"
    assert "hdr-secret-1" not in admin_client.get(reverse("justsfa")).content.decode()


def test_j3_mapping_rows_add_save_toggle_delete(admin_client, company):
    created = admin_client.post(
        reverse("mapping_new"),
        {
            "name": "山田",
            "external_user_id": "u-100",
            "mail_address": "yamada@acme.onmicrosoft.com",
            "enabled": "on",
        },
        HTTP_HX_REQUEST="true",
    )
    assert created.status_code == 200
    mapping = UserMapping.objects.for_company(company).get(external_user_id="u-100")
    assert mapping.employee is not None
    assert (
        mapping.employee.state == SyncState.ON and mapping.employee.user_id == "yamada@acme.onmicrosoft.com"
    )
    off = admin_client.post(
        reverse("mapping_row", args=[mapping.pk]),
        {
            "name": "山田",
            "external_user_id": "u-100",
            "mail_address": "yamada@acme.onmicrosoft.com",
            "action": "save",
        },
        HTTP_HX_REQUEST="true",
    )
    assert off.status_code == 200
    mapping.refresh_from_db()
    assert mapping.enabled is False
    assert Employee.objects.get(pk=mapping.employee_id).state == SyncState.OFF
    tested = admin_client.post(
        reverse("mapping_row", args=[mapping.pk]),
        {
            "name": "山田",
            "external_user_id": "u-100",
            "mail_address": "yamada@acme.onmicrosoft.com",
            "action": "test",
        },
        HTTP_HX_REQUEST="true",
    )
    assert tested.context["result"] is not None
    mapping.refresh_from_db()
    assert mapping.last_test_ok is not None
    gone = admin_client.post(
        reverse("mapping_row", args=[mapping.pk]), {"action": "delete"}, HTTP_HX_REQUEST="true"
    )
    assert gone.status_code == 200 and gone.content == b""
    assert not UserMapping.objects.filter(pk=mapping.pk).exists()


def test_j3_mapping_duplicate_user_and_bad_mail_name_the_field(admin_client, company):
    data = {"name": "A", "external_user_id": "u-1", "mail_address": "a@acme.example", "enabled": "on"}
    admin_client.post(reverse("mapping_new"), data, HTTP_HX_REQUEST="true")
    dup = admin_client.post(reverse("mapping_new"), data, HTTP_HX_REQUEST="true").content.decode()
    assert "JUST.SFAユーザーID: " in dup
    bad = admin_client.post(
        reverse("mapping_new"),
        {**data, "external_user_id": "u-2", "mail_address": "nope"},
        HTTP_HX_REQUEST="true",
    ).content.decode()
    assert "Outlookメールアドレス: " in bad


# -- push API tokens ----------------------------------------------------------------------------


def test_push_token_shown_once_then_revoked(admin_client, company):
    response = admin_client.post(reverse("api_tokens"), {"name": "SFA 本番"})
    raw = response.context["issued"]
    assert raw.startswith("sfa_") and raw in response.content.decode()
    token = ApiToken.objects.for_company(company).get(name="SFA 本番")
    assert token.token_hash == hash_token(raw)
    listing = admin_client.get(reverse("api_tokens")).content.decode()
    assert raw not in listing and token.prefix in listing and "/api/v1/docs" in listing
    admin_client.post(reverse("api_token_revoke", args=[token.pk]))
    token.refresh_from_db()
    assert token.revoked_at is not None


# -- log and dashboard --------------------------------------------------------------------------


def _log(company, employee=None, result=LogResult.SUCCESS, at=None, **kw):
    entry = SyncLogEntry.objects.create(
        company=company,
        employee=employee,
        login_id=employee.login_id if employee else "",
        trigger=kw.pop("trigger", Trigger.WEBHOOK),
        operation="create",
        result=result,
        **kw,
    )
    if at is not None:
        SyncLogEntry.objects.filter(pk=entry.pk).update(at=at)
    return entry


def test_l1_filters_by_result_trigger_employee_and_date(admin_client, company, employee):
    other = Employee.objects.create(company=company, login_id="hanako", name="花子")
    _log(company, employee, subject="a-ok")
    _log(company, employee, LogResult.FAILURE, error_code="access_denied", subject="a-fail")
    _log(company, other, trigger=Trigger.BATCH, subject="b-batch")
    _log(company, other, at=timezone.now() - dt.timedelta(days=40), subject="b-old")
    url = reverse("logs")
    assert {line.entry.subject for line in admin_client.get(url + "?result=failure").context["lines"]} == {
        "a-fail"
    }
    assert {line.entry.subject for line in admin_client.get(url + "?trigger=batch").context["lines"]} == {
        "b-batch"
    }
    assert {line.entry.subject for line in admin_client.get(url + "?employee=花子").context["lines"]} == {
        "b-batch",
        "b-old",
    }
    since = (timezone.localdate() - dt.timedelta(days=7)).isoformat()
    recent = {line.entry.subject for line in admin_client.get(url + f"?date_from={since}").context["lines"]}
    assert "b-old" not in recent and "a-ok" in recent


def test_l1_bad_date_range_names_the_field(client_for, admin_user):
    body = (
        client_for(admin_user, "en")
        .get(reverse("logs") + "?date_from=2025-02-01&date_to=2025-01-01")
        .content.decode()
    )
    assert "To: The end date is before the start date." in body


def test_l1_csv_export_has_bom_and_hints(admin_client, company, employee):
    _log(
        company, employee, LogResult.FAILURE, error_code="app_not_found", mailbox="taro@acme.onmicrosoft.com"
    )
    response = admin_client.get(reverse("log_export"))
    raw = b"".join(response.streaming_content)
    assert raw.startswith("\ufeff".encode())
    text = raw.decode("utf-8-sig")
    assert "クライアントIDが誤っている可能性があります" in text
    assert response["Content-Type"].startswith("text/csv")


def test_l1_live_refresh_fragment(admin_client, company, employee):
    _log(company, employee, subject="live-one")
    page = admin_client.get(reverse("logs") + "?live=1").content.decode()
    assert 'hx-trigger="every 5s"' in page
    fragment = admin_client.get(reverse("logs") + "?live=1&fragment=rows").content.decode()
    assert fragment.lstrip().startswith("<tbody") and "live-one" in fragment and "<html" not in fragment


def test_l3_dashboard_counts_this_month_in_company_time_zone(admin_client, company, employee):
    start = (
        timezone.now()
        .astimezone(dt.timezone(dt.timedelta(hours=9)))
        .replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    )
    _log(company, employee, at=start + dt.timedelta(minutes=5))
    _log(
        company,
        employee,
        LogResult.FAILURE,
        error_code="mailbox_not_found",
        at=start + dt.timedelta(minutes=6),
    )
    _log(company, employee, at=start - dt.timedelta(minutes=5))  # last month in Tokyo
    ctx = admin_client.get(reverse("dashboard")).context
    assert (ctx["executions"], ctx["failures_this_month"], ctx["synced_users"]) == (2, 1, 1)
    assert len(ctx["failures"]) == 1 and "ユーザーIDが誤っている" in ctx["failures"][0].hint


def test_l3_dashboard_warns_of_expiring_secret(admin_client, company):
    settings = CompanySettings.objects.get(company=company)
    settings.auth_method = "secret"
    settings.client_secret_expires_at = timezone.now() + dt.timedelta(days=10)
    settings.save()
    body = admin_client.get(reverse("dashboard")).content.decode()
    assert "クライアントシークレットの有効期限" in body


def test_l3_dashboard_shows_connection_health(admin_client, company):
    SourceConnection.objects.create(
        company=company,
        kind=SourceKind.JUSTSFA,
        name="default",
        last_test_at=timezone.now(),
        last_test_ok=False,
        last_test_code="source_auth_failed",
    )
    body = admin_client.get(reverse("dashboard")).content.decode()
    assert "APIキー" in body  # the hint of source_auth_failed


# -- sign-in ------------------------------------------------------------------------------------


def test_u1_sign_in_redirects_only_to_own_site(client, admin_user):
    response = client.post(
        reverse("login") + "?next=https://evil.example/",
        {"username": "admin", "password": PASSWORD, "next": "https://evil.example/"},
    )
    assert response.status_code == 302 and response.url == reverse("dashboard")
