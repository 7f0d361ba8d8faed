"""The pass pipeline: slices planned, written ahead and executed while the next one is planned;
rows and log lines as the core describes them."""

from __future__ import annotations

import gc
from datetime import timedelta

import pytest

from sfacal.calendars.base import WriteOutcome, write_for_operation
from sfacal.core.planner import MirrorStatus, OpKind, pending_row, plan, row_after
from sfacal.engine import executor, inbox, passes, processor
from sfacal.engine.context import load_context, mapping_for
from sfacal.engine.mirrors import Recorder, mirror_row
from sfacal.engine.models import InboxEntry, MirrorEvent, SyncLogEntry
from tests.engine.conftest import DOMAIN, START, employee, meeting

pytestmark = pytest.mark.django_db


def test_s3_l1_many_mailboxes_over_several_slices(company, fake, monkeypatch):
    monkeypatch.setattr(processor, "SLICE", 7)  # many slices, batches fed across them
    monkeypatch.setattr(executor, "BATCH", 4)
    logins = [f"p{i}" for i in range(6)]
    for login in logins:
        employee(company, login)
        fake.add_mailbox(f"{login}@{DOMAIN}")
    for n in range(9):
        for i, login in enumerate(logins):
            # some records name two employees: one operation per mailbox each
            people = (login, logins[(i + 1) % len(logins)]) if n == 0 else (login,)
            inbox.accept(
                company,
                meeting(f"{i}-{n}", participants=people, start=START + timedelta(hours=n)),
                trigger="push",
            )
    summary = passes.process_inbox(company.pk)
    assert summary is not None
    expected = len(logins) * 9 + len(logins)
    assert (summary.operations, summary.succeeded, summary.failed) == (expected, expected, 0)
    assert len(fake.events) == expected
    for login in logins:
        assert len(fake.of(f"{login}@{DOMAIN}")) == 10
    assert set(InboxEntry.objects.values_list("state", flat=True)) == {"done"}
    assert MirrorEvent.objects.count() == expected
    assert not MirrorEvent.objects.exclude(state="synced").exists()
    assert not MirrorEvent.objects.filter(event_id="").exists()
    lines = SyncLogEntry.objects.filter(operation="create", result="success")
    assert lines.count() == expected  # L1: one line per calendar write
    assert {(x.login_id, x.mailbox) for x in lines} == {(login, f"{login}@{DOMAIN}") for login in logins}


def test_s6_written_ahead_and_recorded_rows_are_what_the_core_describes(company, fake):
    employee(company, "taro")
    fake.add_mailbox(f"taro@{DOMAIN}")
    ctx = load_context(company.pk)
    from sfacal.engine.context import load_employees

    load_employees(ctx, ["taro"])
    change = meeting("9", participants=("taro",))
    result = plan(
        change, ctx.employee_settings(ctx.employees), [], ctx.policy, ctx.masters, mapping=mapping_for("push")
    )
    (op,) = result.operations
    assert op.kind is OpKind.CREATE
    recorder = Recorder(ctx, {("push", "9"): "push"})
    recorder.write_ahead([op])
    stored = mirror_row(MirrorEvent.objects.get(), ctx.slug)
    assert stored == pending_row(op)
    outcome = WriteOutcome(write_for_operation(op), event_id="ev-1", change_key="ck-1")
    (res,) = recorder.record([op], [outcome])
    assert res.status == "ok"
    stored = mirror_row(MirrorEvent.objects.get(), ctx.slug)
    assert stored == row_after(op, event_id="ev-1", change_key="ck-1")
    assert stored is not None and stored.status is MirrorStatus.ACTIVE
    line = SyncLogEntry.objects.get(operation="create")
    assert (line.result, line.trigger, line.login_id, line.record_id, line.subject) == (
        "success",
        "push",
        "taro",
        "9",
        op.event.subject if op.event else "",
    )


