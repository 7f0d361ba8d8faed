"""T1-T5, S7, S9: calendar-side changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sfacal.core.planner import MirrorRow, OpKind, lost_row, plan, transaction_id
from sfacal.core.policy import Reason
from sfacal.core.render import FieldMapping, content_hash, render
from sfacal.core.schedule import AllDaySpan, Schedule, Status, TimedSpan
from sfacal.core.settings import CompanyPolicy, Masters
from sfacal.core.twoway import (
    CalendarSnapshot,
    ScheduleEdit,
    TwoWayAction,
    apply_edit,
    decide_calendar_change,
    restore_row,
)
from tests.unit.helpers import DOMAIN, T0, TOKYO, employee, meeting, task

TARO = f"taro@{DOMAIN}"
POLICY = CompanyPolicy(domain=DOMAIN, two_way=True)


def row_for(s: Schedule, mapping: FieldMapping | None = None) -> MirrorRow:
    return MirrorRow(
        ref=s.ref,
        login_id="taro",
        mailbox=TARO,
        calendar_name=None,
        transaction_id=transaction_id(s.ref, "taro", TARO, None, 0),
        event_id="ev1",
        content_hash=content_hash(render(s, "Asia/Tokyo", mapping)),
        change_key="ck1",
        synced_revision=s.revision,
    )


def snap(s: Schedule, mapping: FieldMapping | None = None, **changes: object) -> CalendarSnapshot:
    ev = render(s, "Asia/Tokyo", mapping)
    fields: dict[str, object] = {
        "event_id": "ev1",
        "tag": s.ref,
        "subject": ev.subject,
        "location": ev.location,
        "body": ev.body,
        "start": ev.start,
        "end": ev.end,
        "timezone": "Asia/Tokyo",
        "is_all_day": ev.is_all_day,
        "change_key": "ck2",
    }
    fields.update(changes)
    return CalendarSnapshot(**fields)  # type: ignore[arg-type]


def test_t1_single_participant_edit_is_written_back() -> None:
    s = task(title="定例", business_name=None, content="memo")
    seen = snap(
        s,
        subject="定例（変更）",
        body="memo\r\n追記",
        location="会議室A",
        start=datetime(2025, 7, 16, 10),
        end=datetime(2025, 7, 16, 11),
    )
    d = decide_calendar_change(seen, row_for(s), s, two_way=True)
    assert d.action is TwoWayAction.WRITE_BACK and d.rule == "T1" and d.edit is not None
    assert d.edit.subject == "定例（変更）" and d.edit.body == "memo\n追記" and d.edit.location == "会議室A"
    assert d.edit.span == TimedSpan(
        datetime(2025, 7, 16, 10, tzinfo=TOKYO), datetime(2025, 7, 16, 11, tzinfo=TOKYO)
    )
    assert d.edit.changed_fields == ("subject", "location", "body", "span")
    updated = apply_edit(s, d.edit)
    assert (updated.title, updated.content, updated.customer_address) == (
        "定例（変更）",
        "memo\n追記",
        "会議室A",
    )
    # After the write-back the next plan sends nothing once the engine records calendar_hash.
    assert d.calendar_hash == content_hash(render(updated, "Asia/Tokyo"))


def test_t1_only_changed_fields_are_written_back_with_justsfa_mapping() -> None:
    mapping = FieldMapping()
    s = task(business_name=None, extra={"見出し": "訪問準備", "場所": "本社", "内容": "持ち物"})
    d = decide_calendar_change(
        snap(s, mapping, location="支社"), row_for(s, mapping), s, two_way=True, mapping=mapping
    )
    assert d.action is TwoWayAction.WRITE_BACK and d.edit == ScheduleEdit(location="支社")
    after = apply_edit(s, d.edit, mapping)
    assert (
        after.extra["場所"] == "支社"
        and after.extra["見出し"] == "訪問準備"
        and after.customer_address == "支社"
    )
    full = apply_edit(s, ScheduleEdit(subject="S", body="B"), mapping)
    assert (full.extra["見出し"], full.extra["内容"], full.title, full.content) == ("S", "B", "S", "B")


def test_t1_unchanged_content_with_new_change_key_is_nothing() -> None:
    s = meeting()
    d = decide_calendar_change(snap(s), row_for(s), s, two_way=True)
    assert d.action is TwoWayAction.NONE
    same_key = decide_calendar_change(snap(s, subject="x", change_key="ck1"), row_for(s), s, two_way=True)
    assert same_key.action is TwoWayAction.NONE


def test_t1_snapshot_read_in_another_zone_is_compared_in_company_zone() -> None:
    s = meeting()
    ev = render(s)
    utc_start = ev.start_aware.astimezone(UTC).replace(tzinfo=None)
    utc_end = ev.end_aware.astimezone(UTC).replace(tzinfo=None)
    seen = snap(s, start=utc_start, end=utc_end, timezone="UTC", body=ev.body + "\r\n")
    assert decide_calendar_change(seen, row_for(s), s, two_way=True).action is TwoWayAction.NONE


def test_t1_edit_after_row_hash_cleared_is_compared_with_sfa_version() -> None:
    s = meeting()
    d = decide_calendar_change(snap(s), restore_row(row_for(s)), s, two_way=True)
    assert d.action is TwoWayAction.NONE and d.calendar_hash == content_hash(render(s))


def test_t2_multi_participant_edits_are_restored() -> None:
    s = meeting(participants=("taro", "hanako"))
    row = row_for(s)
    d = decide_calendar_change(snap(s, subject="勝手に変更"), row, s, two_way=True)
    assert (d.action, d.rule) == (TwoWayAction.RESTORE, "T2")
    restored = restore_row(row)
    p = plan(s, {"taro": employee(), "hanako": employee("hanako")}, [restored], POLICY, Masters())
    taro_ops = [op for op in p.operations if op.login_id == "taro"]
    assert [(op.kind, op.event_id) for op in taro_ops] == [(OpKind.UPDATE, "ev1")]
    assert taro_ops[0].event is not None and taro_ops[0].event.subject == "赤木電機/定期訪問"


def test_t3_events_created_in_calendar_are_ignored() -> None:
    s = meeting()
    d = decide_calendar_change(snap(s, tag=None), None, None, two_way=True)
    assert (d.action, d.rule) == (TwoWayAction.IGNORE, "T3")


def test_t4_deleted_in_calendar_does_not_delete_sfa_record() -> None:
    s = meeting()
    d = decide_calendar_change(snap(s, deleted=True), row_for(s), s, two_way=True)
    assert (d.action, d.rule) == (TwoWayAction.MARK_LOST, "T4") and d.edit is None
    # The engine marks the row lost; nothing is re-created until the SFA changes the schedule (S9).
    p = plan(s, {"taro": employee()}, [lost_row(row_for(s))], POLICY, Masters())
    assert p.operations == () and p.outcomes[0].reason is Reason.LOST_UNCHANGED


def test_t5_both_sides_changed_sfa_wins() -> None:
    s = meeting()
    row = row_for(s)
    newer = s.replace(content="SFA 側の変更", version="2")
    d = decide_calendar_change(snap(s, subject="calendar edit"), row, newer, two_way=True)
    assert (d.action, d.rule) == (TwoWayAction.CONFLICT_SFA_WINS, "T5")
    explicit = decide_calendar_change(snap(s, subject="x"), row, s, two_way=True, sfa_changed=True)
    assert explicit.action is TwoWayAction.CONFLICT_SFA_WINS
    p = plan(newer, {"taro": employee()}, [restore_row(row)], POLICY, Masters())
    assert [op.kind for op in p.operations] == [OpKind.UPDATE]


def test_s7_all_day_toggle_in_calendar_two_way_is_a_calendar_edit() -> None:
    s = task()
    seen = snap(s, is_all_day=True, start=datetime(2025, 7, 16), end=datetime(2025, 7, 17))
    d = decide_calendar_change(seen, row_for(s), s, two_way=True)
    assert d.action is TwoWayAction.WRITE_BACK and d.edit is not None
    assert d.edit.span == AllDaySpan(date(2025, 7, 16), date(2025, 7, 17))
    assert apply_edit(s, d.edit).is_all_day
    # A malformed all-day read (end == start) still becomes one whole day.
    odd = snap(s, is_all_day=True, start=datetime(2025, 7, 16, 9), end=datetime(2025, 7, 16, 9))
    odd_d = decide_calendar_change(odd, row_for(s), s, two_way=True)
    assert odd_d.edit is not None and odd_d.edit.span == AllDaySpan(date(2025, 7, 16), date(2025, 7, 17))


def test_s7_all_day_toggle_one_way_is_restored_at_next_update() -> None:
    s = task()
    seen = snap(s, is_all_day=True, start=datetime(2025, 7, 16), end=datetime(2025, 7, 17))
    d = decide_calendar_change(seen, row_for(s), s, two_way=False)
    assert (d.action, d.rule) == (TwoWayAction.IGNORE, "S9")
    changed = s.replace(content="更新", updated_at=T0 + timedelta(hours=1))
    p = plan(changed, {"taro": employee()}, [row_for(s)], CompanyPolicy(domain=DOMAIN), Masters())
    op = p.operations[0]
    assert op.kind is OpKind.UPDATE and op.event is not None
    assert not op.event.is_all_day and (op.event.start, op.event.end) == (
        datetime(2025, 7, 16, 9),
        datetime(2025, 7, 16, 10),
    )


def test_s9_one_way_calendar_edits_are_not_written_back() -> None:
    s = meeting()
    d = decide_calendar_change(snap(s, subject="edited"), row_for(s), s, two_way=False)
    assert (d.action, d.rule) == (TwoWayAction.IGNORE, "S9")
    gone = decide_calendar_change(snap(s, deleted=True), row_for(s), s, two_way=False)
    assert (gone.action, gone.rule) == (TwoWayAction.MARK_LOST, "S9")
    assert decide_calendar_change(snap(s), row_for(s), s, two_way=False).action is TwoWayAction.NONE


def test_twoway_ignores_unknown_rows_deleted_schedules_actuals_and_timeless_reads() -> None:
    s = meeting()
    row = row_for(s)
    assert decide_calendar_change(snap(s), None, s, two_way=True).rule == "S6"
    assert decide_calendar_change(snap(meeting("other")), row, s, two_way=True).rule == "S6"
    assert decide_calendar_change(snap(s, subject="x"), row, None, two_way=True).rule == "S4"
    actual = s.replace(status=Status.ACTUAL)
    assert decide_calendar_change(snap(s, subject="x"), row, actual, two_way=True).rule == "S1"
    assert decide_calendar_change(snap(s, start=None), row, s, two_way=True).action is TwoWayAction.IGNORE
    assert ScheduleEdit().is_empty and not ScheduleEdit(body="").is_empty
