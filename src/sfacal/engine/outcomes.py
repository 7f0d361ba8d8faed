"""What a pass tells about its results: log lines for employees a plan leaves alone (L1), then
the records' states, the retry times and each employee's visible state (``last_result``).

Postponed writes (throttling, an outage, the network: retryable errors) are settled here, once the
pass knows all of a record's outcomes: the record gets one retry time (now + the longest wait its
errors ask for, ``Retry-After`` obeyed, 5 s to 5 min), and the warning line of each employee's
postponed writes (one per employee, error and retry time) shows that time (``next_attempt_at``).
It is the time the inbox entry is due (``PassSummary.retry_at`` -> ``InboxEntry.next_attempt_at``;
a record that did not come from the inbox gets an entry due then, :func:`~sfacal.engine.inbox.retry_later`),
so the retry happens when the line says, not before."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from sfacal.core.errors import MailboxUnresolvedError, SfacalError, ThrottledError, UnknownParticipantError
from sfacal.core.planner import Operation, Plan
from sfacal.core.policy import Reason
from sfacal.core.schedule import Change, Kind, Schedule
from sfacal.core.settings import UNSELECTED, EmployeeSettings
from sfacal.directory.employees.models import Employee, LastResult
from sfacal.engine import inbox
from sfacal.engine.context import CompanyContext, RecordKey
from sfacal.engine.loglines import insert_log_lines, log_line
from sfacal.engine.mirrors import OpStatus, Settled
from sfacal.engine.models import LogResult, SyncLogEntry, Trigger
from sfacal.engine.naming import subject_of
from sfacal.engine.work import ItemState, PassSummary, WorkItem

__all__ = ["plan_log_lines", "postponed_lines", "retry_delay", "settle_results", "subject_of"]

# Outcomes without an operation that are worth a "skipped" log line when a change arrives.
_SKIP_REASONS = frozenset(
    {
        Reason.FROZEN_ACTUAL,
        Reason.ACTUAL_NOT_SYNCED,
        Reason.EXCLUDED,
        Reason.BEFORE_SYNC_START,
        Reason.LOST_UNCHANGED,
    }
)
# Triggers that mean "this record just changed" (log unknown participants and skips once).
_CHANGE_TRIGGERS = frozenset(
    {Trigger.WEBHOOK, Trigger.PUSH, Trigger.CSV, Trigger.POLL, Trigger.MANUAL, Trigger.WRITEBACK}
)


def _excluded_value(change: Change) -> dict[str, str]:
    """What an exclusion (P3) matched, for the skip line: the purpose of a 商談, the business
    name of a 業務 (未選択 when empty)."""
    if not isinstance(change, Schedule):
        return {}
    if change.kind is Kind.MEETING:
        return {"purpose": change.purpose or UNSELECTED}
    return {"business_name": change.business_name or UNSELECTED}


def plan_log_lines(
    ctx: CompanyContext,
    item: WorkItem,
    change: Change,
    result: Plan,
    employee_failures: dict[int, str],
    employees: Mapping[str, EmployeeSettings],
) -> list[SyncLogEntry]:
    """Log lines for employees the plan leaves alone for a reason worth telling (L1). A skipped
    employee's line names the mailbox and calendar the event would have gone to."""
    lines: list[SyncLogEntry] = []
    subject: str | None = None  # the schedule's subject, worked out once, for the first line

    def line(login_id: str, **fields: Any) -> SyncLogEntry:
        nonlocal subject
        if subject is None:
            subject = subject_of(change)
        return log_line(
            ctx, trigger=item.trigger, login_id=login_id, ref=change.ref, subject=subject, **fields
        )

    for outcome in result.outcomes:
        if outcome.kinds:
            continue
        employee = ctx.employees.get(outcome.login_id)
        employee_id = int(employee.pk) if employee is not None else None
        if outcome.reason is Reason.MAILBOX_UNRESOLVED:
            error: SfacalError = MailboxUnresolvedError(login_id=outcome.login_id)
            if employee_id is not None:
                employee_failures[employee_id] = error.code
            lines.append(
                line(
                    outcome.login_id,
                    operation="resolve",
                    result=LogResult.FAILURE,
                    employee_id=employee_id,
                    error=error,
                )
            )
        elif item.trigger not in _CHANGE_TRIGGERS:
            continue
        elif outcome.reason is Reason.UNKNOWN_EMPLOYEE:
            lines.append(
                line(
                    outcome.login_id,
                    operation="resolve",
                    result=LogResult.WARNING,
                    error=UnknownParticipantError(
                        f"participant {outcome.login_id!r} of {change.ref} is not a registered employee",
                        login_id=outcome.login_id,
                    ),
                )
            )
        elif outcome.reason in _SKIP_REASONS:
            settings = employees.get(outcome.login_id)
            mailbox = outcome.mailbox or (settings.mailbox(ctx.policy.domain) if settings else None)
            calendar_name = outcome.calendar_name or (settings.calendar_name if settings else None)
            lines.append(
                line(
                    outcome.login_id,
                    operation="skip",
                    result=LogResult.SKIPPED,
                    employee_id=employee_id,
                    mailbox=mailbox or "",
                    calendar_name=calendar_name,
                    params=_excluded_value(change) if outcome.reason is Reason.EXCLUDED else None,
                    message=outcome.reason.value,
                )
            )
    return lines


