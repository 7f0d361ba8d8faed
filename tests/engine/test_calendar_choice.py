"""``build_service`` is the one place a company's ``calendar_service`` becomes a connector: Microsoft
365 by default, Google Calendar, CalDAV through its connector module when installed, and a clear
configuration error (never another service) otherwise."""

from __future__ import annotations

import importlib.util
import sys
import types
from typing import Any

import pytest

from sfacal.calendars.google import GoogleCalendar
from sfacal.calendars.msgraph import MicrosoftGraphCalendar
from sfacal.core.errors import CalendarServiceUnavailableError
from sfacal.directory.companies.models import CompanySettings
from sfacal.directory.companies.provisioning import ensure_company
from sfacal.engine import calendar

pytestmark = pytest.mark.django_db


@pytest.fixture
def settings_row() -> CompanySettings:
    calendar.set_service_factory(None)
    company = ensure_company("choice", "Choice")
    return CompanySettings.objects.get(company=company)


def test_c2_default_is_microsoft_365_and_google_when_chosen(settings_row: CompanySettings) -> None:
    assert settings_row.calendar_service == "m365"
    assert isinstance(calendar.build_service(settings_row), MicrosoftGraphCalendar)
    before = calendar.fingerprint(settings_row)
    settings_row.calendar_service = "google"
    settings_row.google_service_account_key = "{}"  # unreadable: the connector answers it per call
    service = calendar.build_service(settings_row)
    assert isinstance(service, GoogleCalendar) and service.settings.key_error is not None
    assert calendar.fingerprint(settings_row) != before


def test_c2_caldav_uses_its_connector_module_when_installed(
    settings_row: CompanySettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings_row.calendar_service = "caldav"
    made: list[Any] = []
    module = types.ModuleType(calendar.CALDAV_MODULE)
    module.build_caldav_service = lambda s: made.append(s) or "caldav-service"  # type: ignore[attr-defined]
    real_find_spec = importlib.util.find_spec

    def find_spec(name: str, *args: Any) -> Any:
        return object() if name == calendar.CALDAV_MODULE else real_find_spec(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    monkeypatch.setitem(sys.modules, calendar.CALDAV_MODULE, module)
    assert calendar.build_service(settings_row) == "caldav-service"
    assert made == [settings_row]


def test_c2_caldav_missing_or_unknown_service_is_a_configuration_error(settings_row: CompanySettings) -> None:
    if importlib.util.find_spec("sfacal.calendars.caldav") is not None:
        pytest.skip("the CalDAV connector is installed")
    settings_row.calendar_service = "caldav"
    with pytest.raises(CalendarServiceUnavailableError) as caught:
        calendar.build_service(settings_row)
    assert "CalDAV" in caught.value.user_message("en") and caught.value.hint("ja")
    settings_row.calendar_service = "exchange2010"
    with pytest.raises(CalendarServiceUnavailableError):
        calendar.build_service(settings_row)
