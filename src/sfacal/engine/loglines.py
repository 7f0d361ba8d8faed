"""Writing log lines (L1): built one at a time, inserted in bulk.

:func:`log_line` builds an unsaved line (the error's code and non-secret parameters re-hydrate
its message and hint, L2); :func:`insert_log_lines` and :func:`insert_log_rows` insert many with
one ``executemany`` (the hot path of a pass builds rows as plain tuples in :data:`LOG_COLUMNS`
order, see :class:`~sfacal.engine.mirrors.Recorder`).

Every line about a schedule names it (``subject``: the event's subject as rendered, or for a
deletion the last known one, :mod:`sfacal.engine.naming`); a postponed write says when it is tried
again (``next_attempt_at``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from django.db import connection
from django.utils import timezone

from sfacal.core.errors import SfacalError, log_params
from sfacal.core.schedule import SourceRef
from sfacal.engine.context import CompanyContext
from sfacal.engine.models import LogResult, SyncLogEntry
from sfacal.net import metrics

__all__ = [
    "LOG_COLUMNS",
    "attempt_value",
    "error_params_value",
    "insert_log_lines",
    "insert_log_rows",
    "log_line",
]


def log_line(
    ctx: CompanyContext,
    *,
    trigger: str,
    operation: str,
    result: str,
    employee_id: int | None = None,
    login_id: str = "",
    mailbox: str = "",
    calendar_name: str | None = None,
    ref: SourceRef | None = None,
    subject: str = "",
    error: SfacalError | None = None,
    params: Mapping[str, object] | None = None,
    message: str = "",
    next_attempt_at: datetime | None = None,
) -> SyncLogEntry:
    """An unsaved L1 log line (the error's code re-hydrates its hint, L2). ``params`` are stored
    instead of the error's (e.g. what an exclusion matched, for a line without an error)."""
    text = message
    if error is not None:
        text = error.detail or error.user_message("en")
    return SyncLogEntry(
        company_id=ctx.company_id,
        employee_id=employee_id,
        login_id=login_id[:150],
        mailbox=mailbox[:254],
        calendar_name=(calendar_name or "")[:255],
        trigger=trigger,
        operation=operation[:32],
        result=result,
        source=(ref.source if ref else "")[:64],
        record_id=(ref.record_id if ref else "")[:200],
        subject=subject[:255],
        error_code=(error.code if error is not None else "")[:64],
        error_params=log_params(error if params is None else params),
        message=text[:2000],
        next_attempt_at=next_attempt_at,
    )


LOG_COLUMNS = (
    "company_id",
    "at",
    "employee_id",
    "login_id",
    "mailbox",
    "calendar_name",
    "trigger",
    "operation",
    "result",
    "source",
    "record_id",
    "subject",
    "error_code",
    "error_params",
    "message",
    "next_attempt_at",
)


_ERROR_PARAMS_FIELD = SyncLogEntry._meta.get_field("error_params")


def error_params_value(value: dict[str, str]) -> Any:
    """``value`` as the database driver takes it for the ``error_params`` JSON column (raw SQL
    bypasses the field, so it adapts the value itself: JSON text on SQLite, ``Jsonb`` on PostgreSQL)."""
    if not value:  # most lines: no error; adapt the empty object once per database vendor
        empty = _EMPTY_PARAMS.get(connection.vendor)
        if empty is None:
            empty = _EMPTY_PARAMS[connection.vendor] = _ERROR_PARAMS_FIELD.get_db_prep_save({}, connection)
        return empty
    return _ERROR_PARAMS_FIELD.get_db_prep_save(value, connection)


_EMPTY_PARAMS: dict[str, Any] = {}


def attempt_value(value: datetime | None) -> Any:
    """``next_attempt_at`` as the database driver takes it (``None`` on most lines)."""
    return None if value is None else connection.ops.adapt_datetimefield_value(value)


def insert_log_lines(lines: Sequence[SyncLogEntry]) -> None:
    """Insert log lines with one ``executemany`` (no per-row ORM work)."""
    if not lines:
        return
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    insert_log_rows(
        [
            (
                x.company_id,
                now,
                x.employee_id,
                x.login_id,
                x.mailbox,
                x.calendar_name,
                x.trigger,
                x.operation,
                x.result,
                x.source,
                x.record_id,
                x.subject,
                x.error_code,
                error_params_value(log_params(x.error_params)),
                x.message,
                attempt_value(x.next_attempt_at),
            )
            for x in lines
        ]
    )


def insert_log_rows(rows: Sequence[tuple[Any, ...]]) -> None:
    """Insert log lines given as tuples in :data:`LOG_COLUMNS` order (one ``executemany``)."""
    if not rows:
        return
    metrics.count_sync_failures(row[12] for row in rows if row[8] == LogResult.FAILURE)
    sql = _INSERT_LOG_SQL.get(connection.vendor)
    if sql is None:
        q = connection.ops.quote_name
        table = q(SyncLogEntry._meta.db_table)
        cols = ", ".join(q(c) for c in LOG_COLUMNS)
        marks = ", ".join(["%s"] * len(LOG_COLUMNS))
        sql = _INSERT_LOG_SQL[connection.vendor] = f"INSERT INTO {table} ({cols}) VALUES ({marks})"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


_INSERT_LOG_SQL: dict[str, str] = {}
