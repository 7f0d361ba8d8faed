"""A company's CalDAV connection, read from the database into the connector's plain settings.

:func:`build_caldav_service` is what the engine's calendar dispatch calls for a company whose
calendar service is CalDAV; :func:`caldav_settings` is the one place that turns the stored rows
(the company's :class:`~sfacal.directory.connections.models.CalDavConnection` and the employees'
own :class:`~sfacal.directory.connections.models.EmployeeCalDavAccount`) into
:class:`~sfacal.calendars.caldav.CalDavSettings`.

Guarantees:

* An employee's own account is keyed by the mailbox the engine resolves for them (E2), so the
  connector uses it for exactly that employee's writes.
* Saving either row touches the company settings' ``updated_at`` (:func:`touch_company_settings`),
  so the engine's cached connector (keyed by :func:`sfacal.engine.calendar.fingerprint`) is
  rebuilt with the new values.
* The process's CA bundle (``SFACAL_CA_BUNDLE``) is used for the server's certificate, as for
  Microsoft Graph.
"""

from __future__ import annotations

import os

from django.db import connections
from django.utils import timezone

from sfacal.calendars.base import CalendarService
from sfacal.calendars.caldav import CalDavAccount, CalDavCalendar, CalDavSettings
from sfacal.directory.companies.models import CompanySettings
from sfacal.directory.connections.models import CalDavConnection, EmployeeCalDavAccount

from .context import employee_settings

__all__ = ["build_caldav_service", "caldav_settings", "caldav_settings_for", "touch_company_settings"]


def caldav_settings(settings: CompanySettings) -> CalDavSettings:
    """The connector's settings for the company (see the module docstring)."""
    company = settings.company
    row = CalDavConnection.objects.filter(company=company).first()
    accounts: dict[str, CalDavAccount] = {}
    for own in EmployeeCalDavAccount.objects.filter(company=company).select_related("employee"):
        core = employee_settings(own.employee)
        mailbox = core.mailbox(settings.domain or None) if core is not None else None
        if mailbox and own.url:
            accounts[mailbox] = CalDavAccount(own.url, own.username, own.password, discover=True)
    return CalDavSettings(
        base_url=row.base_url if row else "",
        username=row.username if row else "",
        password=row.password if row else "",
        home_pattern=row.home_pattern if row else "{mailbox}/",
        default_calendar=row.default_calendar if row else "",
        accounts=accounts,
        timezone=company.timezone,
        ca_bundle=os.environ.get("SFACAL_CA_BUNDLE") or None,
    )


def caldav_settings_for(company_id: int) -> CalDavSettings:
    """:func:`caldav_settings` by company id, closing this thread's database connection after
    (it runs in a worker thread of the engine's loop)."""
    try:
        row = CompanySettings.objects.select_related("company").get(company_id=company_id)
        return caldav_settings(row)
    finally:
        connections.close_all()


def build_caldav_service(settings: CompanySettings) -> CalendarService:
    """A new CalDAV connector for the company (call it on the loop that will use it). Nothing is
    read here: the connector reads the company's CalDAV rows in a worker thread at first use,
    because the engine builds connectors on its event loop."""
    company_id = settings.company_id
    return CalDavCalendar(lambda: caldav_settings_for(company_id))


def touch_company_settings(company_id: int) -> None:
    """Mark the company's settings changed, so the engine rebuilds its connector."""
    CompanySettings.objects.filter(company_id=company_id).update(updated_at=timezone.now())
