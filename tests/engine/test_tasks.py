"""The minute job queues each company's periodic work (C8 batch, two-way reads, reconciliation)."""

from __future__ import annotations

from typing import Any

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
    assert tasks.sweep() == {"process": 0, "batch": 0, "reconcile": 0, "twoway": 0, "backfill": 0}


def test_c8_batch_runs_once_per_interval(company: Company, fake: Any) -> None:
    CompanySettings.objects.filter(company=company).update(batch_interval_minutes=5)
    assert tasks.sweep()["batch"] == 1
    assert tasks.sweep()["batch"] == 0
    assert tasks.sweep()["reconcile"] == 0
