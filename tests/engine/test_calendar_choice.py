"""``build_service`` is the one place a company's ``calendar_service`` becomes a connector: Microsoft
365 by default, Google Calendar, CalDAV through its connector module when installed, and a clear
configuration error (never another service) otherwise."""

from __future__ import annotations

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


def test_c2_caldav_builds_the_caldav_connector(settings_row: CompanySettings) -> None:
    from sfacal.calendars.caldav import CalDavCalendar

    settings_row.calendar_service = "caldav"
    assert isinstance(calendar.build_service(settings_row), CalDavCalendar)


def test_c2_unknown_service_is_a_configuration_error(settings_row: CompanySettings) -> None:
    settings_row.calendar_service = "exchange2010"
    with pytest.raises(CalendarServiceUnavailableError) as caught:
        calendar.build_service(settings_row)
    assert caught.value.user_message("en") and caught.value.hint("ja")
