"""Rules applied whenever an employee's sync settings change, from any screen (E1–E4, P1, P4)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils import timezone

from sfacal.core.errors import InputError
from sfacal.core.settings import EmployeeSettings
from sfacal.core.settings import UserIdMode as CoreUserIdMode
from sfacal.web import checks
from sfacal.web.companies.audit import record_changes, snapshot
from sfacal.web.employees.models import Employee, SyncState, UserIdMode

SETTINGS_FIELDS = (
    "state",
    "user_id_mode",
    "user_id",
    "calendar_name",
    "excluded_purposes",
    "excluded_business_names",
)
PROFILE_FIELDS = ("login_id", "name", "email")


def resolve_mailbox(mode: str, user_id: str, login_id: str, domain: str) -> str | None:
    """E2: the mailbox user ID — the explicit one, or login ID @ company domain."""
    try:
        return EmployeeSettings(
            login_id=login_id or "?",
            user_id_mode=CoreUserIdMode(mode) if mode in UserIdMode.values else CoreUserIdMode.EXPLICIT,
            user_id=user_id or None,
        ).mailbox(domain or None)
    except (InputError, ValueError):
        return None


def mailbox_of(employee: Employee, domain: str) -> str | None:
    return resolve_mailbox(employee.user_id_mode, employee.user_id, employee.login_id, domain)


def before_change(employee: Employee) -> dict[str, Any]:
    return snapshot(employee, (*PROFILE_FIELDS, *SETTINGS_FIELDS))


def apply_change(employee: Employee, before: Mapping[str, Any], *, personal: bool) -> bool:
    """Finish a change made on ``employee`` (not saved yet): E4, P1 and the P4 back-fill.

    - turning on remembers the moment (E4): only later schedules are sent;
    - turning off from the personal screen drops the link settings (P1);
    - a new target calendar while on asks the engine to move the mirrored events (P4).

    Saves the employee and returns ``True`` when a back-fill was requested.
    """
    if employee.state == SyncState.ON and before.get("state") != SyncState.ON:
        employee.sync_start = timezone.now()
    if personal and employee.state == SyncState.OFF:
        employee.user_id = ""
        employee.calendar_name = ""
    employee.save()
    old_calendar = (before.get("calendar_name") or "").strip()
    new_calendar = (employee.calendar_name or "").strip()
    if (
        employee.state == SyncState.ON
        and before.get("state") == SyncState.ON
        and old_calendar != new_calendar
    ):
        return checks.request_backfill(employee, old_calendar, new_calendar)
    return False


def audit(employee: Employee, before: Mapping[str, Any], user: Any) -> None:
    record_changes(
        company=employee.company,
        user=user,
        instance=employee,
        before=before,
        fields=(*PROFILE_FIELDS, *SETTINGS_FIELDS),
        object_type="employee",
    )
