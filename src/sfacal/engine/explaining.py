"""The explainer's data: one stored schedule of a company, explained with the engine's own inputs.

* :func:`explain_record` reads what a pass reads for the record -- the company's policy and
  masters (:func:`~sfacal.engine.context.load_context`), the stored change, the employees it
  concerns (participants and anyone with a mirror row) and the mirror rows -- and hands them to
  :func:`sfacal.core.explain.explain`, which runs the planner on them. The verdict is therefore the
  operation the next pass would plan for this record.
* Each verdict gets the engine's notes: the mirror row's state (when it was written, where, when
  and by what it was last checked) and the last failure of that employee's writes for the record,
  with its L2 hint (``last_error``); and, while a received change of the record waits in the inbox
  (or is held back: C1, C4, a retry later), a note that the next run does what the verdict says.
* ``login_id`` limits the answer to one employee (an employee's own view, U1).
* :func:`find_records` searches a company's stored schedules by record ID, customer, title or date;
  :func:`sfacal.engine.sync.sync_record` re-plans one record now (the "sync this schedule now"
  button). This module reaches no calendar connector (the push API uses it).
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db.models import F, Q, QuerySet
from django.utils import translation

from sfacal.core.errors import InputError, error_from_code
from sfacal.core.explain import Explanation, Step, Verdict, explain, step
from sfacal.core.planner import MirrorRow
from sfacal.core.render import EXTRA_SUBJECT
from sfacal.core.schedule import Change
from sfacal.directory.companies.models import Company
from sfacal.engine.context import change_of, load_context, load_employees, mapping_for
from sfacal.engine.mirror_view import mirror_row
from sfacal.engine.models import (
    InboxEntry,
    InboxState,
    LogResult,
    MirrorEvent,
    MirrorState,
    StoredSchedule,
    SyncLogEntry,
    Trigger,
)

__all__ = ["RecordReport", "explain_record", "find_records"]

LOG_LIMIT = 50
SEARCH_LIMIT = 50


@dataclass
class RecordReport:
    """Everything the explainer shows for one record."""

    company: Company
    source: str
    record_id: str
    stored: StoredSchedule | None
    change: Change | None = None
    explanation: Explanation | None = None
    problem: Step | None = None  # the record is not stored, or cannot be read
    mirrors: list[MirrorEvent] = field(default_factory=list)
    log: list[SyncLogEntry] = field(default_factory=list)

    @property
    def verdicts(self) -> tuple[Verdict, ...]:
        return self.explanation.verdicts if self.explanation is not None else ()


def _both(label: object) -> dict[str, str]:
    """A translatable label in English and Japanese (the step says it in either language)."""
    out: dict[str, str] = {}
    for lang in ("en", "ja"):
        with translation.override(lang):
            out[lang] = str(label)
    return out


def _mirror_step(row: MirrorEvent, checked: SyncLogEntry | None, tz_name: str) -> Step:
    trigger = checked.trigger if checked is not None and checked.trigger in Trigger.values else ""
    by = _both(Trigger(trigger).label) if trigger else {"en": "-", "ja": "-"}
    known = row.state in MirrorState.values
    state = _both(MirrorState(row.state).label) if known else {"en": row.state, "ja": row.state}
    return step(
        "S6",
        "mirror_written",
        True,
        tz_name,
        written=row.updated_at,
        mailbox=row.mailbox,
        calendar=row.calendar_name,
        state_en=state["en"],
        state_ja=state["ja"],
        checked=checked.at if checked is not None else row.updated_at,
        by_en=by["en"],
        by_ja=by["ja"],
    )


def _error_step(entry: SyncLogEntry, tz_name: str) -> Step:
    params = entry.error_params if isinstance(entry.error_params, dict) else {}
    error = error_from_code(entry.error_code, {str(k): str(v) for k, v in params.items()})
    return step(
        "L2",
        "last_error",
        False,
        tz_name,
        message_en=error.user_message("en"),
        hint_en=error.hint("en"),
        message_ja=error.user_message("ja"),
        hint_ja=error.hint("ja"),
        error_code=entry.error_code,
        at=entry.at,
    )


def _notes(verdict: Verdict, mirrors: list[MirrorEvent], log: list[SyncLogEntry], tz_name: str) -> Verdict:
    mine = [m for m in mirrors if m.login_id == verdict.login_id]
    lines = [e for e in log if e.login_id == verdict.login_id]
    extra: list[Step] = []
    latest = lines[0] if lines else None
    for row in mine:
        checked = next(
            (e for e in lines if e.mailbox.lower() == row.mailbox.lower() and e.result != LogResult.FAILURE),
            None,
        )
        extra.append(_mirror_step(row, checked, tz_name))
    if latest is not None and latest.result == LogResult.FAILURE and latest.error_code:
        extra.append(_error_step(latest, tz_name))
    return verdict.with_steps(extra) if extra else verdict


def explain_record(
    company: Company, source: str, record_id: str, *, login_id: str | None = None
) -> RecordReport:
    """The explanation of one record for every employee it concerns (or only ``login_id``)."""
    ctx = load_context(company)
    tz_name = ctx.policy.timezone
    stored = StoredSchedule.objects.for_company(company).filter(source=source, record_id=record_id).first()
    mirrors = list(
        MirrorEvent.objects.for_company(company).filter(source=source, record_id=record_id).order_by("id")
    )
    log_qs = SyncLogEntry.objects.for_company(company).filter(source=source, record_id=record_id)
    if login_id is not None:
        mirrors = [m for m in mirrors if m.login_id == login_id]
        log_qs = log_qs.filter(login_id=login_id)
    log = list(log_qs.select_related("employee").order_by("-at", "-id")[:LOG_LIMIT])
    report = RecordReport(company, source, record_id, stored, mirrors=mirrors, log=log)
    if stored is None:
        report.problem = step("hint", "not_stored", False, tz_name)
        return report
    try:
        change = change_of(stored, ctx.slug)
    except (InputError, TypeError, ValueError, KeyError) as exc:
        report.problem = step("hint", "unreadable", False, tz_name, detail=str(exc)[:200])
        return report
    report.change = change
    rows: list[MirrorRow] = []
    all_rows = MirrorEvent.objects.for_company(company).filter(source=source, record_id=record_id)
    for value in all_rows:
        found = mirror_row(value, ctx.slug)
        if found is not None:
            rows.append(found)
    logins = {*getattr(change, "participants", ()), *(r.login_id for r in rows)}
    load_employees(ctx, logins)
    employees = ctx.employee_settings(ctx.employees)
    explanation = explain(
        change,
        employees,
        rows,
        ctx.policy,
        ctx.masters,
        mapping=mapping_for(source),
        only=None if login_id is None else (login_id,),
    )
    waiting = (
        InboxEntry.objects.for_company(company)
        .filter(source=source, record_id=record_id, state__in=(InboxState.PENDING, InboxState.DEFERRED))
        .order_by("-received_at")
        .values_list("received_at", flat=True)
        .first()
    )
    note = [step("S10", "change_waiting", True, tz_name, received_at=waiting)] if waiting is not None else []
    verdicts = tuple(_notes(v, mirrors, log, tz_name).with_steps(note) for v in explanation.verdicts)
    report.explanation = Explanation(
        explanation.ref, explanation.event, explanation.blocked, verdicts, explanation.waiting
    )
    return report


def find_records(
    company: Company,
    zone: zoneinfo.ZoneInfo,
    *,
    text: str = "",
    on: date | None = None,
    login_id: str | None = None,
) -> list[StoredSchedule]:
    """A company's stored schedules matching ``text`` (record ID, customer, title, purpose,
    business name, JUST.SFA 見出し, or a deleted schedule's last subject) and starting ``on`` that day (company time zone); with ``login_id``, only those
    naming that employee or mirrored to them. Newest start first, at most :data:`SEARCH_LIMIT`."""
    qs: QuerySet[StoredSchedule] = StoredSchedule.objects.for_company(company)
    text = text.strip()
    if text:
        qs = qs.filter(
            Q(record_id=text)
            | Q(payload__customer_name__icontains=text)
            | Q(payload__title__icontains=text)
            | Q(payload__purpose__icontains=text)
            | Q(payload__business_name__icontains=text)
            | Q(payload__subject__icontains=text)  # a deletion keeps the subject its events had
            | Q(**{f"payload__extra__{EXTRA_SUBJECT}__icontains": text})  # JUST.SFA 見出し
        )
    if on is not None:
        start = datetime.combine(on, time.min, tzinfo=zone)
        qs = qs.filter(starts_at__gte=start, starts_at__lt=start + timedelta(days=1))
    qs = qs.order_by(F("starts_at").desc(nulls_last=True), "-id")
    if login_id is None:
        return list(qs[:SEARCH_LIMIT])
    mirrored = set(
        MirrorEvent.objects.for_company(company).filter(login_id=login_id).values_list("source", "record_id")
    )
    # Narrowed in the database (the participants' JSON text names the login ID, or a mirror row of
    # the employee exists), then checked exactly here.
    qs = qs.filter(
        Q(payload__participants__icontains=login_id) | Q(record_id__in={record for _s, record in mirrored})
    )
    found: list[StoredSchedule] = []
    for row in qs.iterator(chunk_size=500):
        participants = row.payload.get("participants") if isinstance(row.payload, dict) else None
        mine = isinstance(participants, list) and login_id in participants
        if mine or (row.source, row.record_id) in mirrored:
            found.append(row)
            if len(found) >= SEARCH_LIMIT:
                break
    return found
