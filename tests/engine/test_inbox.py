"""S11: a change is durable before it is acknowledged; replays are no-ops; stale deliveries lose."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sfacal.core.schedule import Schedule, ScheduleDeletion, SourceRef, TimedSpan
from sfacal.directory.companies.provisioning import ensure_company
from sfacal.engine import inbox
from sfacal.engine.models import InboxEntry, StoredSchedule

pytestmark = pytest.mark.django_db(transaction=True)

T0 = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)


def schedule(title: str = "会議", updated: datetime = T0, record: str = "42") -> Schedule:
    return Schedule(
        ref=SourceRef("acme", "push", record),
        kind="業務",
        status="予定",
        span=TimedSpan(T0 + timedelta(days=1), T0 + timedelta(days=1, hours=1)),
        updated_at=updated,
        title=title,
        business_name=title,
        participants=("tanaka",),
    )


def test_s11_accepted_change_is_stored_and_queued_after_commit():
    company = ensure_company("acme", "ACME")
    dispatched: list[int] = []
    inbox.set_dispatcher(dispatched.append)
    try:
        result = inbox.accept(company, schedule(), trigger="push")
    finally:
        inbox.set_dispatcher(None)
    assert result.outcome is inbox.Outcome.ACCEPTED
    entry = InboxEntry.objects.get(pk=result.entry_id)
    assert entry.state == "pending" and entry.payload["title"] == "会議"
    assert dispatched == [entry.pk]
    stored = StoredSchedule.objects.get(company=company, source="push", record_id="42")
    assert Schedule.from_dict(stored.payload) == schedule()


def test_s11_replayed_delivery_is_one_change():
    company = ensure_company("acme", "ACME")
    first = inbox.accept(company, schedule(), trigger="webhook")
    again = inbox.accept(company, schedule(updated=T0 + timedelta(seconds=5)), trigger="webhook")
    assert first.outcome is inbox.Outcome.ACCEPTED
    assert again.outcome is inbox.Outcome.DUPLICATE
    assert InboxEntry.objects.count() == 1


def test_s11_a_b_a_sequence_keeps_the_last_state():
    company = ensure_company("acme", "ACME")
    for i, title in enumerate(["A", "B", "A"]):
        assert (
            inbox.accept(company, schedule(title, T0 + timedelta(minutes=i)), trigger="webhook").outcome
            == "accepted"
        )
    stored = StoredSchedule.objects.get()
    assert stored.payload["title"] == "A"
    assert InboxEntry.objects.count() == 3


def test_s11_stale_delivery_does_not_overwrite_newer_state():
    company = ensure_company("acme", "ACME")
    inbox.accept(company, schedule("new", T0 + timedelta(minutes=5)), trigger="push")
    late = inbox.accept(company, schedule("old", T0), trigger="push")
    assert late.outcome is inbox.Outcome.STALE
    assert StoredSchedule.objects.get().payload["title"] == "new"


def test_s4_deletion_marks_the_stored_schedule_deleted():
    company = ensure_company("acme", "ACME")
    inbox.accept(company, schedule(), trigger="webhook")
    gone = ScheduleDeletion(SourceRef("acme", "push", "42"), T0 + timedelta(minutes=1))
    assert inbox.accept(company, gone, trigger="webhook").outcome is inbox.Outcome.ACCEPTED
    stored = StoredSchedule.objects.get()
    assert stored.deleted is True
    assert InboxEntry.objects.filter(is_deletion=True).count() == 1
