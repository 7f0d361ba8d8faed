"""Schedules from a CSV file: every valid row goes through the inbox (``trigger="csv"``, S11).

Rows address the same records as the push API by default (``source="push"``), so a CSV export can
seed what the push API keeps up to date, and importing the same file twice changes nothing.
See ``docs/csv-import.md`` for the columns and value formats.

Text cells go through :func:`sfacal.core.text.incoming_text` like the push API's and the JUST.SFA
webhook's fields (at most 20,000 characters, control characters removed); a date and time is read
in the row's time zone as RFC 5545 reads it (:func:`sfacal.core.localtime.resolve_span`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime, time
from typing import Any

from django.utils import timezone

from sfacal.core.errors import InputError
from sfacal.core.localtime import LocalTimeNote, resolve_span
from sfacal.core.schedule import (
    AllDaySpan,
    Change,
    Kind,
    Schedule,
    ScheduleDeletion,
    SourceRef,
    Span,
    Status,
    TimedSpan,
    zone,
)
from sfacal.core.text import incoming_text
from sfacal.directory import writes
from sfacal.directory.companies.models import Company
from sfacal.directory.employees.models import Employee
from sfacal.engine import inbox
from sfacal.engine.models import StoredSchedule, Trigger
from sfacal.sources.csv.reader import EXTRA_CELLS, Columns, Table, read_table
from sfacal.sources.csv.report import FileError, ImportReport, RowChange, RowError, Stopped, log_interruption
from sfacal.sources.csv.values import CellError, parse_flag, parse_list, parse_point, parse_time

DEFAULT_SOURCE = "push"
"""Same records as the push API (``sfacal.sources.push``)."""
BATCH_SIZE = 200

SCHEDULE_COLUMNS = Columns(
    aliases={
        "source_id": ("ID", "スケジュールID", "予定ID", "record_id"),
        "kind": ("種別", "区分", "type"),
        "status": ("状態", "予定実績", "予定/実績"),
        "purpose": ("商談目的", "目的"),
        "business_name": ("業務名", "業務"),
        "customer_name": ("顧客名", "顧客", "customer"),
        "customer_address": ("顧客住所", "住所", "address"),
        "title": ("件名", "タイトル", "subject"),
        "content": ("内容", "メモ", "本文", "memo", "body"),
        "participants": ("参加者", "参加者ログインID", "participant"),
        "start": ("開始", "開始日時"),
        "end": ("終了", "終了日時"),
        "start_date": ("開始日",),
        "start_time": ("開始時刻",),
        "end_date": ("終了日",),
        "end_time": ("終了時刻",),
        "all_day": ("終日",),
        "timezone": ("タイムゾーン", "time_zone", "tz"),
        "updated_at": ("更新日時", "最終更新日時"),
        "version": ("バージョン", "revision"),
        "deleted": ("削除", "delete"),
    },
    required=("source_id",),
)

LIMITS = {"version": 128}
TEXT_COLUMNS = ("title", "content", "purpose", "business_name", "customer_name", "customer_address")


class _Row:
    """Collects the problems of one row."""

    def __init__(self, table: Table, line: int, record: dict[str, str]) -> None:
        self.table = table
        self.line = line
        self.record = record
        self.errors: list[RowError] = []

    def get(self, name: str) -> str:
        return self.record.get(name, "")

    def fail(self, name: str, reason_ja: str, reason_en: str) -> None:
        column = self.table.column_of(name)
        if column is None:  # a combined field: name the column the value came from
            for alt in (f"{name}_date", f"{name}_time"):
                column = column or self.table.column_of(alt)
        self.errors.append(RowError(self.line, column or name, reason_ja, reason_en, self.get(name)))

    def fail_input(self, exc: InputError) -> None:
        reason = exc.params.get("reason", str(exc))
        field = "source_id" if exc.field == "record_id" else exc.field
        self.fail(field, exc.params.get("reason_ja", reason), reason)

    def point(self, name: str) -> date | datetime | None:
        """``start``/``end`` from one column, or from a date column and a time column."""
        try:
            if self.get(name):
                return parse_point(self.get(name))
            day_text, time_text = self.get(f"{name}_date"), self.get(f"{name}_time")
            if not day_text and not time_text:
                return None
            if not day_text:
                return parse_time(time_text)  # type: ignore[return-value]  # combined by the caller
            day = parse_point(day_text)
            if isinstance(day, datetime):
                raise CellError(
                    "日付だけを書いてください（時刻は時刻の列へ）",
                    "a date only (the time goes in its own column)",
                )
            return datetime.combine(day, parse_time(time_text)) if time_text else day
        except CellError as exc:
            self.fail(name, exc.reason_ja, exc.reason_en)
            return None


def _span(row: _Row, tz_name: str) -> tuple[Span | None, tuple[LocalTimeNote, ...]]:
    """The row's span and what reading its wall-clock times in the zone adjusted (RFC 5545)."""
    start, end = row.point("start"), row.point("end")
    if row.errors:
        return None, ()
    flag: bool | None = None
    try:
        flag = parse_flag(row.get("all_day"))
    except CellError as exc:
        row.fail("all_day", exc.reason_ja, exc.reason_en)
        return None, ()
    if start is None or isinstance(start, time):
        row.fail("start", "開始日時が必要です", "a start date (and time) is required")
        return None, ()
    if isinstance(end, time):  # a time alone: on the start's day
        end = datetime.combine(start if not isinstance(start, datetime) else start.date(), end)
    all_day = flag if flag is not None else not isinstance(start, datetime) and not isinstance(end, datetime)
    if all_day:
        first = start.date() if isinstance(start, datetime) else start
        last = first if end is None else end.date() if isinstance(end, datetime) else end
        if last < first:
            row.fail("end", "終了日が開始日より前です", "the end date is before the start date")
            return None, ()
        return AllDaySpan.inclusive(first, last), ()
    if not isinstance(start, datetime):
        row.fail(
            "start",
            "時刻がありません（終日の場合は「終日」列を 1 に）",
            "no time of day (for all-day set all_day to 1)",
        )
        return None, ()
    if end is None:
        row.fail("end", "終了日時が必要です", "an end date and time is required")
        return None, ()
    if not isinstance(end, datetime):
        row.fail("end", "終了の時刻がありません", "the end has no time of day")
        return None, ()
    before = start.tzinfo is None and end.tzinfo is None and end < start  # as written in the file
    start, end, notes = resolve_span(start, end, zone(tz_name))
    if before or end < start:
        row.fail("end", "終了が開始より前です", "the end is before the start")
        return None, ()
    return TimedSpan(start, end), notes


