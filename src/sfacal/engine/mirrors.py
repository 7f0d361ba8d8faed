"""The mirror table, seen from one pass: load rows, write ahead, record outcomes (with their log
lines, written through :mod:`sfacal.engine.loglines`).

Stored state -> the planner's :class:`~sfacal.core.planner.MirrorRow` status:

======================  ==========================================================
``pending_create``      PENDING: a create was (or is about to be) sent; re-sent with the same
                        ``transactionId``, so a crash between "sent" and "recorded" never duplicates
``synced``              ACTIVE (the event exists with ``content_hash``)
``failed``              ACTIVE when an event id is known (the failed update is re-sent), else a
                        REMOVED tombstone (the failed create is sent again with the next generation)
``removed``             REMOVED (we deleted it; the generation goes on)
``lost``                LOST (deleted in the calendar: re-created at the next SFA change, S9)
======================  ==========================================================

:class:`Recorder` runs on the pass's database thread. :meth:`Recorder.write_ahead` persists the
PENDING rows of a mailbox's creates *before* they are sent; :meth:`Recorder.record` stores every
outcome of a mailbox -- mirror rows and log lines (L1) -- in one transaction. Both use bulk
statements (``executemany`` / ``bulk_create``), so a mailbox with 100 events costs a few
statements, not hundreds.

Log lines of the outcomes: a write names its event's subject, a delete the subject the pass gave
its record (``subjects``); a write whose subject was cut says so (``subject_shortened``), and one of
a record with adjusted wall-clock times (``notes``, RFC 5545) is a warning that says what was
received and written. Postponed writes are not logged here but when the pass settles, with the time
they are tried again (:func:`sfacal.engine.outcomes.postponed_lines`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, NamedTuple

from django.db import connection, transaction
from django.utils import timezone

from sfacal.calendars.base import WriteOutcome
from sfacal.core.errors import NotFoundError, SfacalError, log_params
from sfacal.core.frozen import quick_init
from sfacal.core.planner import Operation, OpKind
from sfacal.core.schedule import SourceRef
from sfacal.core.settings import normalize_calendar, normalize_mailbox
from sfacal.engine.context import CompanyContext, RecordKey, rows_of_records
from sfacal.engine.loglines import error_params_value, insert_log_lines, insert_log_rows
from sfacal.engine.mirror_view import mirror_row
from sfacal.engine.models import LogResult, MirrorEvent, MirrorState, SyncLogEntry

__all__ = [
    "MirrorValues",
    "OpResult",
    "OpStatus",
    "Place",
    "Recorder",
    "Settled",
    "load_mirror_values",
    "mirror_row",
    "place_of",
]

Place = tuple[str, str, str, str, str]  # (source, record_id, login_id, mailbox, calendar_name or "")


def place_of(ref: SourceRef, login_id: str, mailbox: str, calendar_name: str | None) -> Place:
    return (ref.source, ref.record_id, login_id, mailbox, calendar_name or "")


class MirrorValues(NamedTuple):
    """The columns of a mirror row the planner needs (read without model instances)."""

    source: str
    record_id: str
    login_id: str
    mailbox: str
    calendar_name: str
    event_id: str
    transaction_id: str
    content_hash: str
    change_key: str
    generation: int
    synced_version: str
    state: str


def load_mirror_values(ctx: CompanyContext, keys: Iterable[RecordKey]) -> list[MirrorValues]:
    """Every mirror row of the given records, as :class:`MirrorValues` (chunked ``IN`` queries)."""
    make = MirrorValues._make
    return [make(row) for _, row in rows_of_records(ctx, MirrorEvent, MirrorValues._fields, keys)]


class OpStatus(StrEnum):
    OK = "ok"
    FAILED = "failed"  # for good: a person must act (logged with its hint)
    RETRY = "retry"  # throttling, outage: the change stays in the inbox and is retried


@quick_init
@dataclass(frozen=True)
class OpResult:
    op: Operation
    status: OpStatus
    error: SfacalError | None = None


class Settled(NamedTuple):
    """What a pass keeps of an operation once its outcome is recorded, until the pass settles
    (:func:`sfacal.engine.outcomes.settle_results`): the record it belongs to, the employee, the
    status and error -- and the operation itself only when it was not written (its postponed line
    names it). A written operation (and its rendered event) is freed as soon as it is recorded, so
    a pass holds its recorded outcomes in a few dozen bytes each."""

    key: RecordKey | None
    login_id: str
    status: OpStatus
    error: SfacalError | None
    op: Operation | None

    @classmethod
    def of(cls, result: OpResult, key: RecordKey | None) -> Settled:
        op = result.op
        return cls(
            key, op.login_id, result.status, result.error, None if result.status is OpStatus.OK else op
        )


_MIRROR_COLUMNS = (
    "company_id",
    "source",
    "record_id",
    "employee_id",
    "login_id",
    "mailbox",
    "calendar_name",
    "calendar_id",
    "event_id",
    "transaction_id",
    "content_hash",
    "change_key",
    "generation",
    "synced_version",
    "state",
    "last_error_code",
    "updated_at",
)
_PLACE_COLUMNS = ("company_id", "source", "record_id", "login_id", "mailbox", "calendar_name")


def _q(name: str) -> str:
    return str(connection.ops.quote_name(name))


def _upsert_sql(update: Sequence[str]) -> str:
    """``INSERT … ON CONFLICT (place) DO UPDATE SET …`` (SQLite >= 3.24 and PostgreSQL)."""
    table = _q(MirrorEvent._meta.db_table)
    cols = ", ".join(_q(c) for c in _MIRROR_COLUMNS)
    marks = ", ".join(["%s"] * len(_MIRROR_COLUMNS))
    target = ", ".join(_q(c) for c in _PLACE_COLUMNS)
    sets = ", ".join(f"{_q(c)} = excluded.{_q(c)}" for c in update)
    return f"INSERT INTO {table} ({cols}) VALUES ({marks}) ON CONFLICT ({target}) DO UPDATE SET {sets}"  # noqa: S608


def _owner_sql() -> str:
    """Point a row at its employee when it points elsewhere (see :meth:`Recorder.record`)."""
    table = _q(MirrorEvent._meta.db_table)
    where = " AND ".join(f"{_q(c)} = %s" for c in _PLACE_COLUMNS)
    employee = _q("employee_id")
    return f"UPDATE {table} SET {employee} = %s WHERE {where} AND {employee} <> %s"  # noqa: S608


def _update_sql(update: Sequence[str]) -> str:
    table = _q(MirrorEvent._meta.db_table)
    sets = ", ".join(f"{_q(c)} = %s" for c in update)
    where = " AND ".join(f"{_q(c)} = %s" for c in _PLACE_COLUMNS)
    return f"UPDATE {table} SET {sets} WHERE {where}"  # noqa: S608


_PENDING_SET = ("state", "transaction_id", "generation", "event_id", "change_key", "updated_at")
_DONE_SET = (
    "state",
    "event_id",
    "transaction_id",
    "generation",
    "content_hash",
    "change_key",
    "synced_version",
    "last_error_code",
    "updated_at",
)
_FAILED_SET = ("state", "event_id", "last_error_code", "updated_at")
_PENDING = MirrorState.PENDING_CREATE.value
_SYNCED = MirrorState.SYNCED.value
_REMOVED = MirrorState.REMOVED.value
_FAILED = MirrorState.FAILED.value


class Recorder:
    """Writes of one pass (run them on the pass's database thread). Rows are addressed by their
    unique place (company, record, employee, mailbox, calendar), so no ids are needed.

    Rows and log lines are built as plain tuples straight from the operations (the same values
    :func:`~sfacal.core.planner.pending_row` / :func:`~sfacal.core.planner.row_after` describe):
    this runs once or twice for every calendar write of a pass."""

    def __init__(
        self,
        ctx: CompanyContext,
        triggers: dict[RecordKey, str] | None = None,
        subjects: dict[RecordKey, str] | None = None,
        notes: dict[RecordKey, dict[str, str]] | None = None,
    ) -> None:
        self.ctx = ctx
        self.triggers = triggers if triggers is not None else {}
        self.subjects = subjects if subjects is not None else {}  # records with a delete
        self.notes = notes if notes is not None else {}  # records with adjusted wall-clock times
        self._employee_ids: dict[str, int | None] = {}
        self._pending_sql = _upsert_sql(_PENDING_SET)
        self._done_sql = _upsert_sql(_DONE_SET)
        self._owner_sql = _owner_sql()
        self._failed_sql = _update_sql(_FAILED_SET)
        self._no_params = error_params_value({})

    def _employee_id(self, login_id: str) -> int | None:
        try:
            return self._employee_ids[login_id]
        except KeyError:
            row = self.ctx.employees.get(login_id)
            found = int(row.pk) if row is not None else None
            self._employee_ids[login_id] = found
            return found

    def _trigger(self, op: Operation) -> str:
        return self.triggers.get((op.ref.source, op.ref.record_id), "batch")

    # -- write-ahead ------------------------------------------------------------------------------
    def pending_rows(self, ops: Iterable[Operation], stamp: Any) -> list[tuple[Any, ...]]:
        """The PENDING row of every create in ``ops`` (what :func:`pending_row` describes)."""
        company = self.ctx.company_id
        rows: list[tuple[Any, ...]] = []
        for op in ops:
            if op.kind is not OpKind.CREATE:
                continue
            employee_id = self._employee_id(op.login_id)
            if employee_id is None:
                continue
            rows.append(
                (
                    company,
                    op.ref.source,
                    op.ref.record_id,
                    employee_id,
                    op.login_id,
                    normalize_mailbox(op.mailbox) or "",
                    normalize_calendar(op.calendar_name) or "",
                    "",
                    "",
                    op.transaction_id,
                    "",
                    "",
                    op.generation,
                    "",
                    _PENDING,
                    "",
                    stamp,
                )
            )
        return rows

    def write_ahead(self, ops: Sequence[Operation], logs: Sequence[SyncLogEntry] = ()) -> None:
        """Persist the PENDING row of every create in ``ops`` -- and ``logs`` -- in one transaction,
        before any of them is sent."""
        stamp = connection.ops.adapt_datetimefield_value(timezone.now())
        params = self.pending_rows(ops, stamp)
        if not params and not logs:
            return
        with transaction.atomic():
            if params:
                with connection.cursor() as cursor:
                    cursor.executemany(self._pending_sql, params)
            insert_log_lines(logs)

    # -- outcomes ---------------------------------------------------------------------------------
    def record(
        self,
        ops: Sequence[Operation],
        outcomes: Sequence[WriteOutcome | SfacalError],
        triggers: dict[RecordKey, str] | None = None,
    ) -> list[OpResult]:
        """Store the outcome of each op (mirror row + log line), in one transaction."""
        if triggers is not None:
            self.triggers = triggers
        now = timezone.now()
        stamp = connection.ops.adapt_datetimefield_value(now)
        company = self.ctx.company_id
        done_rows: list[tuple[Any, ...]] = []
        failed_rows: list[tuple[Any, ...]] = []
        logs: list[tuple[Any, ...]] = []
        results: list[OpResult] = []
        notes = self.notes
        for op, outcome in zip(ops, outcomes, strict=True):
            error = outcome if isinstance(outcome, SfacalError) else outcome.error
            if error is None and isinstance(outcome, WriteOutcome):
                done = op.recreate() if outcome.recreated else op
                row = self._done_row(done, outcome, stamp)
                if row is None:
                    error = SfacalError(f"{op.kind} answered without an event id")
                else:
                    if row is not _NO_ROW:
                        done_rows.append(row)
                    results.append(OpResult(op, OpStatus.OK))
                    operation = "recreate" if outcome.recreated else op.kind.value
                    event = op.event
                    if event is not None and (event.subject_cut or notes):
                        logs.append(self._noted_log(op, operation, stamp))
                    else:
                        logs.append(
                            self._log(op, operation, LogResult.SUCCESS.value, stamp, message=op.reason.value)
                        )
                    continue
            assert error is not None
            if error.retryable:  # logged when the pass settles, with its retry time
                results.append(OpResult(op, OpStatus.RETRY, error))
                continue
            if isinstance(error, NotFoundError) and op.kind is OpKind.DELETE:
                results.append(OpResult(op, OpStatus.OK))
                continue
            results.append(OpResult(op, OpStatus.FAILED, error))
            logs.append(self._log(op, op.kind.value, LogResult.FAILURE.value, stamp, error=error))
            place = (company, *place_of(op.ref, op.login_id, op.mailbox, op.calendar_name))
            if op.kind is OpKind.CREATE:
                failed_rows.append((_FAILED, "", error.code[:64], stamp, *place))
            elif op.kind is OpKind.UPDATE:
                failed_rows.append((_FAILED, op.event_id or "", error.code[:64], stamp, *place))
        with transaction.atomic(savepoint=False):  # the bridge already isolates each call
            with connection.cursor() as cursor:
                if done_rows:
                    # The upsert leaves ``employee_id`` alone: naming an indexed column in its SET
                    # makes SQLite rewrite that index entry and the row even when the value is the
                    # same -- six times the pages written per recorded outcome. A row keeps its
                    # employee (its place holds the login ID) except in the rare case of a login ID
                    # passed from one employee to another; the second statement catches exactly
                    # those (an index look-up per row, nothing written when the owner is right).
                    cursor.executemany(self._done_sql, done_rows)
                    cursor.executemany(
                        self._owner_sql, [(r[3], r[0], r[1], r[2], r[4], r[5], r[6], r[3]) for r in done_rows]
                    )
                if failed_rows:
                    cursor.executemany(self._failed_sql, failed_rows)
            insert_log_rows(logs)
        return results

    def _done_row(self, op: Operation, outcome: WriteOutcome, stamp: Any) -> tuple[Any, ...] | None:
        """The row once ``op`` succeeded (:func:`row_after`): ``None`` when a create or update came
        back without an event id; :data:`_NO_ROW` for an employee without a row."""
        employee_id = self._employee_id(op.login_id)
        if op.kind is OpKind.DELETE:
            state, event_id, content_hash, change_key, revision = _REMOVED, "", "", "", ""
        else:
            event_id = outcome.event_id or op.event_id or ""
            if not event_id:
                return None
            state = _SYNCED
            content_hash = op.content_hash or ""
            change_key = (outcome.change_key or "")[:255]
            revision = (op.revision or "")[:128]
        if employee_id is None:
            return _NO_ROW
        return (
            self.ctx.company_id,
            op.ref.source,
            op.ref.record_id,
            employee_id,
            op.login_id,
            normalize_mailbox(op.mailbox) or "",
            normalize_calendar(op.calendar_name) or "",
            "",
            event_id,
            op.transaction_id,
            content_hash,
            change_key,
            op.generation,
            revision,
            state,
            "",
            stamp,
        )

    def _noted_log(self, op: Operation, operation: str, stamp: Any) -> tuple[Any, ...]:
        """The line of a write with something to tell: its subject was cut (the whole text opens
        the body), or its record's wall-clock times were adjusted (a warning, RFC 5545)."""
        params: dict[str, str] = {}
        if op.event is not None and op.event.subject_cut:
            params["subject_shortened"] = "1"
        adjusted = self.notes.get((op.ref.source, op.ref.record_id))
        if adjusted:
            params.update(adjusted)
        result = LogResult.WARNING.value if adjusted else LogResult.SUCCESS.value
        return self._log(op, operation, result, stamp, message=op.reason.value, params=params)

    def _log(
        self,
        op: Operation,
        operation: str,
        result: str,
        stamp: Any,
        *,
        error: SfacalError | None = None,
        message: str = "",
        params: dict[str, str] | None = None,
    ) -> tuple[Any, ...]:
        """A log line (:data:`~sfacal.engine.loglines.LOG_COLUMNS` order), as
        :func:`~sfacal.engine.loglines.log_line` builds it."""
        text = message
        if error is not None and not message:
            text = error.detail or error.user_message("en")
        event = op.event
        subject = (
            event.subject if event is not None else self.subjects.get((op.ref.source, op.ref.record_id), "")
        )
        if error is not None:
            stored = error_params_value(log_params(error))
        elif params:
            stored = error_params_value(params)
        else:
            stored = self._no_params
        return (
            self.ctx.company_id,
            stamp,
            self._employee_id(op.login_id),
            op.login_id[:150],
            op.mailbox[:254],
            (op.calendar_name or "")[:255],
            self._trigger(op),
            operation[:32],
            result,
            op.ref.source[:64],
            op.ref.record_id[:200],
            subject[:255],
            (error.code if error is not None else "")[:64],
            stored,
            text[:2000],
            None,  # next_attempt_at: postponed writes are logged when the pass settles
        )


_NO_ROW: tuple[Any, ...] = ()
