"""Two-way sync (T1-T5) end to end: a JUST.SFA emulator record mirrored into the Microsoft 365
emulator's calendar, edited "in Outlook" through the emulator's control API, and found by Graph
delta; both emulators over TLS, the real JUST.SFA and Graph connectors. The last test runs T1
through the served stack twice: SQLite with one worker, PostgreSQL + Redis with three."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from sfacal.directory.companies.models import Company
from sfacal.directory.connections.models import SourceConnection
from sfacal.directory.employees.models import Employee
from sfacal.emulators.justsfa import EmulatorHandle as JustSfaHandle
from sfacal.emulators.justsfa import ScheduleSetup
from sfacal.emulators.justsfa import running_emulator as running_justsfa
from sfacal.emulators.m365 import EmulatorHandle as M365Handle
from sfacal.engine import passes, twoway
from sfacal.engine.models import DeltaState, MirrorEvent, StoredSchedule, SyncLogEntry
from sfacal.sources.justsfa import JustSfaSettings, poll_connection
from tests.integration.conftest import Tenant, new_tenant, wire_company
from tests.integration.stack import Stack, migrated_stack, wait_for

pytestmark = pytest.mark.django_db

JST = ZoneInfo("Asia/Tokyo")
DAY = (datetime.now(JST) + timedelta(days=3)).date()


@pytest.fixture(scope="module")
def justsfa(m365: M365Handle) -> Iterator[JustSfaHandle]:
    # Same data directory as the Microsoft 365 emulator: one CA for both (SFACAL_CA_BUNDLE).
    with running_justsfa(m365.ca_pem.parent) as handle:
        yield handle


@dataclass
class World:
    company: Company
    tenant: Tenant
    jsfa: JustSfaHandle
    setup: ScheduleSetup
    connection: SourceConnection
    upns: dict[str, str]

    @property
    def graph(self) -> M365Handle:
        return self.tenant.handle

    def record(self, title: str, users: list[str], hours: tuple[int, int] = (10, 11), **extra: Any) -> int:
        s = self.setup
        start = datetime(DAY.year, DAY.month, DAY.day, hours[0], tzinfo=JST)
        end = datetime(DAY.year, DAY.month, DAY.day, hours[1], tzinfo=JST)
        rec = {
            s.title_field: title,
            s.location_field: "大阪市北区",
            s.content_field: "持ち物: 見積書",
            s.status_field: "予定",
            s.schedule_field: s.schedule_value(
                start.isoformat(timespec="minutes"), end.isoformat(timespec="minutes"), users
            ),
            **extra,
        }
        made = self.jsfa.control.create_record(s.tenant, s.table_id, rec, fire_webhooks=False)
        return int(made["recordId"])

    def stored(self, record_id: int) -> dict[str, Any]:
        return dict(self.jsfa.control.record(self.setup.tenant, self.setup.table_id, record_id)["record"])

    def sync_from_sfa(self) -> None:
        """JUST.SFA -> product (poll the records API) -> calendars."""
        result = poll_connection(self.connection)
        assert result.error is None
        passes.process_inbox(self.company.pk)

    def event(self, login: str, record_id: int) -> dict[str, Any]:
        row = MirrorEvent.objects.get(company=self.company, login_id=login, record_id=str(record_id))
        (found,) = [e for e in self.tenant.events(self.upns[login]) if e["id"] == row.event_id]
        return found

    def edit(self, login: str, record_id: int, changes: dict[str, Any]) -> None:
        """As the user in Outlook."""
        self.graph.control.user_update_event(self.upns[login], self.event(login, record_id)["id"], changes)

    def poll(self) -> twoway.TwoWayReport:
        return twoway.poll_calendar_changes(self.company.pk)

    def graph_writes(self, since: float) -> list[dict[str, Any]]:
        return [
            e
            for e in self.graph.control.journal(since)
            if e.get("method") in ("PATCH", "POST", "DELETE") and "/calendarView/" not in str(e.get("path"))
        ]


@pytest.fixture
def world(graph: M365Handle, justsfa: JustSfaHandle) -> World:
    tenant = new_tenant(graph)
    company = wire_company(f"tw{uuid.uuid4().hex[:6]}", tenant, direction="two_way")
    name = f"t{uuid.uuid4().hex[:8]}"
    setup = justsfa.control.setup_schedule(name)
    config = {
        "tenant": name,
        "base_url": justsfa.tenant_url(name),
        "table": setup.table_id,
        "panel": setup.panel_id,
        "filter": setup.filter_id,
        "schedule_field": setup.schedule_field,
        "title_field": setup.title_field,
        "location_field": setup.location_field,
        "content_field": setup.content_field,
        "key_field": setup.key_field,
        "status_field": setup.status_field,
        "kind_field": setup.kind_field,
        "purpose_field": setup.purpose_field,
        "business_field": setup.business_field,
        "customer_field": setup.customer_field,
        "address_field": setup.address_field,
    }
    connection = SourceConnection.objects.create(
        company=company, kind="justsfa", name="default", config=config, api_key=setup.api_key
    )
    # Seeded as if the write-back test had passed (the test itself: tests/sources/justsfa/test_writeback.py
    # and the served walk); without it nothing is written back.
    proof = {"ok": True, "fingerprint": JustSfaSettings.from_connection(connection).writeback_fingerprint()}
    connection.config = {**config, "writeback_test": proof}
    connection.save(update_fields=["config"])
    upns = {}
    for login in ("yamada", "suzuki"):
        upns[login] = tenant.mailbox(login)
        Employee.objects.create(
            company=company,
            login_id=login,
            state="on",
            user_id_mode="explicit",
            user_id=upns[login],
            sync_start=datetime.now(JST) - timedelta(days=1),
        )
    return World(company, tenant, justsfa, setup, connection, upns)


def _graph_time(hour: int, minute: int = 0) -> dict[str, str]:
    return {"dateTime": f"{DAY.isoformat()}T{hour:02d}:{minute:02d}:00", "timeZone": "Tokyo Standard Time"}


def test_t1_single_participant_edit_in_outlook_is_written_back_to_justsfa(world: World) -> None:
    rid = world.record("A社 定例", ["yamada"])
    world.sync_from_sfa()
    assert world.event("yamada", rid)["subject"] == "A社 定例"
    assert world.poll().written_back == 0  # the first round: nothing edited yet
    world.edit(
        "yamada",
        rid,
        {
            "subject": "A社 定例（延長）",
            "start": _graph_time(13, 30),
            "end": _graph_time(15),
            "location": {"displayName": "大阪市中央区"},
            "body": {"contentType": "text", "content": "持ち物: 見積書、契約書"},
        },
    )
    report = world.poll()
    assert (report.written_back, report.conflicts, report.failed) == (1, 0, 0)
    s = world.setup
    rec = world.stored(rid)
    assert rec[s.title_field] == "A社 定例（延長）"
    assert rec[s.location_field] == "大阪市中央区"
    assert rec[s.content_field] == "持ち物: 見積書、契約書"
    period = rec[s.schedule_field][f"{s.schedule_field}_period"]
    assert [datetime.fromisoformat(p) for p in period] == [
        datetime(DAY.year, DAY.month, DAY.day, 13, 30, tzinfo=JST),
        datetime(DAY.year, DAY.month, DAY.day, 15, tzinfo=JST),
    ]
    assert [p[0] for p in rec[s.schedule_field][f"{s.schedule_field}_participants"]] == ["yamada"]
    line = SyncLogEntry.objects.get(company=world.company, trigger="writeback", operation="write_back")
    assert line.result == "success" and line.login_id == "yamada" and "subject" in line.message
    # The new SFA state is stored (trigger "writeback") and nothing bounces back: not to the
    # calendar when the change is processed, nor after JUST.SFA reports the record again.
    stored = StoredSchedule.objects.get(company=world.company, record_id=str(rid))
    assert stored.payload["title"] == "A社 定例（延長）"
    since = world.graph.control.journal()[-1]["time"]
    key_before = world.event("yamada", rid)["changeKey"]
    passes.process_inbox(world.company.pk)
    world.sync_from_sfa()
    assert world.graph_writes(since) == []
    assert world.event("yamada", rid)["changeKey"] == key_before
    again = world.poll()
    assert (again.written_back, again.changed) == (0, 0)
    assert len([e for e in world.jsfa.control.journal(tenant=s.tenant) if e["method"] == "PUT"]) == 1


def test_t1_unproven_write_back_sends_nothing_and_restores_the_sfa_version(world: World) -> None:
    """Without a passed write-back test (here: the proof is for another update form) nothing
    is PUT to JUST.SFA; the calendar gets the SFA version back and the log says how to fix it."""
    config = dict(world.connection.config)
    config["writeback_form"] = "recordKey"  # the proof was made with recordId
    SourceConnection.objects.filter(pk=world.connection.pk).update(config=config)
    rid = world.record("未確認", ["yamada"])
    world.sync_from_sfa()
    world.poll()
    world.edit("yamada", rid, {"subject": "未確認（変更）"})
    report = world.poll()
    assert report.written_back == 0
    assert not [e for e in world.jsfa.control.journal(tenant=world.setup.tenant) if e["method"] == "PUT"]
    assert world.stored(rid)[world.setup.title_field] == "未確認"
    line = SyncLogEntry.objects.get(
        company=world.company, trigger="writeback", error_code="write_back_unproven"
    )
    assert line.result in ("failure", "warning")


def test_t1_s7_turning_the_event_all_day_in_outlook_is_written_back(world: World) -> None:
    rid = world.record("終日にする", ["yamada"])
    world.sync_from_sfa()
    world.poll()
    nxt = (DAY + timedelta(days=1)).isoformat()
    world.edit(
        "yamada",
        rid,
        {
            "isAllDay": True,
            "start": {"dateTime": f"{DAY.isoformat()}T00:00:00", "timeZone": "Tokyo Standard Time"},
            "end": {"dateTime": f"{nxt}T00:00:00", "timeZone": "Tokyo Standard Time"},
        },
    )
    assert world.poll().written_back == 1
    s = world.setup
    period = world.stored(rid)[s.schedule_field][f"{s.schedule_field}_period"]
    assert period == [DAY.isoformat(), DAY.isoformat()]  # one day, last day included
    since = world.graph.control.journal()[-1]["time"]
    passes.process_inbox(world.company.pk)
    world.sync_from_sfa()
    assert world.graph_writes(since) == []
    assert world.event("yamada", rid)["isAllDay"] is True


def test_t2_multi_participant_edit_is_not_written_back_and_is_restored(world: World) -> None:
    rid = world.record("合同訪問", ["yamada", "suzuki"])
    world.sync_from_sfa()
    world.poll()
    before = world.stored(rid)
    world.edit("suzuki", rid, {"subject": "勝手に変更", "start": _graph_time(16), "end": _graph_time(17)})
    report = world.poll()
    assert (report.written_back, report.restored) == (0, 1)
    assert world.stored(rid) == before
    assert not [e for e in world.jsfa.control.journal(tenant=world.setup.tenant) if e["method"] == "PUT"]
    restored = world.event("suzuki", rid)
    assert restored["subject"] == "合同訪問"
    assert restored["start"]["dateTime"].startswith(f"{DAY.isoformat()}T10:00")
    line = SyncLogEntry.objects.get(company=world.company, operation="restore")
    assert line.login_id == "suzuki" and "T2" in line.message
    assert world.poll().changed == 0  # our own restore is not an edit


def test_t3_event_created_in_outlook_is_never_registered_in_justsfa(world: World) -> None:
    rid = world.record("既存", ["yamada"])
    world.sync_from_sfa()
    world.poll()
    world.graph.control.user_create_event(
        world.upns["yamada"], {"subject": "私用", "start": _graph_time(18), "end": _graph_time(19)}
    )
    report = world.poll()
    assert (report.changed, report.written_back) == (0, 0)
    records = world.jsfa.control.records(world.setup.tenant, world.setup.table_id)
    assert [int(r["recordId"]) for r in records] == [rid]


def test_t4_event_deleted_in_outlook_keeps_the_justsfa_record(world: World) -> None:
    rid = world.record("削除される", ["yamada"])
    world.sync_from_sfa()
    world.poll()
    event_id = world.event("yamada", rid)["id"]
    world.graph.control.user_delete_event(world.upns["yamada"], event_id)
    report = world.poll()
    assert report.lost == 1
    assert world.stored(rid)[world.setup.title_field] == "削除される"  # still there
    assert MirrorEvent.objects.get(company=world.company, record_id=str(rid)).state == "lost"
    assert SyncLogEntry.objects.filter(company=world.company, operation="lost", login_id="yamada").exists()
    assert world.tenant.events(world.upns["yamada"]) == []
    # S9: re-created at the next change of the record in JUST.SFA
    s = world.setup
    world.jsfa.control.update_record(
        s.tenant, s.table_id, rid, {s.content_field: "再作成"}, fire_webhooks=False
    )
    world.sync_from_sfa()
    (ev,) = world.tenant.events(world.upns["yamada"])
    assert ev["subject"] == "削除される"


def test_t5_both_sides_changed_the_sfa_wins_and_the_conflict_is_logged(world: World) -> None:
    rid = world.record("競合", ["yamada"])
    world.sync_from_sfa()
    world.poll()
    s = world.setup
    # The SFA changes the record (the change is accepted, not yet in the calendar) ...
    world.jsfa.control.update_record(
        s.tenant, s.table_id, rid, {s.title_field: "SFA側の変更"}, fire_webhooks=False
    )
    assert poll_connection(world.connection).accepted == 1
    # ... and the user edits the event before the change reached the calendar.
    world.edit("yamada", rid, {"subject": "Outlook側の変更"})
    report = world.poll()
    assert (report.conflicts, report.written_back) == (1, 0)
    assert world.stored(rid)[s.title_field] == "SFA側の変更"
    assert world.event("yamada", rid)["subject"] == "SFA側の変更"
    line = SyncLogEntry.objects.get(company=world.company, operation="conflict")
    assert line.result == "warning" and "T5" in line.message and line.login_id == "yamada"
    assert not [e for e in world.jsfa.control.journal(tenant=s.tenant) if e["method"] == "PUT"]


def test_s9_one_way_mode_never_writes_back(world: World) -> None:
    from sfacal.directory.companies.models import CompanySettings

    CompanySettings.objects.filter(company=world.company).update(direction="one_way")
    rid = world.record("片方向", ["yamada"])
    world.sync_from_sfa()
    world.edit("yamada", rid, {"subject": "編集"})
    report = world.poll()
    assert report.as_dict() == twoway.TwoWayReport().as_dict()
    assert world.stored(rid)[world.setup.title_field] == "片方向"
    assert not DeltaState.objects.filter(company=world.company).exists()


def test_expired_delta_link_starts_a_fresh_round_and_still_finds_the_edit(world: World) -> None:
    rid = world.record("期限切れ", ["yamada"])
    world.sync_from_sfa()
    world.poll()
    world.edit("yamada", rid, {"body": {"contentType": "text", "content": "新しい内容"}})
    world.graph.control.expire_delta_tokens()
    assert world.poll().written_back == 1
    assert world.stored(rid)[world.setup.content_field] == "新しい内容"


# --------------------------------------------------------------------- on the served stack, twice

STACK_SETUP = """
from sfacal.directory.companies.provisioning import ensure_company
from sfacal.directory.companies.models import CompanySettings
from sfacal.directory.connections.models import SourceConnection
from sfacal.directory.employees.models import Employee
from datetime import datetime, timezone
cfg = json.loads({cfg!r})
c = ensure_company("twstack", "双方向")
CompanySettings.objects.filter(company=c).update(sync_enabled=True, write_to_calendar=True,
    direction="two_way", client_id=cfg["client_id"], auth_method="secret",
    token_endpoint=cfg["token_endpoint"], graph_base_url=cfg["graph"], domain=cfg["domain"])
