"""What the schedule endpoints do, independent of HTTP: upsert, delete, read, status, batch.

Every write lands through :func:`sfacal.engine.inbox.accept` (S11): when a function here returns,
the change is committed and queued; a crash after that loses nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pydantic
from django.db import DatabaseError, transaction

from sfacal.core.errors import InputError, error_from_code
from sfacal.core.localtime import LocalTimeIssue, LocalTimeNote
from sfacal.core.render import MAX_SUBJECT, event_subject, subject_overflow
from sfacal.core.schedule import Schedule, ScheduleDeletion, SourceRef
from sfacal.core.text import check_storable
from sfacal.directory.companies.models import Company
from sfacal.directory.employees.known import unknown_logins
from sfacal.directory.employees.models import Employee, SyncState
from sfacal.engine import inbox
from sfacal.engine.models import InboxEntry, LogResult, MirrorEvent, StoredSchedule, SyncLogEntry, Trigger
from sfacal.sources.push import errors
from sfacal.sources.push.convert import (
    SOURCE,
    etag_of,
    matches_etag,
    schedule_to_out,
    to_schedule,
)
from sfacal.sources.push.schemas import MAX_BATCH_ITEMS, BatchItem, ScheduleIn

logger = logging.getLogger("sfacal.push")


@dataclass
class WriteResult:
    status: int  # 200, 201 or 204
    outcome: str  # accepted, duplicate, deleted
    etag: str | None = None
    body: dict[str, Any] | None = None
    warnings: list[dict[str, Any]] = field(default_factory=list)


def check_source_id(source_id: str, field_name: str = "source_id") -> str:
    """The record ID from the path (or a batch item; both already passed
    :data:`~sfacal.sources.push.fields.SourceId`), or a 422 naming ``field_name``."""
    try:
        check_storable(source_id, field_name)
        return SourceRef("x", SOURCE, source_id).record_id
    except InputError as exc:
        raise errors.from_input_error(exc, rename={"record_id": field_name}) from exc


def _stored(company: Company, record_id: str, *, lock: bool = False) -> StoredSchedule | None:
    return inbox.stored_state(company.pk, SOURCE, record_id, lock=lock)


def _check_if_match(if_match: str | None, stored: StoredSchedule | None) -> None:
    if if_match is None:
        return
    live = stored is not None and not stored.deleted
    if not live or not matches_etag(if_match, stored.content_hash if stored else None):
        raise errors.precondition_failed(
            "If-Match",
            "The schedule changed since you read it (If-Match does not match the current ETag).",
            "スケジュールは読み込み後に変更されています（If-Match が現在の ETag と一致しません）。",
        )


def _check_version(new: str | None, stored: StoredSchedule | None) -> None:
    if new is None or stored is None or not stored.version:
        return
    if new.isdigit() and stored.version.isdigit() and int(new) < int(stored.version):
        raise errors.precondition_failed(
            "version",
            f"version {new} is older than the stored version {stored.version}.",
            f"version {new} は保存済みの version {stored.version} より古いです。",
        )


def _stale() -> errors.ApiError:
    return errors.precondition_failed(
        "updated_at",
        "A newer state of this schedule was already received (updated_at is older).",
        "このスケジュールのより新しい内容を受信済みです（updated_at が古い）。",
    )


def unknown_participants(company: Company, participants: Sequence[str]) -> list[str]:
    return unknown_logins(company.pk, participants)


def participant_warnings(unknown: Sequence[str]) -> list[dict[str, Any]]:
    return [
        {
            "code": "unknown_participant",
            "field": "participants",
            "value": login,
            "message": f"No employee with login ID {login!r} yet: kept, and synced once the employee exists.",
            "message_ja": f"ログインID「{login}」の社員はまだ登録されていません。保存し、社員の登録後に連携します。",
        }
        for login in unknown
    ]


_NOTE_TEXT = {
    LocalTimeIssue.GAP: (
        "{received} does not exist in {zone} (the clocks move forward): read as {written}, as RFC 5545 does.",
        "{received} は {zone} では存在しない時刻です（時計が進むため）。RFC 5545 に従い {written} として扱います。",
    ),
    LocalTimeIssue.FOLD: (
        "{received} occurs twice in {zone} (the clocks move back): the first occurrence, {written}, is used, "
        "as RFC 5545 does.",
        "{received} は {zone} では2回ある時刻です（時計が戻るため）。RFC 5545 に従い1回目の {written} として扱います。",
    ),
    LocalTimeIssue.LENGTH_KEPT: (
        "The end {received} would leave the schedule without length once its start moved: it ends at "
        "{written}, keeping its length.",
        "開始が後ろにずれたため、終了 {received} のままでは長さがなくなります。長さを保ち {written} に終わります。",
    ),
}


def time_warnings(notes: Sequence[LocalTimeNote]) -> list[dict[str, Any]]:
    """The answer's warnings for wall-clock times read as RFC 5545 reads them (see convert)."""
    out: list[dict[str, Any]] = []
    for note in notes:
        en, ja = _NOTE_TEXT[note.issue]
        values = {
            "received": note.received.strftime("%Y-%m-%d %H:%M"),
            "written": note.written.isoformat(timespec="minutes"),
            "zone": note.timezone,
        }
        out.append(
            {
                "code": f"local_time_{note.issue.value}",
                "field": note.field,
                "value": values["received"],
                "message": en.format(**values),
                "message_ja": ja.format(**values),
            }
        )
    return out


