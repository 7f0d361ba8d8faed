"""Rows read with plain SQL (sfacal.directory.sqlrows) are the ORM's own instances: the same
values after the same conversions (aware datetimes, JSON, decrypted secrets) as a queryset's."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection

from sfacal.directory import sqlrows
from sfacal.directory.companies.models import Company
from sfacal.directory.companies.provisioning import ensure_company
from sfacal.directory.connections.models import SourceConnection
from sfacal.directory.employees.known import unknown_logins
from sfacal.directory.employees.models import Employee
from sfacal.engine import inbox
from sfacal.engine.models import StoredSchedule

pytestmark = pytest.mark.django_db


def _values(row: object, model: type) -> dict[str, object]:
    return {f.attname: getattr(row, f.attname) for f in model._meta.concrete_fields}


def _read(model: type, pk: int) -> object:
    sql = f"SELECT {sqlrows.columns(model, 'x')} FROM {sqlrows.table(model)} x WHERE x.id = %s"
    (values,) = sqlrows.fetch(sql, [pk])
    return sqlrows.build(model, values)


def test_build_equals_the_querysets_instance_with_json_datetimes_and_secrets():
    company = ensure_company("acme", "ACME")
    source = SourceConnection.objects.create(
        company=company,
        kind="justsfa",
        config={"tenant": "t", "日本語": ["a", 1]},
        api_key="k" * 32,
        webhook_header_name="X-Secret",
        webhook_header_value="秘密の値",
    )
    for model, pk in ((Company, company.pk), (SourceConnection, source.pk)):
        built = _read(model, pk)
        assert isinstance(built, model)
        assert not built._state.adding
        assert _values(built, model) == _values(model.objects.get(pk=pk), model)
    built_source = _read(SourceConnection, source.pk)
    assert built_source.webhook_header_value == "秘密の値"  # decrypted, as the ORM reads it
    # stored encrypted: the plain value is not in the row
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT webhook_header_value FROM connections_sourceconnection WHERE id = %s", [source.pk]
        )
        assert "秘密の値" not in str(cursor.fetchone()[0])


def test_stored_state_reads_what_the_orm_reads():
    company = ensure_company("acme", "ACME")
    row = StoredSchedule.objects.create(
        company=company,
        source="push",
        record_id="R-1",
        payload={"title": "定例", "participants": ["tanaka"]},
        content_hash="h",
        source_updated_at=datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC),
    )
    found = inbox.stored_state(company.pk, "push", "R-1", lock=True)
    assert found is not None
    assert _values(found, StoredSchedule) == _values(StoredSchedule.objects.get(pk=row.pk), StoredSchedule)
    assert found.source_updated_at == datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    assert inbox.stored_state(company.pk, "push", "R-2") is None
    assert inbox.stored_state(company.pk, "justsfa", "R-1") is None


def test_unknown_logins_keeps_order_and_scopes_to_the_company():
    acme, other = ensure_company("acme", "ACME"), ensure_company("other", "Other")
    Employee.objects.create(company=acme, login_id="tanaka", name="田中", email="t@example.jp")
    Employee.objects.create(company=other, login_id="suzuki", name="鈴木", email="s@example.jp")
    assert unknown_logins(acme.pk, ["suzuki", "tanaka", "sato", "suzuki"]) == ["suzuki", "sato", "suzuki"]
    assert unknown_logins(acme.pk, []) == []
