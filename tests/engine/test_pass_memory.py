"""A pass's memory grows with the mailboxes it writes to at once, not with its records: planning
stays a few batches per mailbox ahead of what is recorded, a slice's stored schedules are read
when it is planned, and a recorded operation is freed (only its status is kept)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from sfacal.engine import executor, inbox, passes, processor
from sfacal.engine.mirrors import OpStatus
from sfacal.engine.models import InboxEntry, MirrorEvent
from tests.engine.conftest import DOMAIN, START, employee, meeting

pytestmark = pytest.mark.django_db


def _accept(company: Any, fake: Any, logins: list[str], per_login: int) -> None:
    for login in logins:
        employee(company, login)
        fake.add_mailbox(f"{login}@{DOMAIN}")
    for n in range(per_login):
        for login in logins:
            inbox.accept(
                company,
                meeting(f"{login}-{n}", participants=(login,), start=START + timedelta(hours=n)),
                trigger="push",
            )


def test_s11_planning_stays_a_few_batches_per_mailbox_ahead_of_what_is_recorded(company, fake, monkeypatch):
    monkeypatch.setattr(processor, "SLICE", 5)
    monkeypatch.setattr(processor, "FIRST_SLICE", 5)
    monkeypatch.setattr(processor, "AHEAD_BATCHES", 1)
    monkeypatch.setattr(executor, "BATCH", 2)
    logins = ["p0", "p1"]
    _accept(company, fake, logins, 30)
    # A slow calendar: without the bound, planning would run through all 60 records at once.
    send = executor.Execution._send

    async def slow_send(self: Any, mailbox: str, chunk: list[Any]) -> Any:
        await asyncio.sleep(0.02)
        return await send(self, mailbox, chunk)

    monkeypatch.setattr(executor.Execution, "_send", slow_send)
    seen: list[int] = []
    feed = executor.Execution.feed

    def counting_feed(self: Any, jobs: Any) -> None:
        feed(self, jobs)
        seen.append(self.outstanding)

    monkeypatch.setattr(executor.Execution, "feed", counting_feed)
    summary = passes.process_inbox(company.pk)
    assert summary is not None and (summary.operations, summary.succeeded) == (60, 60)
    # At most one batch per mailbox (at least one slice) ahead, plus the slice just fed.
    limit = max(5, 1 * 2 * len(logins))
    assert seen and max(seen) <= limit + 5
    assert len(seen) >= 60 // 5  # fed slice by slice
    assert len(fake.events) == 60 and MirrorEvent.objects.filter(state="synced").count() == 60
    assert set(InboxEntry.objects.values_list("state", flat=True)) == {"done"}


def test_a_recorded_operation_is_kept_only_as_its_status(company, fake, monkeypatch):
    _accept(company, fake, ["taro"], 3)
    kept: list[Any] = []
    main = executor.Execution.main

    async def keeping_main(self: Any) -> Any:
        got = await main(self)
        kept.extend(got)
        return got

    monkeypatch.setattr(executor.Execution, "main", keeping_main)
    summary = passes.process_inbox(company.pk)
    assert summary is not None and summary.succeeded == 3
    assert [s.status for s in kept] == [OpStatus.OK] * 3
    assert all(s.op is None and s.login_id == "taro" for s in kept)


def test_s11_a_record_gone_between_reading_and_planning_is_retried_not_lost(company, fake, monkeypatch):
    """The pass reads a slice's stored schedules again when it plans them; a record no longer
    stored as a schedule then (deleted meanwhile: its deletion has its own inbox entry) is not
    planned from stale data, and its entry is tried again."""
    _accept(company, fake, ["taro"], 2)
    monkeypatch.setattr(processor, "load_payloads", lambda ctx, keys: {})
    summary = passes.process_inbox(company.pk)
    assert summary is not None and summary.operations == 0
    assert not fake.events and not MirrorEvent.objects.exists()
    assert set(InboxEntry.objects.values_list("state", flat=True)) == {"pending"}
    monkeypatch.undo()
    InboxEntry.objects.update(next_attempt_at=None)
    summary = passes.process_inbox(company.pk)
    assert summary is not None and summary.succeeded == 2
    assert set(InboxEntry.objects.values_list("state", flat=True)) == {"done"}
