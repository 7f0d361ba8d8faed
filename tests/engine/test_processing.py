"""The inbox pass against an in-memory calendar: S1-S4, S6, S11, L1."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sfacal.engine import inbox, passes
from sfacal.engine.models import InboxEntry, MirrorEvent, SyncLogEntry
from tests.engine.conftest import DOMAIN, T0, deletion, employee, meeting

pytestmark = pytest.mark.django_db

TARO = f"taro@{DOMAIN}"
HANAKO = f"hanako@{DOMAIN}"


def accept(company, change, trigger="push"):
    return inbox.accept(company, change, trigger=trigger)


def run(company):
    summary = passes.process_inbox(company.pk)
    assert summary is not None
    return summary


def test_s3_two_participants_get_one_event_each(company, fake):
    employee(company, "taro")
    employee(company, "hanako")
    fake.add_mailbox(TARO)
    fake.add_mailbox(HANAKO)
    accept(company, meeting())
    summary = run(company)
    assert summary.succeeded == 2 and summary.failed == 0
    for box in (TARO, HANAKO):
        (ev,) = fake.of(box)
        assert ev.event.subject == "赤木電機/定期訪問"
        assert ev.event.location == "東京都千代田区"
    assert set(InboxEntry.objects.values_list("state", flat=True)) == {"done"}
    rows = MirrorEvent.objects.order_by("login_id")
    assert [(r.login_id, r.state, bool(r.event_id)) for r in rows] == [
        ("hanako", "synced", True),
        ("taro", "synced", True),
    ]
    lines = SyncLogEntry.objects.filter(operation="create", result="success")
    assert {(x.login_id, x.mailbox, x.trigger) for x in lines} == {
        ("taro", TARO, "push"),
        ("hanako", HANAKO, "push"),
    }


def test_s3_update_then_participant_removed_then_s1_then_s4(company, fake):
    employee(company, "taro")
    employee(company, "hanako")
    fake.add_mailbox(TARO)
    fake.add_mailbox(HANAKO)
    accept(company, meeting())
    run(company)
    accept(company, meeting(content="変更後", updated=T0 + timedelta(minutes=1)))
    assert run(company).succeeded == 2
    assert all(e.event.body == "変更後" for e in fake.events.values())
    accept(company, meeting(content="変更後", participants=("taro",), updated=T0 + timedelta(minutes=2)))
    run(company)
    assert len(fake.of(TARO)) == 1 and fake.of(HANAKO) == []
    calls = len(fake.calls)
    accept(
        company,
        meeting(content="実績メモ", participants=("taro",), status="実績", updated=T0 + timedelta(minutes=3)),
    )
    run(company)
    assert len(fake.calls) == calls  # S1: frozen, nothing sent
    assert fake.of(TARO)[0].event.body == "変更後"
    assert SyncLogEntry.objects.filter(operation="skip", message="frozen_actual").exists()
    accept(company, deletion(updated=T0 + timedelta(minutes=4)))
    run(company)
    assert fake.events == {}  # S4: also the frozen one
    ops = list(
        SyncLogEntry.objects.filter(result="success").order_by("id").values_list("login_id", "operation")
    )
    assert ops == [
        ("taro", "create"),
        ("hanako", "create"),
        ("taro", "update"),
        ("hanako", "update"),
        ("hanako", "delete"),
        ("taro", "delete"),
    ] or sorted(ops) == sorted(
        [
            ("taro", "create"),
            ("hanako", "create"),
            ("taro", "update"),
            ("hanako", "update"),
            ("hanako", "delete"),
            ("taro", "delete"),
        ]
    )


def test_s11_throttled_change_stays_pending_and_is_applied_later(company, fake):
    from sfacal.core.errors import ThrottledError

    employee(company, "taro")
    fake.add_mailbox(TARO)
    fake.fail_next.append(ThrottledError("429", retry_after=7))
    accept(company, meeting(participants=("taro",)))
    summary = run(company)
    assert summary.postponed == 1 and fake.events == {}
    entry = InboxEntry.objects.get()
    assert entry.state == "pending" and entry.next_attempt_at is not None and entry.error == "throttled"
    assert SyncLogEntry.objects.filter(result="warning", error_code="throttled").count() == 1
    row = MirrorEvent.objects.get()
    assert row.state == "pending_create"  # written ahead; re-sent with the same transaction id
    InboxEntry.objects.update(next_attempt_at=None)
    assert run(company).succeeded == 1
    assert len(fake.of(TARO)) == 1 and InboxEntry.objects.get().state == "done"


def test_l1_p3_skip_line_names_the_subject_and_the_excluded_purpose(company, fake):
    employee(company, "taro", excluded_purposes=["情報提供"])
    employee(company, "hanako")
    fake.add_mailbox(TARO)
    fake.add_mailbox(HANAKO)
    accept(company, meeting(purpose="情報提供"), trigger="webhook")
    run(company)
    assert fake.of(TARO) == [] and len(fake.of(HANAKO)) == 1
    (skip,) = SyncLogEntry.objects.filter(operation="skip", login_id="taro")
    assert skip.message == "excluded"
    assert skip.subject == "赤木電機/情報提供"  # what the event would be called, not only the customer
    assert skip.error_params == {"purpose": "情報提供"}
    assert skip.mailbox == TARO  # where the event would have gone


def test_l1_p3_skip_line_names_the_chosen_calendar(company, fake):
    employee(company, "taro", excluded_purposes=["情報提供"], calendar_name="営業")
    fake.add_mailbox(TARO)
    accept(company, meeting(purpose="情報提供", participants=("taro",)), trigger="webhook")
    run(company)
    (skip,) = SyncLogEntry.objects.filter(operation="skip", login_id="taro")
    assert (skip.mailbox, skip.calendar_name) == (TARO, "営業")