def _updated_at(row: _Row, tz_name: str, now: datetime) -> datetime:
    text = row.get("updated_at")
    if not text:
        return now
    try:
        value = parse_point(text)
    except CellError as exc:
        row.fail("updated_at", exc.reason_ja, exc.reason_en)
        return now
    moment = value if isinstance(value, datetime) else datetime.combine(value, time())
    return moment if moment.tzinfo else moment.replace(tzinfo=zone(tz_name))


def _change(row: _Row, company: str, source: str, default_tz: str, now: datetime) -> Change | None:
    try:
        ref = SourceRef(company, source, row.get("source_id"))
    except InputError as exc:
        row.fail_input(exc)
        return None
    tz_name = row.get("timezone") or default_tz
    try:
        zone(tz_name)
    except InputError as exc:
        row.fail_input(exc)
        return None
    updated_at = _updated_at(row, tz_name, now)
    version = row.get("version") or None
    try:
        deleted = parse_flag(row.get("deleted"))
    except CellError as exc:
        row.fail("deleted", exc.reason_ja, exc.reason_en)
        return None
    if deleted:
        return None if row.errors else ScheduleDeletion(ref, updated_at, version)
    for name, limit in LIMITS.items():
        if len(row.get(name)) > limit:
            row.fail(name, f"{limit}文字以内にしてください", f"longer than {limit} characters")
    texts: dict[str, str] = {}
    for name in TEXT_COLUMNS:
        try:
            texts[name] = incoming_text(row.get(name), name)
        except InputError as exc:
            row.fail_input(exc)
    status: Status | None = Status.PLAN
    kind: Kind | None = None
    try:
        status = Status.parse(row.get("status")) if row.get("status") else Status.PLAN
    except InputError as exc:
        row.fail_input(exc)
    try:
        if row.get("kind"):
            kind = Kind.parse(row.get("kind"))
        else:  # inferred: a customer or a purpose makes it a business talk
            meeting = row.get("customer_name") or row.get("purpose")
            kind = Kind.MEETING if meeting else Kind.TASK
    except InputError as exc:
        row.fail_input(exc)
    span, notes = _span(row, tz_name)
    if row.errors or span is None or kind is None or status is None:
        return None
    try:
        return Schedule(
            ref=ref,
            kind=kind,
            status=status,
            span=span,
            updated_at=updated_at,
            title=texts["title"],
            content=texts["content"],
            purpose=texts["purpose"],
            business_name=texts["business_name"],
            customer_name=texts["customer_name"],
            customer_address=texts["customer_address"],
            participants=tuple(parse_list(row.get("participants"))),
            timezone=tz_name,
            version=version,
            time_notes=notes,
        )
    except InputError as exc:
        row.fail_input(exc)
        return None


