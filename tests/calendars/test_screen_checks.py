"""The screens' check buttons (``sfacal.web.checks``) with the real Graph connector against the
emulator, on settings read fresh from the database -- as a served screen has them.

A served screen reads the company settings without their company; the checks must not touch the
database from inside the private event loop they call the connector on (the per-user check buttons
once all answered ``unexpected_error`` because of that).
"""

from __future__ import annotations

from typing import Any

import pytest

from sfacal.directory.companies.models import CompanySettings
from sfacal.directory.companies.provisioning import ensure_company
from sfacal.engine import loop
from sfacal.web import checks

from .helpers import M365


@pytest.fixture
def fresh_settings(db: Any, m365: M365, monkeypatch: pytest.MonkeyPatch) -> CompanySettings:
    graph = m365.secret_settings()
    monkeypatch.setenv("SFACAL_CA_BUNDLE", str(m365.emu.ca_pem))
    loop.forget_services()
    company = ensure_company("checks", "Checks Inc.")
    stored = company.sync_settings
    stored.client_id = graph.client_id
    stored.auth_method = "secret"
    stored.client_secret = graph.client_secret or ""
    stored.token_endpoint = graph.token_endpoint
    stored.graph_base_url = graph.graph_base_url
    stored.domain = m365.tenant.domain
    stored.save()
    # As a screen has them: read again, the company not loaded.
    fresh = CompanySettings.objects.get(pk=stored.pk)
    assert "company" not in fresh._state.fields_cache
    return fresh


def test_e5_check_mailbox_on_fresh_settings_reaches_the_mailbox(fresh_settings: Any, m365: M365) -> None:
    upn = m365.new_user(calendars=["営業"])
    result = checks.check_mailbox(fresh_settings, upn, "営業", "ja")
    assert result.ok, (result.code, result.detail)
    assert "営業" in result.data


def test_e3_list_calendars_on_fresh_settings_names_them(fresh_settings: Any, m365: M365) -> None:
    upn = m365.new_user(calendars=["営業", "Visits"])
    result = checks.list_calendars(fresh_settings, upn, "en")
    assert result.ok, (result.code, result.detail)
    assert sorted(result.data) == ["Calendar", "Visits", "営業"]


def test_e5_check_mailbox_on_fresh_settings_reports_a_missing_mailbox(
    fresh_settings: Any, m365: M365
) -> None:
    result = checks.check_mailbox(fresh_settings, f"nobody@{m365.tenant.domain}", None, "en")
    assert not result.ok
    assert result.code == "mailbox_not_found"
