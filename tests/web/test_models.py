"""Data model: encrypted fields, company scoping (U2), default masters (C9)."""

from __future__ import annotations

import pytest
from django.db import connection

from sfacal.directory.companies.models import BusinessName, CompanySettings, Purpose
from sfacal.directory.companies.provisioning import ensure_company
from sfacal.directory.connections.models import ApiToken, SourceConnection, SourceKind, hash_token
from sfacal.directory.employees.models import Employee

pytestmark = pytest.mark.django_db


def _raw(table: str, column: str, pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def test_c6_secrets_are_encrypted_at_rest():
    company = ensure_company("acme", "ACME")
    settings = company.sync_settings
    settings.client_secret = "very-secret-value"
    settings.certificate_password = "pfx-pass"
    settings.certificate_pfx = b"\x30\x82binary-pfx"
    settings.save()
    raw_secret = _raw("companies_companysettings", "client_secret", settings.pk)
    raw_pfx = _raw("companies_companysettings", "certificate_pfx", settings.pk)
    assert "very-secret-value" not in raw_secret and raw_secret.startswith("fernet:")
    assert "binary-pfx" not in raw_pfx
    again = CompanySettings.objects.get(pk=settings.pk)
    assert again.client_secret == "very-secret-value"
    assert again.certificate_password == "pfx-pass"
    assert again.certificate_pfx == b"\x30\x82binary-pfx"


def test_j1_api_key_encrypted_and_webhook_token_unguessable():
    company = ensure_company("acme", "ACME")
    a = SourceConnection.objects.create(company=company, kind=SourceKind.JUSTSFA, name="a", api_key="KEY-123")
    b = SourceConnection.objects.create(company=company, kind=SourceKind.JUSTSFA, name="b")
    assert "KEY-123" not in _raw("connections_sourceconnection", "api_key", a.pk)
    assert len(a.webhook_token) >= 40 and a.webhook_token != b.webhook_token


def test_c9_new_company_gets_default_masters():
    company = ensure_company("acme", "ACME")
    purposes = dict(Purpose.objects.for_company(company).values_list("name", "counted_as_visit"))
    assert purposes["定期訪問"] is True and purposes["TEL・FAX・MAIL"] is False
    assert len(purposes) == 9
    assert list(BusinessName.objects.for_company(company).values_list("name", flat=True)) == [
        "資料作成",
        "伝票発行",
        "会議",
        "その他",
    ]


def test_u2_rows_are_scoped_by_company():
    one = ensure_company("one", "One")
    two = ensure_company("two", "Two")
    Employee.objects.create(company=one, login_id="tanaka")
    Employee.objects.create(company=two, login_id="tanaka")
    assert Employee.objects.for_company(one).count() == 1
    assert Employee.objects.for_company(two).get().company == two


def test_push_tokens_are_stored_hashed_only():
    company = ensure_company("acme", "ACME")
    row, token = ApiToken.issue(company, "sfa")
    assert row.token_hash == hash_token(token)
    assert token not in str(ApiToken.objects.values_list().get(pk=row.pk))
