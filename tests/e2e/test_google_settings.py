"""Choosing Google Calendar on the settings screen, in the browser, against the Google emulator:
the Google fields appear and the Microsoft 365 ones go away, the key file is uploaded, "save and
test" passes, and the key never comes back into the page."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model

from sfacal.directory.companies.models import CompanySettings, Membership, Role
from sfacal.directory.companies.provisioning import ensure_company
from tests.calendars.google_helpers import Google, start_google
from tests.e2e.test_walk import PASSWORD, shot, sign_in, switch_language

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

OK = {"ja": "接続できました", "en": "Connection succeeded"}


@pytest.fixture
def google(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Google]:
    for handle in start_google(tmp_path / "google"):
        monkeypatch.setenv("SFACAL_GOOGLE_API_URL", handle.emu.api_url)
        monkeypatch.setenv("SFACAL_CA_BUNDLE", str(handle.emu.ca_pem))
        yield handle


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_c2_choose_google_upload_the_key_and_test_in_the_browser(
    live_server, new_page, screenshot_dir, google, tmp_path, lang
):
    company = ensure_company("acme", "ACME 株式会社")
    admin = get_user_model().objects.create_user("admin", password=PASSWORD)
    Membership.objects.create(user=admin, company=company, role=Role.COMPANY_ADMIN)
    key = google.new_key()
    key_file = tmp_path / "sfacal-key.json"
    key_file.write_text(json.dumps(key))
    page = new_page(lang="ja")
    sign_in(page, live_server.url, "admin")
    if lang != "ja":
        switch_language(page, lang)
    page.goto(f"{live_server.url}/settings/")
    assert page.is_visible("#m365-credentials") and not page.is_visible("#google-credentials")
    page.select_option("#id_calendar_service", "google")
    assert page.is_visible("#google-credentials") and not page.is_visible("#m365-credentials")
    page.check("input[name=sync_enabled][value='1']")
    page.set_input_files("#id_google_key_file", str(key_file))
    page.fill("#id_domain", google.domain)
    page.click("button[name=action][value=test]")
    page.wait_for_selector("#settings-form .notice.ok")
    assert OK[lang] in page.inner_text("#connection-test-result")
    assert key["client_id"] in page.inner_text("#google-credentials")
    assert key["private_key"].splitlines()[1] not in page.content()
    assert page.is_visible("#google-credentials")  # the choice stays after the htmx swap
    shot(page, screenshot_dir, "45-google-settings", lang)
    settings = CompanySettings.objects.get(company=company)
    assert settings.calendar_service == "google" and settings.last_test_ok is True
    assert page.console_errors == []
