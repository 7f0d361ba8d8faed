"""S1-S4, S6, S8, S9, P3, P4, E1, E2: the planner, run to quiescence against an in-memory calendar,
always converges to exactly the desired events -- through schedule edits, deletions, exclusions,
state changes, calendar and mailbox moves, events deleted by the user, and crashes between
"operation sent" and "result recorded".

P4 (make-before-break): a target calendar can become unwritable (deleted or renamed in the mailbox,
no permission). Creates there fail for good; the oracle then accepts the event in its old place, and
no switch ever leaves a (schedule, employee) pair that had an event without one.

The executor below does what the engine does: persist a pending row before a create, send,
record the result; an update answered 404 becomes a re-create (next generation); a delete
answered 404 is done. The calendar de-duplicates creates by ``transactionId`` per calendar.

The oracle is written independently of the policy module: for each (schedule, employee) it
derives "present with this content in this calendar" / "absent" / "anything (not checked)".
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from sfacal.core.planner import (
    MirrorRow,
    MirrorStatus,
    Operation,
    OpKind,
    backfill,
    lost_row,
    pending_row,
    plan,
    row_after,
)
from sfacal.core.render import RenderedEvent, render
from sfacal.core.schedule import AllDaySpan, Kind, Schedule, ScheduleDeletion, SourceRef, Status, TimedSpan
from sfacal.core.settings import (
    OUTSIDE_MASTER,
    UNSELECTED,
    CompanyPolicy,
    EmployeeSettings,
    Masters,
    SyncState,
    UserIdMode,
)
from tests.unit.helpers import TOKYO

LOGINS = ("taro", "hanako", "jiro")
RIDS = ("1", "2", "3", "4", "5", "6")
CALENDARS = (None, "営業")
PURPOSES = (None, "定期訪問", "納品", "展示会")
BUSINESS = (None, "会議", "棚卸")
EXCLUSIONS = ("定期訪問", "納品", "会議", UNSELECTED, OUTSIDE_MASTER)
DOMAIN = "example.com"
POLICY = CompanyPolicy(domain=DOMAIN)
MASTERS = Masters()
BASE_DAY = date(2025, 6, 1)


class Crash(Exception):
    """The process died between two steps of an operation."""


class NotFound(Exception):
    pass


class Unwritable(Exception):
    """The calendar does not exist (any more) or cannot be written: a create fails for good."""


@dataclass
class Event:
    id: str
    ref: SourceRef
    login: str  # who it was created for (the test's view of the mailbox owner)
    transaction_id: str
    content: RenderedEvent
    change_key: str


class FakeCalendar:
    """mailbox -> calendar name -> event id -> event."""

    def __init__(self) -> None:
        self.boxes: dict[str, dict[str | None, dict[str, Event]]] = {}
        self._ids = itertools.count(1)
        # Conservatively, a transactionId once used in a calendar keeps answering with its first
        # event id, even after that event was deleted (so re-using one would silently create nothing).
        self.used: dict[tuple[str, str | None, str], Event] = {}
        self.unwritable: set[tuple[str, str | None]] = set()

    def _cal(self, mailbox: str, calendar: str | None) -> dict[str, Event]:
        return self.boxes.setdefault(mailbox, {}).setdefault(calendar, {})

    def create(self, op: Operation) -> Event:
        if (op.mailbox, op.calendar_name) in self.unwritable:
            raise Unwritable(op.calendar_name)
        cal = self._cal(op.mailbox, op.calendar_name)
        key = (op.mailbox, op.calendar_name, op.transaction_id)
        if key in self.used:
            return self.used[key]  # de-duplicated retry
        assert op.event is not None
        n = next(self._ids)
        ev = Event(f"e{n}", op.ref, op.login_id, op.transaction_id, op.event, f"ck{n}")
        cal[ev.id] = ev
        self.used[key] = ev
        return ev

    def update(self, op: Operation) -> Event:
        for cal in self.boxes.get(op.mailbox, {}).values():
            if op.event_id in cal:
                ev = cal[op.event_id]
                assert op.event is not None
                ev.content = op.event
                ev.change_key = f"ck{next(self._ids)}"
                return ev
        raise NotFound(op.event_id)

    def delete(self, op: Operation) -> None:
        cal = self._cal(op.mailbox, op.calendar_name)
        if op.event_id is not None:
            cal.pop(op.event_id, None)
            return
        for ev in list(cal.values()):  # unconfirmed create: find it by transactionId
            if ev.transaction_id == op.transaction_id:
                del cal[ev.id]

    def all_events(self) -> list[tuple[str, str | None, Event]]:
        return [
            (mb, cn, ev) for mb, cals in self.boxes.items() for cn, evs in cals.items() for ev in evs.values()
        ]


Key = tuple[SourceRef, str, str, str | None]


class SyncMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.calendar = FakeCalendar()
        self.mirror: dict[Key, MirrorRow] = {}
        self.store: dict[str, Schedule | ScheduleDeletion] = {}
        self.employees: dict[str, EmployeeSettings] = {}
        self.now = datetime(2025, 7, 10, 9, 0, tzinfo=TOKYO)
        self.versions = itertools.count(1)
        self.crash_plan: tuple[int, str] | None = None
        self.crashes = 0
        self.suppressed: set[tuple[SourceRef, str]] = set()  # the user deleted it; no SFA change since
        self.frozen: dict[SourceRef, dict[str, tuple[str, str, str | None, RenderedEvent]]] = {}
        self.had_event: set[tuple[SourceRef, str]] = set()  # pairs with an event after the last settle
        self.user_deleted: set[tuple[SourceRef, str]] = set()  # pairs whose event the user deleted since

    # ------------------------------------------------------------------ engine (executor)

    def _record(self, row: MirrorRow) -> None:
        self.mirror[(row.ref, row.login_id, row.mailbox, row.calendar_name)] = row

    def _execute(self, op: Operation, crash: str | None) -> None:
        if op.kind is OpKind.DELETE:
            if crash == "before_send":
                raise Crash
            self.calendar.delete(op)
            if crash == "after_send":
                raise Crash
            self._record(row_after(op))
            return
        if op.kind is OpKind.UPDATE:
            if crash == "before_send":
                raise Crash
            try:
                ev = self.calendar.update(op)
            except NotFound:
                op = op.recreate()  # S9: the user deleted it; re-create with the next generation
            else:
                if crash == "after_send":
                    raise Crash
                self._record(row_after(op, event_id=ev.id, change_key=ev.change_key))
                return
        self._record(pending_row(op))
        if crash == "before_send":
            raise Crash
        try:
            ev = self.calendar.create(op)
        except Unwritable:  # as the engine records a create that failed for good: a tombstone
            self._record(replace(pending_row(op), status=MirrorStatus.REMOVED))
            return
        if crash == "after_send":
            raise Crash
        self._record(row_after(op, event_id=ev.id, change_key=ev.change_key))

    def _run(self, operations: list[Operation], backfilling: bool = False) -> None:
        for op in operations:
            if op.kind is not OpKind.DELETE:
                schedule, emp = self.store[op.ref.record_id], self.employees[op.login_id]
                assert isinstance(schedule, Schedule) and schedule.status is Status.PLAN, (
                    "S1: only plans are written"
                )
                assert emp.state is SyncState.ON, "E1: only employees with sync on are written to"
                # S8, except for finishing a create that was started (by a back-fill) before a crash
                row = self.mirror.get((op.ref, op.login_id, op.mailbox, op.calendar_name))
                resumed = (
                    row is not None
                    and row.status is MirrorStatus.PENDING
                    and row.transaction_id == op.transaction_id
                )
                if not backfilling and not resumed:
                    assert emp.sync_start is not None and schedule.updated_at >= emp.sync_start, "S8"
            crash = None
            if self.crash_plan is not None:
                k, point = self.crash_plan
                if k == 0:
                    crash = point
                    self.crash_plan = None
                else:
                    self.crash_plan = (k - 1, point)
            self._execute(op, crash)

    def _pass(self) -> int:
        """One pass; how many operations could change something (a create into an unwritable
        calendar is planned again by every pass and fails again: not progress)."""
        ops: list[Operation] = []
        rows = list(self.mirror.values())
        for rid in sorted(self.store):
            ops.extend(plan(self.store[rid], self.employees, rows, POLICY, MASTERS).operations)
        self._run(ops)
        return sum(
            1
            for op in ops
            if op.kind is not OpKind.CREATE or (op.mailbox, op.calendar_name) not in self.calendar.unwritable
        )

    def settle(self, first: list[Operation] | None = None) -> None:
        try:
            if first:
                self._run(first, backfilling=True)
            for _ in range(4):
                if self._pass() == 0:
                    break
        except Crash:
            self.crashes += 1  # restart: the pending work is planned again from the stored state
        self.crash_plan = None  # a crash planned for this sync that did not come is forgotten
        for _ in range(4):
            if self._pass() == 0:
                break
        assert self._pass() == 0, "the planner did not converge"
        self._clear_suppression_for_removed_pairs()
        self._check_nothing_lost()

    def _check_nothing_lost(self) -> None:
        """P4: a pair that had an event and is still wanted has one (maybe in its old place)."""
        for ref, login in self.had_event - self.user_deleted:
            change = self.store[ref.record_id]
            if self.expected(ref.record_id, login) == "present" and (ref, login) not in self.suppressed:
                assert isinstance(change, Schedule)
                assert self.events_of(ref, login), f"the switch lost the event of {(ref, login)}"
        self.had_event = {(ev.ref, ev.login) for _, _, ev in self.calendar.all_events()}
        self.user_deleted.clear()

    # ------------------------------------------------------------------ oracle

    def _excluded(self, s: Schedule, emp: EmployeeSettings) -> bool:
        if s.kind is Kind.MEETING:
            value, ticked, master = s.purpose, emp.excluded_purposes, set(MASTERS.purposes)
        else:
            value, ticked, master = s.business_name, emp.excluded_business_names, set(MASTERS.business_names)
        if value is None:
            return UNSELECTED in ticked
        return value in ticked or (value not in master and OUTSIDE_MASTER in ticked)

    def _target(self, emp: EmployeeSettings) -> tuple[str, str | None]:
        mailbox = emp.user_id if emp.user_id_mode is UserIdMode.EXPLICIT else f"{emp.login_id}@{DOMAIN}"
        assert mailbox is not None
        return mailbox, emp.calendar_name

    def expected(self, rid: str, login: str) -> str:
        """'present', 'absent', 'frozen' or 'any'."""
        emp = self.employees[login]
        change = self.store[rid]
        if emp.state is not SyncState.ON:
            return "any"
        if isinstance(change, ScheduleDeletion):
            return "absent"
        if change.status is Status.ACTUAL:
            return "frozen"
        if login not in change.participants or self._excluded(change, emp):
            return "absent"
        assert emp.sync_start is not None
        if change.updated_at < emp.sync_start:
            return "any"
        if (change.ref, login) in self.suppressed:
            return "absent"
        return "present"

    def _clear_suppression_for_removed_pairs(self) -> None:
        for ref, login in list(self.suppressed):
            if self.expected(ref.record_id, login) == "absent" and self._removal_reason(ref.record_id, login):
                self.suppressed.discard((ref, login))

    def _removal_reason(self, rid: str, login: str) -> bool:
        change = self.store[rid]
        if isinstance(change, ScheduleDeletion):
            return True
        return login not in change.participants or self._excluded(change, self.employees[login])

    def events_of(self, ref: SourceRef, login: str) -> list[tuple[str, str | None, Event]]:
        return [
            (mb, cn, ev) for mb, cn, ev in self.calendar.all_events() if ev.ref == ref and ev.login == login
        ]

    # ------------------------------------------------------------------ SFA side rules

    def _tick(self) -> datetime:
        self.now += timedelta(minutes=1)
        return self.now

    def _touch(self, s: Schedule, **changes: object) -> Schedule:
        n = next(self.versions)
        self.suppressed -= {(s.ref, login) for login in LOGINS}
        return s.replace(updated_at=self._tick(), version=str(n), content=f"memo v{n}", **changes)

    @initialize(day=st.integers(-15, 40))
    def setup(self, day: int) -> None:
        start = self.now - timedelta(days=1)
        self.employees = {login: EmployeeSettings(login, SyncState.ON, sync_start=start) for login in LOGINS}
        self.create_schedule(True, ["taro", "hanako"], 1, False, day)
        self.create_schedule(False, ["hanako", "jiro", "taro"], 1, True, day + 3)

    @precondition(lambda self: len(self.store) < len(RIDS))
    @rule(
        meeting=st.booleans(),
        participants=st.lists(st.sampled_from(LOGINS), max_size=3),
        label=st.integers(0, 3),
        all_day=st.booleans(),
        day=st.integers(-15, 40),
    )
    def create_schedule(
        self, meeting: bool, participants: list[str], label: int, all_day: bool, day: int
    ) -> None:
        rid = next(r for r in RIDS if r not in self.store)
        first = BASE_DAY + timedelta(days=day)
        span: TimedSpan | AllDaySpan
        if all_day:
            span = AllDaySpan(first, first + timedelta(days=1))
        else:
            start = datetime(first.year, first.month, first.day, 10, tzinfo=TOKYO)
            span = TimedSpan(start, start + timedelta(hours=1))
        n = next(self.versions)
        self.store[rid] = Schedule(
            ref=SourceRef("acme", "push", rid),
            kind=Kind.MEETING if meeting else Kind.TASK,
            status=Status.PLAN,
            span=span,
            updated_at=self._tick(),
            purpose=PURPOSES[label] if meeting else None,
            business_name=None if meeting else BUSINESS[label % len(BUSINESS)],
            customer_name="赤木電機" if meeting else None,
            customer_address="東京都千代田区" if meeting else None,
            title=f"予定{rid}",
            content=f"memo v{n}",
            participants=tuple(participants),
            version=str(n),
        )
        self.settle()

    def _live_rids(self) -> list[str]:
        return sorted(rid for rid, s in self.store.items() if isinstance(s, Schedule))

    def _pick(self, index: int) -> tuple[str, Schedule]:
        rids = self._live_rids()
        rid = rids[index % len(rids)]
        s = self.store[rid]
        assert isinstance(s, Schedule)
        return rid, s

    @precondition(lambda self: bool(self._live_rids()))
    @rule(index=st.integers(0, 20), hours=st.integers(-48, 48))
    def move_time(self, index: int, hours: int) -> None:
        rid, s = self._pick(index)
        if isinstance(s.span, TimedSpan):
            d = timedelta(hours=hours)
            span: TimedSpan | AllDaySpan = TimedSpan(s.span.start + d, s.span.end + d)
        else:
            span = AllDaySpan(
                s.span.start + timedelta(days=hours % 3), s.span.end + timedelta(days=hours % 3)
            )
        self.store[rid] = self._touch(s, span=span)
        self.settle()

    @precondition(lambda self: bool(self._live_rids()))
    @rule(index=st.integers(0, 20), label=st.integers(0, 3))
    def change_purpose(self, index: int, label: int) -> None:
        rid, s = self._pick(index)
        if s.kind is Kind.MEETING:
            self.store[rid] = self._touch(s, purpose=PURPOSES[label])
        else:
            self.store[rid] = self._touch(s, business_name=BUSINESS[label % len(BUSINESS)])
        self.settle()

    @precondition(lambda self: bool(self._live_rids()))
    @rule(index=st.integers(0, 20), login=st.sampled_from(LOGINS), add=st.booleans())
    def change_participants(self, index: int, login: str, add: bool) -> None:
        rid, s = self._pick(index)
        people = [p for p in s.participants if p != login] + ([login] if add else [])
        self.store[rid] = self._touch(s, participants=tuple(people))
        self.settle()

    @precondition(lambda self: bool(self._live_rids()))
    @rule(index=st.integers(0, 20))
    def plan_becomes_actual(self, index: int) -> None:
        rid, s = self._pick(index)
        if s.status is Status.ACTUAL:
            return
        self.frozen[s.ref] = {
            ev.id: (ev.login, mb, cn, ev.content)
            for mb, cn, ev in self.calendar.all_events()
            if ev.ref == s.ref
        }
        self.store[rid] = self._touch(s, status=Status.ACTUAL)
        self.settle()

    @precondition(lambda self: bool(self._live_rids()))
    @rule(index=st.integers(0, 20))
    def delete_schedule(self, index: int) -> None:
        rid, s = self._pick(index)
        self.store[rid] = ScheduleDeletion(s.ref, self._tick())
        self.frozen.pop(s.ref, None)
        self.settle()

    # ------------------------------------------------------------------ settings rules

    def _set(self, login: str, **changes: Any) -> None:
        before = self.employees[login]
        after = replace(before, **changes)
        self.employees[login] = after
        moved = self._target(before) != self._target(after)
        if moved:
            self.suppressed -= {pair for pair in self.suppressed if pair[1] == login}
        first: list[Operation] = []
        if moved and before.calendar_name != after.calendar_name:  # P4 back-fill from the settings screen
            schedules = [s for s in self.store.values() if isinstance(s, Schedule)]
            for p in backfill(after, schedules, list(self.mirror.values()), POLICY, MASTERS, now=self.now):
                first.extend(p.operations)
        self.settle(first)

    @rule(login=st.sampled_from(LOGINS), ticked=st.frozensets(st.sampled_from(EXCLUSIONS), max_size=3))
    def change_exclusions(self, login: str, ticked: frozenset[str]) -> None:
        self._set(login, excluded_purposes=ticked, excluded_business_names=ticked)

    @rule(login=st.sampled_from(LOGINS), state=st.sampled_from(SyncState))
    def change_state(self, login: str, state: SyncState) -> None:
        emp = self.employees[login]
        changes: dict[str, Any] = {"state": state}
        if state is SyncState.ON and emp.state is not SyncState.ON:
            changes["sync_start"] = self._tick()  # E4
        self._set(login, **changes)

    @rule(login=st.sampled_from(LOGINS), calendar=st.sampled_from(CALENDARS))
    def change_calendar(self, login: str, calendar: str | None) -> None:
        self._set(login, calendar_name=calendar)

    @rule(login=st.sampled_from(LOGINS), explicit=st.booleans())
    def change_mailbox(self, login: str, explicit: bool) -> None:
        if explicit:
            self._set(login, user_id_mode=UserIdMode.EXPLICIT, user_id=f"{login}.alt@{DOMAIN}")
        else:
            self._set(login, user_id_mode=UserIdMode.LOGIN_AT_DOMAIN, user_id=None)

    # ------------------------------------------------------------------ calendar side and crashes

    @precondition(lambda self: bool(self.calendar.all_events()))
    @rule(index=st.integers(0, 200), noticed=st.booleans())
    def user_deletes_event(self, index: int, noticed: bool) -> None:
        events = self.calendar.all_events()
        mailbox, cal_name, ev = events[index % len(events)]
        del self.calendar.boxes[mailbox][cal_name][ev.id]
        self.user_deleted.add((ev.ref, ev.login))
        if (mailbox, cal_name) == self._target(self.employees[ev.login]):
            self.suppressed.add((ev.ref, ev.login))
        # else: a copy left in the old place of a move that has not completed (its new calendar
        # could not be written): the move is still wanted and re-creates the event in the new
        # calendar once it can, as a move requested after the deletion would (P4, S9).
        for snapshot in self.frozen.values():
            snapshot.pop(ev.id, None)
        if noticed:  # a change notification / delta told the engine at once
            self.engine_notices_deleted_events()
        else:
            self.settle()

    @rule()
    def engine_notices_deleted_events(self) -> None:
        """Reconciliation / delta ``@removed``: rows whose event is gone become LOST (S9, T4)."""
        present = {(mb, cn, ev.id) for mb, cn, ev in self.calendar.all_events()}
        for key, row in list(self.mirror.items()):
            if (
                row.status is MirrorStatus.ACTIVE
                and (row.mailbox, row.calendar_name, row.event_id) not in present
            ):
                self.mirror[key] = lost_row(row)
        self.settle()

    @rule(login=st.sampled_from(LOGINS), writable=st.booleans())
    def named_calendar_becomes(self, login: str, writable: bool) -> None:
        """The employee's 営業 calendar disappears (or loses its permission), or comes back."""
        place = (self._target(self.employees[login])[0], "営業")
        if writable:
            self.calendar.unwritable.discard(place)
        else:
            self.calendar.unwritable.add(place)
        self.settle()

    @rule(after=st.integers(0, 4), point=st.sampled_from(["before_send", "after_send"]))
    def crash_during_next_sync(self, after: int, point: str) -> None:
        self.crash_plan = (after, point)

    # ------------------------------------------------------------------ invariants

    @invariant()
    def no_duplicates_and_no_orphans(self) -> None:
        seen: set[tuple[SourceRef, str]] = set()
        for mailbox, cal_name, ev in self.calendar.all_events():
            pair = (ev.ref, ev.login)
            assert pair not in seen, f"duplicate event for {pair}"
            seen.add(pair)
            row = self.mirror.get((ev.ref, ev.login, mailbox, cal_name))
            assert row is not None and row.status is MirrorStatus.ACTIVE and row.event_id == ev.id, (ev, row)

    @invariant()
    def exactly_the_desired_events_exist(self) -> None:
        for rid, change in self.store.items():
            for login in LOGINS:
                want = self.expected(rid, login)
                found = self.events_of(change.ref, login)
                if want == "absent":
                    assert found == [], (rid, login, found)
                elif want == "present":
                    assert isinstance(change, Schedule)
                    target = self._target(self.employees[login])
                    if target in self.calendar.unwritable:
                        # The switch cannot complete: the event stays where it was, if anywhere.
                        assert len(found) <= 1, (rid, login, found)
                        continue
                    assert len(found) == 1, (rid, login, found)
                    mailbox, cal_name, ev = found[0]
                    assert (mailbox, cal_name) == target
                    assert ev.content == render(change, POLICY.timezone)

    @invariant()
    def frozen_actuals_stay_as_they_were(self) -> None:
        for ref, snapshot in self.frozen.items():
            now = {
                ev.id: (ev.login, mb, cn, ev.content)
                for mb, cn, ev in self.calendar.all_events()
                if ev.ref == ref
            }
            assert now == snapshot


