"""Why a schedule is (or is not) in a participant's calendar: the explainer.

:func:`explain` answers, for one change and each employee it concerns, the decision the engine
makes and why, as a short chain of :class:`Step` s -- each a sentence in Japanese or English with
the rule behind it (S1, P3, E4 ...).

Guarantees (each has a test in ``tests/unit/test_explain.py``):

* **It cannot disagree with the engine.** The verdict of every employee is the
  :class:`~sfacal.core.planner.Outcome` that :func:`~sfacal.core.planner.plan` -- the function the
  engine runs -- returns for the same inputs, and the chain is the trail of rules that
  :func:`~sfacal.core.policy.decide` wrote while deciding (the same statements that decide write
  it). There is no second copy of the rules here: this module only puts words to what the planner
  and the policy returned. A Hypothesis property holds the two together for random schedules,
  settings and mirror rows.
* **Every outcome has words**, in both languages: each :class:`~sfacal.core.policy.Reason` the
  planner can give, each check of the policy, and the engine's own notes (the mirror row's state,
  the last failure with its L2 hint: :data:`TEXTS`).
* Times in a step are shown in the company's time zone (``M/D HH:MM``); the step keeps them in ISO
  form too (:attr:`Step.values`) for the push API.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from sfacal.core.frozen import quick_init
from sfacal.core.planner import MirrorRow, OpKind, Outcome, plan
from sfacal.core.policy import Action, Check, Reason
from sfacal.core.render import FieldMapping, RenderedEvent, render
from sfacal.core.schedule import Change, Schedule, SourceRef, zone
from sfacal.core.settings import OUTSIDE_MASTER, UNSELECTED, CompanyPolicy, EmployeeSettings, Masters

__all__ = ["TEXTS", "Explanation", "Step", "Verdict", "explain", "step"]

# code -> (English, Japanese). ``{calendar}`` empty reads as the default calendar.
TEXTS: dict[str, tuple[str, str]] = {
    # the policy's checks (sfacal.core.policy.decide)
    "unknown_employee": (
        "{login_id} is not a registered employee: register the employee or fix the SFA user "
        "mapping; the schedule is kept and synced once the employee exists",
        "{login_id} は登録された社員ではありません。社員を登録するか SFA ユーザーの対応付けを直してください"
        "（スケジュールは保持され、社員が登録されると連携されます）",
    ),
    "employee_off": (
        "Sync is off (連携しない) for this employee, so their calendar is not touched",
        "この社員の連携は「連携しない」のため、カレンダーは変更しません",
    ),
    "employee_forbidden": (
        "Sync is forbidden (使用禁止) for this employee, so their calendar is not touched",
        "この社員の連携は「使用禁止」のため、カレンダーは変更しません",
    ),
    "employee_on": ("Sync is on (連携する) for the employee", "社員の連携は「連携する」です"),
    "schedule_deleted": (
        "Deleted in the SFA {deleted_at}, so its mirrored events are removed (also a frozen one)",
        "{deleted_at} に SFA で削除されたため、連携したイベントを削除します（固定されたものも）",
    ),
    "frozen_actual": (
        "実績 (actual) since {updated_at}, so the event is frozen as it was",
        "{updated_at} から実績のため、イベントは当時のまま固定されています",
    ),
    "actual_not_synced": (
        "An actual (実績, last changed {updated_at}): actuals are never written to the calendar",
        "実績（最終更新 {updated_at}）はカレンダーに連携しません",
    ),
    "plan": ("A plan (予定), so it is synced", "予定のため連携の対象です"),
    "not_participant": (
        "{login_id} is not a participant, so their event is removed",
        "{login_id} は参加者ではないため、そのイベントを削除します",
    ),
    "participant": ("{login_id} is a participant", "{login_id} は参加者です"),
    "excluded": (
        "Excluded by the setting {entry} ({value}), so not synced; an event already written is removed",
        "除外設定「{entry}」（{value}）に該当するため連携しません。連携済みのイベントは削除します",
    ),
    "not_excluded": ("Not excluded by the exclusion settings", "除外設定には該当しません"),
    "before_sync_start": (
        "Last changed {updated_at}, before the sync start {sync_start}, so it is not sent",
        "最終更新 {updated_at} が連携開始 {sync_start} より前のため送信しません",
    ),
    "sync_start_lifted": (
        "Changed before the sync start {sync_start}, but a back-fill (or a write already started) lifts that",
        "連携開始 {sync_start} より前の変更ですが、バックフィル（または開始済みの書き込み）のため対象です",
    ),
    "after_sync_start": (
        "Changed after the sync start {sync_start}",
        "連携開始 {sync_start} より後の変更です",
    ),
    "no_sync_start": ("No sync start limits it", "連携開始による制限はありません"),
    # the planner's outcome (sfacal.core.planner.plan)
    "sync_disabled": (
        "Sync is off for the company: the change is kept and applied once it is switched on",
        "会社の連携が「連携しない」のため保留中です。連携を再開すると反映されます",
    ),
    "write_disabled": (
        "Calendar writes are off for the company (連携サービスへの登録: 使用しない): the change is kept",
        "会社の「連携サービスへの登録」が「使用しない」のため保留中です。変更は保持されます",
    ),
    "mailbox_unresolved": (
        "No mailbox: the employee has no user ID and the company has no domain for login ID @ domain",
        "メールボックスが決まりません。社員のユーザーIDも会社のドメインも設定されていません",
    ),
    "create": (
        "An event is created in {mailbox} ({calendar})",
        "{mailbox}（{calendar}）にイベントを作成します",
    ),
    "update": (
        "The content changed since it was written: the event in {mailbox} ({calendar}) is updated, "
        "all fields including the times (S7)",
        "書き込み後に内容が変わったため、{mailbox}（{calendar}）のイベントを更新します（時刻を含む全項目: S7）",
    ),
    "up_to_date": (
        "The event in {mailbox} ({calendar}) already has this content: nothing is sent",
        "{mailbox}（{calendar}）のイベントは既にこの内容です。送信は不要です",
    ),
    "move": (
        "The target calendar changed: the event is created in {mailbox} ({calendar}) first and "
        "leaves the old place only once the new one holds it",
        "連携先が変わったため、まず {mailbox}（{calendar}）に作成し、作成できてから元の場所のイベントを削除します",
    ),
    "recreate": (
        "The event was deleted in the calendar and the schedule changed since: it is re-created",
        "カレンダーで削除されたイベントは、その後 SFA で変更されたため再作成します",
    ),
    "lost_unchanged": (
        "The event was deleted in the calendar: it is re-created at the next change of the schedule",
        "イベントはカレンダーで削除されました。SFA でこのスケジュールが次に変更されたときに再作成します",
    ),
    "duplicate": (
        "A second event for the same place is removed (never a duplicate)",
        "同じ場所の重複イベントを削除します",
    ),
    "removes": ("{count} mirrored event(s) are deleted", "連携済みのイベント {count} 件を削除します"),
    "nothing_to_remove": ("There is no mirrored event to remove", "削除する連携イベントはありません"),
    # the engine's notes (sfacal.engine.explaining)
    "mirror_written": (
        "Written {written} to {mailbox} ({calendar}); state: {state_en}; last checked {checked} by {by_en}",
        "{written} に {mailbox}（{calendar}）へ書き込み。状態: {state_ja}。最終確認 {checked}（{by_ja}）",
    ),
    "last_error": (
        "The last attempt failed: {message_en} {hint_en}",
        "前回の処理は失敗しました: {message_ja} {hint_ja}",
    ),
    "change_waiting": (
        "A change received {received_at} is waiting to be applied: the next run does what is said here",
        "{received_at} に受け取った変更が反映待ちです。次の連携でここに書かれた処理を行います",
    ),
    "not_stored": (
        "No schedule with this ID has been received from the SFA",
        "この ID のスケジュールは SFA から受け取っていません",
    ),
    "unreadable": (
        "The stored schedule cannot be read: {detail}",
        "保存されたスケジュールを読み取れません: {detail}",
    ),
}

_DEFAULT_CALENDAR = ("the default calendar", "既定の予定表")
_PSEUDO = {
    UNSELECTED: ("*None chosen*", "*未選択*"),
    OUTSIDE_MASTER: ("*Not in the master*", "*マスタ設定値以外*"),
}
_NONE = ("(none)", "（なし）")

# The planner's reason after a SYNC decision -> (rule, sentence).
_WRITE_STEPS: dict[Reason, tuple[str, str]] = {
    Reason.UP_TO_DATE: ("S6", "up_to_date"),
    Reason.CALENDAR_CHANGED: ("P4", "move"),
    Reason.RECREATE_LOST: ("S9", "recreate"),
    Reason.LOST_UNCHANGED: ("S9", "lost_unchanged"),
    Reason.DUPLICATE: ("S6", "duplicate"),
    Reason.MAILBOX_UNRESOLVED: ("E2", "mailbox_unresolved"),
}


def _shown(value: object, tz_name: str) -> str:
    if isinstance(value, datetime):
        local = value.astimezone(zone(tz_name))
        return f"{local.year}/{local.month}/{local.day} {local:%H:%M}"
    if isinstance(value, date):
        return f"{value.year}/{value.month}/{value.day}"
    return "" if value is None else str(value)


def _iso(value: object) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return "" if value is None else str(value)


@quick_init
@dataclass(frozen=True)
class Step:
    """One link of the chain: the rule, what was found (``code``, a key of :data:`TEXTS`), whether
    the schedule went on past it, and the values the sentence names (shown: ``params``; in ISO
    form for machines: ``values``)."""

    rule: str
    code: str
    passed: bool
    params: tuple[tuple[str, str], ...] = ()
    values: tuple[tuple[str, str], ...] = ()

    def text(self, lang: str = "ja") -> str:
        en, ja = TEXTS.get(self.code, ("{code}", "{code}"))
        index = 0 if lang == "en" else 1
        params = dict(self.params)
        if "calendar" in params and not params["calendar"]:
            params["calendar"] = _DEFAULT_CALENDAR[index]
        if "entry" in params and params["entry"] in _PSEUDO:
            params["entry"] = _PSEUDO[params["entry"]][index]
        if "value" in params and not params["value"]:
            params["value"] = _NONE[index]
        params.setdefault("code", self.code)
        try:
            return (en if lang == "en" else ja).format(**params)
        except (KeyError, IndexError, ValueError):
            return en if lang == "en" else ja

    def to_dict(self) -> dict[str, object]:
        return {
            "rule": self.rule,
            "code": self.code,
            "passed": self.passed,
            "values": dict(self.values),
            "message": self.text("en"),
            "message_ja": self.text("ja"),
        }


def step(rule: str, code: str, passed: bool, tz_name: str, **params: object) -> Step:
    """A :class:`Step` whose values are shown in ``tz_name``."""
    return Step(
        rule,
        code,
        passed,
        tuple((k, _shown(v, tz_name)) for k, v in params.items()),
        tuple((k, _iso(v)) for k, v in params.items()),
    )


def _from_check(check: Check, tz_name: str) -> Step:
    return step(check.rule, check.code, check.passed, tz_name, **dict(check.params))


@quick_init
@dataclass(frozen=True)
class Verdict:
    """What the engine does for one employee, and why (``steps``, in order)."""

    login_id: str
    reason: Reason  # the planner's reason (or the company switch that holds the change back)
    action: Action | None = None  # the policy's decision; None while the company holds changes back
    kinds: tuple[OpKind, ...] = ()  # the calendar writes planned (empty: none)
    mailbox: str | None = None
    calendar_name: str | None = None
    steps: tuple[Step, ...] = ()

    @property
    def writes(self) -> bool:
        return bool(self.kinds)

    def with_steps(self, extra: Sequence[Step]) -> Verdict:
        return Verdict(
            self.login_id,
            self.reason,
            self.action,
            self.kinds,
            self.mailbox,
            self.calendar_name,
            (*self.steps, *extra),
        )


@dataclass(frozen=True)
class Explanation:
    """The explainer's answer for one change: the rendered event (S5; ``None`` for a deletion),
    the company switch holding it back if any, and one :class:`Verdict` per employee."""

    ref: SourceRef
    event: RenderedEvent | None
    blocked: Reason | None
    verdicts: tuple[Verdict, ...] = field(default=())
    waiting: int = 0  # events left in an old place until the new one holds ours (P4)

    def verdict(self, login_id: str) -> Verdict | None:
        for found in self.verdicts:
            if found.login_id == login_id:
                return found
        return None


def _final(outcome: Outcome, action: Action, tz_name: str) -> Step | None:
    mailbox, calendar = outcome.mailbox or "", outcome.calendar_name or ""
    if action is Action.LEAVE:
        return None
    if action is Action.REMOVE:
        deletes = sum(1 for kind in outcome.kinds if kind is OpKind.DELETE)
        if deletes:
            return step("S6", "removes", True, tz_name, count=deletes)
        return step("S6", "nothing_to_remove", True, tz_name)
    if outcome.reason in _WRITE_STEPS:
        rule, code = _WRITE_STEPS[outcome.reason]
        return step(
            rule,
            code,
            outcome.reason is not Reason.MAILBOX_UNRESOLVED,
            tz_name,
            mailbox=mailbox,
            calendar=calendar,
        )
    if OpKind.UPDATE in outcome.kinds:
        return step("S5", "update", True, tz_name, mailbox=mailbox, calendar=calendar)
    return step("S3", "create", True, tz_name, mailbox=mailbox, calendar=calendar)


def _action_of(checks: Sequence[Check]) -> Action:
    """The policy's action, read from its trail: the deciding check's, or SYNC when all passed."""
    if checks and checks[-1].action is not None:
        return checks[-1].action
    return Action.SYNC


def explain(
    change: Change,
    employees: Mapping[str, EmployeeSettings],
    mirrors: Sequence[MirrorRow],
    policy: CompanyPolicy,
    masters: Masters,
    *,
    mapping: FieldMapping | None = None,
    backfill: bool = False,
    only: Collection[str] | None = None,
) -> Explanation:
    """The explanation of what :func:`~sfacal.core.planner.plan` does with these same inputs."""
    event = render(change, policy.timezone, mapping) if isinstance(change, Schedule) else None
    trail: dict[str, list[Check]] = {}
    result = plan(
        change,
        employees,
        mirrors,
        policy,
        masters,
        backfill=backfill,
        mapping=mapping,
        only=only,
        trail=trail,
    )
    tz_name = policy.timezone
    if result.blocked is not None:
        rule, code = (
            ("C1", "sync_disabled") if result.blocked is Reason.SYNC_DISABLED else ("C4", "write_disabled")
        )
        logins = list(
            dict.fromkeys(
                [*getattr(change, "participants", ()), *(r.login_id for r in mirrors if r.ref == change.ref)]
            )
        )
        verdicts = tuple(
            Verdict(login, result.blocked, steps=(step(rule, code, False, tz_name),))
            for login in logins
            if only is None or login in only
        )
        return Explanation(change.ref, event, result.blocked, verdicts)
    verdicts_list: list[Verdict] = []
    for outcome in result.outcomes:
        checks = trail.get(outcome.login_id, [])
        action = _action_of(checks)
        steps = [_from_check(check, tz_name) for check in checks]
        final = _final(outcome, action, tz_name)
        if final is not None:
            steps.append(final)
        verdicts_list.append(
            Verdict(
                outcome.login_id,
                outcome.reason,
                action,
                outcome.kinds,
                outcome.mailbox,
                outcome.calendar_name,
                tuple(steps),
            )
        )
    return Explanation(change.ref, event, None, tuple(verdicts_list), result.waiting)
