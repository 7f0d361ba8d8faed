"""One pass: stored changes -> plans -> calendar writes -> mirror table and log.

:func:`run_items` is the single path every trigger takes (inbox, periodic batch, "sync now",
back-fill, settings changes):

1. read the latest stored state of each record, its mirror rows and the employees involved, in
   bulk (:mod:`sfacal.engine.context`); a schedule stays in its stored form until it is planned
   (:class:`~sfacal.engine.context.Undecoded`: its stored participants are enough for step 2);
2. take the leases of every mailbox the records may touch (the participants' mailboxes and those of
   existing mirror rows); a record with a mailbox held by another worker waits for a later pass;
3. read the mirror rows again -- now nobody else writes them -- and plan each record with
   :func:`sfacal.core.planner.plan`, slice by slice (:data:`SLICE` records, ordered so that every
   mailbox gets its first batch early); each slice's creates are written ahead (PENDING rows, with
   the slice's log lines) in one transaction and only then handed to the execution; a slice's
   stored schedules are read (again) and rebuilt when it is planned;
4. execute per mailbox (:mod:`sfacal.engine.executor`) while the next slice is planned: send, then
   record outcomes + log lines (on this thread, between slices and after planning). Planning stays
   at most :data:`AHEAD_BATCHES` JSON batches per mailbox (at least one slice) ahead of what is
   recorded: while more operations wait, this thread records outcomes instead of planning, and a
   recorded operation is freed at once (only its status is kept). A pass's memory so grows with the
   mailboxes it writes to at once, not with its records;
5. update each employee's visible state (``last_result``, ``last_error_code``, ``last_synced_at``)
   and report, per record, whether it is done, must be retried (throttling, outage, busy mailbox)
   or waits for the company to switch sync on (C1, C4) -- :mod:`sfacal.engine.outcomes`, which
   also writes the log lines of employees a plan leaves alone and of postponed writes (with the
   time they are tried again).

Every log line names its schedule: a write carries its event's subject; a delete, which carries no
event, takes the subject this pass worked out for the record (:mod:`sfacal.engine.naming`: the
schedule's, or a deletion's last known one) -- worked out only for records with a delete, so a pass
of creates pays nothing for it. A record whose wall-clock times were read as RFC 5545 reads a time
that does not exist or occurs twice (``Schedule.time_notes``) has its writes logged as warnings
that say what was received and what was written.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import gc
import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime, timedelta

from django.utils import timezone

from sfacal.core.errors import InputError, SfacalError
from sfacal.core.planner import MirrorRow, Operation, OpKind, plan
from sfacal.core.schedule import Change, Schedule
from sfacal.core.settings import EmployeeSettings
from sfacal.engine import executor
from sfacal.engine.context import (
    CompanyContext,
    RecordKey,
    Stored,
    Undecoded,
    decode,
    load_employees,
    load_payloads,
    load_stored,
    mapping_for,
)
from sfacal.engine.leases import LeaseSet, mailbox_key
from sfacal.engine.loglines import log_line
from sfacal.engine.mirrors import (
    MirrorValues,
    OpResult,
    OpStatus,
    Recorder,
    Settled,
    load_mirror_values,
    mirror_row,
)
from sfacal.engine.models import LogResult, SyncLogEntry
from sfacal.engine.moves import finish_moves
from sfacal.engine.naming import subject_of
from sfacal.engine.outcomes import plan_log_lines, settle_results
from sfacal.engine.work import FollowUp, ItemState, PassSummary, WorkItem

__all__ = ["run_items"]

log = logging.getLogger(__name__)

BUSY_RETRY_S = 2.0
SLICE = 1000  # records planned (and written ahead) between hand-overs to the execution
FIRST_SLICE = 100  # the first slice; each next one doubles, up to SLICE
AHEAD_BATCHES = 2  # planned operations not yet recorded: at most this many batches per mailbox


def _participants(change: Stored) -> tuple[str, ...]:
    return change.participants if isinstance(change, Schedule | Undecoded) else ()


def _logins(change: Stored, rows: Iterable[MirrorValues]) -> set[str]:
    logins = {row.login_id for row in rows}
    logins.update(_participants(change))
    return logins


_gc_lock = threading.Lock()
_gc_depth = 0
_gc_resume = False


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a pass runs.

    A pass builds hundreds of thousands of small objects (schedules, plans, operations, rows) that
    live until it ends; with the collector on, its repeated sweeps over them cost about a fifth of
    the pass's CPU. Reference counting still frees everything that is not part of a cycle; the
    collector resumes when the last pass running in the process ends."""
    global _gc_depth, _gc_resume
    with _gc_lock:
        if _gc_depth == 0:
            _gc_resume = gc.isenabled()
            gc.disable()
        _gc_depth += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_depth -= 1
            if _gc_depth == 0 and _gc_resume:
                gc.enable()


