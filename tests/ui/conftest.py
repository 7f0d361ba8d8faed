"""Fixtures of the screen tests: two companies, their administrators and employees."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, NoEncryption, pkcs12
from cryptography.x509.oid import NameOID
from django.contrib.auth import get_user_model
from django.test import Client

from sfacal.directory.companies.models import Company, Membership, Role
from sfacal.directory.companies.provisioning import ensure_company
from sfacal.directory.employees.models import Employee, SyncState
from tests.engine.fakecal import FakeCalendar, installed

PASSWORD = "correct-horse-battery-9"


def make_user(company: Company | None, username: str, role: str) -> object:
    user = get_user_model().objects.create_user(username=username, password=PASSWORD)
    Membership.objects.create(user=user, company=company, role=role)
    return user


def signed_in(user: object, lang: str = "ja") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=lang)
    client.force_login(user)
    client.cookies["django_language"] = lang
    return client


@pytest.fixture(autouse=True)
def _fast_passwords(settings: object) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # type: ignore[attr-defined]


@pytest.fixture
def company(db: object) -> Company:
    company = ensure_company("acme", "ACME 株式会社")
    settings = company.sync_settings
    settings.domain = "acme.onmicrosoft.com"
    settings.save()
    return company


@pytest.fixture
def other_company(db: object) -> Company:
    return ensure_company("other", "Other Inc.")


@pytest.fixture
def admin_user(company: Company) -> object:
    return make_user(company, "admin", Role.COMPANY_ADMIN)


@pytest.fixture
def employee(company: Company) -> Employee:
    user = make_user(company, "taro", Role.EMPLOYEE)
    return Employee.objects.create(
        company=company, login_id="taro", name="山田太郎", account=user, state=SyncState.OFF
    )


@pytest.fixture
def other_employee(other_company: Company) -> Employee:
    user = make_user(other_company, "jiro", Role.EMPLOYEE)
    return Employee.objects.create(company=other_company, login_id="jiro", name="Jiro", account=user)


@pytest.fixture
def admin_client(admin_user: object) -> Client:
    return signed_in(admin_user)


@pytest.fixture
def client_for() -> Callable[..., Client]:
    return signed_in


def make_pfx(
    password: str | None = "pfx-pass", days: int = 365, not_after: dt.datetime | None = None
) -> tuple[bytes, bytes]:
    """A self-signed certificate with its key as .pfx, and the certificate's SHA-1 thumbprint; it
    expires ``days`` from now, or at ``not_after``."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sfacal test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(min(now, not_after or now) - dt.timedelta(days=1))
        .not_valid_after(not_after or now + dt.timedelta(days=days))
        .sign(key, hashes.SHA256())
    )
    enc = BestAvailableEncryption(password.encode()) if password else NoEncryption()
    pfx = pkcs12.serialize_key_and_certificates(b"sfacal", key, cert, None, enc)
    return pfx, cert.fingerprint(hashes.SHA1())


@pytest.fixture
def calendar_service(company: Company) -> Iterator[FakeCalendar]:
    """An in-memory calendar service for the company, with credentials that pass the local checks."""
    settings = company.sync_settings
    settings.client_id = "00000000-0000-0000-0000-000000000001"
    settings.auth_method = "secret"
    settings.client_secret = "not-a-real-secret"
    settings.token_endpoint = "https://login.microsoftonline.com/acme.onmicrosoft.com/oauth2/v2.0/token"
    settings.save()
    with installed() as fake:
        yield fake
