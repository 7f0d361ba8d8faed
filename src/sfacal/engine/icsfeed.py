"""An employee's private iCalendar feed (RFC 5545): their mirrored plans, for any calendar app.

The feed holds what the sync policy selects for the employee -- the same plans the engine writes
to a calendar service (S3 policy, S5 rendering, exclusions and sync start), whatever the
destination service is and even when there is none: it is planned from the stored schedules,
not read back from a calendar.

Guarantees (each has a test in ``tests/engine/test_icsfeed.py`` or ``tests/ui/test_ics_feed.py``):

* **Private.** The URL carries a long random token; only its SHA-256 is stored
  (:class:`~sfacal.directory.connections.models.IcsFeed`). An unknown or revoked token is 404.
* **Stable.** Each event's ``UID`` comes from its tag (company, source, record, login), so a
  calendar app updates the event it has instead of adding one; ``SEQUENCE`` grows with every
  accepted change of the schedule (seconds of its last change since 2020-01-01; two changes
  within one second share a value), ``DTSTAMP`` and
  ``LAST-MODIFIED`` are that change's time. Timed events carry ``TZID`` and the zone's
  ``VTIMEZONE``.
* **Cheap to poll.** :func:`feed_etag` is computed from a few aggregates (no schedule is read) and
  changes whenever anything the feed shows may have changed (a schedule of the company, the
  employee's settings, the company's settings, masters, the day); an ``If-None-Match`` that
  matches answers 304 without building the feed.
* **An employee the administrator forbade (E1)** gets an empty feed; turning sync off (C1)
  empties every feed of the company.
* **Cheap to rebuild.** Each event's serialised ``VEVENT`` is kept in a bounded in-process cache
  keyed by its UID, SEQUENCE and content hash, so a rebuild after one change serialises one event.
* **Bounded.** Schedules that started more than :data:`PAST_DAYS` days ago are left out.
"""

from __future__ import annotations

import dataclasses
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import icalendar
from django.db.models import Count, Max, Q
from django.utils import timezone as dj_timezone

from sfacal.calendars.base import EventTag
from sfacal.calendars.caldav.ical import new_calendar, vevent
from sfacal.core.errors import InputError
from sfacal.core.planner import OpKind, plan
from sfacal.core.render import RenderedEvent
from sfacal.core.schedule import Schedule
from sfacal.core.settings import SyncState, UserIdMode
from sfacal.core.stored import change_from_stored, stored_participants
from sfacal.directory.companies.models import BusinessName, CompanySettings, Purpose
from sfacal.directory.connections.models import IcsFeed, hash_token
from sfacal.directory.employees.models import Employee

from .context import employee_settings, load_context, mapping_for
from .models import StoredSchedule

__all__ = ["PAST_DAYS", "FeedBody", "build_feed", "feed_etag", "feed_for_token", "feed_uid"]

PAST_DAYS = 90
_EPOCH = datetime(2020, 1, 1, tzinfo=UTC)
_FEED_MAILBOX = "ics-feed@sfacal.invalid"


@dataclasses.dataclass(frozen=True)
class FeedBody:
    body: bytes
    events: int


def feed_for_token(token: str) -> IcsFeed | None:
    """The live feed a token opens, or ``None`` (unknown, revoked, or not a token at all)."""
    if not token or len(token) > 200:
        return None
    return (
        IcsFeed.objects.select_related("employee", "company")
        .filter(token_hash=hash_token(token), revoked_at__isnull=True)
        .first()
    )


def feed_uid(tag: EventTag) -> str:
    return "sfacal-feed-" + hashlib.sha256(tag.value.encode()).hexdigest()[:40] + "@sfacal"


def _window_start(now: datetime) -> datetime:
    return now - timedelta(days=PAST_DAYS)


def feed_etag(feed: IcsFeed, now: datetime | None = None) -> str:
    """A strong ETag for the feed's current content (see the module docstring)."""
    now = now or dj_timezone.now()
    company_id = feed.company_id
    schedules = StoredSchedule.objects.filter(company_id=company_id).aggregate(
        changed=Max("updated_at"), count=Count("id")
    )
    settings_changed = (
        CompanySettings.objects.filter(company_id=company_id).values_list("updated_at", flat=True).first()
    )
    employee_changed = (
        Employee.objects.filter(pk=feed.employee_id).values_list("updated_at", flat=True).first()
    )
    masters = (
        Purpose.objects.filter(company_id=company_id).count(),
        BusinessName.objects.filter(company_id=company_id).count(),
    )
    parts = [
        str(feed.pk),
        str(schedules["changed"]),
        str(schedules["count"]),
        str(settings_changed),
        str(employee_changed),
        str(masters),
        now.date().isoformat(),
    ]
    return '"' + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32] + '"'


