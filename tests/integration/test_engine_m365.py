"""The engine against the Microsoft 365 emulator over TLS, through the real Graph connector."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sfacal.core.schedule import ScheduleDeletion
from sfacal.directory.employees.models import Employee
from sfacal.engine import inbox, passes, reconcile
from sfacal.engine.models import InboxEntry, MirrorEvent, SyncLogEntry
from tests.engine.conftest import meeting
from tests.integration.conftest import new_tenant, wire_company

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)


def staff(company, login, **kw):
    return Employee.objects.create(
        company=company,
        login_id=login,
        state=kw.pop("state", "on"),
        user_id_mode=kw.pop("user_id_mode", "login_at_domain"),
        sync_start=T0 - timedelta(days=30),
        **kw,
    )


def change(company, record="1", **kw):
    kw.setdefault("participants", ("taro", "hanako"))
    schedule = meeting(record, **kw)
    schedule = schedule.replace(ref=schedule.ref.__class__(company.slug, "push", record))
    return inbox.accept(company, schedule, trigger="push")


def run(company):
    summary = passes.process_inbox(company.pk)
    assert summary is not None
    return summary


def subjects(tenant, upn):
    return sorted(e["subject"] for e in tenant.events(upn))


def test_s3_s5_s6_events_land_in_mailboxes_over_tls(graph):
    tenant = new_tenant(graph)
    company = wire_company("m1", tenant)
    taro, hanako = tenant.mailbox("taro"), tenant.mailbox("hanako")
    staff(company, "taro")
    staff(company, "hanako")
    change(company)
    summary = run(company)
    assert (summary.succeeded, summary.failed) == (2, 0)
    for upn in (taro, hanako):
        (ev,) = tenant.events(upn)
        assert ev["subject"] == "赤木電機/定期訪問"
        assert ev["location"]["displayName"] == "東京都千代田区"
        assert ev["sensitivity"] == "normal"
    change(company, content="更新", updated=T0 + timedelta(minutes=1))
    assert run(company).succeeded == 2
    assert all(e["body"]["content"].strip() == "更新" for e in tenant.events(taro) + tenant.events(hanako))
    inbox.accept(
        company,
        ScheduleDeletion(meeting().ref.__class__(company.slug, "push", "1"), T0 + timedelta(hours=1)),
        trigger="push",
    )
    assert run(company).succeeded == 2
    assert tenant.events(taro) == [] and tenant.events(hanako) == []


def test_faults_each_end_as_a_log_line_with_hint_and_employee_state_others_keep_syncing(graph):
    tenant = new_tenant(graph)
    company = wire_company("m2", tenant)
    ok = tenant.mailbox("ok")
    tenant.mailbox("nocal")
    staff(company, "ok")
    staff(company, "ghost")  # no such user in the tenant: mailbox does not exist
    staff(company, "nocal", calendar_name="存在しない予定表")
    staff(company, "noid", user_id_mode="explicit", user_id="")  # mailbox cannot be resolved
    change(company, participants=("ok", "ghost", "nocal", "noid", "stranger"))
    summary = run(company)
    assert summary.succeeded == 1
    assert len(tenant.events(ok)) == 1
    state = {e.login_id: (e.last_result, e.last_error_code) for e in Employee.objects.filter(company=company)}
    assert state["ok"] == ("ok", "")
    assert state["ghost"] == ("failed", "mailbox_not_found")
    assert state["nocal"] == ("failed", "calendar_not_found")
    assert state["noid"] == ("failed", "mailbox_unresolved")
    codes = dict(
        SyncLogEntry.objects.filter(company=company)
        .exclude(error_code="")
        .values_list("login_id", "error_code")
    )
    assert codes == {
        "ghost": "mailbox_not_found",
        "nocal": "calendar_not_found",
        "noid": "mailbox_unresolved",
        "stranger": "unknown_participant",
    }
    from sfacal.web.logs.presenters import describe

    for line in SyncLogEntry.objects.filter(company=company).exclude(error_code=""):
        shown = describe(line, "ja")
        assert shown.hint and "予期しない" not in shown.message
    assert InboxEntry.objects.get(company=company).state == "done"  # never a stuck queue


@pytest.mark.parametrize("fault", ["consent_revoked", "secret_expired"])
def test_company_wide_credential_faults_are_logged_per_employee_with_hint(graph, fault):
    healthy = new_tenant(graph)
    good = wire_company("m3ok", healthy)
    healthy.mailbox("taro")
    staff(good, "taro")
    if fault == "secret_expired":
        broken = new_tenant(graph, secret_expires=datetime.now(UTC) - timedelta(days=1))
    else:
        broken = new_tenant(graph)
        graph.control.set_permissions(broken.app.client_id, [])
    bad = wire_company("m3bad", broken)
    broken.mailbox("taro")
    staff(bad, "taro")
    change(bad, participants=("taro",))
    change(good, participants=("taro",))
    run(bad)
    run(good)
    expected = "access_denied" if fault == "consent_revoked" else "secret_expired"
    emp = Employee.objects.get(company=bad)
    assert (emp.last_result, emp.last_error_code) == ("failed", expected)
    line = SyncLogEntry.objects.get(company=bad, result="failure")
    assert line.error_code == expected and line.mailbox == f"taro@{broken.domain}"
    assert len(healthy.events(f"taro@{healthy.domain}")) == 1


def test_reconcile_marks_calendar_deletions_lost_and_removes_orphans(graph):
    tenant = new_tenant(graph)
    company = wire_company("m4", tenant)
    upn = tenant.mailbox("taro")
    staff(company, "taro")
    change(company, "1", participants=("taro",))
    change(company, "2", participants=("taro",))
    run(company)
    rows = {r.record_id: r for r in MirrorEvent.objects.filter(company=company)}
    graph.control.user_delete_event(upn, rows["1"].event_id)
    MirrorEvent.objects.filter(pk=rows["2"].pk).delete()  # as if a crash lost the row: an orphan
    report = reconcile.reconcile_company(company.pk)
    assert (report.lost, report.removed) == (1, 1)
    assert tenant.events(upn) == []
    assert MirrorEvent.objects.get(pk=rows["1"].pk).state == "lost"
    # S9: re-created at the next SFA change of that schedule
    change(company, "1", participants=("taro",), content="次の変更", updated=T0 + timedelta(minutes=5))
    run(company)
    assert len(tenant.events(upn)) == 1