def subject_warnings(schedule: Schedule) -> list[dict[str, Any]]:
    """A warning when the event's subject is cut (its whole text opens the event's body)."""
    whole = subject_overflow(schedule)
    if not whole:
        return []
    return [
        {
            "code": "subject_shortened",
            "field": "subject",
            "value": None,
            "message": f"The event's subject is cut to {MAX_SUBJECT} characters; its whole text "
            f"({len(whole):,} characters) opens the event's body.",
            "message_ja": f"予定の件名は {MAX_SUBJECT} 文字に短縮されます。全文（{len(whole):,} 文字）は予定の本文の先頭に入ります。",
        }
    ]


def log_unknown_participants(
    company: Company, schedule: Schedule, unknown: Sequence[str], trigger: str
) -> None:
    logger.warning(
        "company=%s record=%s: unknown participants kept: %s",
        company.slug,
        schedule.ref.record_id,
        ", ".join(unknown),
    )
    try:
        _log_unknown(company, schedule, unknown, trigger)
    except DatabaseError as exc:  # the change is stored: a missing log line must not make it an error
        logger.warning(
            "company=%s record=%s: could not log the unknown participants: %s",
            company.slug,
            schedule.ref.record_id,
            exc,
        )


def _log_unknown(company: Company, schedule: Schedule, unknown: Sequence[str], trigger: str) -> None:
    SyncLogEntry.objects.create(
        company=company,
        trigger=trigger,
        operation="accept",
        result=LogResult.WARNING,
        source=schedule.ref.source,
        record_id=schedule.ref.record_id[:200],
        login_id=unknown[0][:150],
        subject=event_subject(schedule)[:255],
        message=("Unknown participant(s) kept; they sync once the employee exists: " + ", ".join(unknown))[
            :2000
        ],
    )


def upsert(
    company: Company, source_id: str, body: ScheduleIn, *, if_match: str | None, now: datetime
) -> WriteResult:
    record_id = check_source_id(source_id)
    try:
        schedule = to_schedule(company.slug, record_id, body, default_timezone=company.timezone, now=now)
    except InputError as exc:
        raise errors.from_input_error(exc) from exc
    with transaction.atomic():
        stored = _stored(company, record_id, lock=True)
        _check_if_match(if_match, stored)
        _check_version(schedule.version, stored)
        existed = stored is not None and not stored.deleted
        accepted = inbox.accept(company, schedule, trigger=Trigger.PUSH)
        if accepted.outcome is inbox.Outcome.STALE:
            raise _stale()
    shown = schedule
    if accepted.outcome is inbox.Outcome.DUPLICATE and stored is not None:
        shown = Schedule.from_dict(stored.payload)
    etag = etag_of(inbox.content_hash(schedule))
    unknown = unknown_participants(company, schedule.participants)
    if unknown and accepted.outcome is inbox.Outcome.ACCEPTED:
        log_unknown_participants(company, schedule, unknown, Trigger.PUSH)
    out = schedule_to_out(shown, etag, accepted.outcome.value)
    out["warnings"] = [
        *participant_warnings(unknown),
        *time_warnings(schedule.time_notes),
        *subject_warnings(schedule),
    ]
    status = 201 if not existed else 200
    logger.info("company=%s PUT %s -> %s %s", company.slug, record_id, status, accepted.outcome.value)
    return WriteResult(status, accepted.outcome.value, etag, out, out["warnings"])


