"""L1: every log line about a schedule names it -- also the lines of a deletion, whose events carry
no rendered subject any more (S4 deletion, S2 exclusion, S3 participant removed, P4 calendar move,
reconciliation, two-way, a failed delete)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sfacal.core.errors import AccessDeniedError
from sfacal.core.schedule import ScheduleDeletion, SourceRef
from sfacal.engine import inbox, passes, reconcile, sync
from sfacal.engine.backfill import run_backfill
from sfacal.engine.models import MirrorEvent, StoredSchedule, SyncLogEntry
from tests.engine.conftest import DOMAIN, T0, deletion, employee, meeting

pytestmark = pytest.mark.django_db

TARO = f"taro@{DOMAIN}"
HANAKO = f"hanako@{DOMAIN}"
SUBJECT = "赤木電機/定期訪問"


@pytest.fixture(autouse=True)
def _no_queue():
    previous = sync._enqueue
    sync.set_enqueue(None)  # settings effects run inline (after the commit)
    yield
    sync.set_enqueue(previous)


def run(company) -> None:
    assert passes.process_inbox(company.pk) is not None


def unnamed_lines() -> list[tuple[str, str, str, str]]:
    """Lines about a record that do not name it."""
    return list(
        SyncLogEntry.objects.exclude(record_id="")
        .filter(subject="")
        .values_list("operation", "result", "record_id", "message")
    )


def test_l1_s4_deletion_lines_name_what_was_deleted(company, fake):
    employee(company, "taro")
    employee(company, "hanako")
    fake.add_mailbox(TARO)
    fake.add_mailbox(HANAKO)
    inbox.accept(company, meeting(), trigger="push")
    run(company)
    accepted = inbox.accept(company, deletion(), trigger="push")
    assert accepted.subject == SUBJECT  # the source's own line can name it too
    stored = StoredSchedule.objects.get()
    assert stored.deleted and stored.payload["subject"] == SUBJECT  # kept with the deletion
    run(company)
    assert fake.events == {}
    deletes = SyncLogEntry.objects.filter(operation="delete", result="success")
    assert {(x.login_id, x.subject, x.message) for x in deletes} == {
        ("taro", SUBJECT, "schedule_deleted"),
        ("hanako", SUBJECT, "schedule_deleted"),
    }
    assert unnamed_lines() == []


def test_l1_s4_a_replayed_deletion_is_a_no_op_and_still_named(company, fake):
    employee(company, "taro")
    fake.add_mailbox(TARO)
    inbox.accept(company, meeting(participants=("taro",)), trigger="push")
    run(company)
    first = inbox.accept(company, deletion(), trigger="push")
    again = inbox.accept(company, deletion(), trigger="push")
    assert (first.outcome, again.outcome) == (inbox.Outcome.ACCEPTED, inbox.Outcome.DUPLICATE)
    assert again.subject == SUBJECT


def test_l1_s4_deletion_of_a_justsfa_record_names_its_heading(company, fake):
    employee(company, "taro")
    fake.add_mailbox(TARO)
    schedule = meeting(participants=("taro",), source="justsfa").replace(extra={"見出し": "A社 定例"})
    inbox.accept(company, schedule, trigger="webhook")
    run(company)
    inbox.accept(company, deletion(source="justsfa"), trigger="webhook")
    run(company)
    (line,) = SyncLogEntry.objects.filter(operation="delete")
    assert line.subject == "A社 定例"  # the 見出し the event had, not the customer/purpose


def test_l1_s4_deletion_that_names_its_own_subject_keeps_it(company, fake):
    change = ScheduleDeletion(SourceRef("acme", "push", "9"), T0, subject="送られた件名")
    assert inbox.accept(company, change, trigger="push").subject == "送られた件名"
    assert ScheduleDeletion.from_dict(StoredSchedule.objects.get().payload).subject == "送られた件名"


def test_l1_s2_s3_deletes_for_an_exclusion_and_a_removed_participant_are_named(
    company, fake, django_capture_on_commit_callbacks
):
    emp = employee(company, "taro")
    employee(company, "hanako")
    fake.add_mailbox(TARO)
    fake.add_mailbox(HANAKO)
    inbox.accept(company, meeting(), trigger="push")
    run(company)
    inbox.accept(company, meeting(participants=("taro",), updated=T0 + timedelta(minutes=1)), trigger="push")
    run(company)
    (removed,) = SyncLogEntry.objects.filter(operation="delete", login_id="hanako")
    assert (removed.subject, removed.message) == (SUBJECT, "not_participant")
    emp.excluded_purposes = ["定期訪問"]
    emp.save()
    with django_capture_on_commit_callbacks(execute=True):
        sync.on_employee_settings_changed(emp, {"state": "on", "excluded_purposes": []})
    assert fake.events == {}
    (excluded,) = SyncLogEntry.objects.filter(operation="delete", login_id="taro")
    assert (excluded.subject, excluded.message) == (SUBJECT, "excluded")
    assert unnamed_lines() == []


def test_l1_p4_backfill_deletes_in_the_old_calendar_are_named(company, fake):
    emp = employee(company, "taro")
    fake.add_mailbox(TARO, "営業")
    inbox.accept(company, meeting(participants=("taro",)), trigger="push")
    run(company)
    emp.calendar_name = "営業"
    emp.save()
    run_backfill(emp.pk, "", "営業")
    (moved,) = SyncLogEntry.objects.filter(operation="delete", trigger="backfill")
    assert (moved.subject, moved.calendar_name, moved.message) == (SUBJECT, "", "calendar_changed")
    assert unnamed_lines() == []


def test_l1_failed_delete_is_named(company, fake):
    employee(company, "taro")
    fake.add_mailbox(TARO)
    inbox.accept(company, meeting(participants=("taro",)), trigger="push")
    run(company)
    fake.errors[TARO] = AccessDeniedError("403", mailbox=TARO)
    inbox.accept(company, deletion(), trigger="push")
    run(company)
    (failed,) = SyncLogEntry.objects.filter(operation="delete", result="failure")
    assert failed.subject == SUBJECT and failed.error_code == "access_denied"


def test_l1_reconciliation_lines_name_the_schedule(company, fake):
    employee(company, "taro")
    fake.add_mailbox(TARO)
    inbox.accept(company, meeting("1", participants=("taro",)), trigger="push")
    inbox.accept(company, meeting("2", participants=("taro",), purpose="情報提供"), trigger="push")
    inbox.accept(company, meeting("3", participants=("taro",), purpose="納品"), trigger="push")
    run(company)
    lost = MirrorEvent.objects.get(record_id="1")
    fake.user_delete(lost.event_id)  # deleted in the calendar: the row becomes lost
    MirrorEvent.objects.filter(record_id="2").delete()  # its event is now a stray one
    report = reconcile.reconcile_company(company.pk)
    assert (report.lost, report.removed) == (1, 1)
    lines = {x.operation: x for x in SyncLogEntry.objects.filter(trigger="reconcile")}
    assert (lines["lost"].subject, lines["lost"].record_id) == (SUBJECT, "1")
    assert (lines["remove_orphan"].subject, lines["remove_orphan"].record_id) == ("赤木電機/情報提供", "2")
    assert unnamed_lines() == []
