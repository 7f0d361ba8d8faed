"""C1–C8 settings screen: validation, .pfx handling, secrets never shown, audit trail, save and test."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from sfacal.directory.companies.models import AuditEntry, Company, CompanySettings, Role
from tests.ui.conftest import make_pfx, make_user
from tests.ui.fake_tenant import FakeTenant, installed_tenant

pytestmark = pytest.mark.django_db

CLIENT_ID = "1b1e6fd1-a18b-4e73-b37c-2d0125d25845"
ENDPOINT_V1 = "https://login.microsoftonline.com/62fab46a-338f-4105-b62d-5a79298270e8/oauth2/token"
ENDPOINT_V2 = "https://login.microsoftonline.com/62fab46a-338f-4105-b62d-5a79298270e8/oauth2/v2.0/token"


@pytest.fixture
def fake_tenant() -> Iterator[FakeTenant]:
    yield from installed_tenant()


def form_data(**changes):
    data = {
        "sync_enabled": "1",
        "calendar_service": "m365",
        "personal_settings_allowed": "1",
        "write_to_calendar": "1",
        "direction": "one_way",
        "client_id": CLIENT_ID,
        "auth_method": "secret",
        "client_secret": "",
        "client_secret_expires_on": "",
        "certificate_thumbprint": "",
        "certificate_password": "",
        "domain": "acme.onmicrosoft.com",
        "token_endpoint": ENDPOINT_V2,
        "graph_base_url": "https://graph.microsoft.com/v1.0",
        "batch_interval_minutes": "5",
        "log_retention_days": "92",
        "timezone": "Asia/Tokyo",
        "action": "save",
    }
    data.update(changes)
    return data


def test_c6_client_secret_saved_encrypted_never_shown_and_audited(admin_client, company, fake_tenant):
    secret = "Abc8Q~very-secret-value-123"
    response = admin_client.post(reverse("company_settings"), form_data(client_secret=secret))
    assert response.status_code == 302
    settings = CompanySettings.objects.get(company=company)
    assert settings.client_secret == secret
    page = admin_client.get(reverse("company_settings")).content.decode()
    assert secret not in page
    assert "設定済み" in page
    entries = AuditEntry.objects.for_company(company).filter(field="client_secret")
    assert [(e.new_value, e.old_value) for e in entries] == [("set", "")]
    assert not AuditEntry.objects.filter(new_value__contains=secret).exists()
    assert not AuditEntry.objects.filter(old_value__contains=secret).exists()
    # replace (the new secret passes its connection test), then remove (the secret in use: only
    # "save without testing" stores that)
    fake_tenant.secrets.add("Other~secret-456")
    admin_client.post(reverse("company_settings"), form_data(client_secret="Other~secret-456"))
    admin_client.post(
        reverse("company_settings"),
        form_data(remove_client_secret="on", sync_enabled="0", action="save_untested"),
    )
    values = list(
        AuditEntry.objects.for_company(company)
        .filter(field="client_secret")
        .order_by("id")
        .values_list("new_value", flat=True)
    )
    assert values == ["set", "replaced", "removed"]
    settings.refresh_from_db()
    assert settings.client_secret == ""


def test_c6_audit_records_who_and_which_field(admin_client, admin_user, company):
    admin_client.post(
        reverse("company_settings"), form_data(client_secret="s3cr3t-value", batch_interval_minutes="10")
    )
    entry = AuditEntry.objects.for_company(company).get(field="batch_interval_minutes")
    assert entry.user == admin_user and entry.old_value == "5" and entry.new_value == "10"


@pytest.mark.parametrize(
    ("lang", "label", "fragment"),
    [
        ("ja", "クライアントID", "アプリケーション (クライアント) ID"),
        ("en", "Client ID", "Application (client) ID"),
    ],
)
def test_c6_invalid_client_id_names_the_field(client_for, admin_user, lang, label, fragment):
    response = client_for(admin_user, lang).post(
        reverse("company_settings"), form_data(client_id="not-a-guid", client_secret="x")
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert f"{label}: " in body and fragment in body


@pytest.mark.parametrize("endpoint", [ENDPOINT_V1, ENDPOINT_V2])
def test_c6_token_endpoint_v1_and_v2_accepted(admin_client, company, endpoint):
    response = admin_client.post(
        reverse("company_settings"), form_data(token_endpoint=endpoint, client_secret="s")
    )
    assert response.status_code == 302
    assert CompanySettings.objects.get(company=company).token_endpoint == endpoint
    page = admin_client.get(reverse("company_settings")).content.decode()
    assert "62fab46a-338f-4105-b62d-5a79298270e8" in page


def test_c6_bad_token_endpoint_rejected(admin_client):
    response = admin_client.post(
        reverse("company_settings"),
        form_data(token_endpoint="https://login.microsoftonline.com/oauth2/authorize", client_secret="s"),
    )
    assert response.status_code == 200
    assert "OAuth 2.0 トークンエンドポイント: " in response.content.decode()


@pytest.mark.parametrize(
    ("lang", "label", "message"),
    [
        ("ja", "タイムゾーン", "Microsoft 365 には Factory に当たるタイムゾーンがありません。"),
        ("en", "Time zone", "Microsoft 365 has no time zone for Factory."),
    ],
)
def test_s5_company_zone_without_a_microsoft_365_zone_is_refused(
    client_for, admin_user, company, lang, label, message
):
    """A tz database zone that CLDR maps to no Windows zone cannot be written to Graph: refused
    when it is entered, in the reader's language, and nothing is stored."""
    client = client_for(admin_user, lang)
    response = client.post(reverse("company_settings"), form_data(timezone="Factory", client_secret="s"))
    assert response.status_code == 200
    body = response.content.decode()
    assert f"{label}: " in body and message in body
    company.refresh_from_db()
    assert company.timezone == "Asia/Tokyo"
    # A zone Graph does not list by its IANA name, but that has a Windows name, is fine.
    response = client.post(
        reverse("company_settings"), form_data(timezone="Europe/Amsterdam", client_secret="s")
    )
    assert response.status_code == 302
    company.refresh_from_db()
    assert company.timezone == "Europe/Amsterdam"


