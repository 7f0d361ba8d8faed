"""The explainer (sfacal.core.explain): one test per outcome, named with its rule, and a property
that holds the explainer's verdict to the planner's operations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from sfacal.core.explain import TEXTS, Step, explain, step
from sfacal.core.planner import MirrorRow, MirrorStatus, OpKind, plan, transaction_id
from sfacal.core.policy import Action, Reason, decide
from sfacal.core.render import content_hash, render
from sfacal.core.schedule import Schedule, ScheduleDeletion, Status
from sfacal.core.settings import (
    OUTSIDE_MASTER,
    UNSELECTED,
    CompanyPolicy,
    EmployeeSettings,
    Masters,
    SyncState,
    UserIdMode,
)
from tests.unit.helpers import DOMAIN, T0, TOKYO, employee, meeting, task

POLICY = CompanyPolicy(domain=DOMAIN)
M = Masters()
TARO = f"taro@{DOMAIN}"


def emps(*employees: EmployeeSettings) -> dict[str, EmployeeSettings]:
    return {e.login_id: e for e in employees}


def synced(schedule: Schedule, login: str = "taro", calendar: str | None = None, **kw: object) -> MirrorRow:
    ev = render(schedule, POLICY.timezone)
    mailbox = f"{login}@{DOMAIN}"
    return MirrorRow(
        ref=schedule.ref,
        login_id=login,
        mailbox=mailbox,
        calendar_name=calendar,
        transaction_id=transaction_id(schedule.ref, login, mailbox, calendar, 0),
        event_id="ev1",
        content_hash=content_hash(ev),
        synced_revision=schedule.revision,
        **kw,  # type: ignore[arg-type]
    )


def codes(steps: tuple[Step, ...]) -> list[str]:
    return [s.code for s in steps]


def only(schedule: object, *employees: EmployeeSettings, rows: tuple[MirrorRow, ...] = (), **kw: object):  # type: ignore[no-untyped-def]
    result = explain(schedule, emps(*employees), rows, kw.pop("policy", POLICY), kw.pop("masters", M), **kw)  # type: ignore[arg-type]
    assert len(result.verdicts) >= 1
    return result, result.verdicts[0]


def test_S3_participant_gets_an_event_created_with_the_chain_of_passed_rules() -> None:
    s = meeting()
    result, v = only(s, employee())
    assert v.action is Action.SYNC and v.kinds == (OpKind.CREATE,) and v.reason is Reason.SYNC
    assert codes(v.steps) == [
        "employee_on",
        "plan",
        "participant",
        "not_excluded",
        "after_sync_start",
        "create",
    ]
    assert [s.rule for s in v.steps] == ["E1", "S1", "S3", "P3", "E4", "S3"]
    assert v.steps[-1].text("en") == f"An event is created in {TARO} (the default calendar)"
    assert "既定の予定表" in v.steps[-1].text("ja")
    assert result.event is not None and result.event.subject == "赤木電機/定期訪問"


def test_S3_a_removed_participant_loses_the_event() -> None:
    s = meeting(participants=("hanako",))
    result = explain(s, emps(employee(), employee("hanako")), [synced(meeting())], POLICY, M)
    v = result.verdict("taro")
    assert v is not None and v.action is Action.REMOVE and v.kinds == (OpKind.DELETE,)
    assert codes(v.steps)[-2:] == ["not_participant", "removes"]
    assert v.steps[-2].rule == "S3" and "taro" in v.steps[-2].text("en")


def test_S1_plan_turned_actual_is_frozen_with_the_time_it_turned() -> None:
    turned = datetime(2025, 7, 12, 1, 2, tzinfo=UTC)  # 10:02 in Tokyo
    s = meeting(status=Status.ACTUAL, updated_at=turned)
    _, v = only(s, employee(), rows=(synced(meeting()),))
    assert v.action is Action.LEAVE and v.reason is Reason.FROZEN_ACTUAL and not v.writes
    last = v.steps[-1]
    assert (last.rule, last.code) == ("S1", "frozen_actual")
    assert last.text("en") == "実績 (actual) since 2025/7/12 10:02, so the event is frozen as it was"
    assert dict(last.values)["updated_at"] == turned.isoformat()


def test_S1_an_actual_is_never_created() -> None:
    _, v = only(meeting(status=Status.ACTUAL), employee())
    assert v.reason is Reason.ACTUAL_NOT_SYNCED and v.steps[-1].code == "actual_not_synced"


def test_S2_P3_excluded_purpose_names_the_setting() -> None:
    s = meeting(purpose="集金")
    _, v = only(s, employee(excluded_purposes=frozenset({"集金"})), rows=(synced(meeting()),))
    assert v.action is Action.REMOVE and v.kinds == (OpKind.DELETE,)
    excluded = v.steps[-2]
    assert (excluded.rule, excluded.code) == ("P3", "excluded")
    assert "集金" in excluded.text("en") and "集金" in excluded.text("ja")


def test_P3_pseudo_entries_are_named_in_the_readers_language() -> None:
    none = task(business_name=None)
    _, v = only(none, employee(excluded_business_names=frozenset({UNSELECTED})))
    assert "*None chosen*" in v.steps[-2].text("en") and "*未選択*" in v.steps[-2].text("ja")
    other = task(business_name="社外")
    masters = Masters(business_names=("会議",))
    _, v = only(other, employee(excluded_business_names=frozenset({OUTSIDE_MASTER})), masters=masters)
    assert v.steps[-2].code == "excluded" and "*Not in the master*" in v.steps[-2].text("en")
    assert v.steps[-1].code == "nothing_to_remove"


def test_S4_deleted_schedule_removes_even_a_frozen_event() -> None:
    gone = ScheduleDeletion(meeting().ref, T0 + timedelta(days=3))
    _, v = only(gone, employee(), rows=(synced(meeting()),))
    assert v.action is Action.REMOVE and v.reason is Reason.SCHEDULE_DELETED
    assert codes(v.steps) == ["employee_on", "schedule_deleted", "removes"]
    assert v.steps[1].rule == "S4"


def test_S5_S7_changed_content_is_an_update_of_every_field() -> None:
    old = meeting()
    new = meeting(purpose="見積提出", updated_at=T0 + timedelta(hours=1))
    result, v = only(new, employee(), rows=(synced(old),))
    assert v.kinds == (OpKind.UPDATE,) and v.steps[-1].code == "update" and v.steps[-1].rule == "S5"
    assert "(S7)" in v.steps[-1].text("en")
    assert result.event is not None and result.event.subject == "赤木電機/見積提出"


def test_S6_unchanged_content_is_not_resent() -> None:
    s = meeting()
    _, v = only(s, employee(), rows=(synced(s),))
    assert v.reason is Reason.UP_TO_DATE and not v.writes and v.steps[-1].code == "up_to_date"


def test_S6_a_second_row_for_the_same_place_is_a_removed_duplicate() -> None:
    s = meeting()
    first = synced(s)
    second = MirrorRow(
        ref=s.ref,
        login_id="taro",
        mailbox=TARO.upper(),  # normalised to the same place
        calendar_name=None,
        transaction_id="other",
        generation=1,
        event_id="ev2",
        content_hash=first.content_hash,
    )
    result = explain(s, emps(employee()), [first, second], POLICY, M)
    reference = plan(s, emps(employee()), [first, second], POLICY, M)
    v = result.verdict("taro")
    assert v is not None and v.kinds == reference.outcomes[0].kinds
    assert v.reason is reference.outcomes[0].reason


def test_S8_E4_before_the_sync_start_is_not_sent_and_says_both_times() -> None:
    start = datetime(2025, 7, 1, 0, 0, tzinfo=TOKYO)
    s = meeting(updated_at=start - timedelta(days=1))
    _, v = only(s, employee(sync_start=start))
    assert v.action is Action.LEAVE and v.reason is Reason.BEFORE_SYNC_START
    last = v.steps[-1]
    assert (last.rule, last.code) == ("E4", "before_sync_start")
    assert "2025/7/1 00:00" in last.text("en") and "2025/6/30 00:00" in last.text("en")


def test_P4_backfill_lifts_the_sync_start_and_says_so() -> None:
    start = datetime(2025, 7, 1, 0, 0, tzinfo=TOKYO)
    s = meeting(updated_at=start - timedelta(days=1))
    _, v = only(s, employee(sync_start=start), backfill=True)
    assert v.kinds == (OpKind.CREATE,) and "sync_start_lifted" in codes(v.steps)


def test_P4_E3_calendar_change_is_a_move_make_before_break() -> None:
    s = meeting()
    result, v = only(s, employee(calendar_name="営業"), rows=(synced(s),))
    assert v.reason is Reason.CALENDAR_CHANGED and v.kinds == (OpKind.CREATE,)
    assert (v.steps[-1].rule, v.steps[-1].code) == ("P4", "move") and "営業" in v.steps[-1].text("en")
    assert result.waiting == 1


def test_S9_deleted_in_the_calendar_waits_for_the_next_change_then_is_recreated() -> None:
    s = meeting()
    lost = MirrorRow(
        ref=s.ref,
        login_id="taro",
        mailbox=TARO,
        calendar_name=None,
        transaction_id="t",
        content_hash=content_hash(render(s, POLICY.timezone)),
        synced_revision=s.revision,
        status=MirrorStatus.LOST,
    )
    _, v = only(s, employee(), rows=(lost,))
    assert v.reason is Reason.LOST_UNCHANGED and v.steps[-1].code == "lost_unchanged"
    changed = meeting(purpose="見積提出", updated_at=T0 + timedelta(hours=2))
    _, v = only(changed, employee(), rows=(lost,))
    assert v.reason is Reason.RECREATE_LOST and v.kinds == (OpKind.CREATE,) and v.steps[-1].rule == "S9"


def test_E1_off_and_forbidden_leave_the_calendar_alone() -> None:
    for state, code in ((SyncState.OFF, "employee_off"), (SyncState.FORBIDDEN, "employee_forbidden")):
        _, v = only(meeting(), employee(state=state), rows=(synced(meeting()),))
        assert v.action is Action.LEAVE and not v.writes
        assert codes(v.steps) == [code] and v.steps[0].rule == "E1"


def test_E2_no_user_id_and_no_domain_means_no_mailbox() -> None:
    policy = CompanyPolicy()
    _, v = only(meeting(), employee(), policy=policy)
    assert v.reason is Reason.MAILBOX_UNRESOLVED and v.steps[-1].rule == "E2" and not v.steps[-1].passed


def test_E2_explicit_user_id_is_the_mailbox_named() -> None:
    emp = employee(user_id_mode=UserIdMode.EXPLICIT, user_id="t.yamada@corp.example")
    _, v = only(meeting(), emp)
    assert v.mailbox == "t.yamada@corp.example" and "t.yamada@corp.example" in v.steps[-1].text("en")


def test_E6_bulk_state_change_is_explained_like_a_single_one() -> None:
    # A bulk change (E6) only writes E1-E3 of many employees: each is explained on its own.
    s = meeting(participants=("taro", "hanako", "jiro"))
    people = emps(
        employee(), employee("hanako", state=SyncState.OFF), employee("jiro", state=SyncState.FORBIDDEN)
    )
    result = explain(s, people, [], POLICY, M)
    assert [v.reason for v in result.verdicts] == [
        Reason.SYNC,
        Reason.EMPLOYEE_OFF,
        Reason.EMPLOYEE_FORBIDDEN,
    ]


def test_unknown_participant_is_a_hint_naming_the_login() -> None:
    _, v = only(meeting(participants=("ghost",)))
    assert v.reason is Reason.UNKNOWN_EMPLOYEE and v.steps[0].rule == "hint"
    assert "ghost" in v.steps[0].text("en") and "ghost" in v.steps[0].text("ja")


def test_C1_C4_company_switches_hold_every_participant() -> None:
    for policy, rule in (
        (CompanyPolicy(domain=DOMAIN, sync_enabled=False), "C1"),
        (CompanyPolicy(domain=DOMAIN, write_enabled=False), "C4"),
    ):
        result = explain(meeting(participants=("taro", "hanako")), emps(employee()), [], policy, M)
        assert result.blocked is not None and [v.login_id for v in result.verdicts] == ["taro", "hanako"]
        assert all(v.steps[0].rule == rule and not v.writes for v in result.verdicts)


def test_every_step_code_has_words_in_both_languages() -> None:
    for code, (en, ja) in TEXTS.items():
        assert en and ja, code
    sample = step(
        "S6",
        "mirror_written",
        True,
        "Asia/Tokyo",
        written=T0,
        mailbox=TARO,
        calendar="",
        state_en="Synced",
        state_ja="連携済み",
        checked=T0,
        by_en="Periodic batch",
        by_ja="定期バッチ",
    )
    assert "2025/7/1 09:00" in sample.text("en") and "既定の予定表" in sample.text("ja")
    assert "Synced" in sample.text("en") and "定期バッチ" in sample.text("ja")
    as_json = sample.to_dict()
    assert as_json["values"]["written"] == T0.isoformat() and as_json["message_ja"]


# ------------------------------------------------------------------------------------------------
# The explainer agrees with the planner and the policy.

LOGINS = ("taro", "hanako", "jiro")
AT = datetime(2025, 7, 1, 0, 0, tzinfo=UTC)


@st.composite
def cases(draw: st.DrawFn):  # type: ignore[no-untyped-def]
    participants = tuple(draw(st.lists(st.sampled_from(LOGINS), max_size=3, unique=True)))
    updated = AT + timedelta(hours=draw(st.integers(-48, 48)))
    status = draw(st.sampled_from([Status.PLAN, Status.ACTUAL]))
    purpose = draw(st.sampled_from([None, "定期訪問", "集金", "社外"]))
    change: Schedule | ScheduleDeletion = meeting(
        participants=participants, status=status, purpose=purpose, updated_at=updated
    )
    if draw(st.booleans()) and draw(st.booleans()):
        change = ScheduleDeletion(change.ref, updated)
    people: dict[str, EmployeeSettings] = {}
    for login in LOGINS:
        if draw(st.integers(0, 4)) == 0:
            continue
        people[login] = employee(
            login,
            state=draw(st.sampled_from(list(SyncState))),
            calendar_name=draw(st.sampled_from([None, "営業"])),
            sync_start=draw(st.sampled_from([None, AT, AT + timedelta(days=1)])),
            excluded_purposes=frozenset(
                draw(st.lists(st.sampled_from(["集金", UNSELECTED, OUTSIDE_MASTER]), max_size=2))
            ),
        )
    base = meeting(participants=participants)
    rows: list[MirrorRow] = []
    for login in draw(st.lists(st.sampled_from(LOGINS), max_size=3, unique=True)):
        calendar = draw(st.sampled_from([None, "営業"]))
        status_row = draw(st.sampled_from(list(MirrorStatus)))
        rows.append(
            MirrorRow(
                ref=base.ref,
                login_id=login,
                mailbox=f"{login}@{DOMAIN}",
                calendar_name=calendar,
                transaction_id=f"t-{login}",
                event_id="ev" if status_row is MirrorStatus.ACTIVE else None,
                content_hash=draw(st.sampled_from([None, content_hash(render(base, "Asia/Tokyo"))])),
                synced_revision=base.revision,
                status=status_row,
            )
        )
    policy = CompanyPolicy(
        domain=draw(st.sampled_from([DOMAIN, None])),
        sync_enabled=draw(st.integers(0, 9)) > 0,
        write_enabled=draw(st.integers(0, 9)) > 0,
    )
    masters = Masters(purposes={"定期訪問": True, "集金": False})
    return change, people, rows, policy, masters, draw(st.booleans())


@settings(max_examples=300, deadline=None, derandomize=True)
@given(cases())
def test_S1_S9_E1_E4_P3_P4_property_the_explainer_verdict_is_the_planners_operation(case) -> None:  # type: ignore[no-untyped-def]
    change, people, rows, policy, masters, backfill = case
    planned = plan(change, people, rows, policy, masters, backfill=backfill)
    explained = explain(change, people, rows, policy, masters, backfill=backfill)
    assert explained.blocked is planned.blocked
    assert explained.waiting == planned.waiting
    if planned.blocked is not None:
        assert all(not v.writes and v.reason is planned.blocked for v in explained.verdicts)
        return
    assert [v.login_id for v in explained.verdicts] == [o.login_id for o in planned.outcomes]
    for verdict, outcome in zip(explained.verdicts, planned.outcomes, strict=True):
        assert (verdict.reason, verdict.kinds, verdict.mailbox, verdict.calendar_name) == (
            outcome.reason,
            outcome.kinds,
            outcome.mailbox,
            outcome.calendar_name,
        )
        mine = [r for r in rows if r.login_id == verdict.login_id]
        # The chain's deciding check is the policy's own decision; a decided step never passes.
        decision = decide(
            change,
            verdict.login_id,
            people.get(verdict.login_id),
            masters,
            backfill=True
            if backfill
            else verdict.action is Action.SYNC and any(s.code == "sync_start_lifted" for s in verdict.steps),
            mirrored=any(r.is_live for r in mine),
        )
        assert verdict.action is decision.action
        failed = [s for s in verdict.steps if not s.passed]
        assert len(failed) <= 1
        if decision.action is not Action.SYNC:
            assert failed and failed[0].code == decision.reason.value
        assert all(s.code in TEXTS for s in verdict.steps)
        assert verdict.steps and all(s.text("en") and s.text("ja") for s in verdict.steps)
