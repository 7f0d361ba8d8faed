"""The CalDAV settings screen and an employee's own CalDAV account, against a real Radicale server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from sfacal.directory.companies.audit import AuditEntry
from sfacal.directory.connections.models import CalDavConnection, EmployeeCalDavAccount
from sfacal.directory.employees.models import Employee
from tests.calendars.radicale import SERVICE_PASSWORD, SERVICE_USER, Radicale, start_radicale

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def radicale(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Radicale]:
    with start_radicale(tmp_path_factory.mktemp("radicale-ui")) as server:
        yield server


@pytest.fixture
def trusted(radicale: Radicale, monkeypatch: pytest.MonkeyPatch) -> Radicale:
    monkeypatch.setenv("SFACAL_CA_BUNDLE", radicale.ca_bundle)
    return radicale


def form(server: Radicale, **kw: str) -> dict[str, str]:
    values = {
        "base_url": server.base_url,
        "username": SERVICE_USER,
        "password": SERVICE_PASSWORD,
        "home_pattern": "{mailbox}/",
        "default_calendar": "",
        "probe": "",
        "action": "save",
    }
    values.update(kw)
    return values


def test_save_keeps_the_password_encrypted_and_write_only(
    company: Any, admin_client: Client, trusted: Radicale
) -> None:
    assert admin_client.get(reverse("caldav_settings")).status_code == 200
    assert admin_client.post(reverse("caldav_settings"), form(trusted)).status_code == 302
    row = CalDavConnection.objects.get(company=company)
    assert row.password == SERVICE_PASSWORD
    with connection.cursor() as cur:
        cur.execute("SELECT password FROM connections_caldavconnection WHERE id = %s", [row.pk])
        assert SERVICE_PASSWORD not in cur.fetchone()[0]
    page = admin_client.get(reverse("caldav_settings")).content.decode()
    assert SERVICE_PASSWORD not in page
    admin_client.post(reverse("caldav_settings"), form(trusted, password="", username="other"))
    row.refresh_from_db()
    assert (row.username, row.password) == ("other", SERVICE_PASSWORD)  # empty keeps the stored one
    assert "(changed)" in AuditEntry.objects.filter(object_type="caldav", field="password").get().new_value


def test_save_and_test_reads_the_probe_users_calendars(
    company: Any, admin_client: Client, trusted: Radicale
) -> None:
    mailbox = trusted.new_user(["SFA予定"])
    page = admin_client.post(reverse("caldav_settings"), form(trusted, probe=mailbox, action="test"))
    text = page.content.decode()
    assert page.status_code == 200 and 'class="notice ok"' in text and "SFA予定" in text
    assert CalDavConnection.objects.get(company=company).last_test_ok is True


def test_a_wrong_password_is_explained(company: Any, admin_client: Client, trusted: Radicale) -> None:
    """Also: the library starts a new HTTP session after this 401; it stays under the outbound
    address rule and the company's CA bundle (else this would be a TLS error)."""
    page = admin_client.post(
        reverse("caldav_settings"), form(trusted, password="wrong", action="test"), HTTP_ACCEPT_LANGUAGE="en"
    )
    text = page.content.decode()
    assert 'class="notice bad"' in text and "caldav_auth_failed" in text


def test_a_pattern_without_the_mailbox_is_a_form_error(admin_client: Client, trusted: Radicale) -> None:
    page = admin_client.post(reverse("caldav_settings"), form(trusted, home_pattern="calendars/"))
    assert page.status_code == 200 and "{mailbox}" in page.content.decode()


def test_an_employees_own_account(
    company: Any, admin_client: Client, employee: Employee, other_employee: Employee
) -> None:
    url = reverse("employee_caldav", args=[employee.pk])
    data = {"url": "https://dav.example.jp/", "username": "taro", "password": "taro-pw", "action": "save"}
    assert admin_client.post(url, data).status_code == 302
    account = EmployeeCalDavAccount.objects.get(employee=employee)
    assert (account.username, account.password) == ("taro", "taro-pw")
    page = admin_client.get(reverse("employee_edit", args=[employee.pk])).content.decode()
    assert "taro-pw" not in page and "dav.example.jp" in page
    assert admin_client.post(reverse("employee_caldav", args=[other_employee.pk]), data).status_code == 404
    admin_client.post(url, {"action": "remove"})
    assert not EmployeeCalDavAccount.objects.filter(employee=employee).exists()
