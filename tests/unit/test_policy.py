"""S1-S4, S8, P3, E1: who should have a mirrored event."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from sfacal.core.policy import Action, Reason, decide, is_excluded
from sfacal.core.schedule import ScheduleDeletion, Status
from sfacal.core.settings import OUTSIDE_MASTER, UNSELECTED, Masters, SyncState
from tests.unit.helpers import T0, TOKYO, employee, meeting, ref, task

M = Masters()


def test_s1_plans_are_synced() -> None:
    d = decide(meeting(), "taro", employee(), M)
    assert (d.action, d.reason) == (Action.SYNC, Reason.SYNC)


def test_s1_actual_results_are_not_synced() -> None:
    d = decide(meeting(status=Status.ACTUAL), "taro", employee(), M)
    assert (d.action, d.reason) == (Action.LEAVE, Reason.ACTUAL_NOT_SYNCED)


def test_s1_plan_turned_actual_is_frozen_even_when_excluded_or_participant_removed() -> None:
    actual = meeting(status=Status.ACTUAL, participants=("hanako",))
    d = decide(actual, "taro", employee(excluded_purposes=frozenset({"定期訪問"})), M, mirrored=True)
    assert (d.action, d.reason) == (Action.LEAVE, Reason.FROZEN_ACTUAL)


def test_s2_excluded_purpose_is_removed() -> None:
    d = decide(meeting(purpose="納品"), "taro", employee(excluded_purposes=frozenset({"納品"})), M)
    assert (d.action, d.reason) == (Action.REMOVE, Reason.EXCLUDED)


def test_s3_non_participant_loses_event() -> None:
    d = decide(meeting(participants=("hanako",)), "taro", employee(), M)
    assert (d.action, d.reason) == (Action.REMOVE, Reason.NOT_PARTICIPANT)


@pytest.mark.parametrize(
    "state,reason", [(SyncState.OFF, Reason.EMPLOYEE_OFF), (SyncState.FORBIDDEN, Reason.EMPLOYEE_FORBIDDEN)]
)
def test_s3_employee_off_or_forbidden_is_not_touched(state: SyncState, reason: Reason) -> None:
    for change in (meeting(), meeting(participants=("x",)), ScheduleDeletion(ref("1"), T0)):
        d = decide(change, "taro", employee(state=state), M)
        assert (d.action, d.reason) == (Action.LEAVE, reason)


def test_s3_unknown_employee_is_left_alone() -> None:
    assert decide(meeting(), "taro", None, M).reason is Reason.UNKNOWN_EMPLOYEE


def test_s4_deleted_schedule_removes_all_events() -> None:
    d = decide(ScheduleDeletion(ref("1"), T0), "taro", employee(), M, mirrored=True)
    assert (d.action, d.reason) == (Action.REMOVE, Reason.SCHEDULE_DELETED)


def test_s8_changes_before_sync_start_are_not_sent() -> None:
    emp = employee(sync_start=T0 + timedelta(minutes=1))
    d = decide(meeting(updated_at=T0), "taro", emp, M)
    assert (d.action, d.reason) == (Action.LEAVE, Reason.BEFORE_SYNC_START)
    assert decide(meeting(updated_at=T0 + timedelta(minutes=1)), "taro", emp, M).action is Action.SYNC
    assert decide(meeting(updated_at=T0), "taro", employee(sync_start=None), M).action is Action.SYNC


def test_s8_backfill_lifts_sync_start() -> None:
    emp = employee(sync_start=datetime(2030, 1, 1, tzinfo=TOKYO))
    assert decide(meeting(), "taro", emp, M, backfill=True).action is Action.SYNC


@pytest.mark.parametrize(
    "purpose,excluded,expected",
    [
        ("定期訪問", {"定期訪問"}, True),
        ("定期訪問", {"納品"}, False),
        ("TEL・FAX・MAIL", {"TEL・FAX・MAIL"}, True),
        (None, {UNSELECTED}, True),
        (None, {"定期訪問"}, False),
        ("定期訪問", {UNSELECTED}, False),
        ("展示会", {OUTSIDE_MASTER}, True),
        ("定期訪問", {OUTSIDE_MASTER}, False),
        ("展示会", set(), False),
    ],
)
def test_p3_purpose_exclusions(purpose: str | None, excluded: set[str], expected: bool) -> None:
    emp = employee(excluded_purposes=frozenset(excluded))
    assert is_excluded(meeting(purpose=purpose), emp, M) is expected


@pytest.mark.parametrize(
    "name,excluded,expected",
    [
        ("会議", {"会議"}, True),
        ("会議", {"資料作成"}, False),
        (None, {UNSELECTED}, True),
        ("棚卸", {OUTSIDE_MASTER}, True),
        ("その他", {OUTSIDE_MASTER}, False),
    ],
)
def test_p3_business_name_exclusions(name: str | None, excluded: set[str], expected: bool) -> None:
    emp = employee(excluded_business_names=frozenset(excluded))
    assert is_excluded(task(business_name=name), emp, M) is expected


def test_p3_purpose_exclusion_does_not_apply_to_tasks() -> None:
    emp = employee(excluded_purposes=frozenset({"会議", UNSELECTED}))
    assert not is_excluded(task(business_name="会議"), emp, M)
    assert not is_excluded(task(business_name=None), emp, M)


def test_c9_custom_masters_drive_outside_master() -> None:
    masters = Masters({"展示会": True}, ("棚卸",))
    emp = employee(
        excluded_purposes=frozenset({OUTSIDE_MASTER}), excluded_business_names=frozenset({OUTSIDE_MASTER})
    )
    assert is_excluded(meeting(purpose="定期訪問"), emp, masters)
    assert not is_excluded(meeting(purpose="展示会"), emp, masters)
    assert not is_excluded(task(business_name="棚卸"), emp, masters)
    assert is_excluded(task(business_name="会議"), emp, masters)
