"""The demo's outside world: the Microsoft 365 and JUST.SFA emulators, seeded.

Both emulators keep their state in memory, so every start seeds them again with the same fixed
identifiers (tenant, client ID, certificate, mailboxes); the certificate lives in the demo's data
directory so the stored company settings keep matching it across restarts.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from sfacal.emulators import justsfa, m365
from sfacal.emulators.justsfa import ScheduleSetup

from .people import JUSTSFA_TENANT, M365_CLIENT_ID, M365_DOMAIN, M365_TENANT_ID, PEOPLE

__all__ = ["DemoCertificate", "World", "ensure_certificate", "start_world"]

CERT_FILE = "demo-app.pfx"
CERT_PASSWORD_FILE = "demo-app.pfx.password"


@dataclass(frozen=True)
class DemoCertificate:
    pfx: bytes
    password: str
    certificate_pem: str


def ensure_certificate(directory: Path) -> DemoCertificate:
    """A password-protected ``.pfx`` for the demo app (created once in ``directory``)."""
    directory.mkdir(parents=True, exist_ok=True)
    pfx_path, pw_path = directory / CERT_FILE, directory / CERT_PASSWORD_FILE
    if pfx_path.exists() and pw_path.exists():
        pfx, password = pfx_path.read_bytes(), pw_path.read_text(encoding="utf-8").strip()
        _key, cert, _ = pkcs12.load_key_and_certificates(pfx, password.encode())
        if cert is not None and cert.not_valid_after_utc > dt.datetime.now(dt.UTC) + dt.timedelta(days=30):
            return DemoCertificate(pfx, password, cert.public_bytes(serialization.Encoding.PEM).decode())
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sfacal demo app")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=730))
        .sign(key, hashes.SHA256())
    )
    password = secrets.token_urlsafe(12)
    pfx = pkcs12.serialize_key_and_certificates(
        b"sfacal-demo", key, cert, None, serialization.BestAvailableEncryption(password.encode())
    )
    pfx_path.write_bytes(pfx)
    pw_path.write_text(password + "\n", encoding="utf-8")
    pfx_path.chmod(0o600)
    pw_path.chmod(0o600)
    return DemoCertificate(pfx, password, cert.public_bytes(serialization.Encoding.PEM).decode())


@dataclass
class World:
    """Both emulators, running and seeded."""

    m365: m365.EmulatorHandle
    justsfa: justsfa.EmulatorHandle
    setup: ScheduleSetup
    certificate: DemoCertificate
    ca_pem: Path

    @property
    def justsfa_base_url(self) -> str:
        return self.justsfa.tenant_url(JUSTSFA_TENANT)

    @property
    def token_endpoint(self) -> str:
        return self.m365.token_url(M365_DOMAIN)


def _seed_m365(handle: m365.EmulatorHandle, certificate: DemoCertificate) -> None:
    control = handle.control
    control.create_tenant(M365_DOMAIN, display_name="デモ商事", tenant_id=M365_TENANT_ID)
    control.create_app(
        M365_TENANT_ID,
        client_id=M365_CLIENT_ID,
        display_name="sfacal demo",
        permissions=("Calendars.ReadWrite",),
        secret=False,
        certificate_pem=certificate.certificate_pem,
    )
    for person in PEOPLE:
        control.create_user(
            M365_TENANT_ID,
            person.mailbox,
            display_name=person.name,
            calendars=[person.calendar] if person.calendar else [],
        )


def start_world(stack: contextlib.ExitStack, directory: Path, *, api_key: str) -> World:
    """Start both emulators (stopped when ``stack`` closes) and seed them."""
    certificate = ensure_certificate(directory)
    m365_handle = stack.enter_context(m365.running_emulator(directory))
    _seed_m365(m365_handle, certificate)
    js_handle = stack.enter_context(justsfa.running_emulator(directory))
    setup = js_handle.control.setup_schedule(
        JUSTSFA_TENANT,
        users=[{"userId": p.login_id, "name": p.name} for p in PEOPLE],
        api_key=api_key,
    )
    return World(m365_handle, js_handle, setup, certificate, m365_handle.ca_pem)
