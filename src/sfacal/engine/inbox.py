"""Accepting a change from a source (S11): durable before it is acknowledged.

``accept()`` is the one door through which every source (JUST.SFA webhook and poll,
push API, CSV import) hands a change to the engine. In one transaction it

1. compares the change with the latest accepted state of the same record
   (``StoredSchedule``): the same content again (a replayed webhook, a repeated PUT)
   is a no-op; an older revision than the stored one is stale and ignored;
2. stores the new latest state, and
3. appends an ``InboxEntry`` that says "this record changed, plan it".

Processing always plans the *latest* stored state of the record, so deliveries that
arrive out of order or in bursts coalesce instead of replaying stale states. After
the commit the entry is handed to the queue (``on_commit``); the periodic sweep
re-enqueues any entry still pending, so a lost enqueue is only a delay.

When the database cannot take the change now -- SQLite locked by another writer past its busy
timeout, PostgreSQL unreachable -- :func:`accept` raises :class:`Unavailable` and nothing of the
change is stored (its transaction is rolled back). Every door answers that the same way, 503 with
``Retry-After: RETRY_AFTER_SECONDS``, so the sender delivers again; :func:`is_unavailable` tells such
an error from a bug wherever a door meets it (also outside ``accept``, e.g. the push API's own
transaction around it).

A deletion is stored with the subject the record's events had (the last known state's,
:mod:`sfacal.engine.naming`), so every log line about the deletion names what was deleted;
:attr:`Accepted.subject` gives the source the same name for its own line.

:func:`retry_later` is the other way in: a pass that postponed writes of records that did not come
from the inbox (the periodic batch, a back-fill, "sync now", reconciliation) leaves each such record
a pending entry due at the retry time its log lines show, so the inbox pass -- queued for that
moment through :func:`set_retry_scheduler`, or found by the minute sweep -- tries it again then.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from functools import cache
from typing import Any

from django.db import IntegrityError, InterfaceError, OperationalError, transaction

from sfacal.core.schedule import Change, Schedule, ScheduleDeletion
from sfacal.directory import sqlrows
from sfacal.directory.companies.models import Company
from sfacal.engine.models import InboxEntry, InboxState, StoredSchedule
from sfacal.engine.naming import last_subject, subject_of
from sfacal.engine.parts import slot_of


class Outcome(StrEnum):
    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"  # same content as the latest accepted state
    STALE = "stale"  # older than the latest accepted state


@dataclass(frozen=True)
class Accepted:
    outcome: Outcome
    entry_id: int | None
    record_id: str
    subject: str = ""  # what the log calls the record (a deletion: its events' last subject)


RETRY_AFTER_SECONDS = 10
"""What a door answers in ``Retry-After`` when the change could not be stored (503)."""


class Unavailable(Exception):
    """The database cannot take the change now (locked past its busy timeout, unreachable);
    nothing of it was stored. Send it again after :data:`RETRY_AFTER_SECONDS`."""


def is_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` means "the database cannot take writes now, try again" (503) rather than a
    bug: :class:`Unavailable`, or Django's ``OperationalError`` / ``InterfaceError`` (a locked
    SQLite file, a lost or refused connection)."""
    return isinstance(exc, Unavailable | OperationalError | InterfaceError)


# Set by the engine to enqueue processing of a committed entry; None while no engine is wired.
_dispatch: Callable[[int], None] | None = None


def set_dispatcher(dispatch: Callable[[int], None] | None) -> None:
    global _dispatch
    _dispatch = dispatch


# Set by the engine to run a company's inbox pass at a given moment (a postponed write's retry).
_schedule_retry: Callable[[int, datetime], None] | None = None


def set_retry_scheduler(schedule: Callable[[int, datetime], None] | None) -> None:
    global _schedule_retry
    _schedule_retry = schedule


def content_hash(change: Change) -> str:
    """What makes two deliveries "the same change": everything but the update time."""
    data: dict[str, Any] = change.to_dict()
    data.pop("updated_at", None)
    blob = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def _starts_at(change: Change) -> datetime | None:
    if isinstance(change, Schedule):
        start = change.start
        if isinstance(start, datetime):
            return start
        from sfacal.core.schedule import localize

        return localize(datetime(start.year, start.month, start.day), change.timezone)
    return None


def _is_stale(change: Change, stored: StoredSchedule) -> bool:
    if stored.source_updated_at is None:
        return False
    return change.updated_at < stored.source_updated_at


def accept(company: Company, change: Change, *, trigger: str) -> Accepted:
    """Store ``change`` durably and queue it; see the module docstring. :class:`Unavailable` when
    the database cannot take it now (nothing stored)."""
    for attempt in range(2):
        try:
            return _accept_once(company, change, trigger)
        except IntegrityError:
            # Two first deliveries of a new record raced to create its StoredSchedule row.
            if attempt:
                raise
        except (OperationalError, InterfaceError) as exc:
            raise Unavailable(f"the change could not be stored now: {exc}") from exc
    raise AssertionError("unreachable")


def _stored_logins(payload: object) -> tuple[str, ...]:
    """The participants a stored payload names (a deletion's slot is its last state's)."""
    if isinstance(payload, dict):
        found = payload.get("participants")
        if isinstance(found, list):
            return tuple(str(login) for login in found if isinstance(login, str))
    return ()


def _slot(change: Change, stored: StoredSchedule | None) -> int:
    """The inbox part slot of a change (:mod:`sfacal.engine.parts`): the first participant's;
    a deletion keeps the slot of the state it deletes."""
    ref = change.ref
    if isinstance(change, Schedule):
        return slot_of(change.participants, ref.source, ref.record_id)
    previous = _stored_logins(stored.payload) if stored is not None else ()
    return slot_of(previous, ref.source, ref.record_id)