def _stored_rows(company_id: int, since: datetime) -> Iterator[tuple[str, str, object, datetime]]:
    query = (
        StoredSchedule.objects.filter(company_id=company_id, deleted=False)
        .filter(Q(starts_at__gte=since) | Q(starts_at__isnull=True))
        .order_by("starts_at", "id")
        .values_list("source", "record_id", "payload", "updated_at")
    )
    yield from query.iterator(chunk_size=500)


_BLOCKS: OrderedDict[tuple[str, int, str], bytes] = OrderedDict()
_BLOCKS_MAX = 100_000
_BLOCKS_LOCK = threading.Lock()


def _event_block(
    event: RenderedEvent, uid: str, sequence: int, changed: datetime, content_hash: str
) -> bytes:
    """One serialised ``VEVENT``, kept in a bounded in-process cache keyed by (UID, SEQUENCE,
    content hash): a feed rebuilt after one change serialises one event, not all of them."""
    key = (uid, sequence, content_hash)
    with _BLOCKS_LOCK:
        found = _BLOCKS.get(key)
        if found is not None:
            _BLOCKS.move_to_end(key)
            return found
    block: bytes = vevent(event, uid, sequence=sequence, now=changed, modified=changed).to_ical()
    with _BLOCKS_LOCK:
        _BLOCKS[key] = block
        while len(_BLOCKS) > _BLOCKS_MAX:
            _BLOCKS.popitem(last=False)
    return block


def build_feed(feed: IcsFeed, now: datetime | None = None) -> FeedBody:
    """The feed's iCalendar text (see the module docstring)."""
    now = now or dj_timezone.now()
    ctx = load_context(feed.company_id)
    employee = feed.employee
    core = employee_settings(employee)
    cal = new_calendar()
    cal.add("x-wr-calname", f"sfacal – {employee.name or employee.login_id}")
    cal.add("x-wr-timezone", ctx.policy.timezone)
    cal.add("x-published-ttl", "PT15M")
    blocks: list[bytes] = []
    zones: set[str] = set()
    if core is not None and core.state is not SyncState.FORBIDDEN and ctx.policy.sync_enabled:
        login = core.login_id
        wanted = dataclasses.replace(
            core,
            state=SyncState.ON,
            user_id_mode=UserIdMode.EXPLICIT,
            user_id=_FEED_MAILBOX,
            calendar_name=None,
        )
        policy = dataclasses.replace(ctx.policy, write_enabled=True)
        for source, _record, payload, updated in _stored_rows(feed.company_id, _window_start(now)):
            participants = stored_participants(payload)
            if participants is not None and login not in participants:
                continue
            try:
                change = change_from_stored(payload)  # type: ignore[arg-type]
            except InputError:
                continue
            if not isinstance(change, Schedule) or login not in change.participants:
                continue
            result = plan(
                change,
                {login: wanted},
                [],
                policy,
                ctx.masters,
                mapping=mapping_for(source),
                only=[login],
                backfill=True,
            )
            for op in result.operations:
                if op.kind is not OpKind.CREATE or op.event is None:
                    continue
                changed = updated if updated.tzinfo else updated.replace(tzinfo=UTC)
                sequence = max(0, int((changed - _EPOCH).total_seconds()))
                uid = feed_uid(EventTag(op.ref, login))
                blocks.append(_event_block(op.event, uid, sequence, changed, op.content_hash or ""))
                if not op.event.is_all_day and op.event.timezone != "UTC":
                    zones.add(op.event.timezone)
    for name in sorted(zones):
        cal.add_component(icalendar.Timezone.from_tzid(name))
    head = cal.to_ical()
    end = b"END:VCALENDAR\r\n"
    body = head[: -len(end)] + b"".join(blocks) + end
    return FeedBody(body, len(blocks))
