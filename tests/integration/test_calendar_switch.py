"""P4 / E3 against the Microsoft 365 emulator over TLS, through the real Graph connector: a switch of
the target calendar never leaves the employee with fewer mirrored plans than before.

* to a calendar that does not exist: nothing is deleted from the old calendar; the employee's state
  and the log say "calendar not found"; once the calendar exists and the back-fill runs again,
  the events move;
* the new calendar is deleted in Outlook in the middle of the back-fill: every schedule still has
  its event in the old calendar unless the new calendar held it when the old one was deleted.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest

from sfacal.directory.employees.models import Employee
from sfacal.engine import passes
from sfacal.engine.backfill import run_backfill
from sfacal.engine.models import MirrorEvent, SyncLogEntry
from tests.integration.conftest import new_tenant, wire_company
from tests.integration.test_engine_m365 import T0, change, staff

pytestmark = pytest.mark.django_db


def by_calendar(graph, upn):
    """Calendar name -> the ids of the events in it."""
    names = {c["id"]: c["name"] for c in graph.control.user(upn)["calendars"]}
    out: dict[str, list[str]] = {}
    for ev in graph.control.events(upn):
        out.setdefault(names.get(ev["calendarId"], "?"), []).append(ev["id"])
    return out


def setup_company(graph, slug, n, *calendars):
    tenant = new_tenant(graph)
    company = wire_company(slug, tenant)
    upn = tenant.mailbox("taro", *calendars)
    staff(company, "taro")
    for i in range(n):
        change(
            company, str(i), participants=("taro",), content=f"memo {i}", updated=T0 + timedelta(minutes=i)
        )
    summary = passes.process_inbox(company.pk)
    assert summary is not None and summary.succeeded == n
    return tenant, company, upn


def test_p4_switch_to_a_missing_calendar_keeps_every_event_in_the_old_one(graph):
    tenant, company, upn = setup_company(graph, "sw1", 5)
    assert len(tenant.events(upn)) == 5
    emp = Employee.objects.get(company=company, login_id="taro")
    emp.calendar_name = "商談"  # no such calendar (yet)
    emp.save()
    run_backfill(emp.pk, "", "商談")
    assert len(tenant.events(upn)) == 5, "the switch deleted events although the new calendar is missing"
    emp.refresh_from_db()
    assert (emp.last_result, emp.last_error_code) == ("failed", "calendar_not_found")
    assert SyncLogEntry.objects.filter(company=company, error_code="calendar_not_found").exists()
    assert not SyncLogEntry.objects.filter(company=company, trigger="backfill", operation="delete").exists()
    # The calendar is created in Outlook; the back-fill runs again (as a settings save would start it).
    graph.control.create_calendar(upn, "商談")
    run_backfill(emp.pk, "", "商談")
    placed = by_calendar(graph, upn)
    assert len(placed.get("商談", [])) == 5 and not placed.get("Calendar")
    assert {m.state for m in MirrorEvent.objects.filter(company=company, calendar_name="")} == {"removed"}


def test_p4_new_calendar_deleted_mid_backfill_leaves_the_old_events_in_place(graph):
    n = 40
    _tenant, company, upn = setup_company(graph, "sw2", n, "営業")
    emp = Employee.objects.get(company=company, login_id="taro")
    emp.calendar_name = "営業"
    emp.save()
    graph.control.set_knobs(latency_ms=25)
    deleted_after: list[int] = []

    def delete_when_some_arrived() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            moved = len(by_calendar(graph, upn).get("営業", []))
            if moved >= 5:
                graph.control.delete_calendar(upn, "営業")
                deleted_after.append(moved)
                return
            time.sleep(0.01)

    deleter = threading.Thread(target=delete_when_some_arrived)
    deleter.start()
    try:
        run_backfill(emp.pk, "", "営業")
    finally:
        deleter.join()
        graph.control.set_knobs(latency_ms=0)
    assert deleted_after, "the calendar was never deleted: the test did not exercise the race"
    remaining = by_calendar(graph, upn).get("Calendar", [])
    # Nothing the engine did removed an event whose copy did not exist: the events the old calendar
    # lost are exactly those whose copies were in 営業 when the user deleted it -- and because the
    # engine checks the new calendar before deleting the old events, those are none.
    assert len(remaining) == n, (
        f"{n - len(remaining)} events lost by the switch (deleted after {deleted_after})"
    )
    emp.refresh_from_db()
    assert emp.last_error_code == "calendar_not_found"
    assert not MirrorEvent.objects.filter(company=company, calendar_name="営業", state="synced").exists()
