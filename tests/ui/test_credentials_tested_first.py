"""C7 / J1: new credentials are tested on the candidate values before they replace stored ones.

A failed test saves nothing (the stored credentials stay in force, the engine keeps its service),
the page says so and keeps what was typed except secrets, which are held encrypted in the session
for "save without testing" -- an explicit, audited save.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterator

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from sfacal.directory.companies.models import AuditEntry, CompanySettings
from sfacal.directory.connections.models import SourceConnection, SourceKind
from sfacal.engine import calendar
from sfacal.sources.justsfa import JustSfaSettings
from sfacal.web.companies.tested_first import AUDIT_FIELD
from tests.ui.conftest import make_pfx
from tests.ui.fake_tenant import FakeJustSfa, FakeTenant, installed_justsfa, installed_tenant
from tests.ui.test_company_settings import CLIENT_ID, ENDPOINT_V2, form_data
from tests.ui.test_other_screens import justsfa_data

pytestmark = pytest.mark.django_db

STORED = "Stored~working-secret-1"
ROTATED = "Rotated~working-secret-2"
TYPO = "Typo~mistyped-secret-3"

TEXTS = {
    "ja": {
        "refused": "新しい認証情報は保存していません。これまでの認証情報を引き続き使用しています。",
        "nothing_else": "このページのほかの変更も保存していません。",
        "save_anyway": "テストせずに保存",
        "held": "入力済み（未保存）",
        "message": "クライアントシークレットが正しくありません（AADSTS7000215）。",
        "hint": "シークレットの「ID」ではなく「値」を入力しているか確認してください。",
        "untested": "接続テストに成功しないまま設定を保存しました。",
        "saved": "設定を保存しました。",
    },
    "en": {
        "refused": "The new credentials were not saved; the previous ones are still in use.",
        "nothing_else": "Nothing else on this page was saved either.",
        "save_anyway": "Save without testing",
        "held": "Entered, not saved yet",
        "message": "The client secret is invalid (AADSTS7000215).",
        "hint": "Check that you entered the secret's Value, not its Secret ID.",
        "untested": "The settings were saved without a successful connection test.",
        "saved": "The settings were saved.",
    },
}


@pytest.fixture
def fake_tenant() -> Iterator[FakeTenant]:
    yield from installed_tenant()


@pytest.fixture
def fake_justsfa(monkeypatch: pytest.MonkeyPatch) -> FakeJustSfa:
    return installed_justsfa(monkeypatch)


@pytest.fixture
def working(company, fake_tenant: FakeTenant) -> CompanySettings:
    """Credentials in use: complete, and accepted by the tenant (as is the rotated secret)."""
    fake_tenant.secrets |= {STORED, ROTATED}
    settings = company.sync_settings
    settings.sync_enabled = True
    settings.client_id = CLIENT_ID
    settings.auth_method = "secret"
    settings.client_secret = STORED
    settings.token_endpoint = ENDPOINT_V2
    settings.save()
    return CompanySettings.objects.get(pk=settings.pk)


def stored(settings: CompanySettings) -> CompanySettings:
    return CompanySettings.objects.select_related("company").get(pk=settings.pk)


def refuse(client: Client, **changes: str):
    response = client.post(reverse("company_settings"), form_data(client_secret=TYPO, **changes))
    assert response.status_code == 200
    assert response.context["refused"] is True
    return response


@pytest.mark.parametrize("action", ["save", "test"])
@pytest.mark.parametrize("lang", ["ja", "en"])
def test_c7_mistyped_secret_is_refused_and_the_stored_one_stays_in_force(
    client_for, admin_user, working, fake_tenant, lang, action
):
    before = stored(working)
    fingerprint = calendar.fingerprint(before)
    response = refuse(client_for(admin_user, lang), action=action, batch_interval_minutes="10")
    body = html.unescape(response.content.decode())
    texts = TEXTS[lang]
    for key in ("refused", "nothing_else", "save_anyway", "held", "message", "hint"):
        assert texts[key] in body, key
    assert 'name="action" value="save_untested"' in body
    assert TYPO not in body and STORED not in body  # secrets are never echoed into the page
    assert 'name="batch_interval_minutes" value="10"' in body  # what was typed is kept
    # The test ran on the candidate: the stored row's values with the typed secret.
    assert fake_tenant.seen[-1]["client_secret"] == TYPO
    assert fake_tenant.seen[-1]["pk"] == working.pk
    after = stored(working)
    assert after.client_secret == STORED
    assert after.batch_interval_minutes == 5  # nothing else was saved either
    assert after.updated_at == before.updated_at
    assert calendar.fingerprint(after) == fingerprint  # the engine keeps its calendar service
    assert (after.last_test_at, after.last_test_ok) == (before.last_test_at, before.last_test_ok)
    assert not AuditEntry.objects.for_company(working.company).exists()


def test_c7_refusal_is_shown_inline_for_htmx(admin_client, working):
    response = admin_client.post(
        reverse("company_settings"), form_data(client_secret=TYPO, action="test"), HTTP_HX_REQUEST="true"
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert 'id="connection-test-result"' in body and TEXTS["ja"]["refused"] in body
    assert f'name="held" value="{response.context["held_token"]}"' in body


@pytest.mark.parametrize("action", ["save", "test"])
def test_c7_working_new_secret_is_saved_once_its_test_passed(admin_client, working, fake_tenant, action):
    fingerprint = calendar.fingerprint(stored(working))
    response = admin_client.post(reverse("company_settings"), form_data(client_secret=ROTATED, action=action))
    assert response.status_code == 200
    body = response.content.decode()
    assert TEXTS["ja"]["saved"] in body and 'class="notice ok"' in body
    assert fake_tenant.seen[-1]["client_secret"] == ROTATED
    after = stored(working)
    assert after.client_secret == ROTATED
    assert after.last_test_ok is True and after.last_test_at is not None and after.last_test_code == ""
    assert calendar.fingerprint(after) != fingerprint  # the engine builds a new service
    entries = AuditEntry.objects.for_company(working.company)
    assert list(entries.values_list("field", "new_value")) == [("client_secret", "replaced")]


def test_c7_save_without_testing_stores_the_held_secret_and_is_audited(admin_client, admin_user, working):
    fingerprint = calendar.fingerprint(stored(working))
    refused = refuse(admin_client, batch_interval_minutes="10")
    token = refused.context["held_token"]
    assert token
    # Held server-side and encrypted: neither the session nor its cookie holds the secret.
    assert TYPO not in json.dumps(dict(admin_client.session.items()))
    assert TYPO not in str(admin_client.cookies)
    response = admin_client.post(
        reverse("company_settings"),
        form_data(client_secret="", held=token, batch_interval_minutes="10", action="save_untested"),
    )
    assert response.status_code == 302
    after = stored(working)
    assert after.client_secret == TYPO and after.batch_interval_minutes == 10
    assert calendar.fingerprint(after) != fingerprint  # the engine picks up what was stored
    # The last test described the old secret: it no longer says "success".
    assert after.last_test_at is None and after.last_test_ok is None
    entry = AuditEntry.objects.for_company(working.company).get(field=AUDIT_FIELD)
    assert entry.user == admin_user and entry.object_type == "company_settings"
    assert entry.new_value == "client_secret"
    assert TYPO not in entry.new_value
    assert ("client_secret", "replaced") in set(
        AuditEntry.objects.for_company(working.company).values_list("field", "new_value")
    )
    page = admin_client.get(reverse("company_settings")).content.decode()
    assert TEXTS["ja"]["untested"] in page
    assert (
        "sfacal.held_secrets" not in admin_client.session or not admin_client.session["sfacal.held_secrets"]
    )


def test_c7_held_secret_needs_its_token_and_the_open_page(admin_client, working):
    refuse(admin_client)
    # Without the token nothing is held: no secret typed, so nothing changes.
    response = admin_client.post(reverse("company_settings"), form_data(action="save_untested"))
    assert response.status_code == 302
    assert stored(working).client_secret == STORED
    # Another token, or the page opened afresh in between: refused with a form error, not saved
    # without the secret the page said it held.
    for reopen in (False, True):
        token = refuse(admin_client).context["held_token"]
        if reopen:
            admin_client.get(reverse("company_settings"))
        else:
            token = "not-the-token"
        response = admin_client.post(
            reverse("company_settings"),
            form_data(held=token, batch_interval_minutes="9", action="save_untested"),
        )
        assert response.status_code == 200
        assert "もう保持していません" in response.content.decode()
        assert response.context["held_token"] == ""
        after = stored(working)
        assert after.client_secret == STORED and after.batch_interval_minutes == 5


def test_c7_refused_certificate_is_held_and_can_be_saved_without_testing(admin_client, working, fake_tenant):
    pfx, thumb = make_pfx("pw")
    response = admin_client.post(
        reverse("company_settings"),
        form_data(
            auth_method="certificate",
            certificate_file=SimpleUploadedFile("app.pfx", pfx, "application/x-pkcs12"),
            certificate_password="pw",
        ),
    )
    assert response.status_code == 200 and response.context["refused"]
    assert fake_tenant.seen[-1]["certificate_pfx"] == pfx  # tested on the uploaded file
    assert sorted(response.context["held"]) == ["certificate_password", "certificate_pfx"]
    assert "pw" not in {i.strip('"') for i in response.content.decode().split("value=")}
    after = stored(working)
    assert after.auth_method == "secret" and after.certificate_pfx is None
    # Neither the file nor its password is chosen again.
    response = admin_client.post(
        reverse("company_settings"),
        form_data(auth_method="certificate", held=response.context["held_token"], action="save_untested"),
    )
    assert response.status_code == 302
    after = stored(working)
    assert after.auth_method == "certificate"
    assert bytes(after.certificate_pfx) == pfx and after.certificate_password == "pw"
    assert after.certificate_thumbprint == thumb.hex().upper()
    assert AuditEntry.objects.for_company(working.company).get(field=AUDIT_FIELD).new_value == (
        "auth_method, certificate_pfx, certificate_password, certificate_thumbprint"
    )


def test_c7_removing_the_secret_in_use_needs_save_without_testing(admin_client, working):
    refuse_remove = admin_client.post(
        reverse("company_settings"), form_data(remove_client_secret="on", sync_enabled="0")
    )
    assert refuse_remove.context["refused"] and stored(working).client_secret == STORED
    admin_client.post(
        reverse("company_settings"),
        form_data(remove_client_secret="on", sync_enabled="0", action="save_untested"),
    )
    assert stored(working).client_secret == ""


def test_c7_other_settings_are_saved_without_a_test(admin_client, working, fake_tenant):
    response = admin_client.post(reverse("company_settings"), form_data(batch_interval_minutes="15"))
    assert response.status_code == 302
    assert fake_tenant.seen == []
    assert stored(working).batch_interval_minutes == 15


def test_c7_first_credentials_are_saved_as_before_when_none_complete_were_stored(
    admin_client, company, fake_tenant
):
    """Nothing can be in use yet (no complete credentials stored): "save" stores them untested."""
    response = admin_client.post(reverse("company_settings"), form_data(client_secret=TYPO))
    assert response.status_code == 302
    assert fake_tenant.seen == []
    assert CompanySettings.objects.get(company=company).client_secret == TYPO


def test_c7_every_credential_field_is_tested_first(admin_client, working, fake_tenant):
    """The client ID, token endpoint, domain and Graph URL are credentials too."""
    changes = {
        "client_id": "2b1e6fd1-a18b-4e73-b37c-2d0125d25845",
        "token_endpoint": ENDPOINT_V2.replace("62fab46a", "72fab46a"),
        "domain": "other.onmicrosoft.com",
        "graph_base_url": "https://graph.example.com/v1.0",
        "client_secret_expires_on": "2030-01-31",
    }
    fake_tenant.secrets.discard(STORED)  # the tenant now refuses whatever comes with the stored secret
    for name, value in changes.items():
        response = admin_client.post(reverse("company_settings"), form_data(**{name: value}))
        assert response.status_code == 200 and response.context["refused"], name
        assert fake_tenant.seen[-1]["client_secret"] == STORED
    after = stored(working)
    assert (after.client_id, after.token_endpoint, after.domain) == (
        CLIENT_ID,
        ENDPOINT_V2,
        "acme.onmicrosoft.com",
    )
    assert after.graph_base_url == "https://graph.microsoft.com/v1.0"
    assert after.client_secret_expires_at is None


# -- J1: the JUST.SFA connection -------------------------------------------------------------------

KEY = "uPlazaMlyAx7Vvj1NqA0wYaCxdCJOtEn"
NEW_KEY = "rotatedKey0000000000000000000001"
WRONG_KEY = "mistypedKey000000000000000000002"


@pytest.fixture
def justsfa_working(admin_client, company, fake_justsfa: FakeJustSfa) -> SourceConnection:
    """A connection in use, stored through the screen (the first settings are saved untested)."""
    fake_justsfa.keys |= {KEY, NEW_KEY}
    assert admin_client.post(reverse("justsfa"), justsfa_data(api_key=KEY)).status_code == 302
    assert fake_justsfa.seen == []
    AuditEntry.objects.all().delete()
    return SourceConnection.objects.for_company(company).get(kind=SourceKind.JUSTSFA)


def source_of(connection: SourceConnection) -> SourceConnection:
    return SourceConnection.objects.select_related("company").get(pk=connection.pk)


@pytest.mark.parametrize(
    ("lang", "title"),
    [
        ("ja", "新しい接続設定は保存していません。これまでの設定を引き続き使用しています。"),
        ("en", "The new connection settings were not saved; the previous ones are still in use."),
    ],
)
def test_j1_mistyped_api_key_is_refused_and_polling_keeps_the_stored_one(
    client_for, admin_user, justsfa_working, fake_justsfa, lang, title
):
    response = client_for(admin_user, lang).post(
        reverse("justsfa"), justsfa_data(api_key=WRONG_KEY, panel="panel_1638871431", action="test")
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert title in body and 'value="save_untested"' in body and 'id="justsfa-test-result"' in body
    assert {"ja": "APIキーを受け付けませんでした", "en": "rejected the API key"}[lang] in body
    assert WRONG_KEY not in body and KEY not in body
    assert 'value="panel_1638871431"' in body  # the typed identifier is kept
    assert fake_justsfa.seen == [WRONG_KEY]
    after = source_of(justsfa_working)
    assert after.api_key == KEY and after.config["panel"] == "panel_1638871430"
    assert after.last_test_at is None
    # What polling and write-back build their client from is unchanged.
    assert JustSfaSettings.from_connection(after).api_key == KEY
    assert not AuditEntry.objects.exists()


def test_j1_save_without_testing_stores_the_held_key_and_is_audited(
    admin_client, admin_user, justsfa_working
):
    refused = admin_client.post(reverse("justsfa"), justsfa_data(api_key=WRONG_KEY))
    token = refused.context["held_token"]
    assert refused.context["refused"] and token
    response = admin_client.post(
        reverse("justsfa"), justsfa_data(api_key="", held=token, action="save_untested")
    )
    assert response.status_code == 302
    after = source_of(justsfa_working)
    assert after.api_key == WRONG_KEY
    entry = AuditEntry.objects.get(field=AUDIT_FIELD)
    assert (entry.object_type, entry.new_value, entry.user) == ("justsfa", "api_key", admin_user)
    page = admin_client.get(reverse("justsfa")).content.decode()
    assert "接続テストに成功しないまま JUST.SFA の設定を保存しました。" in page


def test_j1_working_new_key_is_saved_and_its_test_recorded(admin_client, justsfa_working, fake_justsfa):
    response = admin_client.post(reverse("justsfa"), justsfa_data(api_key=NEW_KEY))
    assert response.status_code == 200
    after = source_of(justsfa_working)
    assert after.api_key == NEW_KEY and after.last_test_ok is True
    assert fake_justsfa.seen == [NEW_KEY]


def test_j1_limits_status_values_and_header_need_no_test(admin_client, justsfa_working, fake_justsfa):
    response = admin_client.post(
        reverse("justsfa"),
        justsfa_data(
            api_key="",
            requests_per_minute="20",
            plan_values="予定、仮予定",
            webhook_header_name="X-Sfacal-Secret",
            webhook_header_value="hdr-secret-1",
        ),
    )
    assert response.status_code == 302
    assert fake_justsfa.seen == []
    after = source_of(justsfa_working)
    assert after.config["requests_per_minute"] == 20 and after.webhook_header_value == "hdr-secret-1"
    assert after.config["plan_values"] == ["予定", "仮予定"]


def test_j1_an_optional_field_is_tested_first(admin_client, justsfa_working, fake_justsfa):
    fake_justsfa.keys.discard(KEY)  # the service now refuses the stored key
    response = admin_client.post(
        reverse("justsfa"), justsfa_data(api_key="", status_field="field_1700000001")
    )
    assert response.status_code == 200 and response.context["refused"]
    assert fake_justsfa.seen == [KEY]
    assert "status_field" not in source_of(justsfa_working).config
