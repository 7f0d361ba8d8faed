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
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from django.db import IntegrityError, transaction

from sfacal.core.schedule import Change, Schedule, ScheduleDeletion
from sfacal.engine.models import InboxEntry, StoredSchedule
from sfacal.web.companies.models import Company


class Outcome(StrEnum):
    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"  # same content as the latest accepted state
    STALE = "stale"  # older than the latest accepted state


@dataclass(frozen=True)
class Accepted:
    outcome: Outcome
    entry_id: int | None
    record_id: str


# Set by the engine to enqueue processing of a committed entry; None while no engine is wired.
_dispatch: Callable[[int], None] | None = None


def set_dispatcher(dispatch: Callable[[int], None] | None) -> None:
    global _dispatch
    _dispatch = dispatch


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
    """Store ``change`` durably and queue it; see the module docstring."""
    for attempt in range(2):
        try:
            return _accept_once(company, change, trigger)
        except IntegrityError:
            # Two first deliveries of a new record raced to create its StoredSchedule row.
            if attempt:
                raise
    raise AssertionError("unreachable")


def _accept_once(company: Company, change: Change, trigger: str) -> Accepted:
    ref = change.ref
    digest = content_hash(change)
    with transaction.atomic():
        stored = (
            StoredSchedule.objects.select_for_update()
            .filter(company=company, source=ref.source, record_id=ref.record_id)
            .first()
        )
        if stored is not None:
            if stored.content_hash == digest:
                return Accepted(Outcome.DUPLICATE, None, ref.record_id)
            if _is_stale(change, stored):
                return Accepted(Outcome.STALE, None, ref.record_id)
        else:
            stored = StoredSchedule(company=company, source=ref.source, record_id=ref.record_id)
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
        )
        dispatch = _dispatch
        if dispatch is not None:
            entry_id = entry.pk
            transaction.on_commit(lambda: dispatch(entry_id))
    return Accepted(Outcome.ACCEPTED, entry.pk, ref.record_id)
