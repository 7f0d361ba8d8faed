"""E6: employees' sync settings (E1-E3) from a CSV file, in bulk.

A column present in the file is applied; a column left out keeps each employee's value. An empty
cell clears the value, except 連携 (state) and ユーザーID設定 (user ID mode), where an empty cell keeps
it. Turning sync on records the sync start (E4). See ``docs/csv-import.md``.

* Every row is checked on its own, with or without a company: a login ID, known 連携 and
  ユーザーID設定 values, and mail addresses (メールアドレス, 連携ユーザーID) that Django's
  ``EmailValidator`` accepts; a bad cell is a row error naming its column.
* The apostrophe an export puts in front of a formula-like cell (:mod:`.cells`) is removed, so a
  file downloaded from the employees screen imports back unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from django.utils import timezone

from sfacal.core.errors import InputError
from sfacal.directory.companies.models import Company
from sfacal.directory.employees.bulk import (
    ChangesInterrupted,
    EmployeeChange,
    apply_employee_changes,
    check_address,
    check_login_id,
    parse_state,
    parse_user_id_mode,
)
from sfacal.sources.csv.cells import restore
from sfacal.sources.csv.reader import EXTRA_CELLS, Columns, Table, read_table
from sfacal.sources.csv.report import FileError, ImportReport, RowChange, RowError, Stopped, log_interruption

EMPLOYEE_COLUMNS = Columns(
    aliases={
        "login_id": ("社員ログインID", "ログインID", "社員ID", "login"),
        "name": ("氏名", "社員名", "名前", "full_name"),
        "email": ("メールアドレス", "メール", "mail", "email_address"),
        "state": ("連携", "連携状態", "連携設定", "sync", "sync_state"),
        "user_id_mode": ("ユーザーID設定", "連携ユーザーID設定", "ユーザーIDの設定", "mode"),
        "user_id": ("連携ユーザーID", "ユーザーID", "mailbox", "upn"),
        "calendar_name": ("連携先カレンダー", "カレンダー", "calendar", "target_calendar"),
    },
    required=("login_id",),
)


def _row_error(table: Table, line: int, field: str, exc: InputError) -> RowError:
    reason = exc.params.get("reason", str(exc))
    return RowError(line, table.column_of(field) or field, exc.params.get("reason_ja", reason), reason)


ADDRESS_FIELDS = ("email", "user_id")
"""Columns that hold a mail address (checked per row, before anything is compared)."""


def _changes(table: Table, report: ImportReport) -> list[EmployeeChange]:
    changes: list[EmployeeChange] = []
    for line, cells in table.records():
        record = {name: restore(value) for name, value in cells.items()}
        if EXTRA_CELLS in record:
            report.errors.append(
                RowError(
                    line,
                    None,
                    f'列が見出しより多くあります（{record[EXTRA_CELLS]} 列）。値の中の「,」は "" で囲んでください',
                    f"more cells than columns ({record[EXTRA_CELLS]}); quote values containing commas",
                )
            )
            report.changes.append(RowChange(line, record.get("login_id", ""), "invalid"))
            continue
        try:
            login = check_login_id(record.get("login_id", ""))
        except InputError as exc:
            report.errors.append(_row_error(table, line, "login_id", exc))
            report.changes.append(RowChange(line, "", "invalid"))
            continue
        problems: list[RowError] = []
        state = mode = None
        if record.get("state"):
            try:
                state = parse_state(record["state"])
            except InputError as exc:
                problems.append(_row_error(table, line, "state", exc))
        if record.get("user_id_mode"):
            try:
                mode = parse_user_id_mode(record["user_id_mode"])
            except InputError as exc:
                problems.append(_row_error(table, line, "user_id_mode", exc))
        for name in ADDRESS_FIELDS:
            try:
                check_address(record.get(name, ""), name)
            except InputError as exc:
                problems.append(_row_error(table, line, name, exc))
        if problems:
            report.errors.extend(problems)
            report.changes.append(RowChange(line, login, "invalid"))
            continue
        changes.append(
            EmployeeChange(
                login_id=login,
                name=record.get("name"),
                email=record.get("email"),
                state=state,
                user_id_mode=mode,
                user_id=record.get("user_id"),
                calendar_name=record.get("calendar_name"),
                ref=line,
            )
        )
    return changes


def import_employees(
    company: Company | None,
    data: bytes,
    *,
    encoding: str | None = None,
    dry_run: bool = False,
    now: datetime | None = None,
    progress: Callable[[int], None] | None = None,
    on_total: Callable[[int], None] | None = None,
    actor: object = None,
) -> ImportReport:
    """Import (or with ``dry_run``, only check) an employee CSV into ``company``.

    Without a company only the file itself is checked (nothing is compared or written). A bad
    row is reported by line and column and never stops the good rows. The rows are applied by
    :func:`sfacal.directory.employees.bulk.apply_employee_changes` (audited as ``actor``, the signed-in
    user of an upload screen), in short transactions; an import that stops midway keeps the rows
    written before and says where it stopped (``report.stopped``, the rows after are
    ``not_imported``).
    """
    report = ImportReport("employees", dry_run=dry_run or company is None)
    try:
        table = read_table(data, EMPLOYEE_COLUMNS, encoding=encoding)
    except FileError as exc:
        report.file_error = exc
        return report
    report.encoding = table.encoding
    report.columns = [h for h, f in zip(table.headers, table.fields, strict=True) if f]
    report.total = len(table.rows)
    if on_total is not None:
        on_total(report.total)
    changes = _changes(table, report)
    if company is None:
        report.changes += [RowChange(c.ref, c.login_id, "valid") for c in changes]
        report.changes.sort(key=lambda c: c.line)
        return report
    try:
        outcomes = apply_employee_changes(
            company, changes, now=now or timezone.now(), dry_run=dry_run, progress=progress, actor=actor
        )
    except ChangesInterrupted as exc:  # the rows before are written (short transactions)
        outcomes = exc.outcomes
        report.stopped = Stopped.at(exc.first.ref, exc.cause)
        log_interruption(report.stopped, exc)
    for outcome in outcomes:
        if outcome.error is not None:
            report.errors.append(_row_error(table, outcome.ref, outcome.error.field, outcome.error))
            report.changes.append(RowChange(outcome.ref, outcome.login_id, "invalid"))
        else:
            report.changes.append(RowChange(outcome.ref, outcome.login_id, outcome.action))
    report.changes.sort(key=lambda c: c.line)
    report.errors.sort(key=lambda e: e.line)
    return report


def preview_employees(
    data: bytes, company: Company | None = None, *, encoding: str | None = None
) -> ImportReport:
    """For an upload screen: what importing ``data`` would do (nothing is written)."""
    return import_employees(company, data, encoding=encoding, dry_run=True)
