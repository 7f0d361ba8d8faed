"""The periodic poll: catch what webhooks missed (S10, S11) within the request budget (J4).

:func:`poll` lists the records through the configured panel and filter, page by page, and accepts
each one through ``inbox.accept(trigger="poll")``: an unchanged record is a no-op (same content
hash), a changed one is a change. A listing that cannot finish within ``poll_max_requests``
requests (or the budget) goes on where it stopped at the next poll: the position is kept in
``SourceConnection.poll_state``.

Deletions are found by absence, carefully, since an offset listing can skip a record when others
are deleted between two pages:

* only after a *complete* pass (every page read);
* only records whose latest state was accepted before the pass started;
* only when absent from two complete passes in a row (the first absence makes a candidate);
* and never more than half of the known records at once (a filter that suddenly matches nothing
  must not wipe every calendar): then nothing is deleted and the sync log says why;
* never after a pass in which a listed record could not be identified (no ``recordId`` and no
  record-ID field value): an unidentified record is not absent, so nothing is deleted and the sync
  log names the setting to fix.

Each stored change carries the time its page was read as its update time, so a webhook that
arrived after the page was read wins over the page (``inbox`` drops older states).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.utils import timezone as dj_timezone

from sfacal.core.errors import InputError, SfacalError
from sfacal.core.schedule import ScheduleDeletion
from sfacal.directory.connections.models import SourceConnection
from sfacal.engine import inbox
from sfacal.engine.models import LogResult, StoredSchedule, SyncLogEntry, Trigger

from .client import RecordsClient
from .parse import record_change, record_identity, ref_for
from .settings import JustSfaSettings

__all__ = ["PollResult", "poll", "poll_connection"]

log = logging.getLogger(__name__)

MAX_DELETE_FRACTION = 0.5
MIN_DELETE_GUARD = 5


class PollResult:
    """What one poll did (``accepted`` is also :func:`poll`'s return value)."""

    def __init__(self) -> None:
        self.accepted = 0
        self.unchanged = 0
        self.invalid = 0
        self.deleted = 0
        self.unidentified = 0
        self.requests = 0
        self.complete = False
        self.error: SfacalError | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "accepted": self.accepted,
            "unchanged": self.unchanged,
            "invalid": self.invalid,
            "deleted": self.deleted,
            "unidentified": self.unidentified,
            "requests": self.requests,
            "complete": self.complete,
            "error": self.error.code if self.error else "",
        }


def poll(
    connection: SourceConnection,
    *,
    client: RecordsClient | None = None,
    now: Callable[[], datetime] = dj_timezone.now,
) -> int:
    """Poll ``connection`` once; returns how many changes were accepted. Budget and service
    errors end the poll early (the position is kept) and are re-raised for the caller's log."""
    result = poll_connection(connection, client=client, now=now)
    if result.error is not None:
        raise result.error
    return result.accepted


def poll_connection(
    connection: SourceConnection,
    *,
    client: RecordsClient | None = None,
    now: Callable[[], datetime] = dj_timezone.now,
) -> PollResult:
    """Like :func:`poll`, returning the full :class:`PollResult` instead of raising."""
    settings = JustSfaSettings.from_connection(connection)
    company = connection.company
    state: dict[str, Any] = dict(connection.poll_state or {})
    result = PollResult()
    own = client is None
    api = client if client is not None else RecordsClient(settings)
    offset = int(state.get("offset") or 0)
    if offset == 0 or not state.get("pass_started_at"):
        state["pass_started_at"] = now().isoformat()
        state["seen"] = []
        offset = 0
    seen: set[str] = set(state.get("seen") or [])
    unidentified = int(state.get("unidentified") or 0)
    try:
        for page_offset, page in api.iter_pages(
            panel=settings.panel,
            filter_name=settings.filter,
            start=offset,
            max_requests=settings.poll_max_requests,
        ):
            result.requests += 1
            read_at = now()
            for item in page:
                _accept_item(company, settings, item.record_id, item.record, read_at, seen, result)
            offset = page_offset + len(page)
            if len(page) < settings.page_size:
                result.complete = True
    except SfacalError as exc:
        result.error = exc
        log.warning("JUST.SFA poll of connection %s stopped: %s", connection.pk, exc)
    finally:
        if own:
            api.close()
    unidentified += result.unidentified
    if result.complete:
        if unidentified:
            _unidentified_warning(connection, unidentified)
        else:
            _deletions(connection, settings, state, seen, now(), result)
        state.update(
            offset=0, seen=[], unidentified=0, pass_started_at=None, last_full_pass_at=now().isoformat()
        )
    else:
        state.update(offset=offset, seen=sorted(seen), unidentified=unidentified)
    state.update(
        last_poll_at=now().isoformat(),
        last_error=result.error.code if result.error else "",
        last_result=result.as_dict(),
    )
    SourceConnection.objects.filter(pk=connection.pk).update(poll_state=state)
    connection.poll_state = state
    return result


