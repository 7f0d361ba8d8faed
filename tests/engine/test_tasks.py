"""The minute job queues each company's periodic work (C8 batch, two-way reads, reconciliation)."""

from __future__ import annotations

from typing import Any

from django.test import TestCase

from sfacal.directory.companies.models import Company, CompanySettings, Direction
from sfacal.engine import tasks


def test_c5_two_way_company_gets_its_calendar_read_every_minute(company: Company, fake: Any) -> None:
    CompanySettings.objects.filter(company=company).update(direction=Direction.TWO_WAY)
    assert tasks.sweep()["twoway"] == 1
    # claimed for the minute: a second sweep right away does not queue it again
    assert tasks.sweep()["twoway"] == 0


def test_c5_one_way_company_is_never_read_for_calendar_edits(company: Company, fake: Any) -> None:
    queued = tasks.sweep()
    assert queued["twoway"] == 0
    assert queued["batch"] == 1


def test_c1_company_with_sync_off_gets_no_periodic_work(company: Company, fake: Any) -> None:
    CompanySettings.objects.filter(company=company).update(sync_enabled=False, direction=Direction.TWO_WAY)
    assert tasks.sweep() == {"process": 0, "batch": 0, "poll": 0, "reconcile": 0, "twoway": 0, "backfill": 0}


def test_c8_batch_runs_once_per_interval(company: Company, fake: Any) -> None:
    CompanySettings.objects.filter(company=company).update(batch_interval_minutes=5)
    assert tasks.sweep()["batch"] == 1
    assert tasks.sweep()["batch"] == 0
    assert tasks.sweep()["reconcile"] == 0


def test_a_new_change_queues_the_pass_of_its_part_only(company: Company, fake: Any, monkeypatch: Any) -> None:
    """With several inbox parts, a committed change queues the pass of the part that holds it; the
    minute sweep queues the parts with waiting entries."""
    from datetime import timedelta

    from django.utils import timezone

    from sfacal.engine import inbox
    from sfacal.engine.models import InboxEntry
    from sfacal.engine.parts import part_of, slot_of
    from tests.engine.conftest import meeting

    monkeypatch.setenv("SFACAL_ENGINE_PARTS", "4")
    queued: list[tuple[int, int, int]] = []
    monkeypatch.setattr(tasks, "process_company", lambda *args: queued.append(args))
    inbox.set_dispatcher(tasks.dispatch)
    try:
        with TestCase.captureOnCommitCallbacks(execute=True):
            inbox.accept(company, meeting("1", participants=("taro",)), trigger="push")
    finally:
        inbox.set_dispatcher(None)
    part = part_of(slot_of(["taro"]), 4)
    assert queued == [(company.pk, part, 4)]
    queued.clear()
    InboxEntry.objects.update(received_at=timezone.now() - timedelta(minutes=5))
    assert tasks.sweep()["process"] == 1
    assert queued == [(company.pk, part, 4)]


def test_the_minute_job_and_a_running_batch_are_not_run_twice(company: Company, fake: Any) -> None:
    assert tasks.tick.call_local() is not None
    assert tasks.tick.call_local() is None  # this minute's sweep ran already (another worker's turn)
    from sfacal.engine.leases import singleton

    with singleton(f"job:batch:{company.pk}") as mine:
        assert mine
        assert tasks.run_batch.call_local(company.pk) is None  # running elsewhere: skipped
    assert tasks.run_batch.call_local(company.pk) is not None


def test_s10_a_burst_of_changes_queues_one_pass_until_it_starts(
    company: Company, fake: Any, monkeypatch: Any
) -> None:
    """The queued marker is taken only when free or expired: many changes before the pass starts
    queue it once; a change after it started (marker dropped) or after the marker expired queues
    it again, so no committed change waits for the sweep."""
    from datetime import timedelta

    from django.utils import timezone

    from sfacal.engine import inbox
    from sfacal.engine.models import MailboxLease
    from tests.engine.conftest import meeting

    monkeypatch.setenv("SFACAL_ENGINE_PARTS", "1")
    queued: list[tuple[int, int, int]] = []
    monkeypatch.setattr(tasks, "process_company", lambda *args: queued.append(args))
    inbox.set_dispatcher(tasks.dispatch)
    try:
        with TestCase.captureOnCommitCallbacks(execute=True):
            for n in range(5):
                inbox.accept(company, meeting(str(n), participants=("taro",)), trigger="push")
        assert queued == [(company.pk, 0, 1)]
        MailboxLease.objects.filter(key=f"queued:{company.pk}").delete()  # what the pass does first
        with TestCase.captureOnCommitCallbacks(execute=True):
            inbox.accept(company, meeting("5", participants=("taro",)), trigger="push")
        assert len(queued) == 2
        MailboxLease.objects.filter(key=f"queued:{company.pk}").update(
            expires_at=timezone.now() - timedelta(seconds=1)
        )  # a marker whose task was lost
        with TestCase.captureOnCommitCallbacks(execute=True):
            inbox.accept(company, meeting("6", participants=("taro",)), trigger="push")
        assert len(queued) == 3
        assert tasks.enqueue_company(company.pk, force=True)  # forced: queued even with a live marker
        assert len(queued) == 4
    finally:
        inbox.set_dispatcher(None)
