"""The engine against the Google emulator over TLS, through the real Google Calendar connector:
a company whose destination is Google Calendar syncs, logs failures with hints, reconciles, and
runs two-way with JUST.SFA (the sync token read, the edit written back)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from sfacal.core.schedule import ScheduleDeletion
from sfacal.directory.companies.models import Company, CompanySettings
from sfacal.directory.companies.provisioning import ensure_company
from sfacal.directory.connections.models import SourceConnection
from sfacal.directory.employees.models import Employee
from sfacal.emulators.justsfa import EmulatorHandle as JustSfaHandle
from sfacal.emulators.justsfa import running_emulator as running_justsfa
from sfacal.engine import calendar, inbox, loop, passes, reconcile, sync, twoway
from sfacal.engine.models import InboxEntry, MirrorEvent, SyncLogEntry
from sfacal.sources.justsfa import JustSfaSettings, poll_connection
from tests.calendars.google_helpers import Google, start_google
from tests.engine.conftest import meeting

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
JST = ZoneInfo("Asia/Tokyo")


@pytest.fixture(scope="module")
def google_emu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Google]:
    yield from start_google(tmp_path_factory.mktemp("google-engine"), knobs={"check_responses": True})


@pytest.fixture
def google(google_emu: Google, monkeypatch: pytest.MonkeyPatch) -> Iterator[Google]:
    monkeypatch.setenv("SFACAL_GOOGLE_API_URL", google_emu.emu.api_url)
    monkeypatch.setenv("SFACAL_CA_BUNDLE", str(google_emu.emu.ca_pem))
    calendar.set_service_factory(None)
    loop.forget_services()
    inbox.set_dispatcher(None)
    try:
        yield google_emu
    finally:
        loop.forget_services()


def wire(slug: str, google: Google, key: dict[str, str] | None = None, **values: Any) -> Company:
    company = ensure_company(slug, slug.upper())
    cs = CompanySettings.objects.get(company=company)
    cs.sync_enabled = True
    cs.write_to_calendar = True
    cs.calendar_service = "google"
    cs.google_service_account_key = json.dumps(key or google.new_key())
    cs.domain = google.domain
    for name, value in values.items():
        setattr(cs, name, value)
    cs.save()
    return company


def staff(company: Company, login: str, **kw: Any) -> Employee:
    return Employee.objects.create(
        company=company,
        login_id=login,
        state=kw.pop("state", "on"),
        user_id_mode=kw.pop("user_id_mode", "login_at_domain"),
        sync_start=kw.pop("sync_start", T0 - timedelta(days=30)),
        **kw,
    )


def change(company: Company, record: str = "1", **kw: Any) -> Any:
    kw.setdefault("participants", ("taro", "hanako"))
    schedule = meeting(record, **kw)
    schedule = schedule.replace(ref=schedule.ref.__class__(company.slug, "push", record))
    return inbox.accept(company, schedule, trigger="push")


def run(company: Company) -> Any:
    summary = passes.process_inbox(company.pk)
    assert summary is not None
    return summary


def test_s3_s5_s6_a_google_company_syncs_updates_and_deletes(google: Google) -> None:
    company = wire(f"g{uuid.uuid4().hex[:6]}", google)
    taro, hanako = google.new_user("taro"), google.new_user("hanako")
    staff(company, "taro")
    staff(company, "hanako")
    change(company)
    summary = run(company)
    assert (summary.succeeded, summary.failed) == (2, 0)
    for email in (taro, hanako):
        (event,) = google.events(email)
        assert event["summary"] == "赤木電機/定期訪問" and event["location"] == "東京都千代田区"
        assert event["visibility"] == "default" and event["transparency"] == "opaque"
    change(company, content="更新", updated=T0 + timedelta(minutes=1))
    assert run(company).succeeded == 2
    assert all(e["description"].strip() == "更新" for e in google.events(taro) + google.events(hanako))
    inbox.accept(
        company,
        ScheduleDeletion(meeting().ref.__class__(company.slug, "push", "1"), T0 + timedelta(hours=1)),
        trigger="push",
    )
    assert run(company).succeeded == 2
    assert google.events(taro) == [] and google.events(hanako) == []


def test_google_setup_faults_end_as_log_lines_with_hints(google: Google) -> None:
    company = wire(f"g{uuid.uuid4().hex[:6]}", google)
    ok = google.new_user("ok")
    google.new_user("nocal")
    staff(company, "ok")
    staff(company, "ghost")  # no such Workspace user
    staff(company, "nocal", calendar_name="存在しない予定表")
    change(company, participants=("ok", "ghost", "nocal"))
    assert run(company).succeeded == 1
    assert len(google.events(ok)) == 1
    state = {e.login_id: (e.last_result, e.last_error_code) for e in Employee.objects.filter(company=company)}
    assert state == {
        "ok": ("ok", ""),
        "ghost": ("failed", "google_user_not_found"),
        "nocal": ("failed", "calendar_not_found"),
    }
    from sfacal.web.logs.presenters import describe

    for line in SyncLogEntry.objects.filter(company=company).exclude(error_code=""):
        shown = describe(line, "ja")
        assert shown.hint and "予期しない" not in shown.message
    assert InboxEntry.objects.get(company=company).state == "done"


def test_delegation_revoked_is_logged_per_employee_with_the_client_id(google: Google) -> None:
    key = google.new_key()
    company = wire(f"g{uuid.uuid4().hex[:6]}", google, key)
    google.new_user("taro")
    staff(company, "taro")
    google.control.update_service_account(key["client_email"], delegated_scopes=[])
    change(company, participants=("taro",))
    run(company)
    emp = Employee.objects.get(company=company)
    assert (emp.last_result, emp.last_error_code) == ("failed", "google_delegation_missing")
    line = SyncLogEntry.objects.get(company=company, result="failure")
    from sfacal.web.logs.presenters import describe

    assert key["client_id"] in describe(line, "en").hint


def test_reconcile_marks_calendar_deletions_lost_and_removes_orphans(google: Google) -> None:
    company = wire(f"g{uuid.uuid4().hex[:6]}", google)
    email = google.new_user("taro")
    staff(company, "taro")
    change(company, "1", participants=("taro",))
    change(company, "2", participants=("taro",))
    run(company)
    rows = {r.record_id: r for r in MirrorEvent.objects.filter(company=company)}
    google.control.user_delete_event(email, rows["1"].event_id)
    MirrorEvent.objects.filter(pk=rows["2"].pk).delete()  # as if a crash lost the row: an orphan
    report = reconcile.reconcile_company(company.pk)
    assert (report.lost, report.removed) == (1, 1)
    assert google.events(email) == []
    assert MirrorEvent.objects.get(pk=rows["1"].pk).state == "lost"
    change(company, "1", participants=("taro",), content="次の変更", updated=T0 + timedelta(minutes=5))
    run(company)
    assert len(google.events(email)) == 1


@pytest.fixture(scope="module")
def justsfa(google_emu: Google) -> Iterator[JustSfaHandle]:
    # Same data directory as the Google emulator: one CA for both (SFACAL_CA_BUNDLE).
    with running_justsfa(google_emu.emu.ca_pem.parent) as handle:
        yield handle


def test_t1_two_way_an_edit_in_google_calendar_is_written_back_to_justsfa(
    google: Google, justsfa: JustSfaHandle
) -> None:
    company = wire(f"g{uuid.uuid4().hex[:6]}", google, direction="two_way")
    name = f"t{uuid.uuid4().hex[:8]}"
    s = justsfa.control.setup_schedule(name)
    config = {
        "tenant": name,
        "base_url": justsfa.tenant_url(name),
        "table": s.table_id,
        "panel": s.panel_id,
        "filter": s.filter_id,
        "schedule_field": s.schedule_field,
        "title_field": s.title_field,
        "location_field": s.location_field,
        "content_field": s.content_field,
        "key_field": s.key_field,
        "status_field": s.status_field,
        "kind_field": s.kind_field,
        "purpose_field": s.purpose_field,
        "business_field": s.business_field,
        "customer_field": s.customer_field,
        "address_field": s.address_field,
    }
    connection = SourceConnection.objects.create(
        company=company, kind="justsfa", name="default", config=config, api_key=s.api_key
    )
    # Seeded as if the write-back test had passed (tests/sources/justsfa/test_writeback.py).
    proof = {"ok": True, "fingerprint": JustSfaSettings.from_connection(connection).writeback_fingerprint()}
    connection.config = {**config, "writeback_test": proof}
    connection.save(update_fields=["config"])
    email = google.new_user("yamada")
    staff(
        company,
        "yamada",
        user_id_mode="explicit",
        user_id=email,
        sync_start=datetime.now(JST) - timedelta(days=1),
    )
    day = (datetime.now(JST) + timedelta(days=3)).date()
    start = datetime(day.year, day.month, day.day, 10, tzinfo=JST)
    record = {
        s.title_field: "A社 定例",
        s.location_field: "大阪市北区",
        s.content_field: "持ち物: 見積書",
        s.status_field: "予定",
        s.schedule_field: s.schedule_value(
            start.isoformat(timespec="minutes"),
            (start + timedelta(hours=1)).isoformat(timespec="minutes"),
            ["yamada"],
        ),
    }
    rid = int(justsfa.control.create_record(s.tenant, s.table_id, record, fire_webhooks=False)["recordId"])
    assert poll_connection(connection).error is None
    passes.process_inbox(company.pk)
    (event,) = google.events(email)
    assert event["summary"] == "A社 定例"
    assert twoway.poll_calendar_changes(company.pk).written_back == 0  # the first full read
    google.control.user_update_event(
        email,
        event["id"],
        {
            "summary": "A社 定例（延長）",
            "location": "大阪市中央区",
            "start": {"dateTime": f"{day.isoformat()}T13:30:00", "timeZone": "Asia/Tokyo"},
            "end": {"dateTime": f"{day.isoformat()}T15:00:00", "timeZone": "Asia/Tokyo"},
        },
    )
    report = twoway.poll_calendar_changes(company.pk)
    assert (report.written_back, report.conflicts, report.failed) == (1, 0, 0)
    stored = justsfa.control.record(s.tenant, s.table_id, rid)["record"]
    assert stored[s.title_field] == "A社 定例（延長）" and stored[s.location_field] == "大阪市中央区"
    period = stored[s.schedule_field][f"{s.schedule_field}_period"]
    assert [datetime.fromisoformat(p) for p in period] == [
        datetime(day.year, day.month, day.day, 13, 30, tzinfo=JST),
        datetime(day.year, day.month, day.day, 15, tzinfo=JST),
    ]
    again = twoway.poll_calendar_changes(company.pk)
    assert (again.written_back, again.changed) == (0, 0)  # nothing bounces back
    # The sync token expires (410): the next read is a full one, and an edit is still found.
    google.control.expire_sync_tokens()
    google.control.user_update_event(email, event["id"], {"summary": "A社 定例（再延長）"})
    for _ in range(2):  # the read that meets the 410 may only reset the cursor
        twoway.poll_calendar_changes(company.pk)
    assert justsfa.control.record(s.tenant, s.table_id, rid)["record"][s.title_field] == "A社 定例（再延長）"


def test_c2_switching_the_destination_creates_every_schedule_in_the_new_service_once(
    monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:
    """Microsoft 365 -> Google Calendar -> Microsoft 365: after each switch every schedule of the
    window is in the new destination (the back-fill), the previous one keeps what it had, and
    switching back doubles nothing (the transaction ids are the same)."""
    import tempfile
    from pathlib import Path

    from sfacal.emulators.m365 import running_emulator as running_m365
    from sfacal.engine.sync import on_calendar_service_changed
    from tests.integration.conftest import new_tenant, wire_company

    shared = Path(tempfile.mkdtemp(prefix="switch-"))  # one CA for both emulators
    with running_m365(shared) as m365:
        for google in start_google(shared):
            monkeypatch.setenv("SFACAL_CA_BUNDLE", str(m365.ca_pem))
            monkeypatch.setenv("SFACAL_GOOGLE_API_URL", google.emu.api_url)
            calendar.set_service_factory(None)
            loop.forget_services()
            inbox.set_dispatcher(None)
            monkeypatch.setattr(sync, "_enqueue", None)  # the re-plans run here, not in the queue
            tenant = new_tenant(m365)
            company = wire_company(f"sw{uuid.uuid4().hex[:6]}", tenant)
            upn = tenant.mailbox("taro")
            google.control.create_user(upn)  # the same address in Google Workspace
            key = google.control.create_service_account(google.project_id, tenant.domain)
            staff(company, "taro", sync_start=T0 - timedelta(days=30))
            future = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
            for record in ("1", "2"):
                change(company, record, participants=("taro",), start=future, updated=future)
            run(company)
            assert len(tenant.events(upn)) == 2

            cs = CompanySettings.objects.get(company=company)
            cs.calendar_service = "google"
            cs.google_service_account_key = json.dumps(key)
            cs.save()
            loop.forget_services()
            with django_capture_on_commit_callbacks(execute=True):
                assert on_calendar_service_changed(company) == 1
            assert sorted(e["summary"] for e in google.events(upn)) == ["赤木電機/定期訪問"] * 2
            assert len(tenant.events(upn)) == 2  # the previous destination keeps its events
            assert {len(m.event_id) for m in MirrorEvent.objects.filter(company=company)} == {52}

            cs.calendar_service = "m365"
            cs.save()
            loop.forget_services()
            with django_capture_on_commit_callbacks(execute=True):
                on_calendar_service_changed(company)
            assert len(tenant.events(upn)) == 2  # found again, not doubled
            assert MirrorEvent.objects.filter(company=company).count() == 2