def run_items(
    ctx: CompanyContext,
    items: Iterable[WorkItem],
    *,
    leases: LeaseSet | None = None,
    now: datetime | None = None,
    on_chunk: Callable[[list[OpResult]], None] | None = None,
) -> PassSummary:
    """Plan and execute ``items`` (see the module docstring). The mailbox leases taken here are
    released before returning; pass a :class:`LeaseSet` to share its owner id (and renewal).

    A record whose plan left events in an old place until the new place holds ours (a calendar or
    mailbox switch, :attr:`~sfacal.core.planner.Plan.follow_up`) is planned once more in the same
    call when its writes succeeded, so the old events go as soon as the new ones exist
    (:mod:`sfacal.engine.moves`)."""
    with collector_paused():
        summary = _run_items(ctx, items, leases, now, on_chunk)
        if summary.follow_up:
            finish_moves(ctx, summary, lambda again: _run_items(ctx, again, leases, None, on_chunk))
        return summary


def _run_items(
    ctx: CompanyContext,
    items: Iterable[WorkItem],
    leases: LeaseSet | None,
    now: datetime | None,
    on_chunk: Callable[[list[OpResult]], None] | None,
) -> PassSummary:
    leases = leases or LeaseSet()
    now = now or timezone.now()
    summary = PassSummary()
    by_key: dict[RecordKey, WorkItem] = {}
    for item in items:
        by_key[item.key] = item  # the latest wins; a record is planned once per pass
    summary.records = len(by_key)
    if not by_key:
        return summary
    if not (ctx.policy.sync_enabled and ctx.policy.write_enabled):
        summary.states = dict.fromkeys(by_key, ItemState.DEFERRED)
        return summary

    # Schedules stay in their stored form until planned (the first batches go out sooner).
    changes, broken = load_stored(ctx, by_key)
    for key, reason in broken.items():
        summary.states[key] = ItemState.BROKEN
        summary.errors[key] = reason
    for key in by_key:
        if key not in changes and key not in broken:
            summary.states[key] = ItemState.DONE  # nothing stored (never accepted): nothing to do

    first_rows = load_mirror_values(ctx, changes)
    rows_by_key: dict[RecordKey, list[MirrorValues]] = {}
    for row in first_rows:
        rows_by_key.setdefault((row.source, row.record_id), []).append(row)
    all_logins: set[str] = set()
    for key, change in changes.items():
        all_logins |= _logins(change, rows_by_key.get(key, ()))
    load_employees(ctx, all_logins)
    settings_by_login = ctx.employee_settings(all_logins)

    # 2. Leases of every mailbox a record may touch.
    domain = ctx.policy.domain
    box_of: dict[str, str | None] = {
        login: found.mailbox(domain) for login, found in settings_by_login.items()
    }
    wanted: dict[RecordKey, set[str]] = {}
    for key, change in changes.items():
        boxes: set[str] = set()
        for login in _logins(change, rows_by_key.get(key, ())):
            box = box_of.get(login)
            if box:
                boxes.add(mailbox_key(ctx.company_id, box))
        for row in rows_by_key.get(key, ()):
            boxes.add(mailbox_key(ctx.company_id, row.mailbox))
        wanted[key] = boxes
    got: set[str] = leases.acquire(set().union(*wanted.values())) if wanted else set()
    ready = [key for key in changes if wanted[key] <= got]
    del wanted, rows_by_key, first_rows  # large passes: keep only what planning needs
    ready_set = set(ready)
    for key in changes:
        if key not in ready_set:
            summary.states[key] = ItemState.RETRY
            summary.retry_at[key] = now + timedelta(seconds=BUSY_RETRY_S)
            summary.busy += 1
    del ready_set
    try:
        _plan_and_execute(ctx, by_key, changes, ready, leases, summary, now, on_chunk)
    finally:
        leases.release(got)
    return summary


