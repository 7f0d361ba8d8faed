"""Django rows -> the core's plain inputs: company policy, masters, employee settings, changes.

Everything here reads in bulk (one query per kind of row, chunked ``IN`` lists), so planning a
large batch costs a handful of queries, not one per schedule.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

import orjson
from django.db import connection
from django.db.models import Field, Model

from sfacal.core.errors import InputError
from sfacal.core.planner import backfill_window_start
from sfacal.core.render import FieldMapping
from sfacal.core.schedule import Change, ScheduleDeletion, SourceRef, change_from_dict
from sfacal.core.settings import CompanyPolicy, EmployeeSettings, Masters
from sfacal.core.stored import change_from_stored, stored_participants
from sfacal.directory.companies.models import BusinessName, Company, CompanySettings, Direction, Purpose
from sfacal.directory.employees.models import Employee
from sfacal.engine.models import StoredSchedule

__all__ = [
    "CompanyContext",
    "RecordKey",
    "Stored",
    "Undecoded",
    "chunked",
    "decode",
    "employee_settings",
    "load_changes",
    "load_context",
    "load_employees",
    "load_stored",
    "mapping_for",
]

RecordKey = tuple[str, str]  # (source, record_id)

# Sources whose records carry the configured 見出し / 場所 / 内容 fields in ``Schedule.extra``.
_MAPPED_SOURCES = frozenset({"justsfa"})


def chunked(values: Iterable[Any], size: int = 500) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for value in values:
        batch.append(value)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def mapping_for(source: str) -> FieldMapping | None:
    """S5: JUST.SFA takes subject, location and body from its configured fields."""
    return FieldMapping() if source in _MAPPED_SOURCES else None


@dataclass
class CompanyContext:
    """One company's switches, masters and connector settings, read once per pass."""

    company: Company
    settings: CompanySettings
    policy: CompanyPolicy
    masters: Masters
    employees: dict[str, Employee] = field(default_factory=dict)  # login id -> row (loaded lazily)

    @functools.cached_property
    def company_id(self) -> int:
        return int(self.company.pk)

    @property
    def slug(self) -> str:
        return str(self.company.slug)

    def window_start(self, now: datetime) -> datetime:
        return backfill_window_start(now, self.policy.timezone)

    def employee_settings(self, logins: Iterable[str]) -> dict[str, EmployeeSettings]:
        out: dict[str, EmployeeSettings] = {}
        for login in logins:
            row = self.employees.get(login)
            if row is not None:
                found = employee_settings(row)
                if found is not None:
                    out[login] = found
        return out


def _policy(company: Company, settings: CompanySettings) -> CompanyPolicy:
    try:
        return CompanyPolicy(
            sync_enabled=bool(settings.sync_enabled),
            write_enabled=bool(settings.write_to_calendar),
            two_way=settings.direction == Direction.TWO_WAY,
            timezone=company.timezone or "Asia/Tokyo",
            domain=settings.domain or None,
            personal_settings_allowed=bool(settings.personal_settings_allowed),
        )
    except InputError:  # an unusable time zone: fall back to the default rather than stop
        return CompanyPolicy(
            sync_enabled=bool(settings.sync_enabled),
            write_enabled=bool(settings.write_to_calendar),
            two_way=settings.direction == Direction.TWO_WAY,
            domain=settings.domain or None,
        )


def load_context(company: Company | int) -> CompanyContext:
    if not isinstance(company, Company):
        company = Company.objects.get(pk=company)
    settings, _ = CompanySettings.objects.get_or_create(company=company)
    settings.company = company
    purposes = dict(Purpose.objects.filter(company=company).values_list("name", "counted_as_visit"))
    names = tuple(BusinessName.objects.filter(company=company).values_list("name", flat=True))
    masters = Masters(purposes=purposes, business_names=names) if (purposes or names) else Masters()
    return CompanyContext(company, settings, _policy(company, settings), masters)


def load_employees(ctx: CompanyContext, logins: Iterable[str]) -> dict[str, Employee]:
    """Load the named employees into ``ctx.employees`` (those not loaded yet); returns them all."""
    missing = sorted({x for x in logins if x and x not in ctx.employees})
    for chunk in chunked(missing):
        for row in Employee.objects.filter(company_id=ctx.company_id, login_id__in=chunk):
            ctx.employees[row.login_id] = row
    return ctx.employees


def employee_settings(row: Employee) -> EmployeeSettings | None:
    """The core's view of an employee (``None`` when the stored row is unusable)."""
    try:
        return EmployeeSettings(
            login_id=row.login_id,
            state=row.state,  # type: ignore[arg-type]
            user_id_mode=row.user_id_mode,  # type: ignore[arg-type]
            user_id=row.user_id or None,
            calendar_name=row.calendar_name or None,
            sync_start=row.sync_start,
            excluded_purposes=frozenset(row.excluded_purposes or ()),
            excluded_business_names=frozenset(row.excluded_business_names or ()),
        )
    except InputError:
        return None


def change_of(row: StoredSchedule, company_slug: str) -> Change:
    """The canonical change a stored row holds (raises :class:`InputError` when unreadable)."""
    payload = row.payload or {}
    if row.deleted:
        try:
            return change_from_dict({**payload, "deleted": True})
        except InputError:
            ref = SourceRef(company_slug, row.source, row.record_id)
            when = row.source_updated_at or row.updated_at
            return ScheduleDeletion(ref, when)
    return change_from_dict(payload)


def _column(model: type[Model], name: str) -> str:
    found = model._meta.get_field(name)
    assert isinstance(found, Field)
    return str(connection.ops.quote_name(found.column))


