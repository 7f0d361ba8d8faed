"""S10/S11 + J4: the periodic poll catches changes whose webhook never arrived, pages within the
budget, and detects deletions by absence carefully."""

from __future__ import annotations

from typing import Any

import pytest

from sfacal.core.errors import SourceRateLimitedError
from sfacal.directory.companies.provisioning import ensure_company
from sfacal.directory.connections.models import SourceConnection
from sfacal.emulators.justsfa import EmulatorHandle, ScheduleSetup
from sfacal.engine.models import InboxEntry, StoredSchedule, SyncLogEntry
from sfacal.sources.justsfa import (
    Budget,
    JustSfaSettings,
    MemoryBudgetStore,
    RateLimiter,
    poll,
    poll_connection,
)

from .conftest import TENANT, ClientFactory, config_for, schedule_record

pytestmark = pytest.mark.django_db


def make_connection(emu: EmulatorHandle, setup: ScheduleSetup, **config: Any) -> SourceConnection:
    company = ensure_company("acme", "ACME")
    return SourceConnection.objects.create(
        company=company, kind="justsfa", config=config_for(emu, setup, **config), api_key=setup.api_key
    )


def add(emu: EmulatorHandle, setup: ScheduleSetup, title: str, users: list[str] | None = None) -> int:
    created = emu.control.create_record(
        TENANT, setup.table_id, schedule_record(setup, title, users or ["yamada"]), fire_webhooks=False
    )
    return int(created["recordId"])


def run_poll(
    conn: SourceConnection, make_client: ClientFactory, limiter: RateLimiter | None = None, **kw: Any
) -> Any:
    conn.refresh_from_db()
    client = make_client(JustSfaSettings.from_connection(conn), limiter, **kw)
    return poll_connection(conn, client=client)


def test_s11_poll_catches_changes_without_webhooks(emu, setup, make_client):
    conn = make_connection(emu, setup)
    ids = [add(emu, setup, f"訪問{i}") for i in range(3)]
    result = run_poll(conn, make_client)
    assert result.complete and result.accepted == 3 and result.requests == 1
    assert sorted(StoredSchedule.objects.values_list("record_id", flat=True)) == sorted(map(str, ids))
    assert set(InboxEntry.objects.values_list("trigger", flat=True)) == {"poll"}

    again = run_poll(conn, make_client)
    assert again.accepted == 0 and again.unchanged == 3

    emu.control.update_record(
        TENANT, setup.table_id, ids[1], {setup.title_field: "変更"}, fire_webhooks=False
    )
    changed = run_poll(conn, make_client)
    assert changed.accepted == 1
    assert StoredSchedule.objects.get(record_id=str(ids[1])).payload["title"] == "変更"
    conn.refresh_from_db()
    assert conn.poll_state["last_result"]["accepted"] == 1 and conn.poll_state["offset"] == 0


def test_j4_poll_pages_within_its_request_budget_and_resumes(emu, setup, make_client):
    conn = make_connection(emu, setup, page_size=2, poll_max_requests=2)
    for i in range(5):
        add(emu, setup, f"訪問{i}")
    first = run_poll(conn, make_client)
    assert not first.complete and first.requests == 2 and first.accepted == 4
    conn.refresh_from_db()
    assert conn.poll_state["offset"] == 4 and len(conn.poll_state["seen"]) == 4
    second = run_poll(conn, make_client)
    assert second.complete and second.accepted == 1 and second.requests == 1
    conn.refresh_from_db()
    assert conn.poll_state["offset"] == 0 and conn.poll_state["seen"] == []
    assert StoredSchedule.objects.count() == 5


def test_s4_deletion_found_by_absence_after_two_complete_passes(emu, setup, make_client):
    conn = make_connection(emu, setup)
    ids = [add(emu, setup, f"訪問{i}") for i in range(3)]
    run_poll(conn, make_client)
    emu.control.delete_record(TENANT, setup.table_id, ids[0], fire_webhooks=False)
    first = run_poll(conn, make_client)
    assert first.deleted == 0  # a candidate only
    second = run_poll(conn, make_client)
    assert second.deleted == 1
    assert StoredSchedule.objects.get(record_id=str(ids[0])).deleted
    assert not StoredSchedule.objects.get(record_id=str(ids[1])).deleted
    assert run_poll(conn, make_client).deleted == 0


def test_s4_a_record_that_comes_back_is_not_deleted(emu, setup, make_client):
    conn = make_connection(emu, setup)
    ids = [add(emu, setup, f"訪問{i}") for i in range(2)]
    run_poll(conn, make_client)
    emu.control.update_record(
        TENANT, setup.table_id, ids[0], {setup.status_field: "実績"}, fire_webhooks=False
    )
    narrow = emu.control.add_filter(
        TENANT, setup.table_id, "予定のみ", [{"field": setup.status_field, "op": "eq", "value": "予定"}]
    )["filterId"]
    conn.config = {**conn.config, "filter": narrow}
    conn.save()
    run_poll(conn, make_client)  # ids[0] is absent once: a candidate
    conn.config = {**conn.config, "filter": setup.filter_id}
    conn.save()
    assert run_poll(conn, make_client).deleted == 0
    assert not StoredSchedule.objects.get(record_id=str(ids[0])).deleted