def test_u1_new_company_zone_without_a_microsoft_365_zone_is_refused(client_for, db):
    root = make_user(None, "root", Role.SUPER_ADMIN)
    data = {"slug": "beta", "name": "Beta", "timezone": "Antarctica/Troll", "admin_username": "beta-admin"}
    response = client_for(root, "en").post(reverse("company_new"), data)
    assert response.status_code == 200
    assert "Microsoft 365 has no time zone for Antarctica/Troll." in response.content.decode()
    assert not Company.objects.filter(slug="beta").exists()
    response = client_for(root, "en").post(reverse("company_new"), dict(data, timezone="America/Toronto"))
    assert Company.objects.get(slug="beta").timezone == "America/Toronto"


def test_c1_required_credentials_only_while_sync_on(admin_client, company):
    on = admin_client.post(reverse("company_settings"), form_data(client_id="", token_endpoint=""))
    body = on.content.decode()
    assert on.status_code == 200
    assert "クライアントID: スケジュール連携が「連携する」の場合は必須です。" in body
    assert "クライアントシークレット: " in body
    off = admin_client.post(
        reverse("company_settings"), form_data(sync_enabled="0", client_id="", token_endpoint="")
    )
    assert off.status_code == 302
    assert CompanySettings.objects.get(company=company).sync_enabled is False