def test_s6_a_recorded_row_belongs_to_the_employee_holding_its_login_id(company, fake):
    """The outcome upsert leaves ``employee_id`` out of its SET (cheaper for SQLite); a row whose
    login ID has passed to another employee is still pointed at that employee when recorded."""
    taro = employee(company, "taro")
    fake.add_mailbox(f"taro@{DOMAIN}")
    ctx = load_context(company.pk)
    from sfacal.engine.context import load_employees

    load_employees(ctx, ["taro"])
    ops = []
    for record in ("1", "2"):
        (op,) = plan(
            meeting(record, participants=("taro",)),
            ctx.employee_settings(ctx.employees),
            [],
            ctx.policy,
            ctx.masters,
            mapping=mapping_for("push"),
        ).operations
        ops.append(op)
    recorder = Recorder(ctx, {("push", "1"): "push", ("push", "2"): "push"})
    recorder.write_ahead(ops)
    # Row "1" was left pointing at an employee who gave up the login ID "taro".
    jiro = employee(company, "jiro")
    MirrorEvent.objects.filter(record_id="1").update(employee=jiro)
    outcomes = [
        WriteOutcome(write_for_operation(op), event_id=f"ev-{n}", change_key="ck") for n, op in enumerate(ops)
    ]
    assert [r.status for r in recorder.record(ops, outcomes)] == ["ok", "ok"]
    assert dict(MirrorEvent.objects.values_list("record_id", "employee_id")) == {"1": taro.pk, "2": taro.pk}
    assert set(MirrorEvent.objects.values_list("state", flat=True)) == {"synced"}


def test_s11_a_stored_record_that_cannot_be_rebuilt_fails_alone(company, fake):
    """Schedules are rebuilt from their stored form only when planned: one that cannot be is
    reported (its inbox entry fails, nothing is written for it); the others are synced."""
    from sfacal.engine.models import StoredSchedule

    employee(company, "taro")
    fake.add_mailbox(f"taro@{DOMAIN}")
    for record in ("good", "bad"):
        inbox.accept(company, meeting(record, participants=("taro",)), trigger="push")
    row = StoredSchedule.objects.get(record_id="bad")
    row.payload = {**row.payload, "timezone": "Nowhere/City"}  # stored form, unreadable zone
    row.save(update_fields=["payload"])
    summary = passes.process_inbox(company.pk)
    assert summary is not None and summary.operations == 1
    assert len(fake.of(f"taro@{DOMAIN}")) == 1
    assert MirrorEvent.objects.get().record_id == "good"
    states = dict(InboxEntry.objects.values_list("record_id", "state"))
    assert states == {"good": "done", "bad": "failed"}
    assert "timezone" in InboxEntry.objects.get(record_id="bad").error


def test_interleaved_order_gives_every_mailbox_its_first_batch_early():
    from sfacal.core.settings import EmployeeSettings

    employees = {x: EmployeeSettings(login_id=x, user_id_mode="login_at_domain") for x in ("a", "b", "c")}
    changes = {}
    keys = []
    for login, count in (("a", 5), ("b", 3), ("c", 1)):
        for n in range(count):
            key = ("push", f"{login}{n}")
            changes[key] = meeting(key[1], participants=(login,))
            keys.append(key)
    step = executor.BATCH
    order = processor._interleaved(keys, changes, {}, employees, DOMAIN)
    assert sorted(order) == sorted(keys)
    if step >= 5:
        assert order == keys  # one batch each: grouped as they came
    original = executor.BATCH
    try:
        executor.BATCH = 2
        order = processor._interleaved(keys, changes, {}, employees, DOMAIN)
    finally:
        executor.BATCH = original
    assert [k[1] for k in order] == ["a0", "a1", "b0", "b1", "c0", "a2", "a3", "b2", "a4"]


def test_the_collector_is_paused_during_a_pass_and_restored_after():
    was = gc.isenabled()
    gc.enable()
    try:
        with processor.collector_paused():
            assert not gc.isenabled()
            with processor.collector_paused():
                assert not gc.isenabled()
            assert not gc.isenabled()
        assert gc.isenabled()
        gc.disable()
        with processor.collector_paused():
            pass
        assert not gc.isenabled()  # it was off before: it stays off
    finally:
        if was:
            gc.enable()
        else:
            gc.disable()
