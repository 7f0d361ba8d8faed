"""J3: a user mapping row (name, JUST.SFA user ID, Outlook mail address, on/off) keeps its employee
in step: login ID = the JUST.SFA user ID, explicit mailbox = the mail address, state from on/off."""

from __future__ import annotations

import pytest

from sfacal.core.errors import InputError
from sfacal.directory.companies.provisioning import ensure_company
from sfacal.directory.connections.models import SourceConnection, UserMapping
from sfacal.directory.employees.models import Employee
from sfacal.sources.justsfa import sync_mapping_to_employee, unlink_mapping

pytestmark = pytest.mark.django_db


@pytest.fixture
def source() -> SourceConnection:
    return SourceConnection.objects.create(company=ensure_company("acme", "ACME"), kind="justsfa")


def row(
    source: SourceConnection, user_id: str = "yamada", mail: str = "yamada@example.com", enabled: bool = True
) -> UserMapping:
    return UserMapping.objects.create(
        company=source.company,
        source=source,
        name="山田 太郎",
        external_user_id=user_id,
        mail_address=mail,
        enabled=enabled,
    )


def test_j3_new_row_creates_the_employee(source: SourceConnection):
    mapping = row(source)
    employee = sync_mapping_to_employee(mapping)
    assert (employee.login_id, employee.name, employee.user_id_mode, employee.user_id, employee.state) == (
        "yamada",
        "山田 太郎",
        "explicit",
        "yamada@example.com",
        "on",
    )
    assert employee.sync_start is not None  # E4: turning on remembers the moment
    mapping.refresh_from_db()
    assert mapping.employee_id == employee.pk


def test_j3_on_off_follows_the_row_and_turning_on_again_moves_sync_start(source: SourceConnection):
    mapping = row(source)
    first = sync_mapping_to_employee(mapping).sync_start
    mapping.enabled = False
    mapping.save()
    assert sync_mapping_to_employee(mapping).state == "off"
    mapping.enabled = True
    mapping.mail_address = "t.yamada@example.com"
    mapping.save()
    employee = sync_mapping_to_employee(mapping)
    assert employee.state == "on" and employee.user_id == "t.yamada@example.com"
    assert first is not None and employee.sync_start is not None and employee.sync_start >= first
    unchanged = sync_mapping_to_employee(mapping).sync_start
    assert unchanged == employee.sync_start  # saving again while on keeps the moment
    assert Employee.objects.count() == 1


def test_j3_existing_employee_with_that_login_is_reused(source: SourceConnection):
    existing = Employee.objects.create(
        company=source.company, login_id="yamada", state="off", calendar_name="営業"
    )
    employee = sync_mapping_to_employee(row(source))
    assert employee.pk == existing.pk and employee.state == "on" and employee.calendar_name == "営業"


def test_j3_corrected_user_id_renames_the_employee(source: SourceConnection):
    mapping = row(source, "yamda")
    first = sync_mapping_to_employee(mapping)
    mapping.external_user_id = "yamada"
    mapping.save()
    second = sync_mapping_to_employee(mapping)
    assert second.pk == first.pk and second.login_id == "yamada"


def test_j3_user_id_changed_to_another_employee_links_that_one(source: SourceConnection):
    mapping = row(source, "yamada")
    old = sync_mapping_to_employee(mapping)
    other = Employee.objects.create(company=source.company, login_id="suzuki")
    mapping.external_user_id = "suzuki"
    mapping.save()
    linked = sync_mapping_to_employee(mapping)
    assert linked.pk == other.pk and linked.state == "on"
    old.refresh_from_db()
    assert old.state == "off"


def test_j3_unlinking_turns_the_employee_off(source: SourceConnection):
    mapping = row(source)
    employee = sync_mapping_to_employee(mapping)
    unlink_mapping(mapping)
    employee.refresh_from_db()
    assert employee.state == "off"


@pytest.mark.parametrize(
    ("user_id", "mail", "field"), [("", "a@example.com", "external_user_id"), ("yamada", "", "mail_address")]
)
def test_j3_incomplete_row_is_refused(source: SourceConnection, user_id: str, mail: str, field: str):
    mapping = UserMapping(
        company=source.company, source=source, name="x", external_user_id=user_id, mail_address=mail
    )
    with pytest.raises(InputError) as err:
        sync_mapping_to_employee(mapping)
    assert err.value.field == field
    assert Employee.objects.count() == 0