def parse_schedules(
    table: Table, report: ImportReport, *, company: str, source: str, default_tz: str, now: datetime
) -> list[tuple[int, Change]]:
    """Valid rows as changes; every problem goes to ``report.errors``."""
    out: list[tuple[int, Change]] = []
    seen: dict[str, int] = {}
    for line, record in table.records():
        row = _Row(table, line, record)
        if EXTRA_CELLS in record:
            row.errors.append(
                RowError(
                    line,
                    None,
                    f'列が見出しより多くあります（{record[EXTRA_CELLS]} 列）。値の中の「,」は "" で囲んでください',
                    f"more cells than columns ({record[EXTRA_CELLS]}); quote values containing commas",
                )
            )
            change = None
        else:
            change = _change(row, company, source, default_tz, now)
        key = row.get("source_id")
        if change is not None and key in seen:
            row.fail(
                "source_id",
                f"ID が重複しています（{seen[key]}行目）",
                f"duplicate ID (also on line {seen[key]})",
            )
            change = None
        if change is None or row.errors:
            report.errors += row.errors
            report.changes.append(RowChange(line, key, "invalid"))
            continue
        seen[key] = line
        out.append((line, change))
    return out


def _chunks(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _warn_unknown_participants(
    company: Company, changes: list[tuple[int, Change]], table: Table, report: ImportReport
) -> None:
    wanted = sorted({p for _, c in changes if isinstance(c, Schedule) for p in c.participants})
    known: set[str] = set()
    for chunk in _chunks(wanted, 900):
        known.update(
            Employee.objects.filter(company=company, login_id__in=list(chunk)).values_list(
                "login_id", flat=True
            )
        )
    column = table.column_of("participants") or "participants"
    for line, change in changes:
        if isinstance(change, Schedule):
            for login in change.participants:
                if login not in known:
                    report.warnings.append(
                        RowError(
                            line,
                            column,
                            "未登録の社員です。取り込み、社員の登録後に連携します",
                            "unknown employee: imported, synced once the employee exists",
                            login,
                        )
                    )


def _dry_run(company: Company, source: str, changes: list[tuple[int, Change]], report: ImportReport) -> None:
    stored: dict[str, tuple[str, datetime | None]] = {}
    ids = [c.ref.record_id for _, c in changes]
    for chunk in _chunks(ids, 900):
        for row in StoredSchedule.objects.filter(company=company, source=source, record_id__in=list(chunk)):
            stored[row.record_id] = (row.content_hash, row.source_updated_at)
    for line, change in changes:
        previous = stored.get(change.ref.record_id)
        if previous is not None and previous[0] == inbox.content_hash(change):
            action = "duplicate"
        elif previous is not None and previous[1] is not None and change.updated_at < previous[1]:
            action = "stale"
        else:
            action = "deleted" if isinstance(change, ScheduleDeletion) else "accepted"
        report.changes.append(RowChange(line, change.ref.record_id, action))


def _write(
    company: Company,
    changes: list[tuple[int, Change]],
    report: ImportReport,
    progress: Callable[[int], None] | None,
) -> None:
    """Every valid row through the inbox, in short transactions (:mod:`sfacal.directory.writes`: no
    other writer waits more than about a chunk); an import that stops says where (``stopped``)."""
    written: list[RowChange] = []

    def write(chunk: Sequence[tuple[int, Change]]) -> None:
        written.clear()
        for line, change in chunk:
            result = inbox.accept(company, change, trigger=Trigger.CSV)
            action = result.outcome.value
            if isinstance(change, ScheduleDeletion) and result.outcome is inbox.Outcome.ACCEPTED:
                action = "deleted"
            written.append(RowChange(line, change.ref.record_id, action))

    def committed(done: int) -> None:
        report.changes.extend(written)
        if progress is not None:
            progress(done)

    try:
        writes.write_in_chunks(changes, write, most=BATCH_SIZE, on_commit=committed)
    except writes.Interrupted as exc:
        rest = changes[exc.done :]
        report.changes += [RowChange(line, change.ref.record_id, "not_imported") for line, change in rest]
        report.stopped = Stopped.at(rest[0][0], exc.cause)
        log_interruption(report.stopped, exc)


def import_schedules(
    company: Company | None,
    data: bytes,
    *,
    encoding: str | None = None,
    dry_run: bool = False,
    source: str = DEFAULT_SOURCE,
    now: datetime | None = None,
    progress: Callable[[int], None] | None = None,
    on_total: Callable[[int], None] | None = None,
) -> ImportReport:
    """Import (or with ``dry_run``, only check) a schedule CSV into ``company``.

    Without a company only the file is checked (times are read in Asia/Tokyo). A bad row is
    reported by line and column and never stops the good rows; good rows are committed in short
    transactions (at most :data:`BATCH_SIZE` rows, under a second each), and an import that
    stops midway says where (``report.stopped``).
    """
    report = ImportReport("schedules", dry_run=dry_run or company is None)
    try:
        table = read_table(data, SCHEDULE_COLUMNS, encoding=encoding)
        if not ({"start", "start_date"} & {f for f in table.fields if f}):
            raise FileError(
                "必須の列がありません: 開始/start（または 開始日/start_date）",
                "required column missing: start (or start_date)",
            )
    except FileError as exc:
        report.file_error = exc
        return report
    report.encoding = table.encoding
    report.columns = [h for h, f in zip(table.headers, table.fields, strict=True) if f]
    report.total = len(table.rows)
    if on_total is not None:
        on_total(report.total)
    when = now or timezone.now()
    changes = parse_schedules(
        table,
        report,
        company=company.slug if company else "preview",
        source=source,
        default_tz=company.timezone if company else "Asia/Tokyo",
        now=when,
    )
    if company is None:
        report.changes += [RowChange(line, c.ref.record_id, "valid") for line, c in changes]
    else:
        _warn_unknown_participants(company, changes, table, report)
        if dry_run:
            _dry_run(company, source, changes, report)
        else:
            _write(company, changes, report, progress)
    report.changes.sort(key=lambda c: c.line)
    report.errors.sort(key=lambda e: e.line)
    return report


def preview_schedules(
    data: bytes, company: Company | None = None, *, encoding: str | None = None, source: str = DEFAULT_SOURCE
) -> ImportReport:
    """For an upload screen: what importing ``data`` would do (nothing is written)."""
    return import_schedules(company, data, encoding=encoding, dry_run=True, source=source)
