"""What a log line calls a schedule (L1): every line about a schedule names it.

* a schedule: the subject its event has, or would have (:func:`subject_of`: the S5 rendering, with
  the JUST.SFA 見出し mapping where it applies);
* a deletion: the subject its events had -- the last known state's, kept with the stored deletion
  when it is accepted (:func:`last_subject`, :attr:`ScheduleDeletion.subject`), so "deleted in the
  SFA" lines name what was deleted even though the SFA no longer says;
* lines written away from a pass (reconciliation, two-way): :func:`stored_subjects` reads the
  stored states of many records in one query per chunk.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import orjson

from sfacal.core.errors import InputError
from sfacal.core.render import event_subject
from sfacal.core.schedule import Change, Schedule
from sfacal.core.stored import change_from_stored
from sfacal.engine.context import CompanyContext, RecordKey, mapping_for, rows_of_records
from sfacal.engine.models import StoredSchedule

__all__ = ["last_subject", "stored_subjects", "subject_of"]


def subject_of(change: Change) -> str:
    """The subject the schedule's event has (or would have); a deletion's last known subject."""
    if isinstance(change, Schedule):
        return event_subject(change, mapping_for(change.ref.source))
    return change.subject


def last_subject(payload: Mapping[str, Any] | None) -> str:
    """The subject a stored state names: a schedule's rendered subject, a deletion's kept one
    (``""`` when the payload cannot be read)."""
    if not payload:
        return ""
    if payload.get("deleted") is True:
        subject = payload.get("subject")
        return subject if isinstance(subject, str) else ""
    try:
        return subject_of(change_from_stored(payload))
    except InputError:
        return ""


def stored_subjects(ctx: CompanyContext, keys: Iterable[RecordKey]) -> dict[RecordKey, str]:
    """:func:`last_subject` of each record's stored state (chunked ``IN`` queries)."""
    out: dict[RecordKey, str] = {}
    for source, (record_id, payload) in rows_of_records(ctx, StoredSchedule, ("record_id", "payload"), keys):
        if isinstance(payload, bytes | bytearray | memoryview | str):
            try:
                payload = orjson.loads(payload)
            except orjson.JSONDecodeError:
                payload = None
        out[(source, record_id)] = last_subject(payload if isinstance(payload, dict) else None)
    return out
