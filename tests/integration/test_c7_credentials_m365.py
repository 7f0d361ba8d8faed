"""C7 against the Microsoft 365 emulator over TLS, through the screen and the engine: a mistyped
client secret is refused before it replaces the working one, sync keeps running on the stored
secret, and only "save without testing" stores it -- which the engine then picks up."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.urls import reverse

from sfacal.directory import crypto
from sfacal.directory.companies.models import AuditEntry, CompanySettings, Membership, Role
from sfacal.directory.companies.provisioning import ensure_company
from sfacal.directory.employees.models import Employee
from sfacal.directory.fields import PREFIX
from sfacal.emulators.m365 import EmulatorHandle
from sfacal.web.companies.tested_first import AUDIT_FIELD
from tests.integration.conftest import Tenant, new_tenant
from tests.integration.test_engine_m365 import change, run, staff
from tests.ui.test_company_settings import form_data

pytestmark = pytest.mark.django_db

WRONG = "Wrong~secret-typed-by-mistake-1"


def stored_secret(settings_pk: int) -> str:
    """The client secret as stored: read the encrypted column itself and decrypt it."""
    table = CompanySettings._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT client_secret FROM {table} WHERE id = %s", [settings_pk])
        (raw,) = cursor.fetchone()
    assert raw.startswith(PREFIX)  # encrypted at rest
    return crypto.decrypt_text(raw[len(PREFIX) :])


def post(client: Client, graph: EmulatorHandle, tenant: Tenant, **values: str) -> Any:
    data = form_data(
        client_id=tenant.app.client_id,
        domain=tenant.domain,
        token_endpoint=graph.token_url(tenant.domain),
        graph_base_url=graph.graph_url,
        **values,
    )
    return client.post(reverse("company_settings"), data)


def test_c7_wrong_secret_is_refused_sync_keeps_the_working_one_until_saved_anyway(graph):
    tenant = new_tenant(graph)
    company = ensure_company("c7tls", "C7 TLS")
    admin = get_user_model().objects.create_user("c7admin")
    Membership.objects.create(user=admin, company=company, role=Role.COMPANY_ADMIN)
    client = Client(HTTP_ACCEPT_LANGUAGE="ja")
    client.force_login(admin)
    upn = tenant.mailbox("taro")
    staff(company, "taro")
    pk = CompanySettings.objects.get(company=company).pk

    # 1. The working secret, entered for the first time, saved and tested.
    first = post(client, graph, tenant, client_secret=tenant.app.secret, action="test")
    assert first.status_code == 200 and first.context["result"].ok, first.context["result"]
    assert stored_secret(pk) == tenant.app.secret
    change(company, "1", participants=("taro",))
    assert run(company).succeeded == 1
    assert len(tenant.events(upn)) == 1

    # 2. A mistyped secret: refused by the real token endpoint, nothing stored.
    for action in ("test", "save"):
        refused = post(client, graph, tenant, client_secret=WRONG, action=action)
        assert refused.status_code == 200 and refused.context["refused"]
        assert refused.context["result"].code == "secret_invalid"
        body = refused.content.decode()
        assert "新しい認証情報は保存していません。これまでの認証情報を引き続き使用しています。" in body
        assert WRONG not in body
    assert stored_secret(pk) == tenant.app.secret
    assert CompanySettings.objects.get(pk=pk).last_test_ok is True
    # ... and sync through the engine still works with the stored secret.
    change(company, "2", participants=("taro",))
    summary = run(company)
    assert (summary.succeeded, summary.failed) == (1, 0)
    assert len(tenant.events(upn)) == 2

    # 3. "Save without testing": stored (the secret held from the refused submission), audited,
    #    and the engine picks it up at its next pass -- the tenant refuses it.
    saved = post(client, graph, tenant, held=refused.context["held_token"], action="save_untested")
    assert saved.status_code == 302
    assert stored_secret(pk) == WRONG
    assert AuditEntry.objects.for_company(company).get(field=AUDIT_FIELD).new_value == "client_secret"
    change(company, "3", participants=("taro",))
    assert run(company).failed == 1
    assert Employee.objects.get(company=company).last_error_code == "secret_invalid"
    assert len(tenant.events(upn)) == 2

    # 4. A rotated secret that works replaces the stored (broken) one once its test passed.
    rotated = graph.control.add_secret(tenant.app.client_id)
    fixed = post(client, graph, tenant, client_secret=rotated.value)
    assert fixed.status_code == 200 and fixed.context["result"].ok
    assert stored_secret(pk) == rotated.value
    change(company, "4", participants=("taro",))
    run(company)
    assert Employee.objects.get(company=company).last_error_code == ""
    assert len(tenant.events(upn)) >= 3