def _run_steps(machine: SyncMachine, steps: list[tuple[str, dict[str, Any]]]) -> None:
    for name, kwargs in steps:
        getattr(machine, name)(**kwargs)
        machine.exactly_the_desired_events_exist()
        machine.frozen_actuals_stay_as_they_were()
        machine.no_duplicates_and_no_orphans()


def test_p4_s9_an_old_copy_deleted_during_a_pending_move_is_recreated_when_the_move_completes() -> None:
    """Found by the machine: the new calendar could not be written, so taro's events stayed in the
    default calendar; taro deleted one of them there; once the new calendar could be written, the
    move completed and created the event in it -- as a move requested after the deletion does."""
    machine = SyncMachine()
    _run_steps(
        machine,
        [
            ("setup", {"day": 0}),
            ("named_calendar_becomes", {"login": "taro", "writable": False}),
            ("change_calendar", {"calendar": "営業", "login": "taro"}),
            ("user_deletes_event", {"index": 0, "noticed": False}),
            ("named_calendar_becomes", {"login": "taro", "writable": True}),
        ],
    )
    assert any(cal == "営業" and ev.login == "taro" for _, cal, ev in machine.calendar.all_events())


TestSyncStateMachine = SyncMachine.TestCase
TestSyncStateMachine.settings = settings(
    max_examples=200,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