def delete(
    company: Company,
    source_id: str,
    *,
    if_match: str | None,
    updated_at: datetime | None,
    now: datetime,
) -> WriteResult:
    """Idempotent: deleting an unknown or already deleted schedule also answers 204."""
    record_id = check_source_id(source_id)
    when = updated_at or now
    try:
        deletion = ScheduleDeletion(SourceRef(company.slug, SOURCE, record_id), when)
    except InputError as exc:
        raise errors.from_input_error(exc) from exc
    with transaction.atomic():
        stored = _stored(company, record_id, lock=True)
        _check_if_match(if_match, stored)
        accepted = inbox.accept(company, deletion, trigger=Trigger.PUSH)
        if accepted.outcome is inbox.Outcome.STALE:
            raise _stale()
    logger.info("company=%s DELETE %s -> 204 %s", company.slug, record_id, accepted.outcome.value)
    return WriteResult(204, "deleted")


def read(company: Company, source_id: str) -> WriteResult:
    record_id = check_source_id(source_id)
    stored = _stored(company, record_id)
    if stored is None or stored.deleted:
        raise errors.not_found("schedule", "スケジュール", "source_id")
    schedule = Schedule.from_dict(stored.payload)
    etag = etag_of(stored.content_hash)
    return WriteResult(200, "stored", etag, schedule_to_out(schedule, etag, "stored"))


def _error_info(code: str, mailbox: str, calendar: str) -> dict[str, str] | None:
    if not code:
        return None
    err = error_from_code(code, {"mailbox": mailbox, "calendar": calendar or "(default)"})
    return {
        "code": code,
        "message_ja": err.user_message("ja"),
        "message_en": err.user_message("en"),
        "hint_ja": err.hint("ja"),
        "hint_en": err.hint("en"),
    }


def status(company: Company, source_id: str) -> dict[str, Any]:
    """Per-participant mirror state and the inbox state of the latest change."""
    record_id = check_source_id(source_id)
    stored = _stored(company, record_id)
    latest = (
        InboxEntry.objects.filter(company=company, source=SOURCE, record_id=record_id)
        .order_by("-received_at", "-id")
        .first()
    )
    if stored is None and latest is None:
        raise errors.not_found("schedule", "スケジュール", "source_id")
    participants: list[dict[str, Any]] = []
    seen: set[str] = set()
    for row in MirrorEvent.objects.filter(company=company, source=SOURCE, record_id=record_id).order_by(
        "login_id"
    ):
        seen.add(row.login_id)
        participants.append(
            {
                "login_id": row.login_id,
                "state": row.state,
                "reason": None,
                "mailbox": row.mailbox or None,
                "calendar_name": row.calendar_name or None,
                "event_created": bool(row.event_id),
                "updated_at": row.updated_at.isoformat(),
                "last_error": _error_info(row.last_error_code, row.mailbox, row.calendar_name),
            }
        )
    wanted: list[str] = []
    if stored is not None and not stored.deleted:
        wanted = [p for p in stored.payload.get("participants", []) if isinstance(p, str) and p not in seen]
    states = dict(
        Employee.objects.filter(company=company, login_id__in=wanted).values_list("login_id", "state")
    )
    for login in wanted:
        state = states.get(login)
        reason = (
            "unknown_employee"
            if state is None
            else "sync_off"
            if state == SyncState.OFF
            else "forbidden"
            if state == SyncState.FORBIDDEN
            else "waiting"
        )
        participants.append({"login_id": login, "state": "not_mirrored", "reason": reason})
    inbox_status = None
    if latest is not None:
        inbox_status = {
            "state": latest.state,
            "trigger": latest.trigger,
            "received_at": latest.received_at.isoformat(),
            "processed_at": latest.processed_at.isoformat() if latest.processed_at else None,
            "attempts": latest.attempts,
            "error": latest.error,
        }
    return {
        "source_id": record_id,
        "deleted": bool(stored is not None and stored.deleted),
        "etag": etag_of(stored.content_hash) if stored is not None and not stored.deleted else None,
        "inbox": inbox_status,
        "participants": participants,
    }


def _error_result(index: int, source_id: str | None, op: str | None, exc: errors.ApiError) -> dict[str, Any]:
    return {
        "index": index,
        "source_id": source_id,
        "op": op,
        "status": exc.status,
        "outcome": None,
        "etag": None,
        "error": exc.body()["error"],
        "warnings": [],
    }


