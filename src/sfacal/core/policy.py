"""Which (schedule, employee) pairs should have a mirrored event: S1-S4, S8, P3, E1.

:func:`decide` answers, for one change and one employee, one of three actions:

* ``SYNC`` -- the employee should have an up-to-date event for this schedule;
* ``REMOVE`` -- the employee should not have one: remove any mirrored event;
* ``LEAVE`` -- do not touch the employee's calendar for this schedule at all.

The order of the rules (first match wins):

1. unknown employee -> LEAVE (``UNKNOWN_EMPLOYEE``)
2. employee OFF / FORBIDDEN (E1) -> LEAVE: their calendar is not touched, not even for deletions
3. schedule deleted (S4) -> REMOVE, also an event frozen by S1
4. status 実績 (S1) -> LEAVE: a plan turned actual is frozen; an actual is never created
5. not a participant (S3) -> REMOVE
6. excluded by purpose / business name (S2, P3) -> REMOVE
7. updated before the employee's sync start (S8, E4) -> LEAVE, unless a back-fill asks
8. otherwise -> SYNC
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sfacal.core.frozen import quick_init
from sfacal.core.schedule import Change, Kind, Schedule, ScheduleDeletion
from sfacal.core.settings import OUTSIDE_MASTER, UNSELECTED, EmployeeSettings, Masters, SyncState

__all__ = ["Action", "Decision", "Reason", "decide", "is_excluded"]


class Action(StrEnum):
    SYNC = "sync"
    REMOVE = "remove"
    LEAVE = "leave"


class Reason(StrEnum):
    """Why: stored in the log next to the operation (or its absence)."""

    SYNC = "sync"  # the employee should have the event
    UP_TO_DATE = "up_to_date"  # it is there with this content already
    CALENDAR_CHANGED = "calendar_changed"  # target mailbox/calendar changed (E2, E3, P4)
    DUPLICATE = "duplicate"  # a second row for the same place (repair)
    RECREATE_LOST = "recreate_lost"  # deleted in the calendar, the SFA changed since (S9)
    LOST_UNCHANGED = "lost_unchanged"  # deleted in the calendar, no SFA change yet (S9)
    SCHEDULE_DELETED = "schedule_deleted"  # S4
    FROZEN_ACTUAL = "frozen_actual"  # S1: plan turned actual, event left as it was
    ACTUAL_NOT_SYNCED = "actual_not_synced"  # S1: an actual never gets an event
    NOT_PARTICIPANT = "not_participant"  # S3
    EXCLUDED = "excluded"  # S2 / P3
    BEFORE_SYNC_START = "before_sync_start"  # S8 / E4
    EMPLOYEE_OFF = "employee_off"  # E1
    EMPLOYEE_FORBIDDEN = "employee_forbidden"  # E1
    UNKNOWN_EMPLOYEE = "unknown_employee"
    MAILBOX_UNRESOLVED = "mailbox_unresolved"  # E2: no user ID, or login-ID mode without a domain
    SYNC_DISABLED = "sync_disabled"  # C1
    WRITE_DISABLED = "write_disabled"  # C4


@quick_init
@dataclass(frozen=True)
class Decision:
    action: Action
    reason: Reason


def is_excluded(schedule: Schedule, employee: EmployeeSettings, masters: Masters) -> bool:
    """P3: whether the employee excluded this schedule's purpose (商談) or business name (業務).

    ``未選択`` matches a schedule without a value; ``マスタ設定値以外`` matches a value that is not
    in the master list (C9); any other ticked name matches itself.
    """
    if schedule.kind is Kind.MEETING:
        value, excluded, master = schedule.purpose, employee.excluded_purposes, set(masters.purposes)
    else:
        value, excluded, master = (
            schedule.business_name,
            employee.excluded_business_names,
            set(masters.business_names),
        )
    if not excluded:
        return False
    if value is None:
        return UNSELECTED in excluded
    if value in excluded:
        return True
    return value not in master and OUTSIDE_MASTER in excluded


def decide(
    change: Change,
    login_id: str,
    employee: EmployeeSettings | None,
    masters: Masters,
    *,
    backfill: bool = False,
    mirrored: bool = False,
) -> Decision:
    """The decision for one change and one employee (see the module docstring for the order).

    ``mirrored`` only refines the reason for an actual (``FROZEN_ACTUAL`` vs ``ACTUAL_NOT_SYNCED``).
    """
    if employee is None:
        return Decision(Action.LEAVE, Reason.UNKNOWN_EMPLOYEE)
    if employee.state is SyncState.OFF:
        return Decision(Action.LEAVE, Reason.EMPLOYEE_OFF)
    if employee.state is SyncState.FORBIDDEN:
        return Decision(Action.LEAVE, Reason.EMPLOYEE_FORBIDDEN)
    if isinstance(change, ScheduleDeletion):
        return Decision(Action.REMOVE, Reason.SCHEDULE_DELETED)
    if not change.is_plan:
        return Decision(Action.LEAVE, Reason.FROZEN_ACTUAL if mirrored else Reason.ACTUAL_NOT_SYNCED)
    if login_id not in change.participants:
        return Decision(Action.REMOVE, Reason.NOT_PARTICIPANT)
    if is_excluded(change, employee, masters):
        return Decision(Action.REMOVE, Reason.EXCLUDED)
    if not backfill and employee.sync_start is not None and change.updated_at < employee.sync_start:
        return Decision(Action.LEAVE, Reason.BEFORE_SYNC_START)
    return Decision(Action.SYNC, Reason.SYNC)
