"""C7 in the browser, against the Microsoft 365 emulator: a mistyped client secret is refused in
place (htmx), the secret is not put back into the page, and "save without testing" stores it
without typing it again."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from sfacal.directory.companies.models import AuditEntry, CompanySettings, Membership, Role
from sfacal.web.companies.tested_first import AUDIT_FIELD
from tests.e2e.test_walk import PASSWORD, shot, sign_in, switch_language
from tests.integration.conftest import new_tenant, wire_company

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WRONG = "Wrong~secret-typed-by-mistake-9"
TEXTS = {
    "ja": {
        "refused": "新しい認証情報は保存していません。これまでの認証情報を引き続き使用しています。",
        "untested": "接続テストに成功しないまま設定を保存しました。",
    },
    "en": {
        "refused": "The new credentials were not saved; the previous ones are still in use.",
        "untested": "The settings were saved without a successful connection test.",
    },
}


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_c7_refused_secret_then_save_without_testing_in_the_browser(
    live_server, new_page, screenshot_dir, m365, lang
):
    tenant = new_tenant(m365)
    company = wire_company("acme", tenant)  # a working secret, in use
    admin = get_user_model().objects.create_user("admin", password=PASSWORD)
    Membership.objects.create(user=admin, company=company, role=Role.COMPANY_ADMIN)
    settings = CompanySettings.objects.get(company=company)
    page = new_page(lang="ja")
    sign_in(page, live_server.url, "admin")
    if lang != "ja":
        switch_language(page, lang)
    page.goto(f"{live_server.url}/settings/")
    page.fill("#id_client_secret", WRONG)
    page.fill("#id_batch_interval_minutes", "7")
    page.click("button[name=action][value=save]")
    page.wait_for_selector("#settings-form [data-refused]")
    assert TEXTS[lang]["refused"] in page.inner_text("#settings-form [data-refused]")
    assert "secret_invalid" in page.inner_text("#connection-test-result")
    assert page.input_value("#id_client_secret") == "" and WRONG not in page.content()
    assert page.input_value("#id_batch_interval_minutes") == "7"  # what was typed stays
    shot(page, screenshot_dir, "40-credentials-refused", lang)
    settings.refresh_from_db()
    assert settings.client_secret == tenant.app.secret and settings.batch_interval_minutes == 5

    page.click("button[name=action][value=save_untested]")
    page.wait_for_selector("#settings-form .notice.warn[role=status]")
    assert TEXTS[lang]["untested"] in page.inner_text("#settings-form")
    settings.refresh_from_db()
    assert settings.client_secret == WRONG and settings.batch_interval_minutes == 7
    assert AuditEntry.objects.filter(company=company, field=AUDIT_FIELD).count() == 1
    csp = [e for e in page.console_errors if "Content Security Policy" in e]
    assert csp == []
