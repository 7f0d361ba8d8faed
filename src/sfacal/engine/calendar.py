"""Which :class:`~sfacal.calendars.base.CalendarService` the engine talks to for a company.

The engine executes calendar writes only through the protocol. :func:`build_service` is the one
place that turns a company's stored settings into a connector, by ``calendar_service`` (C2):
``m365`` -> Microsoft Graph (C6), ``google`` -> Google Calendar (service account with domain-wide
delegation), ``caldav`` -> any CalDAV server (:func:`sfacal.engine.caldav_settings.build_caldav_service`). An
unknown value is refused with :class:`~sfacal.core.errors.CalendarServiceUnavailableError` -- never
silently sent to another service. Tests and
benchmarks install another factory (for example an in-memory calendar) with
:func:`set_service_factory`.

Services are async and bound to the event loop they are used on; the engine builds them on its
own loop (:mod:`sfacal.engine.loop`) and keeps one per company until the settings change
(:func:`fingerprint`), so HTTP connections and tokens are reused from one pass to the next.

The Google and CalDAV connectors (and the libraries they use) are imported when a company first
needs one: an engine process writing to Microsoft 365 does not hold them (~9 MB).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sfacal.calendars.base import CalendarService
from sfacal.calendars.msgraph import AuthMethod, GraphSettings, MicrosoftGraphCalendar
from sfacal.config import GRAPH_APP_LIMIT_ENV, GRAPH_APP_WINDOW_ENV, env_int
from sfacal.core.errors import CalendarServiceUnavailableError
from sfacal.directory.companies.models import CalendarService as ServiceChoice
from sfacal.directory.companies.models import CompanySettings

if TYPE_CHECKING:
    from sfacal.calendars.google import GoogleSettings

__all__ = [
    "ServiceFactory",
    "build_service",
    "fingerprint",
    "google_settings",
    "graph_settings",
    "set_service_factory",
]

ServiceFactory = Callable[[CompanySettings], CalendarService]

_factory: ServiceFactory | None = None


def set_service_factory(factory: ServiceFactory | None) -> None:
    """Install (or with ``None`` remove) the factory that builds a company's calendar service."""
    global _factory
    _factory = factory


def fingerprint(settings: CompanySettings) -> str:
    """Changes whenever anything the connector depends on changes (credentials, URLs)."""
    parts = [
        str(settings.company_id),
        str(settings.updated_at.timestamp() if settings.updated_at else ""),
        settings.calendar_service,
        settings.client_id,
        settings.auth_method,
        settings.token_endpoint,
        settings.graph_base_url,
        settings.domain,
        hashlib.sha256((settings.google_service_account_key or "").encode()).hexdigest(),
        os.environ.get(GOOGLE_API_URL_ENV, ""),
        str(id(_factory)),
        os.environ.get("SFACAL_CA_BUNDLE", ""),
    ]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def graph_settings(settings: CompanySettings, **overrides: Any) -> GraphSettings:
    """The Graph connector's settings for a company (C6): the one place that turns the stored
    company settings (and the process's CA bundle, ``SFACAL_CA_BUNDLE``, and Graph's limit per
    application, ``SFACAL_GRAPH_APP_LIMIT`` requests per ``SFACAL_GRAPH_APP_WINDOW_S`` seconds,
    default 130,000 per 10) into them."""
    company = settings.company
    method = AuthMethod.SECRET if settings.auth_method == "secret" else AuthMethod.CERTIFICATE
    values: dict[str, Any] = {
        "client_id": settings.client_id,
        "token_endpoint": settings.token_endpoint,
        "auth_method": method,
        "pfx": bytes(settings.certificate_pfx) if settings.certificate_pfx else None,
        "pfx_password": settings.certificate_password or None,
        "thumbprint": settings.certificate_thumbprint or None,
        "client_secret": settings.client_secret or None,
        "secret_expires_at": settings.client_secret_expires_at,
        "domain": settings.domain or None,
        "graph_base_url": settings.graph_base_url,
        "ca_bundle": os.environ.get("SFACAL_CA_BUNDLE") or None,
        "timezone": company.timezone,
        "app_request_limit": env_int(GRAPH_APP_LIMIT_ENV, 130_000),
        "app_window_s": float(env_int(GRAPH_APP_WINDOW_ENV, 10)),
    }
    values.update(overrides)
    return GraphSettings(**values)


def google_settings(settings: CompanySettings, **overrides: Any) -> GoogleSettings:
    """The Google Calendar connector's settings for a company: the stored service-account key
    (an unreadable key becomes the connector's setup error, answered with its hint), the
    Workspace domain, the company's zone, the process's CA bundle, and ``SFACAL_GOOGLE_API_URL``
    (default ``https://www.googleapis.com``; the emulator's address in tests and the demo)."""
    from sfacal.calendars.google import GoogleSettings

    values: dict[str, Any] = {
        "domain": settings.domain or None,
        "ca_bundle": os.environ.get("SFACAL_CA_BUNDLE") or None,
        "timezone": settings.company.timezone,
    }
    api_url = os.environ.get(GOOGLE_API_URL_ENV)
    if api_url:
        values["api_base_url"] = api_url
    values.update(overrides)
    return GoogleSettings.from_key_text(settings.google_service_account_key or None, **values)


GOOGLE_API_URL_ENV = "SFACAL_GOOGLE_API_URL"


def build_service(settings: CompanySettings) -> CalendarService:
    """A new calendar service for the company (call it on the loop that will use it)."""
    if _factory is not None:
        return _factory(settings)
    chosen = settings.calendar_service or ServiceChoice.MICROSOFT_365
    if chosen == ServiceChoice.MICROSOFT_365:
        return MicrosoftGraphCalendar.from_settings(graph_settings(settings))
    if chosen == ServiceChoice.GOOGLE:
        from sfacal.calendars.google import GoogleCalendar

        return GoogleCalendar.from_settings(google_settings(settings))
    if chosen == ServiceChoice.CALDAV:
        from sfacal.engine.caldav_settings import build_caldav_service

        return build_caldav_service(settings)
    raise CalendarServiceUnavailableError(f"unknown calendar service {chosen!r}", service=chosen)