def _named(change: Change, stored: StoredSchedule | None) -> Change:
    """``change`` as it is stored: a deletion keeps the subject its events had (the last known
    state's) unless it brought one of its own."""
    if isinstance(change, ScheduleDeletion) and not change.subject and stored is not None:
        subject = last_subject(stored.payload if isinstance(stored.payload, dict) else None)
        if subject:
            return replace(change, subject=subject)
    return change


@cache
def _stored_sql() -> str:
    s = StoredSchedule
    return (
        f"SELECT {sqlrows.columns(s, 's')} FROM {sqlrows.table(s)} s "  # noqa: S608 - names from the model, values bound
        f"WHERE s.{sqlrows.column(s, 'company')} = %s AND s.{sqlrows.column(s, 'source')} = %s "
        f"AND s.{sqlrows.column(s, 'record_id')} = %s"
    )


def stored_state(
    company_id: int, source: str, record_id: str, *, lock: bool = False
) -> StoredSchedule | None:
    """The latest accepted state of a record, or ``None``; ``lock``: held until the transaction
    ends (``FOR UPDATE`` on PostgreSQL; SQLite's IMMEDIATE transaction holds the write lock).
    Plain SQL (:mod:`sfacal.directory.sqlrows`): every acknowledgement reads it."""
    sql = _stored_sql() + (sqlrows.for_update() if lock else "")
    rows = sqlrows.fetch(sql, [company_id, source, record_id])
    return sqlrows.build(StoredSchedule, rows[0]) if rows else None


def _accept_once(company: Company, change: Change, trigger: str) -> Accepted:
    ref = change.ref
    digest = content_hash(change)  # of what the source sent (a replayed deletion stays a no-op)
    with transaction.atomic():
        stored = stored_state(company.pk, ref.source, ref.record_id, lock=True)
        if stored is not None:
            if stored.content_hash == digest:
                named = _named(change, stored) if isinstance(change, ScheduleDeletion) else change
                return Accepted(Outcome.DUPLICATE, None, ref.record_id, subject_of(named))
            if _is_stale(change, stored):
                return Accepted(Outcome.STALE, None, ref.record_id, subject_of(_named(change, stored)))
        else:
            stored = StoredSchedule(company=company, source=ref.source, record_id=ref.record_id)
        slot = _slot(change, stored if stored.pk is not None else None)
        change = _named(change, stored if stored.pk is not None else None)
        stored.payload = change.to_dict()
        stored.content_hash = digest
        stored.version = change.version or ""
        stored.source_updated_at = change.updated_at
        stored.deleted = isinstance(change, ScheduleDeletion)
        if isinstance(change, Schedule):
            stored.starts_at = _starts_at(change)
        stored.save()
        entry = InboxEntry.objects.create(
            company=company,
            source=ref.source,
            record_id=ref.record_id,
            is_deletion=isinstance(change, ScheduleDeletion),
            payload=change.to_dict(),
            content_hash=digest,
            trigger=trigger,
            slot=slot,
        )
        dispatch = _dispatch
        if dispatch is not None:
            entry_id = entry.pk
            transaction.on_commit(lambda: dispatch(entry_id))
    return Accepted(Outcome.ACCEPTED, entry.pk, ref.record_id, subject_of(change))


def _set_slots(company_id: int, rows: list[InboxEntry]) -> None:
    """Give retry entries the slot of their stored state (the part that works its employee)."""
    by_source: dict[str, list[InboxEntry]] = {}
    for row in rows:
        by_source.setdefault(row.source, []).append(row)
    for source, group in by_source.items():
        for start in range(0, len(group), 500):
            chunk = group[start : start + 500]
            payloads = dict(
                StoredSchedule.objects.filter(
                    company_id=company_id, source=source, record_id__in=[r.record_id for r in chunk]
                ).values_list("record_id", "payload")
            )
            for row in chunk:
                row.slot = slot_of(_stored_logins(payloads.get(row.record_id)), source, row.record_id)


RETRY_PAYLOAD = {"retry": True}
"""The payload of an entry :func:`retry_later` writes (the pass plans the stored state, not this)."""


def retry_later(company_id: int, retries: Mapping[tuple[str, str], tuple[str, datetime]]) -> None:
    """Make sure each record (``(source, record_id)`` -> ``(trigger, when)``) is tried again by the
    inbox pass at ``when``: a record without a pending entry gets one due then (see the module
    docstring); a record that has one keeps it (its pass settles it to the same time)."""
    if not retries:
        return
    keys = list(retries)
    pending: set[tuple[str, str]] = set()
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        for source in {k[0] for k in chunk}:
            ids = [k[1] for k in chunk if k[0] == source]
            pending.update(
                InboxEntry.objects.filter(
                    company_id=company_id, state=InboxState.PENDING, source=source, record_id__in=ids
                ).values_list("source", "record_id")
            )
    rows = [
        InboxEntry(
            company_id=company_id,
            source=source,
            record_id=record_id,
            payload=RETRY_PAYLOAD,
            content_hash="",
            trigger=trigger,
            next_attempt_at=when,
        )
        for (source, record_id), (trigger, when) in retries.items()
        if (source, record_id) not in pending
    ]
    if not rows:
        return
    _set_slots(company_id, rows)
    InboxEntry.objects.bulk_create(rows, batch_size=500)
    scheduler = _schedule_retry
    if scheduler is not None:
        earliest = min(row.next_attempt_at for row in rows if row.next_attempt_at is not None)
        transaction.on_commit(lambda: scheduler(company_id, earliest))