def test_c6_pfx_upload_reads_expiry_and_thumbprint(admin_client, company):
    pfx, thumb = make_pfx("pfx-pass", days=200)
    response = admin_client.post(
        reverse("company_settings"),
        form_data(
            auth_method="certificate",
            certificate_file=SimpleUploadedFile("app.pfx", pfx, "application/x-pkcs12"),
            certificate_password="pfx-pass",
            certificate_thumbprint=base64.b64encode(thumb).decode(),
        ),
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    settings = CompanySettings.objects.get(company=company)
    assert bytes(settings.certificate_pfx) == pfx
    assert settings.certificate_password == "pfx-pass"
    assert settings.certificate_thumbprint == thumb.hex().upper()
    assert settings.certificate_expires_at is not None
    page = admin_client.get(reverse("company_settings")).content.decode()
    assert "pfx-pass" not in page
    fields = set(AuditEntry.objects.for_company(company).values_list("field", "new_value"))
    assert ("certificate_pfx", "set") in fields and ("certificate_password", "set") in fields


def test_c6_pfx_thumbprint_filled_when_empty(admin_client, company):
    pfx, thumb = make_pfx(None)
    admin_client.post(
        reverse("company_settings"),
        form_data(auth_method="certificate", certificate_file=SimpleUploadedFile("a.pfx", pfx)),
    )
    assert CompanySettings.objects.get(company=company).certificate_thumbprint == thumb.hex().upper()


def test_c6_wrong_pfx_password_is_a_password_field_error(client_for, admin_user, company):
    pfx, _thumb = make_pfx("right")
    for lang, label in (("ja", "パスワード: "), ("en", "Password: ")):
        response = client_for(admin_user, lang).post(
            reverse("company_settings"),
            form_data(
                auth_method="certificate",
                certificate_file=SimpleUploadedFile("a.pfx", pfx),
                certificate_password="wrong",
            ),
        )
        assert response.status_code == 200
        form = response.context["form"]
        assert "certificate_password" in form.errors
        assert label in response.content.decode()
    assert CompanySettings.objects.get(company=company).certificate_pfx is None


def test_c6_wrong_thumbprint_is_rejected_before_any_network_call(admin_client, company):
    pfx, thumb = make_pfx("pw")
    wrong = bytes(b ^ 0xFF for b in thumb).hex()
    response = admin_client.post(
        reverse("company_settings"),
        form_data(
            auth_method="certificate",
            certificate_file=SimpleUploadedFile("a.pfx", pfx),
            certificate_password="pw",
            certificate_thumbprint=wrong,
        ),
    )
    assert response.status_code == 200
    assert "certificate_thumbprint" in response.context["form"].errors
    assert "拇印: " in response.content.decode()


def test_c6_not_a_pfx_is_a_file_error(admin_client):
    response = admin_client.post(
        reverse("company_settings"),
        form_data(auth_method="certificate", certificate_file=SimpleUploadedFile("a.pfx", b"hello world")),
    )
    assert "certificate_file" in response.context["form"].errors


# Nothing listens on the discard port of the loopback: the test never leaves the machine.
UNREACHABLE = "https://127.0.0.1:9/62fab46a-338f-4105-b62d-5a79298270e8/oauth2/v2.0/token"


def test_c7_save_and_test_shows_network_hint_inline_for_htmx(admin_client, company):
    pfx, thumb = make_pfx("pw")
    settings = company.sync_settings
    settings.auth_method = "certificate"
    settings.certificate_pfx = pfx
    settings.certificate_password = "pw"
    settings.certificate_thumbprint = "00" * 20
    settings.save()
    response = admin_client.post(
        reverse("company_settings"),
        form_data(auth_method="certificate", action="test", token_endpoint=UNREACHABLE),
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="connection-test-result"' in body
    assert "<html" in body  # htmx picks #settings-form out of the page
    settings.refresh_from_db()
    # The thumbprint was re-read from the .pfx when the form was saved with an empty thumbprint.
    assert settings.certificate_thumbprint == thumb.hex().upper()
    assert (
        settings.last_test_ok is False and settings.last_test_code == "network_refused"
    )  # a kind of network_error
    assert "443" in response.context["result"].hint


def test_c7_local_check_reports_thumbprint_mismatch(company):
    from sfacal.web import checks

    pfx, _thumb = make_pfx("pw")
    settings = company.sync_settings
    settings.auth_method = "certificate"
    settings.certificate_pfx = pfx
    settings.certificate_password = "pw"
    settings.certificate_thumbprint = "AB" * 20
    settings.client_id = CLIENT_ID
    settings.token_endpoint = ENDPOINT_V2
    settings.save()
    result = checks.check_company_connection(settings, "ja")
    assert not result.ok and result.code == "thumbprint_mismatch"
    assert "拇印が誤っている可能性があります" in result.hint
    settings.refresh_from_db()
    assert settings.last_test_ok is False and settings.last_test_code == "thumbprint_mismatch"


def test_c7_local_check_reports_unreadable_pfx(company):
    from sfacal.web import checks

    pfx, _thumb = make_pfx("pw")
    settings = company.sync_settings
    settings.auth_method = "certificate"
    settings.certificate_pfx = pfx
    settings.certificate_password = "not-the-password"
    settings.client_id = CLIENT_ID
    settings.token_endpoint = ENDPOINT_V2
    settings.save()
    result = checks.check_company_connection(settings, "en")
    assert result.code == "pfx_unreadable" and "password is wrong" in result.hint


def test_c1_switching_sync_on_applies_the_changes_kept_while_off(
    admin_client, company, monkeypatch, django_capture_on_commit_callbacks
):
    from datetime import UTC, datetime, timedelta

    from sfacal.core.schedule import Schedule, SourceRef, TimedSpan
    from sfacal.engine import inbox, sync

    jobs: list[tuple[str, dict[str, object]]] = []
    monkeypatch.setattr(sync, "_enqueue", lambda name, kwargs: jobs.append((name, kwargs)))
    monkeypatch.setattr(inbox, "_dispatch", None)  # no processing task for the accepted change
    CompanySettings.objects.filter(company=company).update(sync_enabled=False)
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
    inbox.accept(
        company,
        Schedule(
            ref=SourceRef(company.slug, "push", "1"),
            kind="業務",
            status="予定",
            span=TimedSpan(start, start + timedelta(hours=1)),
            updated_at=start,
            title="会議",
            participants=("taro",),
        ),
        trigger="push",
    )
    with django_capture_on_commit_callbacks(execute=True):
        first = admin_client.post(
            reverse("company_settings"),
            form_data(sync_enabled="0", client_secret="Abc8Q~very-secret-value-123"),
        )
    assert first.status_code == 302, first.context["form"].errors
    assert jobs == []  # still off: nothing to apply
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(reverse("company_settings"), form_data())
    assert response.status_code == 302
    assert jobs == [("process_company", {"company_id": company.pk})]
