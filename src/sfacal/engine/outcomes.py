"""What a pass tells about its results: log lines for employees a plan leaves alone (L1), then
the records' states, the retry times and each employee's visible state (``last_result``)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from sfacal.core.errors import MailboxUnresolvedError, SfacalError, ThrottledError, UnknownParticipantError
from sfacal.core.planner import Plan
from sfacal.core.policy import Reason
from sfacal.core.render import event_subject
from sfacal.core.schedule import Change, Kind, Schedule
from sfacal.core.settings import UNSELECTED, EmployeeSettings
from sfacal.engine.context import CompanyContext, RecordKey, mapping_for
from sfacal.engine.loglines import log_line
from sfacal.engine.mirrors import OpResult, OpStatus
from sfacal.engine.models import LogResult, SyncLogEntry, Trigger
from sfacal.engine.work import ItemState, PassSummary, WorkItem
from sfacal.web.employees.models import Employee, LastResult

__all__ = ["plan_log_lines", "settle_results", "subject_of"]

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


def subject_of(change: Change) -> str:
    """The subject the schedule's event has (or would have), for its log lines."""
    if isinstance(change, Schedule):
        return event_subject(change, mapping_for(change.ref.source))
    return ""


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


def _retry_delay(errors: list[SfacalError]) -> float:
    wait = 5.0
    for err in errors:
        if isinstance(err, ThrottledError) and err.retry_after is not None:
            wait = max(wait, err.retry_after)
    return min(wait, 300.0)


def settle_results(
    ctx: CompanyContext,
    results: list[OpResult],
    owner: dict[int, RecordKey],
    summary: PassSummary,
    employee_failures: dict[int, str],
    now: datetime,
) -> None:
    retry_errors: dict[RecordKey, list[SfacalError]] = {}
    ok_employees: set[int] = set()
    for res in results:
        key = owner.get(id(res.op))
        employee = ctx.employees.get(res.op.login_id)
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
            if key is not None and res.error is not None:
                retry_errors.setdefault(key, []).append(res.error)
    for key, errs in retry_errors.items():
        summary.states[key] = ItemState.RETRY
        summary.retry_at[key] = now + timedelta(seconds=_retry_delay(errs))
        summary.errors[key] = errs[0].code
    stamp = timezone.now()
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