def record_chunks(keys: Iterable[RecordKey]) -> Iterator[tuple[str, list[str]]]:
    """``(source, record ids)`` for the distinct ``keys``, at most 500 ids each (one ``IN`` query)."""
    by_source: dict[str, list[str]] = {}
    for source, record in set(keys):
        by_source.setdefault(source, []).append(record)
    for source, records in by_source.items():
        for chunk in chunked(sorted(records)):
            yield source, chunk


def rows_of_records(
    ctx: CompanyContext, model: type[Model], fields: Sequence[str], keys: Iterable[RecordKey]
) -> Iterator[tuple[str, tuple[Any, ...]]]:
    """``(source, row)`` for the rows of ``model`` (company, source, record_id columns) that belong
    to the given records: one plain ``SELECT … IN`` per chunk of 500 records, values as the driver
    returns them (the pass reads thousands of records; the ORM's per-value work adds up)."""
    table = connection.ops.quote_name(model._meta.db_table)
    cols = ", ".join(_column(model, f) for f in fields)
    company_col, source_col, record_col = (_column(model, f) for f in ("company", "source", "record_id"))
    with connection.cursor() as cursor:
        for source, chunk in record_chunks(keys):
            marks = ", ".join(["%s"] * len(chunk))
            cursor.execute(
                f"SELECT {cols} FROM {table} WHERE {company_col} = %s AND {source_col} = %s "  # noqa: S608
                f"AND {record_col} IN ({marks})",
                [ctx.company_id, source, *chunk],
            )
            for row in cursor.fetchall():
                yield source, tuple(row)


def _decode(payload: Any) -> Any:
    if isinstance(payload, bytes | bytearray | memoryview | str):
        return orjson.loads(payload)
    return payload  # a driver that decodes JSON itself


class Undecoded(NamedTuple):
    """A stored schedule read but not rebuilt yet, and not held: its payload is read again and
    rebuilt when it is planned (:func:`load_payloads`, :func:`decode`), so a pass sends its first
    batches without first rebuilding every record, and holds the stored schedules of the slice it
    plans rather than all of them (a back-fill of 20,000 records held ~31 MB of decoded payloads).
    ``participants`` are the ones it will have (:func:`~sfacal.core.stored.stored_participants`):
    enough to take the leases of the mailboxes it may touch."""

    participants: tuple[str, ...]


Stored = Change | Undecoded


def load_payloads(ctx: CompanyContext, keys: Iterable[RecordKey]) -> dict[RecordKey, Any]:
    """The stored payload (as the driver returns it) of each of ``keys`` that is still stored as a
    schedule (not deleted); for :func:`decode`."""
    out: dict[RecordKey, Any] = {}
    for source, (record_id, payload, is_deleted) in rows_of_records(
        ctx, StoredSchedule, ("record_id", "payload", "deleted"), keys
    ):
        if not is_deleted:
            out[(source, record_id)] = payload
    return out


def decode(stored: Stored, payload: Any = None) -> Change | None:
    """The change ``stored`` holds; an :class:`Undecoded` one is rebuilt from ``payload`` (its
    stored payload read again, :func:`load_payloads`) -- ``None`` when there is none any more (the
    record was deleted since it was read). Raises :class:`InputError` when it cannot be read."""
    if not isinstance(stored, Undecoded):
        return stored
    if payload is None:
        return None
    try:
        data = _decode(payload)
    except orjson.JSONDecodeError as exc:
        raise InputError("payload", f"unreadable JSON: {exc}", reason_ja="保存内容を読めません") from exc
    return change_from_stored(data or {})


def load_changes(
    ctx: CompanyContext, keys: Iterable[RecordKey]
) -> tuple[dict[RecordKey, Change], dict[RecordKey, str]]:
    """The latest stored state of each record; and the records that could not be read (reason).

    One plain ``SELECT`` per chunk of 500 records, the stored JSON decoded directly (no model
    instances: this runs for every record of a pass); deletions go through :func:`change_of`."""
    stored, broken = load_stored(ctx, keys, defer=False)
    return {key: value for key, value in stored.items() if not isinstance(value, Undecoded)}, broken


def load_stored(
    ctx: CompanyContext, keys: Iterable[RecordKey], *, defer: bool = True
) -> tuple[dict[RecordKey, Stored], dict[RecordKey, str]]:
    """:func:`load_changes`, leaving schedules in the stored form as :class:`Undecoded` (with
    ``defer``); a record in any other form is rebuilt here, and reported broken if it cannot be."""
    changes: dict[RecordKey, Stored] = {}
    broken: dict[RecordKey, str] = {}
    deleted: list[RecordKey] = []
    for source, (record_id, payload, is_deleted) in rows_of_records(
        ctx, StoredSchedule, ("record_id", "payload", "deleted"), keys
    ):
        key = (source, record_id)
        if is_deleted:
            deleted.append(key)
            continue
        try:
            data = _decode(payload) or {}
            participants = stored_participants(data) if defer else None
            if participants is not None:
                changes[key] = Undecoded(participants)  # the payload is read again when planned
            else:
                changes[key] = change_from_stored(data)
        except (InputError, orjson.JSONDecodeError) as exc:
            broken[key] = exc.detail if isinstance(exc, InputError) else f"unreadable JSON: {exc}"
    # Rare: deletions take the ORM path, which knows their fall-backs.
    for source, chunk in record_chunks(deleted):
        for row in StoredSchedule.objects.filter(
            company_id=ctx.company_id, source=source, record_id__in=chunk
        ):
            key = (row.source, row.record_id)
            try:
                changes[key] = change_of(row, ctx.slug)
            except InputError as exc:
                broken[key] = exc.detail
    return changes, broken
