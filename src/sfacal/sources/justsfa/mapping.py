"""J3: the user mapping table (name, JUST.SFA user ID, Outlook mail address, on/off) and the
employees it stands for.

For JUST.SFA an employee *is* a JUST.SFA user: ``Employee.login_id`` is the JUST.SFA user ID (what
schedules carry as participants), the mailbox is given explicitly (``user_id_mode`` explicit,
``user_id`` = the mail address) and the state follows the row's on/off switch. The screens call
:func:`sync_mapping_to_employee` after saving a row and :func:`unlink_mapping` before deleting one.

A participant without a row is kept in the stored schedule; once a row is added, the employee
exists and :func:`sfacal.directory.employees.changes.settings_changed` (the engine) syncs the stored schedules that
named them (the catch-up of a new employee); a row that changes an existing employee's state or
mailbox goes through the same function with the employee's settings before the change (E4 sync
start, E2 mailbox move).
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from sfacal.core.errors import InputError
from sfacal.directory.connections.models import UserMapping
from sfacal.directory.employees import changes
from sfacal.directory.employees.models import Employee, SyncState, UserIdMode

__all__ = ["sync_mapping_to_employee", "unlink_mapping"]

_SETTINGS = ("state", "user_id_mode", "user_id")  # what a row decides of its employee


def _clean(mapping: UserMapping) -> tuple[str, str]:
    user_id = (mapping.external_user_id or "").strip()
    mail = (mapping.mail_address or "").strip()
    if not user_id:
        raise InputError("external_user_id", "is required", reason_ja="JUST.SFAユーザーIDを入力してください")
    if len(user_id) > 150:
        raise InputError("external_user_id", "at most 150 characters", reason_ja="150文字以内にしてください")
    if not mail or "@" not in mail:
        raise InputError(
            "mail_address", "a mail address is required", reason_ja="Outlookメールアドレスを入力してください"
        )
    return user_id, mail


@transaction.atomic
def sync_mapping_to_employee(mapping: UserMapping) -> Employee:
    """Create or update the employee of a mapping row (see the module doc) and link the row.

    * login ID = the JUST.SFA user ID; name from the row; ``user_id_mode`` explicit; ``user_id``
      and ``email`` = the mail address;
    * state ``on`` when the row is on, else ``off``; the engine's side of the change (E4 sync
      start, E2 mailbox, a new employee's catch-up) follows after the save;
    * when the row's user ID changed, its linked employee is renamed (unless another employee
      already has the new ID: then that one is linked and the old one turned off).
    """
    user_id, mail = _clean(mapping)
    company_id = mapping.company_id
    employee = Employee.objects.select_for_update().filter(company_id=company_id, login_id=user_id).first()
    linked = mapping.employee
    if employee is None and linked is not None and linked.company_id == company_id:
        employee = Employee.objects.select_for_update().get(pk=linked.pk)
        employee.login_id = user_id  # the row's user ID was corrected: follow it
    elif employee is not None and linked is not None and linked.pk != employee.pk:
        Employee.objects.filter(pk=linked.pk).update(state=SyncState.OFF)
    if employee is None:
        employee = Employee(company_id=company_id, login_id=user_id)
    before: dict[str, Any] = {} if employee.pk is None else {f: getattr(employee, f) for f in _SETTINGS}
    employee.name = (mapping.name or "").strip()[:200] or employee.name
    employee.user_id_mode = UserIdMode.EXPLICIT
    employee.user_id = mail
    employee.email = mail
    employee.state = SyncState.ON if mapping.enabled else SyncState.OFF
    employee.save()
    if mapping.employee_id != employee.pk:
        mapping.employee = employee
        UserMapping.objects.filter(pk=mapping.pk).update(employee=employee)
    if not before or any(before[f] != getattr(employee, f) for f in _SETTINGS):
        changes.settings_changed(employee, before)
    return employee


@transaction.atomic
def unlink_mapping(mapping: UserMapping) -> None:
    """Before a row is deleted: its employee stops syncing (kept, with its log and mirror rows)."""
    if mapping.employee_id is not None:
        Employee.objects.filter(pk=mapping.employee_id).update(state=SyncState.OFF)