def _slices(total: int) -> Iterator[tuple[int, int]]:
    """``(start, end)`` of the slices of a pass: small first (the first batches go out early), then
    :data:`SLICE` records each."""
    start, size = 0, FIRST_SLICE
    while start < total:
        end = min(total, start + size)
        yield start, end
        start, size = end, min(SLICE, size * 2)


def _interleaved(
    keys: list[RecordKey],
    changes: Mapping[RecordKey, Stored],
    rows: Mapping[RecordKey, list[MirrorRow]],
    employees: Mapping[str, EmployeeSettings],
    domain: str | None,
) -> list[RecordKey]:
    """``keys`` ordered so that every mailbox gets its first :data:`executor.BATCH` records early:
    records grouped by their first mailbox, taken round-robin, a batch's worth at a time."""
    groups: dict[str, list[RecordKey]] = {}
    for key in keys:
        box = ""
        for login in _participants(changes[key]):
            found = employees.get(login)
            box = (found.mailbox(domain) if found is not None else None) or ""
            if box:
                break
        if not box and rows.get(key):
            box = rows[key][0].mailbox
        groups.setdefault(box, []).append(key)
    if len(groups) <= 1:
        return keys
    lists = list(groups.values())
    out: list[RecordKey] = []
    step = executor.BATCH
    for start in range(0, max(len(x) for x in lists), step):
        for group in lists:
            out.extend(group[start : start + step])
    return out


