"""The settings screen with Google Calendar as the destination: the key pasted or uploaded, read,
stored encrypted, never shown again; "save and test" against the Google emulator refuses a key
whose project has the API off, with the hint; the Microsoft 365 fields are not required."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from sfacal.directory.companies.models import AuditEntry, CompanySettings
from sfacal.engine.calendar import build_service
from tests.calendars.google_helpers import Google, start_google

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def google_emu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Google]:
    yield from start_google(tmp_path_factory.mktemp("google-ui"))


@pytest.fixture
def google(google_emu: Google, monkeypatch: pytest.MonkeyPatch) -> Google:
    monkeypatch.setenv("SFACAL_GOOGLE_API_URL", google_emu.emu.api_url)
    monkeypatch.setenv("SFACAL_CA_BUNDLE", str(google_emu.emu.ca_pem))
    return google_emu


def form_data(**changes: str) -> dict[str, str]:
    data = {
        "sync_enabled": "1",
        "calendar_service": "google",
        "personal_settings_allowed": "1",
        "write_to_calendar": "1",
        "direction": "one_way",
        "client_id": "",
        "auth_method": "certificate",
        "certificate_thumbprint": "",
        "certificate_password": "",
        "client_secret": "",
        "client_secret_expires_on": "",
        "domain": "",
        "token_endpoint": "",
        "graph_base_url": "https://graph.microsoft.com/v1.0",
        "google_service_account_key": "",
        "batch_interval_minutes": "5",
        "log_retention_days": "92",
        "timezone": "Asia/Kuala_Lumpur",  # a zone Microsoft 365 has no name for: fine for Google
        "action": "test",
    }
    data.update(changes)
    return data


def test_google_key_saved_encrypted_tested_and_never_shown(admin_client, company, google: Google) -> None:
    key = google.new_key()
    text = json.dumps(key)
    response = admin_client.post(
        reverse("company_settings"), form_data(google_service_account_key=text, domain=google.domain)
    )
    saved = response.content.decode()
    assert response.status_code == 200 and "設定を保存しました" in saved and "接続できました" in saved
    settings = CompanySettings.objects.get(company=company)
    assert settings.calendar_service == "google" and settings.google_service_account_key == text
    assert settings.last_test_ok is True
    page = admin_client.get(reverse("company_settings")).content.decode()
    assert key["private_key"].splitlines()[1] not in page
    assert key["client_email"] in page and key["client_id"] in page  # to copy into the Admin console
    assert not AuditEntry.objects.filter(new_value__contains="PRIVATE KEY").exists()
    assert AuditEntry.objects.for_company(company).filter(field="google_service_account_key").exists()
    assert type(build_service(settings)).__name__ == "GoogleCalendar"


def test_google_key_file_upload_and_unreadable_key(admin_client, company, google: Google) -> None:
    bad = admin_client.post(
        reverse("company_settings"), form_data(google_service_account_key='{"type": "x"}')
    )
    page = bad.content.decode()
    assert bad.status_code == 200 and "サービスアカウントの鍵ではありません" in page
    assert '{"type": "x"}' not in page  # a secret field is never written back
    upload = SimpleUploadedFile("key.json", json.dumps(google.new_key()).encode(), "application/json")
    data = form_data(domain=google.domain)
    response = admin_client.post(reverse("company_settings"), {**data, "google_key_file": upload})
    assert response.status_code == 200 and "接続できました" in response.content.decode()
    assert "service_account" in CompanySettings.objects.get(company=company).google_service_account_key


def test_google_required_key_and_api_disabled_is_refused_with_its_hint(
    admin_client, company, google: Google
) -> None:
    missing = admin_client.post(reverse("company_settings"), form_data())
    assert (
        missing.status_code == 200
        and "スケジュール連携が「連携する」の場合は必須です" in missing.content.decode()
    )
    working = json.dumps(google.new_key())
    first = admin_client.post(reverse("company_settings"), form_data(google_service_account_key=working))
    assert "接続できました" in first.content.decode()
    project = google.control.create_project()
    key = google.control.create_service_account(project["project_id"], google.domain)
    google.control.set_api_enabled(project["project_id"], False)
    refused = admin_client.post(
        reverse("company_settings"), form_data(google_service_account_key=json.dumps(key))
    )
    page = refused.content.decode()
    assert refused.status_code == 200
    assert "Google Calendar API が有効になっていません" in page and "API とサービス" in page
    assert key["private_key"].splitlines()[1] not in page
    # the key in use stays in force
    assert CompanySettings.objects.get(company=company).google_service_account_key == working


def test_caldav_choice_builds_the_caldav_connector_and_an_unknown_one_is_refused(company) -> None:
    from sfacal.calendars.caldav import CalDavCalendar
    from sfacal.core.errors import CalendarServiceUnavailableError

    settings = CompanySettings.objects.get(company=company)
    settings.calendar_service = "caldav"
    assert isinstance(build_service(settings), CalDavCalendar)
    settings.calendar_service = "exchange-2003"
    with pytest.raises(CalendarServiceUnavailableError):
        build_service(settings)


def test_employee_check_impersonates_the_user_with_hints(company, google: Google) -> None:
    """The employee's "Check" button (E5) with Google as the destination: the user and the
    target calendar, and the delegation hint when the client id lacks it."""
    from sfacal.web import checks

    key = google.new_key()
    settings = CompanySettings.objects.get(company=company)
    settings.calendar_service = "google"
    settings.google_service_account_key = json.dumps(key)
    settings.domain = google.domain
    settings.save()
    email = google.new_user(calendars=["営業"])
    assert checks.check_mailbox(settings, email, "営業", "ja").ok
    missing = checks.check_mailbox(settings, "nobody@" + google.domain, None, "en")
    assert not missing.ok and "Admin console" in missing.hint
    google.control.update_service_account(key["client_email"], delegated_scopes=[])
    refused = checks.check_mailbox(settings, google.new_user(), None, "ja")
    assert not refused.ok and key["client_id"] in refused.hint