MIN_RETRY_S = 5.0
MAX_RETRY_S = 300.0


def retry_delay(errors: list[SfacalError]) -> float:
    """Seconds to wait before a record's postponed writes are tried again: the longest
    ``Retry-After`` its errors carry, at least :data:`MIN_RETRY_S`, at most :data:`MAX_RETRY_S`."""
    wait = MIN_RETRY_S
    for err in errors:
        if isinstance(err, ThrottledError) and err.retry_after is not None:
            wait = max(wait, err.retry_after)
    return min(wait, MAX_RETRY_S)


def postponed_lines(
    ctx: CompanyContext,
    postponed: list[tuple[RecordKey, Operation, SfacalError]],
    retry_at: Mapping[RecordKey, datetime],
    triggers: Mapping[RecordKey, str],
    subjects: Mapping[RecordKey, str],
) -> list[SyncLogEntry]:
    """One warning per employee, error and retry time, naming the first schedule it stands for and
    when it is tried again (``postponed``: how many writes it stands for, when more than one)."""
    groups: dict[tuple[str, str, datetime], list[tuple[RecordKey, Operation, SfacalError]]] = {}
    for key, op, error in postponed:
        groups.setdefault((op.login_id, error.code, retry_at[key]), []).append((key, op, error))
    lines: list[SyncLogEntry] = []
    for (_login, _code, when), group in groups.items():
        key, op, error = group[0]
        employee = ctx.employees.get(op.login_id)
        line = log_line(
            ctx,
            trigger=triggers.get(key, Trigger.BATCH),
            operation=op.kind.value,
            result=LogResult.WARNING,
            employee_id=int(employee.pk) if employee is not None else None,
            login_id=op.login_id,
            mailbox=op.mailbox,
            calendar_name=op.calendar_name,
            ref=op.ref,
            subject=op.event.subject if op.event is not None else subjects.get(key, ""),
            error=error,
            message=f"{len(group)} operation(s) postponed and retried automatically: {error.detail}",
            next_attempt_at=when,
        )
        if len(group) > 1:
            line.error_params = {**line.error_params, "postponed": str(len(group))}
        lines.append(line)
    return lines


def settle_results(
    ctx: CompanyContext,
    results: list[Settled],
    summary: PassSummary,
    employee_failures: dict[int, str],
    triggers: Mapping[RecordKey, str] | None = None,
    subjects: Mapping[RecordKey, str] | None = None,
) -> None:
    """The records' states and retry times, the postponed writes' lines (see the module
    docstring) and the employees' visible state. A retry time counts from the moment the pass
    settles (its log line is written then too)."""
    triggers = triggers or {}
    retry_errors: dict[RecordKey, list[SfacalError]] = {}
    postponed: list[tuple[RecordKey, Operation, SfacalError]] = []
    ok_employees: set[int] = set()
    for res in results:
        key = res.key
        employee = ctx.employees.get(res.login_id)
        employee_id = int(employee.pk) if employee is not None else None
        if res.status is OpStatus.OK:
            summary.succeeded += 1
            if employee_id is not None:
                ok_employees.add(employee_id)
        elif res.status is OpStatus.FAILED:
            summary.failed += 1
            if employee_id is not None and res.error is not None:
                employee_failures[employee_id] = res.error.code
        else:
            summary.postponed += 1
            if key is not None and res.error is not None and res.op is not None:
                retry_errors.setdefault(key, []).append(res.error)
                postponed.append((key, res.op, res.error))
    stamp = timezone.now()
    for key, errs in retry_errors.items():
        summary.states[key] = ItemState.RETRY
        summary.retry_at[key] = stamp + timedelta(seconds=retry_delay(errs))
        summary.errors[key] = errs[0].code
    if postponed:
        insert_log_lines(postponed_lines(ctx, postponed, summary.retry_at, triggers, subjects or {}))
        inbox.retry_later(
            ctx.company_id,
            {key: (triggers.get(key, Trigger.BATCH), summary.retry_at[key]) for key in retry_errors},
        )
    by_code: dict[str, list[int]] = {}
    for employee_id, code in employee_failures.items():
        by_code.setdefault(code, []).append(employee_id)
    for code, ids in by_code.items():
        Employee.objects.filter(pk__in=ids).update(
            last_result=LastResult.FAILED, last_error_code=code[:64], last_synced_at=stamp
        )
    ok_only = sorted(ok_employees - set(employee_failures))
    if ok_only:
        Employee.objects.filter(pk__in=ok_only).update(
            last_result=LastResult.OK, last_error_code="", last_synced_at=stamp
        )
