"""Saving one employee (E1-E5, P1-P4), as the employee screens and the personal settings do.

The rules themselves live in one place each: the P1 rule (turning sync off on the personal screen
drops the link settings) here; the engine's side of every settings change (E4 sync start, P3/S2
exclusions, E2 mailbox, P4 calendar back-fill, a new employee's catch-up) in
:func:`sfacal.engine.sync.on_employee_settings_changed`, reached through
:func:`sfacal.directory.employees.changes.settings_changed`; changes to many employees at once
(push API, CSV import) in :mod:`sfacal.directory.employees.bulk`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sfacal.core.errors import InputError
from sfacal.core.settings import EmployeeSettings
from sfacal.core.settings import UserIdMode as CoreUserIdMode
from sfacal.directory.companies.audit import record_changes, snapshot
from sfacal.directory.employees import changes
from sfacal.directory.employees.models import Employee, SyncState, UserIdMode

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
    """The fields a screen may change, copied (lists too) before the form is applied."""
    return {
        name: list(value) if isinstance(value, list) else value
        for name, value in snapshot(employee, (*PROFILE_FIELDS, *SETTINGS_FIELDS)).items()
    }


def apply_change(employee: Employee, before: Mapping[str, Any], *, personal: bool) -> bool:
    """Save a change made on ``employee`` and start the engine's side of it.

    ``before`` is :func:`before_change` of the employee as it was (empty for a new employee).
    Turning sync off from the personal screen drops the link settings (P1); everything else --
    the sync start (E4), exclusions and mailbox (P3/S2, E2), the calendar back-fill (P4), a new
    employee's catch-up -- is the engine's, through :func:`~.changes.settings_changed`.

    Returns ``True`` when a back-fill into a new calendar was started.
    """
    if personal and employee.state == SyncState.OFF:
        employee.user_id = ""
        employee.calendar_name = ""
    employee.save()
    return "backfill" in changes.settings_changed(employee, before)


def audit(employee: Employee, before: Mapping[str, Any], user: Any) -> None:
    record_changes(
        company=employee.company,
        user=user,
        instance=employee,
        before=before,
        fields=(*PROFILE_FIELDS, *SETTINGS_FIELDS),
        object_type="employee",
    )
