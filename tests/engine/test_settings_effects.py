"""Settings effects (C1, E4, P3/S2, P4), sync now, leases, figures (L3)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from sfacal.directory.companies.models import CompanySettings
from sfacal.directory.employees.models import Employee
from sfacal.engine import figures, inbox, passes, sync
from sfacal.engine.backfill import run_backfill
from sfacal.engine.leases import LeaseSet, mark_dirty
from sfacal.engine.models import InboxEntry, MailboxLease, MirrorEvent, SyncLogEntry
from tests.engine.conftest import DOMAIN, T0, employee, meeting, switched_to_sales

pytestmark = pytest.mark.django_db

TARO = f"taro@{DOMAIN}"


@pytest.fixture(autouse=True)
def _no_queue():
    previous = sync._enqueue
    sync.set_enqueue(None)  # settings effects run inline (after the commit) in these tests
    yield
    sync.set_enqueue(previous)


def test_c1_off_keeps_changes_and_applies_them_when_switched_on(
    company, fake, django_capture_on_commit_callbacks
):
    employee(company, "taro")
    fake.add_mailbox(TARO)
    CompanySettings.objects.filter(company=company).update(sync_enabled=False)
    inbox.accept(company, meeting(participants=("taro",)), trigger="push")
    passes.process_inbox(company.pk)
    assert fake.events == {} and InboxEntry.objects.get().state == "deferred"
    CompanySettings.objects.filter(company=company).update(sync_enabled=True)
    with django_capture_on_commit_callbacks(execute=True):
        assert sync.on_company_settings_changed(company)
    assert len(fake.of(TARO)) == 1 and InboxEntry.objects.get().state == "done"


def test_e4_turning_sync_on_records_the_moment(company, fake):
    emp = employee(company, "taro", state="off", sync_start=None)
    emp.state = "on"
    emp.save()
    before = timezone.now()
    assert "sync_start" in sync.on_employee_settings_changed(emp, {"state": "off"})
    emp.refresh_from_db()
    assert emp.sync_start is not None and emp.sync_start >= before - timedelta(seconds=1)


def test_s2_p3_new_exclusion_removes_already_mirrored_event(
    company, fake, django_capture_on_commit_callbacks
):
    emp = employee(company, "taro")
    fake.add_mailbox(TARO)
    inbox.accept(company, meeting(participants=("taro",)), trigger="push")
    passes.process_inbox(company.pk)
    assert len(fake.of(TARO)) == 1
    emp.excluded_purposes = ["定期訪問"]
    emp.save()
    with django_capture_on_commit_callbacks(execute=True):
        assert "replan" in sync.on_employee_settings_changed(emp, {"state": "on", "excluded_purposes": []})
    assert fake.of(TARO) == []
    assert MirrorEvent.objects.get().state == "removed"


def test_p4_backfill_moves_events_to_the_new_calendar_with_progress(company, fake):
    emp = switched_to_sales(company, fake)
    assert len(fake.of(TARO, "")) == 3
    summary = run_backfill(emp.pk, "", "営業")
    assert summary.failed == 0
    assert fake.of(TARO, "") == [] and len(fake.of(TARO, "営業")) == 3
    emp.refresh_from_db()
    assert (emp.backfill_total, emp.backfill_done) == (6, 6)  # 3 deletes + 3 creates
    assert SyncLogEntry.objects.filter(trigger="backfill", result="success").count() == 6


def test_late_employee_gets_the_stored_schedules_that_named_them(
    company, fake, django_capture_on_commit_callbacks
):
    fake.add_mailbox(TARO)
    inbox.accept(company, meeting(participants=("taro",)), trigger="push")
    passes.process_inbox(company.pk)
    assert SyncLogEntry.objects.filter(error_code="unknown_participant").count() == 1
    emp = employee(company, "taro", sync_start=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        assert "catch_up" in sync.on_employee_settings_changed(emp, {})
    assert len(fake.of(TARO)) == 1


def test_e1_many_late_employees_share_one_scan_and_see_new_schedules(
    company, fake, django_capture_on_commit_callbacks
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    hanako = f"hanako@{DOMAIN}"
    fake.add_mailbox(TARO)
    fake.add_mailbox(hanako)
    inbox.accept(company, meeting("1", participants=("taro", "hanako")), trigger="push")
    passes.process_inbox(company.pk)
    with django_capture_on_commit_callbacks(execute=True):
        sync.on_employee_settings_changed(employee(company, "taro", sync_start=timezone.now()), {})
    with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks(execute=True):
        sync.on_employee_settings_changed(employee(company, "hanako", sync_start=timezone.now()), {})
    scans = [q["sql"] for q in queries if '"payload"' in q["sql"] and '"starts_at" >=' in q["sql"]]
    assert scans == []  # hanako's catch-up reused the index built for taro's
    assert len(fake.of(TARO)) == 1 and len(fake.of(hanako)) == 1
    # A schedule accepted later is seen by the next catch-up (the index is rebuilt).
    inbox.accept(company, meeting("2", participants=("jiro",)), trigger="push")
    fake.add_mailbox(f"jiro@{DOMAIN}")
    with django_capture_on_commit_callbacks(execute=True):
        sync.on_employee_settings_changed(employee(company, "jiro", sync_start=timezone.now()), {})
    assert len(fake.of(f"jiro@{DOMAIN}")) == 1


def test_s10_sync_now_command_repairs_drift_and_prints_a_summary(company, fake, capsys):
    employee(company, "taro")
    fake.add_mailbox(TARO)
    inbox.accept(company, meeting(participants=("taro",)), trigger="push")
    passes.process_inbox(company.pk)
    MirrorEvent.objects.update(content_hash="")  # as if the calendar had drifted
    call_command("sync_now", "--company", "acme")
    out = capsys.readouterr().out
    assert "company=acme" in out and "succeeded=1" in out
    assert SyncLogEntry.objects.filter(trigger="manual", operation="update").count() == 1


def test_leases_one_owner_at_a_time_expire_and_dirty_flag():
    a, b = LeaseSet(ttl=30), LeaseSet(ttl=30)
    assert a.acquire(["k1", "k2"]) == {"k1", "k2"}
    assert b.acquire(["k1", "k3"]) == {"k3"}
    held, expires = mark_dirty("k1")
    assert held and expires is not None
    assert not a.release_if_clean("k1")  # dirty: run once more
    assert a.release_if_clean("k1")
    MailboxLease.objects.filter(key="k2").update(expires_at=timezone.now() - timedelta(seconds=1))
    assert b.acquire(["k2"]) == {"k2"}  # a dead owner's lease is taken over
    assert a.renew() == {"k2"}  # and a notices it lost it


def test_l3_monthly_figures_count_executions_failures_and_users(company, fake):
    employee(company, "taro")
    employee(company, "ghost")
    fake.add_mailbox(TARO)
    inbox.accept(company, meeting(participants=("taro", "ghost")), trigger="push")
    passes.process_inbox(company.pk)
    got = figures.monthly_figures(company)
    assert (got.synced_users, got.executions, got.failures) == (1, 2, 1)
    assert Employee.objects.get(login_id="ghost").last_error_code == "mailbox_not_found"
    assert T0  # the fixtures' reference time is in the past month or earlier


def test_late_mapped_justsfa_user_gets_the_stored_schedules(
    company, fake, django_capture_on_commit_callbacks
):
    """SPEC: unknown participants are logged and kept, and sync once the employee is mapped (J3)."""
    from sfacal.directory.connections.models import SourceConnection, UserMapping
    from sfacal.sources.justsfa.mapping import sync_mapping_to_employee

    mail = "yamada@example.com"
    fake.add_mailbox(mail)
    inbox.accept(company, meeting(participants=("yamada",), source="justsfa"), trigger="webhook")
    passes.process_inbox(company.pk)
    assert SyncLogEntry.objects.filter(error_code="unknown_participant").count() == 1 and fake.of(mail) == []
    source = SourceConnection.objects.create(company=company, kind="justsfa")
    mapping = UserMapping.objects.create(
        company=company, source=source, name="山田", external_user_id="yamada", mail_address=mail
    )
    with django_capture_on_commit_callbacks(execute=True):
        employee_row = sync_mapping_to_employee(mapping)
    assert employee_row.state == "on" and employee_row.sync_start is not None
    assert len(fake.of(mail)) == 1  # the stored schedule that named them is synced


def test_e2_mapping_change_of_mailbox_moves_the_events(company, fake, django_capture_on_commit_callbacks):
    from sfacal.directory.connections.models import SourceConnection, UserMapping
    from sfacal.sources.justsfa.mapping import sync_mapping_to_employee

    old, new = "yamada@example.com", "t.yamada@example.com"
    fake.add_mailbox(old)
    fake.add_mailbox(new)
    source = SourceConnection.objects.create(company=company, kind="justsfa")
    mapping = UserMapping.objects.create(
        company=company, source=source, name="山田", external_user_id="yamada", mail_address=old
    )
    with django_capture_on_commit_callbacks(execute=True):
        sync_mapping_to_employee(mapping)
    Employee.objects.filter(login_id="yamada").update(sync_start=T0 - timedelta(days=30))
    inbox.accept(company, meeting(participants=("yamada",), source="justsfa"), trigger="webhook")
    passes.process_inbox(company.pk)
    assert len(fake.of(old)) == 1
    mapping.mail_address = new
    with django_capture_on_commit_callbacks(execute=True):
        sync_mapping_to_employee(mapping)
    assert fake.of(old) == [] and len(fake.of(new)) == 1


def test_e4_turning_on_again_moves_the_sync_start_to_the_given_moment(company, fake):
    emp = employee(company, "taro", state="on")
    moment = timezone.now() + timedelta(minutes=5)
    assert sync.on_employee_settings_changed(emp, {"state": "off"}, now=moment) == ["sync_start"]
    emp.refresh_from_db()
    assert emp.sync_start == moment
    assert sync.on_employee_settings_changed(emp, {"state": "on"}) == []  # still on: unchanged


def test_s11_p4_backfill_whose_worker_died_is_started_again_by_the_sweep(company, fake, monkeypatch):
    from sfacal.engine import tasks
    from sfacal.engine.sync import request_backfill

    emp = switched_to_sales(company, fake)
    sync.set_enqueue(lambda name, kwargs: None)  # the job is queued, then its worker dies
    request_backfill(emp, "", "営業")
    emp.refresh_from_db()
    assert emp.backfill_wanted_at is not None and len(fake.of(TARO, "")) == 3

    started: list[tuple[str, dict]] = []

    def run_now(name, kwargs):
        started.append((name, kwargs))
        run_backfill(kwargs["employee_id"])

    monkeypatch.setattr(tasks, "enqueue_job", run_now)
    assert tasks.sweep()["backfill"] == 0  # not stale yet: it may still be running
    later = timezone.now() + timedelta(seconds=tasks.BACKFILL_STALE_S + 1)
    assert tasks.sweep(later)["backfill"] == 1
    assert started == [("backfill", {"employee_id": emp.pk})]
    assert fake.of(TARO, "") == [] and len(fake.of(TARO, "営業")) == 3
    emp.refresh_from_db()
    assert emp.backfill_wanted_at is None and (emp.backfill_total, emp.backfill_done) == (6, 6)
    assert tasks.sweep(later + timedelta(hours=1))["backfill"] == 0  # finished: not started again