cs = CompanySettings.objects.get(company=c); cs.client_secret = cfg["secret"]; cs.save()
src = SourceConnection.objects.create(company=c, kind="justsfa", name="default", config=cfg["source"],
    api_key=cfg["api_key"])
# seeded as if the write-back test had passed (tests/sources/justsfa/test_writeback.py)
from sfacal.sources.justsfa import JustSfaSettings
proof = {{"ok": True, "fingerprint": JustSfaSettings.from_connection(src).writeback_fingerprint()}}
src.config = {{**cfg["source"], "writeback_test": proof}}; src.save(update_fields=["config"])
Employee.objects.create(company=c, login_id="yamada", state="on", user_id_mode="explicit",
    user_id=cfg["upn"], sync_start=datetime(2020, 1, 1, tzinfo=timezone.utc))
result = [c.pk, src.webhook_token]
"""
QUEUE_TWOWAY = """
from sfacal.engine import tasks
tasks.run_twoway({company})  # queued: one of the stack's workers runs it
from sfacal.engine.models import DeltaState
result = DeltaState.objects.count()
"""


@pytest.fixture(params=["sqlite", "scaleout"])
def served(tmp_path: Path, graph: M365Handle, request: pytest.FixtureRequest) -> Iterator[Stack]:
    env = {"SFACAL_CA_BUNDLE": str(graph.ca_pem), "SFACAL_LEASE_SECONDS": "5"}
    with migrated_stack(tmp_path / "data", env, request.param) as stack:
        yield stack


@pytest.mark.slow
def test_t1_edit_in_outlook_is_written_back_by_the_served_workers(
    served: Stack, graph: M365Handle, justsfa: JustSfaHandle
) -> None:
    """T1 through ``sfacal web`` and the worker processes (one on SQLite, three on PostgreSQL +
    Redis): the webhook's record is mirrored, the two-way reads run as a queued job, and the edit
    made in Outlook reaches the JUST.SFA record."""
    tenant = new_tenant(graph)
    upn = tenant.mailbox("yamada")
    name = f"t{uuid.uuid4().hex[:8]}"
    setup = justsfa.control.setup_schedule(name)
    fields = (
        "schedule_field", "title_field", "location_field", "content_field", "key_field",
        "status_field", "kind_field", "purpose_field", "business_field", "customer_field",
        "address_field",
    )  # fmt: skip
    source = {
        "tenant": name,
        "base_url": justsfa.tenant_url(name),
        "table": setup.table_id,
        "panel": setup.panel_id,
        "filter": setup.filter_id,
        **{f: getattr(setup, f) for f in fields},
    }
    cfg = {
        "client_id": tenant.app.client_id,
        "secret": tenant.app.secret,
        "token_endpoint": graph.token_url(tenant.domain),
        "graph": graph.graph_url,
        "domain": tenant.domain,
        "source": source,
        "api_key": setup.api_key,
        "upn": upn,
    }
    company, token = served.query(STACK_SETUP.format(cfg=json.dumps(cfg)))
    web = served.start_web()
    served.start_workers()
    justsfa.control.add_webhook(name, setup.table_id, f"{web}/hooks/justsfa/{token}")
    start = datetime(DAY.year, DAY.month, DAY.day, 10, tzinfo=JST)
    made = justsfa.control.create_record(
        name,
        setup.table_id,
        {
            setup.title_field: "B社 定例",
            setup.status_field: "予定",
            setup.schedule_field: setup.schedule_value(
                start.isoformat(timespec="minutes"),
                (start + timedelta(hours=1)).isoformat(timespec="minutes"),
                ["yamada"],
            ),
        },
    )
    rid = int(made["recordId"])
    (event,) = wait_for(lambda: tenant.events(upn), 60, what="the event mirrored")
    assert event["subject"] == "B社 定例"
    # The first round of two-way reads notes where each calendar stands.
    wait_for(lambda: served.query(QUEUE_TWOWAY.format(company=company)), 60, interval=2, what="delta state")
    graph.control.user_update_event(upn, event["id"], {"subject": "B社 定例（延長）"})

    def written_back() -> bool:
        record = justsfa.control.record(name, setup.table_id, rid)["record"]
        if record[setup.title_field] == "B社 定例（延長）":
            return True
        served.query(QUEUE_TWOWAY.format(company=company))
        return False

    wait_for(written_back, 90, interval=2, what="the edit written back to JUST.SFA")
