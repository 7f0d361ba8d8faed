"""Stand-ins for the connectors behind the screens' test buttons, for the screen tests.

:func:`installed_tenant`: the calendar service that ``sfacal.engine.calendar.build_service`` gives
(the one the C7 test and the engine use) answers the connection check with success only for the
client secrets the tenant knows, and remembers which settings each check was built from.

:func:`installed_justsfa`: the JUST.SFA check (J1) succeeds only for the API keys it knows.

Test modules make fixtures of them (``yield from installed_tenant()``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from sfacal.calendars.base import CheckResult
from sfacal.core.errors import SecretInvalidError, SourceAuthError
from sfacal.directory.companies.models import CompanySettings
from sfacal.engine import calendar
from sfacal.sources.base import CheckResult as SourceCheckResult
from sfacal.web import checks


@dataclass
class FakeTenant:
    secrets: set[str] = field(default_factory=set)
    seen: list[dict[str, Any]] = field(default_factory=list)

    def service(self, settings: CompanySettings) -> _Service:
        self.seen.append(
            {
                "pk": settings.pk,
                "client_id": settings.client_id,
                "auth_method": settings.auth_method,
                "client_secret": settings.client_secret,
                "certificate_pfx": bytes(settings.certificate_pfx) if settings.certificate_pfx else None,
                "token_endpoint": settings.token_endpoint,
            }
        )
        return _Service(settings.auth_method == "secret" and settings.client_secret in self.secrets)


class _Service:
    def __init__(self, ok: bool) -> None:
        self.ok = ok

    async def check_connection(self, probe_mailbox: str | None = None) -> CheckResult:
        if self.ok:
            return CheckResult(True, details={"calendars": []})
        return CheckResult(False, SecretInvalidError("AADSTS7000215: Invalid client secret provided."))

    async def aclose(self) -> None:
        return None


def installed_tenant() -> Iterator[FakeTenant]:
    tenant = FakeTenant()
    calendar.set_service_factory(tenant.service)  # type: ignore[arg-type]
    try:
        yield tenant
    finally:
        calendar.set_service_factory(None)


@dataclass
class FakeJustSfa:
    keys: set[str] = field(default_factory=set)
    seen: list[str] = field(default_factory=list)

    def check(self, settings: Any, *, lang: str = "ja", **_kw: Any) -> SourceCheckResult:
        self.seen.append(settings.api_key)
        if settings.api_key in self.keys:
            return SourceCheckResult(ok=True)
        return SourceCheckResult.failure([SourceAuthError("401 invalid API key", source="JUST.SFA")])


def installed_justsfa(monkeypatch: pytest.MonkeyPatch) -> FakeJustSfa:
    service = FakeJustSfa()
    monkeypatch.setattr(checks, "check_justsfa", service.check)
    return service
