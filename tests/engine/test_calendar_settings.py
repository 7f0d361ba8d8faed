"""engine.calendar: the one place that turns company settings into the Graph connector, and the
screens' checks that run through it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from sfacal.calendars.base import CalendarInfo, CheckResult
from sfacal.calendars.msgraph import AuthMethod, GraphSettings
from sfacal.core.errors import CalendarReadOnlyError
from sfacal.engine import calendar
from sfacal.web import checks

pytestmark = pytest.mark.django_db


def test_graph_settings_come_from_the_company_settings_and_the_ca_bundle(company, monkeypatch, tmp_path):
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    monkeypatch.setenv("SFACAL_CA_BUNDLE", str(bundle))
    settings = company.sync_settings
    settings.client_id = "11111111-2222-3333-4444-555555555555"
    settings.token_endpoint = "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token"
    settings.auth_method = "secret"
    settings.client_secret = "Abc8Q~very-secret-value-123"
    settings.domain = "example.com"
    settings.save()
    graph = calendar.graph_settings(settings)
    assert isinstance(graph, GraphSettings)
    assert graph.auth_method is AuthMethod.SECRET and graph.client_secret == settings.client_secret
    assert graph.ca_bundle == str(bundle) and graph.domain == "example.com"
    assert graph.timezone == company.timezone
    before = calendar.fingerprint(settings)
    monkeypatch.setenv("SFACAL_CA_BUNDLE", "")
    assert calendar.fingerprint(settings) != before  # a new bundle means a new connector


class _ReadOnlyCalendarService:
    """The connector's answer for a mailbox whose chosen calendar cannot be edited (as
    ``calendars.msgraph`` gives it; proven against the emulator in tests/calendars/test_checks.py)."""

    async def check_mailbox(self, user_id: str, calendar_name: str | None = None) -> CheckResult:
        info = CalendarInfo("id-1", calendar_name or "予定表", False, False, None)
        error = CalendarReadOnlyError(
            f"the calendar {info.name!r} of {user_id} is read-only", mailbox=user_id, calendar=info.name
        )
        return CheckResult(False, error, {"calendars": [info.to_dict()], "calendar": info.to_dict()})

    async def aclose(self) -> None:
        return None


@pytest.fixture
def read_only_service() -> Iterator[None]:
    calendar.set_service_factory(lambda settings: _ReadOnlyCalendarService())  # type: ignore[arg-type,return-value]
    yield
    calendar.set_service_factory(None)


def test_l2_check_of_a_read_only_calendar_says_so(company, read_only_service: Any):
    settings = company.sync_settings
    settings.client_id = "11111111-2222-3333-4444-555555555555"
    settings.token_endpoint = "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token"
    settings.auth_method = "secret"
    settings.client_secret = "Abc8Q~very-secret-value-123"
    settings.save()
    for lang, hint in (("ja", "編集できる予定表を選び直す"), ("en", "Choose an editable calendar")):
        result = checks.check_mailbox(settings, "taro@example.com", "祝日", lang)
        assert not result.ok and result.code == "calendar_read_only"
        assert "祝日" in result.message and "taro@example.com" in result.message
        assert hint in result.hint