def test_s4_a_listing_that_suddenly_loses_everything_deletes_nothing(emu, setup, make_client):
    conn = make_connection(emu, setup)
    for i in range(12):
        add(emu, setup, f"訪問{i}")
    run_poll(conn, make_client)
    nothing = emu.control.add_filter(
        TENANT, setup.table_id, "実績のみ", [{"field": setup.status_field, "op": "eq", "value": "実績"}]
    )["filterId"]
    conn.config = {**conn.config, "filter": nothing}
    conn.save()
    run_poll(conn, make_client)
    result = run_poll(conn, make_client)
    assert result.deleted == 0
    assert StoredSchedule.objects.filter(deleted=True).count() == 0
    warning = SyncLogEntry.objects.get(operation="detect_deletions")
    assert warning.result == "warning" and "12 of 12" in warning.message


def test_j4_poll_stops_when_the_budget_is_used_up_and_keeps_its_place(emu, setup, make_client):
    conn = make_connection(emu, setup, page_size=1)
    for i in range(4):
        add(emu, setup, f"訪問{i}")
    budget = RateLimiter("justsfa:test", Budget(per_minute=2, per_day=100), MemoryBudgetStore())
    with pytest.raises(SourceRateLimitedError):
        poll(conn, client=make_client(JustSfaSettings.from_connection(conn), budget, max_wait=0))
    conn.refresh_from_db()
    assert conn.poll_state["offset"] == 2 and conn.poll_state["last_error"] == "source_rate_limited"
    assert StoredSchedule.objects.count() == 2
    assert emu.control.counters(TENANT)["total"] == 2


def test_s11_record_without_a_period_is_not_a_schedule(emu, setup, make_client):
    conn = make_connection(emu, setup)
    add(emu, setup, "ok")
    created = emu.control.create_record(
        TENANT, setup.table_id, {setup.title_field: "日時なし"}, fire_webhooks=False
    )
    result = run_poll(conn, make_client)
    assert result.invalid == 0 and result.accepted == 2
    assert StoredSchedule.objects.get(record_id=str(created["recordId"])).deleted
    assert run_poll(conn, make_client).accepted == 0


def test_j1_j4_production_path_with_ca_bundle_and_default_store(emu, setup, monkeypatch):
    """The source built from the stored connection, as the engine builds it: the CA comes from
    SFACAL_CA_BUNDLE and the budget from the default (file) store in the data directory."""
    from sfacal.sources.base import Source
    from sfacal.sources.justsfa import JustSfaSource

    monkeypatch.setenv("SFACAL_CA_BUNDLE", str(emu.ca_pem))
    conn = make_connection(emu, setup)
    add(emu, setup, "訪問")
    source = JustSfaSource.from_connection(conn)
    assert isinstance(source, Source)
    assert source.check_connection().ok
    assert source.poll() == 1
    assert StoredSchedule.objects.count() == 1


def test_s10_periodic_batch_polls_each_justsfa_connection(emu, setup, make_client):
    """C8/S10: the periodic batch heals a lost webhook: the engine's poll of the company reads
    every enabled JUST.SFA connection; one that cannot be used is skipped, not fatal."""
    from sfacal.engine import polls

    conn = make_connection(emu, setup)
    ids = [add(emu, setup, f"訪問{i}") for i in range(2)]
    broken = SourceConnection.objects.create(company=conn.company, kind="justsfa", name="broken", config={})
    SourceConnection.objects.create(
        company=conn.company, kind="justsfa", name="off", config={}, enabled=False
    )
    assert polls.has_polled_sources(conn.company_id)
    totals = polls.poll_company(conn.company_id, client_for=lambda s: make_client(s))
    assert totals["connections"] == 2 and totals["errors"] == 1 and totals["accepted"] == 2, totals
    assert sorted(StoredSchedule.objects.values_list("record_id", flat=True)) == sorted(map(str, ids))
    broken.delete()
    assert polls.poll_company(conn.company_id, client_for=lambda s: make_client(s))["accepted"] == 0


def test_s10_the_minute_sweep_queues_the_poll_with_the_batch(emu, setup, monkeypatch):
    from sfacal.directory.companies.models import CompanySettings
    from sfacal.engine import tasks

    conn = make_connection(emu, setup)
    CompanySettings.objects.filter(company=conn.company).update(sync_enabled=True, write_to_calendar=True)
    polled: list[int] = []
    monkeypatch.setattr(tasks, "run_batch", lambda cid: None)
    monkeypatch.setattr(tasks, "run_reconcile", lambda cid: None)
    monkeypatch.setattr(tasks, "run_polls", polled.append)
    assert tasks.sweep()["poll"] == 1 and polled == [conn.company_id]
    assert tasks.sweep()["poll"] == 0  # not again before the batch interval has passed
    conn.enabled = False
    conn.save()
    monkeypatch.setattr(tasks, "_due", lambda key, minutes: True)
    assert tasks.sweep()["poll"] == 0  # nothing to poll
