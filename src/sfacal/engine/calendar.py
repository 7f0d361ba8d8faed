"""Which :class:`~sfacal.calendars.base.CalendarService` the engine talks to for a company.

The engine executes calendar writes only through the protocol. By default a company's stored
settings (C6) become a Microsoft Graph connector; tests and benchmarks install another factory
(for example an in-memory calendar) with :func:`set_service_factory`.

Services are async and bound to the event loop they are used on; the engine builds them on its
own loop (:mod:`sfacal.engine.loop`) and keeps one per company until the settings change
(:func:`fingerprint`), so HTTP connections and tokens are reused from one pass to the next.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from typing import Any

from sfacal.calendars.base import CalendarService
from sfacal.calendars.msgraph import AuthMethod, GraphSettings, MicrosoftGraphCalendar
from sfacal.config import GRAPH_APP_LIMIT_ENV, GRAPH_APP_WINDOW_ENV, env_int
from sfacal.directory.companies.models import CompanySettings

__all__ = [
    "ServiceFactory",
    "build_service",
    "fingerprint",
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
        settings.client_id,
        settings.auth_method,
        settings.token_endpoint,
        settings.graph_base_url,
        settings.domain,
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


def build_service(settings: CompanySettings) -> CalendarService:
    """A new calendar service for the company (call it on the loop that will use it)."""
    if _factory is not None:
        return _factory(settings)
    return MicrosoftGraphCalendar.from_settings(graph_settings(settings))
