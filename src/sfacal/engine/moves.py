"""The second step of a calendar or mailbox switch (P4, E2, E3): make-before-break.

The planner creates an employee's event in the new place first and leaves the event in the old
place (its plan counts the rows left: :attr:`~sfacal.core.planner.Plan.waiting`). The processor
hands such records here once all their writes succeeded (:func:`finish_moves`), and they are
planned again: the new place now holds the event, so the old one is deleted.

Guarantees (each has a test):

* **The new calendar exists when the old events go.** Before planning the records again, the named
  calendars their creates went to are read again (one request per mailbox). A calendar that has
  vanished since (deleted or renamed in Outlook between the create and now) does not count as
  holding anything: the rows there become LOST, the old events stay, the employee's state and the
  log say "calendar not found" with its hint, and the move is tried again at the next change of the
  schedule or of the settings. A mailbox's default calendar cannot be deleted and is not read.
* **Unsure means wait.** When the calendars cannot be read now (an outage, throttling, the
  credentials), the records are reported for retry with their old events untouched.
* **Bounded.** One more planning round per pass; a record that still waits after it (something
  changed meanwhile) is reported for retry, so a switch never stays half done.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from sfacal.calendars.base import find_calendar
from sfacal.core.errors import CalendarNotFoundError, MailboxNotFoundError, SfacalError
from sfacal.core.schedule import SourceRef
from sfacal.directory.employees.models import Employee, LastResult
from sfacal.engine import loop as engine_loop
from sfacal.engine.context import CompanyContext, RecordKey
from sfacal.engine.loglines import insert_log_lines, log_line
from sfacal.engine.models import LogResult, MirrorEvent, MirrorState
from sfacal.engine.work import FollowUp, ItemState, PassSummary, WorkItem

__all__ = ["PROBE_TIMEOUT_S", "RETRY_S", "finish_moves", "vanished_places"]

log = logging.getLogger(__name__)

PROBE_TIMEOUT_S = 120.0
RETRY_S = 30.0

Place = tuple[str, str]  # (mailbox, calendar name)
Runner = Callable[[Iterable[WorkItem]], PassSummary]


def vanished_places(ctx: CompanyContext, places: set[Place]) -> tuple[dict[Place, SfacalError], set[Place]]:
    """Which named calendars do not exist now (with the error saying so), and which could not be
    read (the caller waits for those)."""
    by_mailbox: dict[str, set[str]] = {}
    for mailbox, name in places:
        by_mailbox.setdefault(mailbox, set()).add(name)

    async def probe() -> tuple[dict[Place, SfacalError], set[Place]]:
        gone: dict[Place, SfacalError] = {}
        unsure: set[Place] = set()
        try:
            service = await engine_loop.service_for(ctx.settings)
        except SfacalError:
            return gone, set(places)
        for mailbox, names in by_mailbox.items():
            try:
                calendars = await service.list_calendars(mailbox)
            except MailboxNotFoundError as exc:
                gone.update(((mailbox, name), exc) for name in names)
                continue
            except SfacalError:
                unsure.update((mailbox, name) for name in names)
                continue
            for name in names:
                if find_calendar(calendars, name) is None:
                    gone[(mailbox, name)] = CalendarNotFoundError(
                        f"no calendar named {name!r} in {mailbox} any more", mailbox=mailbox, calendar=name
                    )
        return gone, unsure

    try:
        return engine_loop.run(probe(), timeout=PROBE_TIMEOUT_S)
    except Exception:  # the probe itself failed: nothing is known, so nothing is deleted
        log.exception("reading the calendars of a switch failed")
        return {}, set(places)


def finish_moves(ctx: CompanyContext, summary: PassSummary, run: Runner) -> None:
    """Plan again the records of ``summary.follow_up`` (see the module docstring) with ``run``
    (the processor's pass over work items) and fold the result into ``summary``."""
    pending, summary.follow_up = summary.follow_up, {}
    if not pending:
        return
    now = timezone.now()
    named = {(mailbox, name) for f in pending.values() for _, mailbox, name in f.places if name}
    gone, unsure = vanished_places(ctx, named) if named else ({}, set())
    again: list[WorkItem] = []
    for key, follow in pending.items():
        lost = [
            (login, mailbox, name) for login, mailbox, name in follow.places if (mailbox, name or "") in gone
        ]
        if lost:
            _keep_old_events(ctx, key, follow, lost, gone)
            continue
        if any((mailbox, name or "") in unsure for _, mailbox, name in follow.places):
            _retry(summary, key, now)
            continue
        again.append(follow.item)
    if not again:
        return
    records = summary.records
    second = run(again)
    still = second.follow_up
    second.follow_up = {}
    summary.merge(second)
    summary.records = records
    for key in still:
        _retry(summary, key, now)


def _retry(summary: PassSummary, key: RecordKey, now: datetime) -> None:
    summary.states[key] = ItemState.RETRY
    summary.retry_at.setdefault(key, now + timedelta(seconds=RETRY_S))


def _keep_old_events(
    ctx: CompanyContext,
    key: RecordKey,
    follow: FollowUp,
    lost: list[tuple[str, str, str | None]],
    gone: dict[Place, SfacalError],
) -> None:
    """The new calendar vanished after our create: its rows are LOST (the events went with the
    calendar), the old events stay, and the employee and the log say why."""
    source, record_id = key
    place = Q()
    for login, mailbox, name in lost:
        place |= Q(login_id=login, mailbox=mailbox, calendar_name=name or "")
    MirrorEvent.objects.filter(
        Q(company_id=ctx.company_id, source=source, record_id=record_id) & place
    ).update(state=MirrorState.LOST, event_id="", change_key="", updated_at=timezone.now())
    lines = []
    for login, mailbox, name in lost:
        error = gone[(mailbox, name or "")]
        employee = ctx.employees.get(login)
        if employee is not None:
            Employee.objects.filter(pk=employee.pk).update(
                last_result=LastResult.FAILED, last_error_code=error.code[:64], last_synced_at=timezone.now()
            )
        lines.append(
            log_line(
                ctx,
                trigger=follow.item.trigger,
                operation="move",
                result=LogResult.FAILURE,
                employee_id=int(employee.pk) if employee is not None else None,
                login_id=login,
                mailbox=mailbox,
                calendar_name=name,
                ref=SourceRef(ctx.slug, source, record_id),
                error=error,
            )
        )
    insert_log_lines(lines)
    log.warning("switch of %s kept the old events: the new calendar vanished", key)