def _plan_and_execute(
    ctx: CompanyContext,
    by_key: dict[RecordKey, WorkItem],
    changes: dict[RecordKey, Stored],
    ready: list[RecordKey],
    leases: LeaseSet,
    summary: PassSummary,
    now: datetime,
    on_chunk: Callable[[list[OpResult]], None] | None,
) -> None:
    """3. Mirror rows again, under the leases; plan slice by slice, writing each slice ahead and
    handing it to the execution, which sends while the next slice is planned."""
    core_rows: dict[RecordKey, list[MirrorRow]] = {}
    new_logins: set[str] = set()
    for values in load_mirror_values(ctx, ready):
        found = mirror_row(values, ctx.slug)
        if found is not None:
            core_rows.setdefault((values.source, values.record_id), []).append(found)
        if values.login_id not in ctx.employees:
            new_logins.add(values.login_id)
    if new_logins:
        load_employees(ctx, new_logins)
    employees = ctx.employee_settings(ctx.employees)
    triggers = {key: by_key[key].trigger for key in ready}
    subjects: dict[RecordKey, str] = {}  # records with a delete: what their lines call them
    noted: dict[RecordKey, dict[str, str]] = {}  # records with adjusted wall-clock times (rare)
    recorder = Recorder(ctx, triggers, subjects, noted)
    bridge = executor.DbBridge()
    owner: dict[int, RecordKey] = {}
    execution = executor.Execution(ctx.settings, bridge, recorder, leases, on_chunk, owner)
    running: concurrent.futures.Future[list[Settled]] | None = None
    employee_failures: dict[int, str] = {}
    results: list[Settled] = []
    fed_boxes: set[str] = set()
    order = _interleaved(ready, changes, core_rows, employees, ctx.policy.domain)
    try:
        if order:  # the calendar service (connections, token) gets ready while the first slice is planned
            running = bridge.start(execution.main())
        for start, end in _slices(len(order)):
            jobs: dict[str, list[Operation]] = {}
            logs: list[SyncLogEntry] = []
            planned: list[Operation] = []
            keys = order[start:end]
            payloads = load_payloads(ctx, [k for k in keys if isinstance(changes[k], Undecoded)])
            for key in keys:
                item = by_key[key]
                stored = changes.pop(key)  # planned once; the operations keep what they need
                try:
                    decoded = decode(stored, payloads.pop(key, None))
                except InputError as exc:
                    summary.states[key] = ItemState.BROKEN
                    summary.errors[key] = exc.detail
                    continue
                if decoded is None:  # deleted since it was read: its deletion's entry plans it
                    summary.states[key] = ItemState.RETRY
                    summary.retry_at[key] = now + timedelta(seconds=BUSY_RETRY_S)
                    continue
                change = decoded
                if isinstance(stored, Undecoded) and _participants(change) != stored.participants:
                    # Not expected (stored_participants says what decoding gives); the leases
                    # were taken for the stored participants, so plan it in a later pass.
                    log.error("participants of %s changed when decoded; retried", change.ref)
                    summary.states[key] = ItemState.RETRY
                    summary.retry_at[key] = now + timedelta(seconds=BUSY_RETRY_S)
                    continue
                try:
                    result = plan(
                        change,
                        employees,
                        core_rows.get(key, ()),
                        ctx.policy,
                        ctx.masters,
                        backfill=item.backfill,
                        mapping=mapping_for(change.ref.source),
                        only=item.only,
                    )
                except SfacalError as exc:
                    summary.states[key] = ItemState.BROKEN
                    summary.errors[key] = exc.detail
                    logs.append(
                        log_line(
                            ctx,
                            trigger=item.trigger,
                            operation="plan",
                            result=LogResult.FAILURE,
                            ref=change.ref,
                            subject=_subject_or_blank(change),
                            error=exc,
                        )
                    )
                    continue
                if result.blocked is not None:
                    summary.states[key] = ItemState.DEFERRED
                    continue
                summary.states[key] = ItemState.DONE
                if result.follow_up:
                    summary.follow_up[key] = FollowUp(
                        item,
                        frozenset(
                            (op.login_id, op.mailbox, op.calendar_name)
                            for op in result.operations
                            if op.kind is OpKind.CREATE
                        ),
                    )
                logs.extend(plan_log_lines(ctx, item, change, result, employee_failures, employees))
                named = False
                for op in result.operations:
                    jobs.setdefault(op.mailbox, []).append(op)
                    owner[id(op)] = key
                    planned.append(op)
                    if op.event is None and not named:  # a delete: its line names the schedule
                        subjects[key] = _subject_for_deletes(change, result.operations)
                        named = True
                if isinstance(change, Schedule) and change.time_notes:
                    noted[key] = _note_params(change)
            summary.operations += len(planned)
            try:
                recorder.write_ahead(planned, logs)
            except Exception as exc:  # not durable: do not send
                log.exception("writing ahead failed")
                err = executor._as_error(exc)
                results.extend(
                    Settled.of(OpResult(op, OpStatus.RETRY, err), owner.get(id(op))) for op in planned
                )
                jobs = {}
            del planned, logs
            if jobs and running is not None:
                execution.feed(jobs)
                fed_boxes.update(jobs)
            del jobs
            if running is not None:
                bridge.serve_pending()
                # Plan ahead of the execution by a few batches per mailbox, no more (step 4).
                ahead = max(SLICE, AHEAD_BATCHES * executor.BATCH * len(fed_boxes))
                while execution.outstanding > ahead and bridge.serve_next(timeout=1.0):
                    pass
    finally:
        if running is not None:
            execution.close()
            executed: list[Settled] = bridge.finish(running)
            results.extend(executed)
    settle_results(ctx, results, summary, employee_failures, triggers, subjects)
    if summary.follow_up:  # only records whose writes all succeeded are planned again
        for done in results:
            if done.status is not OpStatus.OK:
                summary.follow_up.pop(done.key or ("", ""), None)


def _subject_for_deletes(change: Change, operations: Iterable[Operation]) -> str:
    """The subject a delete's line names: the plan's own rendered one when it also writes the
    event elsewhere (a move), else the schedule's (or a deletion's last known one)."""
    for op in operations:
        if op.event is not None:
            return op.event.subject
    return subject_of(change)


def _subject_or_blank(change: Change) -> str:
    try:
        return subject_of(change)
    except SfacalError:
        return ""


def _note_params(schedule: Schedule) -> dict[str, str]:
    """What the write lines of a schedule with adjusted wall-clock times store (see
    :meth:`~sfacal.core.localtime.LocalTimeNote.log_params`)."""
    params: dict[str, str] = {}
    for note in schedule.time_notes:
        params.update(note.log_params())
    return params
