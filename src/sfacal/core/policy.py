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

Given a ``trail`` list, :func:`decide` also appends one :class:`Check` per rule it looked at, in
order: the ones the schedule passed and the one that decided (the explainer, :mod:`sfacal.core.explain`,
shows them). The trail is written by the same statements that decide, so it cannot disagree with
the decision.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sfacal.core.frozen import quick_init
from sfacal.core.schedule import Change, Kind, Schedule, ScheduleDeletion
from sfacal.core.settings import OUTSIDE_MASTER, UNSELECTED, EmployeeSettings, Masters, SyncState

__all__ = ["Action", "Check", "Decision", "Reason", "decide", "exclusion_match", "is_excluded"]


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


@quick_init
@dataclass(frozen=True)
class Check:
    """One rule :func:`decide` looked at: ``passed`` when the schedule went on to the next rule;
    ``params`` are the values the rule compared (plain data: names, datetimes)."""

    rule: str  # the SPEC rule (S1, P3, E4, ...) or "hint"
    code: str  # what was found (a key of the explainer's sentences)
    passed: bool
    params: tuple[tuple[str, object], ...] = ()
    action: Action | None = None  # on the check that decided: the decision's action


def _checked(trail: list[Check] | None, rule: str, code: str, passed: bool, **params: object) -> None:
    if trail is not None:
        trail.append(Check(rule, code, passed, tuple(params.items())))


def _decided(
    trail: list[Check] | None, rule: str, code: str, decision: Decision, **params: object
) -> Decision:
    if trail is not None:
        trail.append(Check(rule, code, False, tuple(params.items()), decision.action))
    return decision


def is_excluded(schedule: Schedule, employee: EmployeeSettings, masters: Masters) -> bool:
    """P3: whether the employee excluded this schedule's purpose (商談) or business name (業務)."""
    return exclusion_match(schedule, employee, masters) is not None


def exclusion_match(schedule: Schedule, employee: EmployeeSettings, masters: Masters) -> str | None:
    """P3: the employee's ticked entry that excludes this schedule, or ``None``.

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
        return None
    if value is None:
        return UNSELECTED if UNSELECTED in excluded else None
    if value in excluded:
        return value
    return OUTSIDE_MASTER if value not in master and OUTSIDE_MASTER in excluded else None


def decide(
    change: Change,
    login_id: str,
    employee: EmployeeSettings | None,
    masters: Masters,
    *,
    backfill: bool = False,
    mirrored: bool = False,
    trail: list[Check] | None = None,
) -> Decision:
    """The decision for one change and one employee (see the module docstring for the order).

    ``mirrored`` only refines the reason for an actual (``FROZEN_ACTUAL`` vs ``ACTUAL_NOT_SYNCED``).
    ``trail``, when given, receives the rules looked at (:class:`Check`).
    """
    if employee is None:
        return _decided(
            trail,
            "hint",
            "unknown_employee",
            Decision(Action.LEAVE, Reason.UNKNOWN_EMPLOYEE),
            login_id=login_id,
        )
    if employee.state is SyncState.OFF:
        return _decided(trail, "E1", "employee_off", Decision(Action.LEAVE, Reason.EMPLOYEE_OFF))
    if employee.state is SyncState.FORBIDDEN:
        return _decided(trail, "E1", "employee_forbidden", Decision(Action.LEAVE, Reason.EMPLOYEE_FORBIDDEN))
    _checked(trail, "E1", "employee_on", True)
    if isinstance(change, ScheduleDeletion):
        return _decided(
            trail,
            "S4",
            "schedule_deleted",
            Decision(Action.REMOVE, Reason.SCHEDULE_DELETED),
            deleted_at=change.updated_at,
        )
    if not change.is_plan:
        code = "frozen_actual" if mirrored else "actual_not_synced"
        return _decided(
            trail,
            "S1",
            code,
            Decision(Action.LEAVE, Reason.FROZEN_ACTUAL if mirrored else Reason.ACTUAL_NOT_SYNCED),
            updated_at=change.updated_at,
        )
    _checked(trail, "S1", "plan", True)
    if login_id not in change.participants:
        return _decided(
            trail, "S3", "not_participant", Decision(Action.REMOVE, Reason.NOT_PARTICIPANT), login_id=login_id
        )
    _checked(trail, "S3", "participant", True, login_id=login_id)
    matched = exclusion_match(change, employee, masters)
    if matched is not None:
        value = change.purpose if change.kind is Kind.MEETING else change.business_name
        return _decided(
            trail,
            "P3",
            "excluded",
            Decision(Action.REMOVE, Reason.EXCLUDED),
            entry=matched,
            value=value or "",
            kind=str(change.kind),
        )
    _checked(trail, "P3", "not_excluded", True)
    if employee.sync_start is not None and change.updated_at < employee.sync_start:
        if not backfill:
            return _decided(
                trail,
                "E4",
                "before_sync_start",
                Decision(Action.LEAVE, Reason.BEFORE_SYNC_START),
                sync_start=employee.sync_start,
                updated_at=change.updated_at,
            )
        _checked(trail, "P4", "sync_start_lifted", True, sync_start=employee.sync_start)
    elif employee.sync_start is not None:
        _checked(trail, "E4", "after_sync_start", True, sync_start=employee.sync_start)
    else:
        _checked(trail, "E4", "no_sync_start", True)
    return Decision(Action.SYNC, Reason.SYNC)
