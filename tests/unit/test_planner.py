"""The planner: desired state vs mirror rows -> operations (S1-S4, S6, S9, C1, C4, E2, P4)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sfacal.core.errors import InputError
from sfacal.core.planner import (
    MirrorRow,
    MirrorStatus,
    OpKind,
    Plan,
    backfill,
    backfill_window_start,
    lost_row,
    pending_row,
    plan,
    row_after,
    transaction_id,
)
from sfacal.core.policy import Reason
from sfacal.core.render import content_hash, render
from sfacal.core.schedule import AllDaySpan, Schedule, ScheduleDeletion, Status, TimedSpan
from sfacal.core.settings import CompanyPolicy, EmployeeSettings, Masters, SyncState, UserIdMode
from tests.unit.helpers import DOMAIN, T0, TOKYO, employee, meeting, ref, task

POLICY = CompanyPolicy(domain=DOMAIN)
M = Masters()
TARO = f"taro@{DOMAIN}"
HANAKO = f"hanako@{DOMAIN}"


def emps(*employees: EmployeeSettings) -> dict[str, EmployeeSettings]:
    return {e.login_id: e for e in employees}


def synced(
    schedule: Schedule,
    login: str = "taro",
    mailbox: str = TARO,
    calendar: str | None = None,
    generation: int = 0,
    event_id: str = "ev1",
) -> MirrorRow:
    """The row after a successful create of ``schedule`` for ``login``."""
    ev = render(schedule, POLICY.timezone)
    return MirrorRow(
        ref=schedule.ref,
        login_id=login,
        mailbox=mailbox,
        calendar_name=calendar,
        transaction_id=transaction_id(schedule.ref, login, mailbox, calendar, generation),
        generation=generation,
        event_id=event_id,
        content_hash=content_hash(ev),
        change_key="ck1",
        synced_revision=schedule.revision,
    )


def kinds(p: Plan) -> list[tuple[OpKind, str, str | None]]:
    return [(op.kind, op.login_id, op.calendar_name) for op in p.operations]


def test_s3_one_event_per_participant_with_sync_on() -> None:
    s = meeting(participants=("taro", "hanako", "jiro", "ghost"))
    p = plan(
        s, emps(employee("taro"), employee("hanako"), employee("jiro", state=SyncState.OFF)), [], POLICY, M
    )
    assert kinds(p) == [(OpKind.CREATE, "taro", None), (OpKind.CREATE, "hanako", None)]
    assert {op.mailbox for op in p.operations} == {TARO, HANAKO}
    reasons = {o.login_id: o.reason for o in p.outcomes}
    assert reasons == {
        "taro": Reason.SYNC,
        "hanako": Reason.SYNC,
        "jiro": Reason.EMPLOYEE_OFF,
        "ghost": Reason.UNKNOWN_EMPLOYEE,
    }
    create = p.operations[0]
    assert create.event is not None and create.event.subject == "赤木電機/定期訪問"
    assert create.content_hash == content_hash(create.event) and create.revision == s.revision
    assert create.transaction_id == transaction_id(s.ref, "taro", TARO, None, 0) and create.generation == 0


def test_s3_removed_participant_loses_event_and_added_one_gets_one() -> None:
    before = meeting(participants=("taro", "hanako"))
    after = meeting(participants=("taro", "jiro"))
    rows = [synced(before), synced(before, "hanako", HANAKO, event_id="ev2")]
    p = plan(after, emps(employee("taro"), employee("hanako"), employee("jiro")), rows, POLICY, M)
    assert kinds(p) == [(OpKind.DELETE, "hanako", None), (OpKind.CREATE, "jiro", None)]
    assert p.operations[0].event_id == "ev2" and p.operations[0].reason is Reason.NOT_PARTICIPANT
    assert {o.login_id: o.reason for o in p.outcomes}["taro"] is Reason.UP_TO_DATE


def test_s3_employee_turned_off_keeps_existing_event() -> None:
    s = meeting(participants=())
    p = plan(s, emps(employee(state=SyncState.OFF)), [synced(meeting())], POLICY, M)
    assert p.operations == () and p.outcomes[0].reason is Reason.EMPLOYEE_OFF


def test_s1_plan_turned_actual_is_not_written_and_stays() -> None:
    s = meeting()
    actual = s.replace(status=Status.ACTUAL, customer_name="変更後", updated_at=T0 + timedelta(hours=1))
    p = plan(actual, emps(employee()), [synced(s)], POLICY, M)
    assert p.operations == () and p.outcomes[0].reason is Reason.FROZEN_ACTUAL
    fresh = plan(meeting(status=Status.ACTUAL), emps(employee()), [], POLICY, M)
    assert fresh.operations == () and fresh.outcomes[0].reason is Reason.ACTUAL_NOT_SYNCED


def test_s2_mirrored_schedule_becoming_excluded_is_removed() -> None:
    s = meeting(purpose="定期訪問")
    changed = s.replace(purpose="納品")
    emp = employee(excluded_purposes=frozenset({"納品"}))
    p = plan(changed, emps(emp), [synced(s)], POLICY, M)
    assert kinds(p) == [(OpKind.DELETE, "taro", None)] and p.operations[0].reason is Reason.EXCLUDED
    assert plan(changed, emps(emp), [], POLICY, M).operations == ()


def test_s4_deletion_removes_all_mirrored_events_including_frozen_and_pending() -> None:
    s = meeting(participants=("taro", "hanako"))
    pending = pending_row(plan(s, emps(employee("hanako")), [], POLICY, M).operations[0])
    rows = [synced(s), pending, lost_row(synced(s, "jiro", f"jiro@{DOMAIN}"))]
    p = plan(
        ScheduleDeletion(s.ref, T0),
        emps(employee("taro"), employee("hanako"), employee("jiro")),
        rows,
        POLICY,
        M,
    )
    assert [(op.kind, op.login_id, op.event_id) for op in p.operations] == [
        (OpKind.DELETE, "hanako", None),  # unconfirmed create: find it by tag / transactionId
        (OpKind.DELETE, "jiro", None),  # lost: the delete finds nothing and leaves a tombstone
        (OpKind.DELETE, "taro", "ev1"),
    ]
    assert p.operations[0].transaction_id == pending.transaction_id
    assert all(op.reason is Reason.SCHEDULE_DELETED for op in p.operations)
    assert row_after(p.operations[1]).status is MirrorStatus.REMOVED


def test_s4_deletion_with_unrelated_rows_is_ignored() -> None:
    other = synced(meeting("99"))
    p = plan(ScheduleDeletion(ref("1"), T0), emps(employee()), [other], POLICY, M)
    assert p.operations == () and p.outcomes == ()


def test_s5_unchanged_content_is_not_resent_and_changed_is_updated() -> None:
    s = meeting()
    row = synced(s)
    same = plan(
        s.replace(updated_at=T0 + timedelta(hours=1), participants=("taro",)),
        emps(employee()),
        [row],
        POLICY,
        M,
    )
    assert same.operations == () and same.outcomes[0].reason is Reason.UP_TO_DATE
    moved = s.replace(
        span=TimedSpan(datetime(2025, 7, 12, 10, tzinfo=TOKYO), datetime(2025, 7, 12, 11, tzinfo=TOKYO))
    )
    upd = plan(moved, emps(employee()), [row], POLICY, M)
    assert kinds(upd) == [(OpKind.UPDATE, "taro", None)]
    op = upd.operations[0]
    assert op.event_id == "ev1" and op.change_key == "ck1" and op.transaction_id == row.transaction_id
    assert op.event is not None and op.event.start == datetime(2025, 7, 12, 10)


def test_s6_transaction_ids_are_deterministic_uuids() -> None:
    r = ref("1")
    tid = transaction_id(r, "taro", TARO, None, 0)
    assert uuid.UUID(tid) and tid == transaction_id(r, "taro", TARO.upper(), None, 0)
    others = {
        transaction_id(r, "taro", TARO, None, 1),
        transaction_id(r, "taro", TARO, "営業", 0),
        transaction_id(r, "taro", HANAKO, None, 0),
        transaction_id(r, "hanako", TARO, None, 0),
        transaction_id(ref("2"), "taro", TARO, None, 0),
    }
    assert tid not in others and len(others) == 5


def test_s6_crash_between_sent_and_recorded_reuses_transaction_id() -> None:
    s = meeting()
    first = plan(s, emps(employee()), [], POLICY, M).operations[0]
    # Crash after sending, before recording: with the intent row, and with no row at all.
    for rows in ([pending_row(first)], []):
        again = plan(s.replace(updated_at=T0 + timedelta(minutes=5)), emps(employee()), rows, POLICY, M)
        assert [(op.kind, op.transaction_id) for op in again.operations] == [
            (OpKind.CREATE, first.transaction_id)
        ]


def test_s9_update_answered_404_recreates_with_next_generation() -> None:
    s = meeting()
    upd = plan(s.replace(content="new"), emps(employee()), [synced(s)], POLICY, M).operations[0]
    again = upd.recreate()
    assert again.kind is OpKind.CREATE and again.generation == 1 and again.event_id is None
    assert again.transaction_id == transaction_id(s.ref, "taro", TARO, None, 1) != upd.transaction_id
    assert again.reason is Reason.RECREATE_LOST
    row = row_after(again, event_id="ev9", change_key="ck9")
    assert (row.status, row.generation, row.event_id, row.content_hash) == (
        MirrorStatus.ACTIVE,
        1,
        "ev9",
        upd.content_hash,
    )


def test_s9_event_deleted_in_calendar_is_recreated_at_next_sfa_change() -> None:
    s = meeting()
    lost = lost_row(synced(s))
    assert lost.status is MirrorStatus.LOST and not lost.is_live and lost.event_id is None
    idle = plan(s, emps(employee()), [lost], POLICY, M)
    assert idle.operations == () and idle.outcomes[0].reason is Reason.LOST_UNCHANGED
    changed = plan(
        s.replace(content="追記", updated_at=T0 + timedelta(hours=1)), emps(employee()), [lost], POLICY, M
    )
    op = changed.operations[0]
    assert (op.kind, op.generation, op.reason) == (OpKind.CREATE, 1, Reason.RECREATE_LOST)
    # Also a change not visible in the event (version only) counts as an SFA change.
    bumped = plan(s.replace(version="2"), emps(employee()), [lost], POLICY, M)
    assert [o.kind for o in bumped.operations] == [OpKind.CREATE]


def test_s9_lost_event_follows_a_calendar_move_and_is_forgotten_on_exclusion() -> None:
    s = meeting()
    lost = lost_row(synced(s))
    moved = plan(s, emps(employee(calendar_name="営業")), [lost], POLICY, M)
    assert kinds(moved) == [(OpKind.DELETE, "taro", None), (OpKind.CREATE, "taro", "営業")]
    # Back to the default calendar, where the row is LOST: create there first; the live event in
    # 営業 waits until the default calendar holds ours (make-before-break).
    back = plan(s, emps(employee()), [lost, synced(s, calendar="営業", event_id="ev2")], POLICY, M)
    assert kinds(back) == [(OpKind.CREATE, "taro", None)] and back.follow_up
    assert back.operations[0].generation == 1
    excluded = plan(s, emps(employee(excluded_purposes=frozenset({"定期訪問"}))), [lost], POLICY, M)
    assert kinds(excluded) == [(OpKind.DELETE, "taro", None)]


def test_removed_tombstone_recreates_with_next_generation() -> None:
    s = meeting(purpose="納品")
    emp_ex = employee(excluded_purposes=frozenset({"納品"}))
    delete = plan(s, emps(emp_ex), [synced(s)], POLICY, M).operations[0]
    tomb = row_after(delete)
    assert tomb.status is MirrorStatus.REMOVED and tomb.event_id is None and tomb.generation == 0
    back = plan(s, emps(employee()), [tomb], POLICY, M).operations[0]
    assert (back.kind, back.generation) == (OpKind.CREATE, 1)
    assert back.transaction_id != delete.transaction_id


def test_c1_sync_off_writes_nothing_and_signals_blocked() -> None:
    p = plan(meeting(), emps(employee()), [], CompanyPolicy(sync_enabled=False, domain=DOMAIN), M)
    assert p.operations == () and p.blocked is Reason.SYNC_DISABLED


def test_c4_calendar_writes_off_writes_nothing() -> None:
    p = plan(
        ScheduleDeletion(ref("1"), T0),
        emps(employee()),
        [synced(meeting())],
        CompanyPolicy(write_enabled=False),
        M,
    )
    assert p.operations == () and p.blocked is Reason.WRITE_DISABLED


def test_e2_user_id_change_moves_event_to_new_mailbox_make_before_break() -> None:
    s = meeting()
    emp = employee(user_id_mode=UserIdMode.EXPLICIT, user_id="Taro.Yamada@example.com")
    p = plan(s, emps(emp), [synced(s)], POLICY, M)
    assert [(op.kind, op.mailbox) for op in p.operations] == [(OpKind.CREATE, "taro.yamada@example.com")]
    assert p.operations[0].reason is Reason.CALENDAR_CHANGED and p.follow_up
    assert p.outcomes[0].kinds == (OpKind.CREATE,) and p.outcomes[0].mailbox == "taro.yamada@example.com"
    # Once the new mailbox holds the event, the old one is deleted.
    created = row_after(p.operations[0], event_id="new-ev")
    p2 = plan(s, emps(emp), [synced(s), created], POLICY, M)
    assert [(op.kind, op.mailbox) for op in p2.operations] == [(OpKind.DELETE, TARO)]
    assert p2.operations[0].reason is Reason.CALENDAR_CHANGED and not p2.follow_up
    assert p2.outcomes[0].kinds == (OpKind.DELETE,) and p2.outcomes[0].reason is Reason.CALENDAR_CHANGED


def test_e2_unresolvable_mailbox_is_reported() -> None:
    p = plan(meeting(), emps(employee()), [], CompanyPolicy(domain=None), M)
    assert p.operations == () and p.outcomes[0].reason is Reason.MAILBOX_UNRESOLVED


def test_p4_calendar_change_creates_in_new_calendar_before_deleting_in_old() -> None:
    s = meeting()
    emp = employee(calendar_name="営業")
    first = plan(s, emps(emp), [synced(s)], POLICY, M)
    assert kinds(first) == [(OpKind.CREATE, "taro", "営業")] and first.follow_up
    # The create was sent but is not confirmed yet (PENDING): the old event still stays.
    pending = plan(s, emps(emp), [synced(s), pending_row(first.operations[0])], POLICY, M)
    assert kinds(pending) == [(OpKind.CREATE, "taro", "営業")] and pending.follow_up
    # The new calendar holds the event: now the old one goes.
    held = row_after(first.operations[0], event_id="ev-new")
    second = plan(s, emps(emp), [synced(s), held], POLICY, M)
    assert kinds(second) == [(OpKind.DELETE, "taro", None)] and not second.follow_up
    assert second.by_mailbox() == {TARO: second.operations}


def test_p4_a_failed_create_in_the_new_calendar_never_deletes_the_old_event() -> None:
    """The new calendar vanished or cannot be written: its row ends as a tombstone (a create that
    failed for good); every later plan tries the new calendar again and leaves the old event."""
    s = meeting()
    emp = employee(calendar_name="営業")
    old = synced(s)
    failed = MirrorRow(
        ref=old.ref,
        login_id="taro",
        mailbox=TARO,
        calendar_name="営業",
        transaction_id="tx",
        status=MirrorStatus.REMOVED,
    )
    again = plan(s.replace(version="2"), emps(emp), [old, failed], POLICY, M)
    assert kinds(again) == [(OpKind.CREATE, "taro", "営業")] and again.follow_up
    assert again.operations[0].generation == 1


def test_p4_s8_a_move_whose_new_place_holds_the_event_is_finished_by_any_plan() -> None:
    """The back-fill (which lifts S8) created the event in the new calendar, then the process died
    before the old event was deleted: an ordinary plan (S8 applies: the schedule changed before the
    sync start) still deletes the old one -- it is a duplicate, not a change to send."""
    s = meeting(updated_at=T0 - timedelta(days=400))
    emp = employee(calendar_name="営業", sync_start=T0)
    held = synced(s, calendar="営業", event_id="ev-new")
    p = plan(s, emps(emp), [synced(s), held], POLICY, M)
    assert kinds(p) == [(OpKind.DELETE, "taro", None)] and not p.follow_up
    alone = plan(s, emps(emp), [synced(s)], POLICY, M)  # no move under way: S8 leaves it
    assert alone.operations == () and alone.outcomes[0].reason is Reason.BEFORE_SYNC_START


def test_p4_lost_events_in_the_old_place_are_cleaned_at_once() -> None:
    """Nothing of ours is live in the old place (the user deleted it): no reason to wait."""
    s = meeting()
    p = plan(s, emps(employee(calendar_name="営業")), [lost_row(synced(s))], POLICY, M)
    assert kinds(p) == [(OpKind.DELETE, "taro", None), (OpKind.CREATE, "taro", "営業")]
    assert not p.follow_up


def test_p4_backfill_window_is_first_day_of_previous_month() -> None:
    assert backfill_window_start(datetime(2025, 7, 15, 12, tzinfo=TOKYO), "Asia/Tokyo") == datetime(
        2025, 6, 1, tzinfo=TOKYO
    )
    assert backfill_window_start(datetime(2025, 1, 5, tzinfo=TOKYO), "Asia/Tokyo") == datetime(
        2024, 12, 1, tzinfo=TOKYO
    )
    # 2025-06-30T16:00Z is already July 1st in Tokyo.
    assert backfill_window_start(datetime(2025, 6, 30, 16, tzinfo=UTC), "Asia/Tokyo") == datetime(
        2025, 6, 1, tzinfo=TOKYO
    )
    assert backfill_window_start(datetime(2025, 6, 30, 16, tzinfo=UTC), "UTC") == datetime(
        2025, 5, 1, tzinfo=UTC
    )


def test_p4_backfill_moves_every_planned_schedule_in_window_without_duplicates() -> None:
    now = datetime(2025, 7, 15, tzinfo=TOKYO)
    at = lambda d: TimedSpan(d, d + timedelta(hours=1))  # noqa: E731
    in_window = meeting("a", start=datetime(2025, 6, 1, 0, 0, tzinfo=TOKYO))
    old = meeting("b", start=datetime(2025, 5, 31, 23, 0, tzinfo=TOKYO))
    actual = meeting("c", status=Status.ACTUAL)
    never_synced = meeting("d", updated_at=T0 - timedelta(days=400))  # before sync start: back-fill lifts S8
    all_day = task("e", all_day=True).replace(span=AllDaySpan(date(2025, 6, 1), date(2025, 6, 2)))
    not_mine = meeting("f", participants=("hanako",))
    rows = [synced(x) for x in (in_window, old, actual)]
    emp = employee(calendar_name="営業", sync_start=T0)
    plans = backfill(emp, [never_synced, not_mine, old, all_day, in_window, actual], rows, POLICY, M, now=now)
    by_ref = {p.ref.record_id: kinds(p) for p in plans}
    assert by_ref == {
        "a": [(OpKind.CREATE, "taro", "営業")],  # the old event goes once the new one exists
        "d": [(OpKind.CREATE, "taro", "営業")],
        "e": [(OpKind.CREATE, "taro", "営業")],
    }
    assert [p.ref.record_id for p in plans] == ["a", "d", "e"]
    assert all(op.login_id == "taro" for p in plans for op in p.operations)
    assert at(T0).start == T0


def test_s11_p4_backfill_create_cut_short_by_a_crash_is_finished_by_the_next_pass() -> None:
    """A back-fill lifts S8; if the process dies between sending a create and recording it, the
    next ordinary pass (which applies S8) still finishes that create with its transactionId, and
    starts nothing new for schedules from before the sync start."""
    now = datetime(2025, 7, 15, tzinfo=TOKYO)
    old = meeting("d", updated_at=T0 - timedelta(days=400))  # before the sync start
    emp = employee(calendar_name="営業", sync_start=T0)
    (started,) = backfill(emp, [old], [], POLICY, M, now=now)
    create = started.operations[0]
    resumed = plan(old, emps(emp), [pending_row(create)], POLICY, M)
    assert [(op.kind, op.transaction_id) for op in resumed.operations] == [
        (OpKind.CREATE, create.transaction_id)
    ]
    untouched = plan(old, emps(emp), [], POLICY, M)
    assert untouched.operations == () and untouched.outcomes[0].reason is Reason.BEFORE_SYNC_START


def test_p4_backfill_is_blocked_when_sync_is_off() -> None:
    plans = backfill(employee(), [meeting()], [], CompanyPolicy(sync_enabled=False), M, now=T0)
    assert len(plans) == 1 and plans[0].blocked is Reason.SYNC_DISABLED


def test_duplicate_rows_in_one_place_are_repaired() -> None:
    s = meeting()
    rows = [synced(s, generation=0, event_id="a"), synced(s, generation=1, event_id="b")]
    p = plan(s, emps(employee()), rows, POLICY, M)
    assert [(op.kind, op.event_id, op.reason) for op in p.operations] == [
        (OpKind.DELETE, "a", Reason.DUPLICATE)
    ]
    assert p.outcomes[0].reason is Reason.DUPLICATE


def test_mirror_row_validation_and_recording() -> None:
    with pytest.raises(InputError) as exc:
        MirrorRow(ref("1"), "taro", " ", None, "tx")
    assert exc.value.field == "mailbox"
    with pytest.raises(InputError) as exc:
        MirrorRow(ref("1"), "taro", TARO, None, "tx", generation=-1)
    assert exc.value.field == "generation"
    assert MirrorRow(ref("1"), "taro", TARO, " ", "tx").status is MirrorStatus.PENDING
    assert MirrorRow(ref("1"), "taro", "Taro@X.com", "", "tx", event_id="e").location == ("taro@x.com", None)
    assert MirrorRow(ref("1"), "t", TARO, None, "tx", status="lost").status is MirrorStatus.LOST  # type: ignore[arg-type]
    create = plan(meeting(), emps(employee()), [], POLICY, M).operations[0]
    with pytest.raises(InputError):
        row_after(create)
    previous = synced(meeting())
    assert pending_row(create, previous).synced_revision == previous.synced_revision


@given(st.text(max_size=60))
def test_s6_transaction_id_is_the_standard_uuid5(name: str) -> None:
    import uuid

    from sfacal.core.planner import uuid5_text

    namespace = uuid.UUID("5b0c7a52-3f4e-4d1a-9a55-0c1f5e7d2b10")
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return
    assert uuid5_text(namespace.bytes, name) == str(uuid.uuid5(namespace, name))