def _accept_item(
    company: Any,
    settings: JustSfaSettings,
    record_id: object,
    record: Any,
    read_at: datetime,
    seen: set[str],
    result: PollResult,
) -> None:
    try:
        rid = record_identity(settings, record_id, record)
    except InputError as exc:
        result.invalid += 1
        result.unidentified += 1
        log.warning("JUST.SFA poll: a record without an ID skipped: %s", exc.detail)
        return
    try:
        seen.add(rid)
        change = record_change(settings, record, rid, received_at=read_at)
    except InputError as exc:
        result.invalid += 1
        log.warning("JUST.SFA poll: record %s skipped: %s", record_id, exc.detail)
        return
    accepted = inbox.accept(company, change, trigger=Trigger.POLL)
    if accepted.outcome is inbox.Outcome.ACCEPTED:
        result.accepted += 1
    else:
        result.unchanged += 1


def _unidentified_warning(connection: SourceConnection, count: int) -> None:
    message = (
        f"{count} listed records carried no record ID (recordId, or the record-ID field's value), so "
        "they were skipped and no deletion was looked for. If JUST.SFA lists records without "
        "recordId, set the record-ID field (the autonumber 予定番号) on the JUST.SFA screen."
    )
    log.error("JUST.SFA poll of connection %s: %s", connection.pk, message)
    SyncLogEntry.objects.create(
        company_id=connection.company_id,
        trigger=Trigger.POLL,
        operation="detect_deletions",
        result=LogResult.WARNING,
        source=connection.kind,
        error_code="source_listing_suspicious",
        message=message,
    )


def _deletions(
    connection: SourceConnection,
    settings: JustSfaSettings,
    state: dict[str, Any],
    seen: set[str],
    at: datetime,
    result: PollResult,
) -> None:
    started = state.get("pass_started_at")
    pass_start = datetime.fromisoformat(started) if started else at
    known = set(
        StoredSchedule.objects.filter(
            company_id=connection.company_id,
            source=settings.source,
            deleted=False,
            source_updated_at__lt=pass_start,
        ).values_list("record_id", flat=True)
    )
    absent = known - seen
    candidates = set(state.get("missing") or [])
    confirmed = sorted(absent & candidates)
    state["missing"] = sorted(absent - set(confirmed))
    if not confirmed:
        return
    if len(confirmed) > max(MIN_DELETE_GUARD, int(len(known) * MAX_DELETE_FRACTION)):
        message = (
            f"{len(confirmed)} of {len(known)} records disappeared from the JUST.SFA listing at once; "
            "nothing was deleted. Check the panel and filter settings (they must list every schedule)."
        )
        log.error("JUST.SFA poll of connection %s: %s", connection.pk, message)
        SyncLogEntry.objects.create(
            company_id=connection.company_id,
            trigger=Trigger.POLL,
            operation="detect_deletions",
            result=LogResult.WARNING,
            source=connection.kind,
            error_code="source_listing_suspicious",
            message=message,
        )
        return
    for rid in confirmed:
        accepted = inbox.accept(
            connection.company, ScheduleDeletion(ref_for(settings, rid), at), trigger=Trigger.POLL
        )
        if accepted.outcome is inbox.Outcome.ACCEPTED:
            result.deleted += 1
            result.accepted += 1
