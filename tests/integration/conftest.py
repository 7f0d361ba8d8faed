"""Fixtures of the integration tests: the Microsoft 365 emulator over TLS and companies wired to it."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sfacal.directory.companies.models import Company, CompanySettings
from sfacal.directory.companies.provisioning import ensure_company
from sfacal.emulators.justsfa import running_emulator as running_justsfa
from sfacal.emulators.m365 import AppInfo, EmulatorHandle, running_emulator
from sfacal.engine import calendar, inbox, loop


@pytest.fixture
def justsfa(tmp_path: Path) -> Iterator[Any]:
    """The JUST.SFA emulator over TLS."""
    with running_justsfa(tmp_path / "justsfa") as handle:
        yield handle


@pytest.fixture(scope="session")
def m365(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorHandle]:
    # Graph throttles some items of a large one-mailbox batch (the emulator's batch_throttle).
    with running_emulator(tmp_path_factory.mktemp("m365"), knobs={"batch_throttle": True}) as handle:
        yield handle


@pytest.fixture
def graph(m365: EmulatorHandle, monkeypatch: pytest.MonkeyPatch) -> Iterator[EmulatorHandle]:
    """The real Graph connector, trusting the emulator's CA; the emulator with id changes switched on
    (every change gives an event a new default id: only the immutable ids the product asks for
    keep working)."""
    monkeypatch.setenv("SFACAL_CA_BUNDLE", str(m365.ca_pem))
    m365.control.set_knobs(rest_ids_change_on_update=True)
    calendar.set_service_factory(None)
    loop.forget_services()
    inbox.set_dispatcher(None)
    try:
        yield m365
    finally:
        loop.forget_services()
        m365.control.set_knobs(latency_ms=0, rest_ids_change_on_update=False)


@dataclass
class Tenant:
    handle: EmulatorHandle
    domain: str
    tenant_id: str
    app: AppInfo

    def mailbox(self, login: str, *calendars: str, **kw: Any) -> str:
        upn = f"{login}@{self.domain}"
        self.handle.control.create_user(self.tenant_id, upn, calendars=list(calendars), **kw)
        return upn

    def events(self, upn: str) -> list[dict[str, Any]]:
        """The stored events of a mailbox, with their writable properties at the top level."""
        return [{**e, **e.get("properties", {})} for e in self.handle.control.events(upn)]


def new_tenant(handle: EmulatorHandle, **app_kwargs: Any) -> Tenant:
    domain = f"t{uuid.uuid4().hex[:10]}.onmicrosoft.com"
    tenant = handle.control.create_tenant(domain)
    app = handle.control.create_app(tenant.id, **app_kwargs)
    return Tenant(handle, domain, tenant.id, app)


def m365_settings(tenant: Tenant) -> dict[str, Any]:
    """``CompanySettings`` values that sync through the emulated tenant's app (by client secret)."""
    return {
        "sync_enabled": True,
        "write_to_calendar": True,
        "client_id": tenant.app.client_id,
        "auth_method": "secret",
        "client_secret": tenant.app.secret,
        "token_endpoint": tenant.handle.token_url(tenant.domain),
        "graph_base_url": tenant.handle.graph_url,
        "domain": tenant.domain,
    }


def wire_company(slug: str, tenant: Tenant, **settings: Any) -> Company:
    company = ensure_company(slug, slug.upper())
    values = {**m365_settings(tenant), **settings}
    cs = CompanySettings.objects.get(company=company)
    for key, value in values.items():
        setattr(cs, key, value)
    cs.save()
    return company


def ca_env(handle: EmulatorHandle) -> dict[str, str]:
    return {**os.environ, "SFACAL_CA_BUNDLE": str(handle.ca_pem)}
