"""Ids Graph changes and ids Graph cannot read, end to end: the engine against the Microsoft 365
emulator (with id changes switched on, ``tests/integration/conftest.py``) through the real Graph
connector.

* A mirrored event the user moves to another calendar is followed and put back into the employee's
  target calendar -- without a duplicate, in one-way and two-way mode (:mod:`sfacal.engine.relocation`).
* Mirror rows written before the connector asked for immutable ids take the new id quietly.
* A malformed id in the mirror table is recovered from: an update re-creates (S9), a delete forgets.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from sfacal.core.schedule import ScheduleDeletion, SourceRef
from sfacal.emulators.m365 import EmulatorHandle
from sfacal.engine import inbox, reconcile
from sfacal.engine.models import MirrorEvent, SyncLogEntry
from tests.integration.conftest import Tenant, new_tenant, wire_company
from tests.integration.test_engine_m365 import T0, change, run, staff
from tests.integration.test_twoway_emulators import World, justsfa, world  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db


def _events(tenant: Tenant, upn: str) -> list[dict[str, Any]]:
    names = {c["id"]: c["name"] for c in tenant.handle.control.user(upn)["calendars"]}
    return [{**e, "calendar": names[e["calendarId"]]} for e in tenant.events(upn)]


def _one_way(graph: EmulatorHandle, slug: str, *calendars: str, target: str = "") -> tuple[Any, Tenant, str]:
    tenant = new_tenant(graph)
    company = wire_company(slug, tenant)
    upn = tenant.mailbox("taro", *calendars)
    staff(company, "taro", calendar_name=target)
    return company, tenant, upn


@pytest.mark.parametrize(("target", "elsewhere"), [("", "私用"), ("SFA予定", "Calendar")])
def test_s9_one_way_event_moved_to_another_calendar_is_put_back_without_a_duplicate(
    graph: EmulatorHandle, target: str, elsewhere: str
) -> None:
    company, tenant, upn = _one_way(graph, f"mv{len(target)}", "私用", "SFA予定", target=target)
    change(company, "1", participants=("taro",))
    run(company)
    [row] = MirrorEvent.objects.filter(company=company)
    moved_id = row.event_id
    tenant.handle.control.user_move_event(upn, moved_id, elsewhere)
    # Until reconciliation runs, the SFA's changes still reach the event where the user put it.
    change(company, "1", participants=("taro",), content="移動後の変更", updated=T0 + timedelta(minutes=5))
    run(company)
    [ev] = _events(tenant, upn)
    assert (ev["id"], ev["calendar"], ev["body"]["content"]) == (moved_id, elsewhere, "移動後の変更")

    report = reconcile.reconcile_company(company.pk)
    assert (report.moved, report.lost, report.removed) == (1, 0, 0)
    [ev] = _events(tenant, upn)
    assert ev["calendar"] == (target or "Calendar") and ev["id"] != moved_id
    assert ev["body"]["content"] == "移動後の変更"
    live = MirrorEvent.objects.filter(company=company, state="synced")
    assert [(r.calendar_name, r.event_id) for r in live] == [(target, ev["id"])]
    line = SyncLogEntry.objects.get(company=company, operation="moved")
    assert line.result == "warning" and elsewhere in line.message and line.subject == "赤木電機/定期訪問"
    assert SyncLogEntry.objects.filter(
        company=company, operation="delete", message="calendar_changed"
    ).exists()
    again = reconcile.reconcile_company(company.pk)
    assert (again.moved, again.lost, again.adopted, again.removed) == (0, 0, 0, 0)
    assert len(_events(tenant, upn)) == 1


def test_s9_event_deleted_after_a_move_is_lost_not_followed(graph: EmulatorHandle) -> None:
    company, tenant, upn = _one_way(graph, "mvdel", "私用")
    change(company, "1", participants=("taro",))
    run(company)
    [row] = MirrorEvent.objects.filter(company=company)
    tenant.handle.control.user_move_event(upn, row.event_id, "私用")
    tenant.handle.control.user_delete_event(upn, row.event_id)
    report = reconcile.reconcile_company(company.pk)
    assert (report.moved, report.lost) == (0, 1)
    assert MirrorEvent.objects.get(pk=row.pk).state == "lost"


def test_rows_holding_default_ids_take_the_immutable_id_quietly(graph: EmulatorHandle) -> None:
    """Rows written before the connector asked for immutable ids hold default ids: reconciliation
    finds the same event (same change key) under its immutable id and only takes the id."""
    company, tenant, upn = _one_way(graph, "legacy")
    change(company, "1", participants=("taro",))
    run(company)
    [stored] = tenant.events(upn)
    [row] = MirrorEvent.objects.filter(company=company)
    MirrorEvent.objects.filter(pk=row.pk).update(event_id=stored["restId"])
    lines = SyncLogEntry.objects.filter(company=company).count()
    since = graph.control.journal()[-1]["time"]
    report = reconcile.reconcile_company(company.pk)
    assert (report.reidentified, report.adopted, report.restored, report.lost) == (1, 0, 0, 0)
    assert MirrorEvent.objects.get(pk=row.pk).event_id == stored["id"]
    assert SyncLogEntry.objects.filter(company=company).count() == lines
    writes = [e for e in graph.control.journal(since) if e["method"] in ("POST", "PATCH", "DELETE")]
    assert not [e for e in writes if e["time"] > since]


def test_malformed_event_id_in_the_mirror_table_is_recovered_not_stuck(graph: EmulatorHandle) -> None:
    """Graph answers an id it cannot read with 400 ``ErrorInvalidIdMalformed``: an update re-creates
    the event (S9), a delete forgets it -- never a failure repeated at every change."""
    company, tenant, upn = _one_way(graph, "badid")
    change(company, "1", participants=("taro",))
    change(company, "2", participants=("taro",))
    run(company)
    MirrorEvent.objects.filter(company=company).update(event_id="AAMkAD-truncated")
    for event in tenant.events(upn):
        graph.control.user_delete_event(upn, event["id"])
    change(company, "1", participants=("taro",), content="更新", updated=T0 + timedelta(minutes=5))
    gone = ScheduleDeletion(SourceRef(company.slug, "push", "2"), T0 + timedelta(minutes=5))
    inbox.accept(company, gone, trigger="push")
    summary = run(company)
    assert summary.failed == 0
    [ev] = tenant.events(upn)
    assert ev["body"]["content"] == "更新"
    rows = {r.record_id: r for r in MirrorEvent.objects.filter(company=company)}
    assert (rows["1"].state, rows["1"].event_id) == ("synced", ev["id"])
    assert rows["2"].state == "removed"
    assert not SyncLogEntry.objects.filter(company=company, result="failure").exists()
    assert SyncLogEntry.objects.filter(company=company, operation="recreate", record_id="1").exists()


def test_t1_two_way_event_moved_and_edited_is_written_back_then_put_back(world: World) -> None:  # noqa: F811
    rid = world.record("移動して編集", ["yamada"])
    world.sync_from_sfa()
    world.poll()
    upn = world.upns["yamada"]
    world.graph.control.create_calendar(upn, "私用")
    event_id = world.event("yamada", rid)["id"]
    world.graph.control.user_move_event(upn, event_id, "私用")
    world.graph.control.user_update_event(upn, event_id, {"subject": "移動して編集（変更）"})
    report = world.poll()
    assert (report.written_back, report.moved, report.lost) == (1, 1, 0)
    assert world.stored(rid)[world.setup.title_field] == "移動して編集（変更）"
    [ev] = _events(world.tenant, upn)
    assert (ev["calendar"], ev["subject"]) == ("Calendar", "移動して編集（変更）") and ev["id"] != event_id
    row = MirrorEvent.objects.get(company=world.company, record_id=str(rid), calendar_name="")
    assert (row.state, row.event_id) == ("synced", ev["id"])
    assert world.poll().changed == 0