def batch_items(data: object) -> list[object]:
    """The ``items`` of a batch body, or a 422 naming ``items``."""
    if not isinstance(data, Mapping):
        raise errors.ApiError.single(
            422,
            "input_invalid",
            "body",
            "body: an object with 'items' is required",
            "body: items を持つオブジェクトが必要です",
        )
    extra = sorted(str(k) for k in data if k != "items")
    if extra:
        raise errors.ApiError.single(
            422, "input_invalid", extra[0], f"{extra[0]}: unknown field", f"{extra[0]}: 不明な項目です"
        )
    items = data.get("items")
    if not isinstance(items, list) or not items:
        raise errors.ApiError.single(
            422,
            "input_invalid",
            "items",
            "items: a non-empty list is required",
            "items: 1件以上の配列が必要です",
        )
    if len(items) > MAX_BATCH_ITEMS:
        raise errors.ApiError.single(
            422,
            "input_invalid",
            "items",
            f"items: at most {MAX_BATCH_ITEMS} items per batch (got {len(items)})",
            f"items: 1回に送れるのは {MAX_BATCH_ITEMS} 件までです（{len(items)} 件）",
        )
    return items


def run_batch(company: Company, items: Sequence[object], *, now: datetime) -> dict[str, Any]:
    """Each item on its own: a bad item is reported and never loses the good ones beside it."""
    results: list[dict[str, Any]] = []
    for index, raw in enumerate(items):
        prefix = f"items[{index}]."
        source_id = raw.get("source_id") if isinstance(raw, Mapping) else None
        op = raw.get("op") if isinstance(raw, Mapping) else None
        shown_id = source_id if isinstance(source_id, str) else None
        shown_op = op if isinstance(op, str) else None
        try:
            try:
                item = BatchItem.model_validate(raw)
            except pydantic.ValidationError as exc:
                raise errors.ApiError(
                    422, "input_invalid", errors.problems_from_pydantic(exc.errors(), prefix=prefix)
                ) from exc
            if item.op == "upsert":
                if item.schedule is None:
                    raise errors.ApiError.single(
                        422,
                        "input_invalid",
                        prefix + "schedule",
                        "schedule: required for upsert",
                        "schedule: upsert には必須です",
                    )
                result = upsert(company, item.source_id, item.schedule, if_match=item.if_match, now=now)
            else:
                result = delete(
                    company, item.source_id, if_match=item.if_match, updated_at=item.updated_at, now=now
                )
        except errors.ApiError as exc:
            exc.problems = [
                errors.FieldProblem(_batch_field(p.field, shown_op, prefix), p.message, p.message_ja)
                for p in exc.problems
            ]
            results.append(_error_result(index, shown_id, shown_op, exc))
            continue
        except Exception as exc:  # one broken item must not lose the others
            if inbox.is_unavailable(exc):
                _unavailable_from(company, index, items, results, exc)
                break
            logger.exception("company=%s batch item %d failed unexpectedly", company.slug, index)
            results.append(_error_result(index, shown_id, shown_op, errors.internal_error()))
            continue
        results.append(
            {
                "index": index,
                "source_id": item.source_id,
                "op": item.op,
                "status": result.status,
                "outcome": result.outcome,
                "etag": result.etag,
                "error": None,
                "warnings": result.warnings,
            }
        )
    failed = sum(1 for r in results if r["error"] is not None)
    return {"succeeded": len(results) - failed, "failed": failed, "results": results}


def _unavailable_from(
    company: Company, index: int, items: Sequence[object], results: list[dict[str, Any]], exc: Exception
) -> None:
    """The database cannot take writes now: item ``index`` and every one after it are answered 503
    without being tried (each would wait the busy timeout again); the items before stay as they
    are. With none of them stored, the whole batch is a 503."""
    logger.warning(
        "company=%s batch stopped at item %d: the database is unavailable: %s", company.slug, index, exc
    )
    unavailable = errors.unavailable(inbox.RETRY_AFTER_SECONDS)
    if not any(result["error"] is None for result in results):
        raise unavailable from exc
    for rest in range(index, len(items)):
        raw = items[rest]
        source_id = raw.get("source_id") if isinstance(raw, Mapping) else None
        op = raw.get("op") if isinstance(raw, Mapping) else None
        results.append(
            _error_result(
                rest,
                source_id if isinstance(source_id, str) else None,
                op if isinstance(op, str) else None,
                unavailable,
            )
        )


def _batch_field(name: str | None, op: str | None, prefix: str) -> str:
    """A field named by a single-item check, as the path inside the batch body."""
    if not name or name == "body":
        return prefix.rstrip(".")
    if name.startswith(prefix):
        return name
    if name == "source_id":
        return prefix + "source_id"
    if name == "If-Match":
        return prefix + "if_match"
    if op == "delete":
        return prefix + name
    return prefix + "schedule." + name
