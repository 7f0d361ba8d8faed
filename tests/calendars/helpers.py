"""Helpers shared by the calendar connector tests and the contract suite: a running Microsoft 365
emulator with one tenant, and settings/certificates for the Graph connector."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from sfacal.calendars.base import CreateEvent, EventTag
from sfacal.calendars.msgraph import AuthMethod, GraphSettings, MicrosoftGraphCalendar
from sfacal.core.render import RenderedEvent
from sfacal.core.schedule import SourceRef
from sfacal.emulators.m365 import EmulatorHandle, TenantInfo, running_emulator

T = TypeVar("T")
_counter = itertools.count(1)


@dataclass(frozen=True)
class PfxBundle:
    pfx: bytes
    password: str
    pem: str
    sha1: bytes
    not_valid_after: datetime


def make_certificate(
    password: str = "pfx-pass-123", *, days: int = 365, key_size: int = 2048, not_before_days: int = 1
) -> PfxBundle:
    """A fresh self-signed RSA certificate, exported as a password-protected .pfx."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"sfacal-test-{next(_counter)}")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=not_before_days))
        .not_valid_after(now + timedelta(days=days))
        .sign(key, hashes.SHA256())
    )
    encryption = (
        serialization.BestAvailableEncryption(password.encode()) if password else serialization.NoEncryption()
    )
    pfx = pkcs12.serialize_key_and_certificates(b"sfacal", key, cert, None, encryption)
    pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    return PfxBundle(pfx, password, pem, cert.fingerprint(hashes.SHA1()), cert.not_valid_after_utc)


@dataclass
class M365:
    """One emulator tenant ready for the connector."""

    emu: EmulatorHandle
    tenant: TenantInfo

    @property
    def control(self) -> Any:
        return self.emu.control

    def new_user(self, local: str | None = None, **kwargs: Any) -> str:
        upn = f"{local or 'user' + str(next(_counter))}@{self.tenant.domain}"
        self.control.create_user(self.tenant.id, upn, **kwargs)
        return upn

    def secret_settings(self, **overrides: Any) -> GraphSettings:
        app = self.control.create_app(
            self.tenant.id, permissions=overrides.pop("permissions", ("Calendars.ReadWrite",))
        )
        base = GraphSettings(
            client_id=app.client_id,
            token_endpoint=self.emu.token_url(self.tenant.id),
            auth_method=AuthMethod.SECRET,
            client_secret=app.secret,
            domain=self.tenant.domain,
            graph_base_url=self.emu.graph_url,
            ca_bundle=str(self.emu.ca_pem),
            max_backoff_s=2.0,
        )
        return replace(base, **overrides)

    def certificate_settings(self, cert: PfxBundle | None = None, **overrides: Any) -> GraphSettings:
        cert = cert or make_certificate()
        app = self.control.create_app(self.tenant.id, secret=False, certificate_pem=cert.pem)
        base = GraphSettings(
            client_id=app.client_id,
            token_endpoint=self.emu.token_url(self.tenant.id),
            auth_method=AuthMethod.CERTIFICATE,
            pfx=cert.pfx,
            pfx_password=cert.password,
            domain=self.tenant.domain,
            graph_base_url=self.emu.graph_url,
            ca_bundle=str(self.emu.ca_pem),
            max_backoff_s=2.0,
        )
        return replace(base, **overrides)

    def events(self, upn: str) -> list[dict[str, Any]]:
        return self.control.events(upn)


def start_m365(directory: Path, knobs: dict[str, Any] | None = None) -> Iterator[M365]:
    with running_emulator(directory, knobs=knobs) as emu:
        tenant = emu.control.create_tenant(f"t{next(_counter)}.onmicrosoft.com")
        yield M365(emu, tenant)


def run_with(settings: GraphSettings, scenario: Callable[[MicrosoftGraphCalendar], Awaitable[T]]) -> T:
    """Run ``scenario`` with a fresh connector in a fresh event loop, then close it."""

    async def main() -> T:
        async with MicrosoftGraphCalendar.from_settings(settings) as cal:
            return await scenario(cal)

    return asyncio.run(main())


def create_writes(n: int, prefix: str) -> list[CreateEvent]:
    """``n`` creates of half-hour events an hour apart, each with its own tag and transaction id."""
    start = datetime(2030, 9, 1, 9, 0)
    return [
        CreateEvent(
            RenderedEvent(
                f"訪問 {i}", "東京", "", start + timedelta(hours=i), start + timedelta(hours=i, minutes=30)
            ),
            EventTag(SourceRef("acme", "justsfa", f"{prefix}-{i}"), "taro"),
            f"tx-{prefix}-{i}",
        )
        for i in range(n)
    ]
