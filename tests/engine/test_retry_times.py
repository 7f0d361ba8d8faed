"""S11 / L1: a postponed write (throttling, an outage, the network) says in its log line when it
is tried again -- and it is tried again then: not before, and at that time, whether it came through
the inbox or from a pass that did not (the periodic batch). The clock is controlled, not waited on."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from huey.contrib.djhuey import HUEY

from sfacal.core.errors import NetworkError, ThrottledError
from sfacal.engine import inbox, passes, tasks
from sfacal.engine.models import InboxEntry, LogResult, MirrorEvent, SyncLogEntry
from sfacal.web.logs.presenters import describe
from tests.engine.conftest import DOMAIN, T0, employee, meeting

pytestmark = pytest.mark.django_db

TARO = f"taro@{DOMAIN}"


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(tz=UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    c = Clock()
    monkeypatch.setattr(timezone, "now", c)
    return c


@pytest.fixture
def scheduled() -> Iterator[list[tuple[int, datetime]]]:
    """What the engine asks the queue to run when (the inbox pass's retries and retry entries)."""
    calls: list[tuple[int, datetime]] = []
    inbox.set_retry_scheduler(lambda company_id, when: calls.append((company_id, when)))
    yield calls
    inbox.set_retry_scheduler(None)


@pytest.fixture
def queue_inline() -> Iterator[None]:
    """Huey runs a queued task at once (the minute sweep's processing happens inside the test)."""
    before = HUEY.immediate
    HUEY.immediate = True
    yield
    HUEY.immediate = before


def test_s11_l1_throttled_write_shows_its_retry_time_and_is_retried_then_not_before(
    company, fake, clock, queue_inline
):
    employee(company, "taro")
    fake.add_mailbox(TARO)
    fake.fail_next.append(ThrottledError("429", retry_after=30))
    inbox.accept(company, meeting(participants=("taro",)), trigger="push")
    retries: list[tuple[int, datetime]] = []
    summary = passes.process_inbox(company.pk, schedule_retry=lambda cid, when: retries.append((cid, when)))
    assert summary is not None and summary.postponed == 1 and fake.events == {}
    due = clock.now + timedelta(seconds=30)  # Retry-After obeyed, from when the pass settled
    (line,) = SyncLogEntry.objects.filter(result=LogResult.WARNING)
    assert (line.operation, line.error_code, line.subject) == ("create", "throttled", "赤木電機/定期訪問")
    assert line.next_attempt_at == due
    assert InboxEntry.objects.get().next_attempt_at == due  # the engine's own schedule, the same moment
    assert retries == [(company.pk, due)]  # the queued retry
    local = due.astimezone(ZoneInfo("Asia/Tokyo"))
    with timezone.override("Asia/Tokyo"):
        assert describe(line, "en").retry == f"Tried again automatically at {local:%Y-%m-%d %H:%M:%S}"
        assert describe(line, "ja").retry == f"{local:%Y-%m-%d %H:%M:%S} に自動で再試行します"

    clock.now = due - timedelta(seconds=1)  # not before
    assert tasks.sweep(clock.now)["process"] == 0
    passes.process_inbox(company.pk)
    assert fake.events == {} and InboxEntry.objects.get().state == "pending"

    clock.now = due  # then: the minute sweep finds it due and the pass writes the event
    assert tasks.sweep(clock.now)["process"] == 1
    assert len(fake.of(TARO)) == 1
    assert InboxEntry.objects.get().state == "done"
    assert SyncLogEntry.objects.filter(operation="create", result=LogResult.SUCCESS).count() == 1


def test_s11_l1_batch_postponed_update_gets_a_retry_entry_due_when_its_line_says(
    company, fake, clock, scheduled, django_capture_on_commit_callbacks
):
    employee(company, "taro")
    fake.add_mailbox(TARO)
    inbox.accept(company, meeting(participants=("taro",)), trigger="push")
    passes.process_inbox(company.pk)
    InboxEntry.objects.all().delete()
    inbox.accept(
        company,
        meeting(participants=("taro",), content="変更後", updated=T0 + timedelta(minutes=1)),
        trigger="push",
    )
    InboxEntry.objects.all().delete()  # the change is stored; only the batch will plan it
    fake.fail_next.append(NetworkError("connection reset", kind="reset"))
    with django_capture_on_commit_callbacks(execute=True):
        summary = passes.run_batch(company.pk, now=clock.now)
    assert summary.postponed == 1
    due = clock.now + timedelta(seconds=5)  # no Retry-After: the shortest wait
    (line,) = SyncLogEntry.objects.filter(result=LogResult.WARNING)
    assert (line.trigger, line.operation, line.next_attempt_at) == ("batch", "update", due)
    (entry,) = InboxEntry.objects.all()
    assert (entry.state, entry.trigger, entry.next_attempt_at) == ("pending", "batch", due)
    assert scheduled == [(company.pk, due)]

    clock.now = due - timedelta(seconds=1)
    passes.process_inbox(company.pk)
    assert fake.of(TARO)[0].event.body == "打ち合わせ"  # not yet
    clock.now = due
    passes.process_inbox(company.pk)
    assert fake.of(TARO)[0].event.body == "変更後"
    assert InboxEntry.objects.get().state == "done" and MirrorEvent.objects.get().state == "synced"


def test_l1_postponed_writes_of_one_employee_are_one_line_that_counts_them(company, fake, clock, scheduled):
    employee(company, "taro")
    fake.add_mailbox(TARO)
    fake.fail_next.extend(ThrottledError("429", retry_after=12) for _ in range(3))
    for record in ("1", "2", "3"):
        inbox.accept(company, meeting(record, participants=("taro",)), trigger="push")
    passes.process_inbox(company.pk)
    (line,) = SyncLogEntry.objects.filter(result=LogResult.WARNING)
    assert line.next_attempt_at == clock.now + timedelta(seconds=12)
    assert line.error_params["postponed"] == "3" and line.subject == "赤木電機/定期訪問"
    assert "3 postponed writes" in describe(line, "en").notes[-1]
    assert {e.next_attempt_at for e in InboxEntry.objects.all()} == {line.next_attempt_at}
    assert scheduled == []  # inbox entries already exist: no extra entries, no extra task


def test_l1_a_failure_that_waits_for_a_person_says_it_is_not_retried_by_itself(company, fake):
    from sfacal.core.errors import AccessDeniedError

    employee(company, "taro")
    fake.add_mailbox(TARO)
    fake.errors[TARO] = AccessDeniedError("403", mailbox=TARO)
    inbox.accept(company, meeting(participants=("taro",)), trigger="push")
    passes.process_inbox(company.pk)
    (line,) = SyncLogEntry.objects.filter(result=LogResult.FAILURE)
    assert line.next_attempt_at is None
    assert describe(line, "en").retry.startswith("Not retried automatically")
    assert describe(line, "ja").retry.startswith("自動では再試行しません")
