"""The engine against a real CalDAV server (Radicale over TLS), through the CalDAV connector.

The company's CalDAV connection is stored in the database (service account and home-path
pattern, password encrypted) and read by :func:`sfacal.engine.caldav_settings.build_caldav_service`,
which the engine uses as its calendar factory here.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from sfacal.core.schedule import ScheduleDeletion, SourceRef
from sfacal.directory.companies.models import CompanySettings
from sfacal.directory.companies.provisioning import ensure_company
from sfacal.directory.connections.models import CalDavConnection, EmployeeCalDavAccount
from sfacal.engine import calendar, inbox, loop, reconcile
from sfacal.engine.caldav_settings import build_caldav_service, caldav_settings
from sfacal.engine.models import MirrorEvent
from tests.calendars.radicale import SERVICE_PASSWORD, SERVICE_USER, Radicale, start_radicale
from tests.integration.test_engine_m365 import T0, change, run, staff

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def radicale(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Radicale]:
    with start_radicale(tmp_path_factory.mktemp("radicale-engine")) as server:
        yield server


@pytest.fixture
def caldav(radicale: Radicale, monkeypatch: pytest.MonkeyPatch) -> Iterator[Radicale]:
    monkeypatch.setenv("SFACAL_CA_BUNDLE", radicale.ca_bundle)
    calendar.set_service_factory(build_caldav_service)
    loop.forget_services()
    inbox.set_dispatcher(None)
    try:
        yield radicale
    finally:
        loop.forget_services()
        calendar.set_service_factory(None)


def wire(slug: str, server: Radicale, **fields: str) -> tuple[object, str]:
    company = ensure_company(slug, slug.upper())
    domain = f"{slug}-{uuid.uuid4().hex[:6]}.example.jp"
    CompanySettings.objects.filter(company=company).update(
        sync_enabled=True, write_to_calendar=True, domain=domain
    )
    CalDavConnection.objects.create(
        company=company,
        base_url=server.base_url,
        username=SERVICE_USER,
        password=SERVICE_PASSWORD,
        **fields,
    )
    return company, domain


def subjects(server: Radicale, mailbox: str) -> list[str]:
    return sorted(e["properties"]["subject"] for e in server.events(mailbox))


def test_s3_s5_s6_schedules_land_in_caldav_calendars_and_follow_changes(caldav: Radicale) -> None:
    company, domain = wire("cd1", caldav)
    taro = caldav.new_user(mailbox=f"taro@{domain}")
    hanako = caldav.new_user(mailbox=f"hanako@{domain}")
    staff(company, "taro")
    staff(company, "hanako")
    change(company)
    summary = run(company)
    assert (summary.succeeded, summary.failed) == (2, 0)
    assert subjects(caldav, taro) == subjects(caldav, hanako) == ["赤木電機/定期訪問"]
    row = MirrorEvent.objects.get(company=company, login_id="taro")
    assert row.state == "synced" and row.event_id.startswith("sfacal-") and row.change_key

    change(company, content="更新", updated=T0 + timedelta(minutes=1))
    assert run(company).succeeded == 2
    [(_, _, ev)] = caldav.resources(taro)
    assert str(ev.get("description")).strip() == "更新" and int(ev.get("sequence")) >= 1

    # The user edits the event in their calendar app (its ETag moves): in one-way mode
    # reconciliation restores the SFA version.
    row = MirrorEvent.objects.get(company=company, login_id="taro")
    caldav.user_update(taro, row.event_id, {"subject": "edited in the calendar app"})
    reconcile.reconcile_company(company.pk)
    assert subjects(caldav, taro) == ["赤木電機/定期訪問"]
    row = MirrorEvent.objects.get(company=company, login_id="taro")

    # The user deletes the event in their calendar app; reconciliation marks it lost (S9).
    caldav.user_delete(taro, row.event_id)
    reconcile.reconcile_company(company.pk)
    assert MirrorEvent.objects.get(company=company, login_id="taro").state == "lost"

    inbox.accept(
        company,
        ScheduleDeletion(SourceRef(company.slug, "push", "1"), T0 + timedelta(hours=1)),
        trigger="push",
    )
    run(company)
    assert caldav.events(taro) == [] and caldav.events(hanako) == []


def test_e3_named_calendar_and_an_employees_own_account(caldav: Radicale) -> None:
    company, domain = wire("cd2", caldav)
    taro = caldav.new_user(["SFA予定"], mailbox=f"taro@{domain}")
    emp = staff(company, "taro", calendar_name="SFA予定")
    # hanako's calendars are reached with her own account: her calendar home is found by discovery
    # (current-user-principal, calendar-home-set) from the server's root URL.
    hanako = caldav.new_user(mailbox=f"hanako@{domain}")
    caldav.add_login(hanako, "hanako-Pa55")
    hanako_emp = staff(company, "hanako")
    EmployeeCalDavAccount.objects.create(
        company=company, employee=hanako_emp, url=caldav.base_url, username=hanako, password="hanako-Pa55"
    )
    settings = caldav_settings(CompanySettings.objects.get(company=company))
    assert settings.accounts[hanako].discover and "hanako-Pa55" not in repr(settings)
    change(company)
    assert run(company).succeeded == 2
    [(cal, _, _)] = caldav.resources(taro)
    assert cal == caldav.calendars(taro)["SFA予定"]
    assert subjects(caldav, hanako) == ["赤木電機/定期訪問"]
    assert emp.pk


def test_the_password_is_encrypted_at_rest(caldav: Radicale) -> None:
    from django.db import connection

    company, _ = wire("cd3", caldav)
    with connection.cursor() as cur:
        cur.execute("SELECT password FROM connections_caldavconnection WHERE company_id = %s", [company.pk])
        (stored,) = cur.fetchone()
    assert stored.startswith("fernet:") and SERVICE_PASSWORD not in stored


def test_l2_a_company_without_a_caldav_server_gets_a_log_line_that_says_so(caldav: Radicale) -> None:
    from sfacal.engine.models import SyncLogEntry

    company = ensure_company("cd4", "CD4")
    CompanySettings.objects.filter(company=company).update(
        sync_enabled=True, write_to_calendar=True, domain="cd4.example.jp"
    )
    staff(company, "taro")
    change(company, participants=("taro",))
    summary = run(company)
    assert (summary.succeeded, summary.failed) == (0, 1)
    assert SyncLogEntry.objects.filter(company=company, error_code="caldav_not_configured").exists()


def test_t1_an_edit_in_the_calendar_app_is_found_by_sync_collection_and_written_back(
    caldav: Radicale,
) -> None:
    """Two-way: the CalDAV connector's change reads (sync-collection) find the user's edit; it is
    written back to the SFA through the source and stored, and nothing bounces back."""
    from sfacal.engine import passes, twoway
    from sfacal.engine.models import StoredSchedule
    from tests.engine.test_twoway import RecordingSource

    company, domain = wire("cd5", caldav)
    CompanySettings.objects.filter(company=company).update(direction="two_way")
    taro = caldav.new_user(mailbox=f"taro@{domain}")
    staff(company, "taro")
    source = RecordingSource()
    twoway.set_source_factory(lambda company, name: source)
    try:
        change(company, participants=("taro",))
        assert run(company).succeeded == 1
        assert twoway.poll_calendar_changes(company.pk).changed == 0  # the first read sets the cursor
        row = MirrorEvent.objects.get(company=company, login_id="taro")
        caldav.user_update(taro, row.event_id, {"subject": "赤木電機 見積提出"})
        report = twoway.poll_calendar_changes(company.pk)
        assert report.written_back == 1, report
        [(_, edit)] = source.calls
        assert edit.subject == "赤木電機 見積提出"
        stored = StoredSchedule.objects.get(company=company, record_id="1")
        assert stored.payload["title"] == "赤木電機 見積提出"
        passes.process_inbox(company.pk)
        assert twoway.poll_calendar_changes(company.pk).written_back == 0 and len(source.calls) == 1
    finally:
        twoway.set_source_factory(None)


def test_t1_two_way_an_edit_in_a_caldav_calendar_is_written_back_to_justsfa(
    caldav: Radicale, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two-way with the real JUST.SFA source: a record read by the connection's poll lands in the
    CalDAV calendar; the user's edit (sync-collection) is written to the JUST.SFA record over
    HTTPS, and the next read finds nothing to write back."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from sfacal.directory.connections.models import SourceConnection
    from sfacal.directory.employees.models import Employee
    from sfacal.emulators.justsfa import running_emulator as running_justsfa
    from sfacal.engine import passes, twoway
    from sfacal.sources.justsfa import JustSfaSettings, poll_connection

    jst = ZoneInfo("Asia/Tokyo")
    with running_justsfa(tmp_path / "justsfa") as justsfa:
        bundle = tmp_path / "ca-bundle.pem"
        bundle.write_text(Path(caldav.ca_bundle).read_text() + justsfa.ca_pem.read_text())
        monkeypatch.setenv("SFACAL_CA_BUNDLE", str(bundle))
        company, domain = wire("cd6", caldav)
        CompanySettings.objects.filter(company=company).update(direction="two_way", calendar_service="caldav")
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
        }
        connection = SourceConnection.objects.create(
            company=company, kind="justsfa", name="default", config=config, api_key=s.api_key
        )
        # Seeded as if the write-back test had passed (tests/sources/justsfa/test_writeback.py).
        proof = {
            "ok": True,
            "fingerprint": JustSfaSettings.from_connection(connection).writeback_fingerprint(),
        }
        connection.config = {**config, "writeback_test": proof}
        connection.save(update_fields=["config"])
        mailbox = caldav.new_user(mailbox=f"yamada@{domain}")
        Employee.objects.create(
            company=company,
            login_id="yamada",
            state="on",
            user_id_mode="login_at_domain",
            sync_start=datetime.now(jst) - timedelta(days=1),
        )
        day = (datetime.now(jst) + timedelta(days=3)).date()
        start = datetime(day.year, day.month, day.day, 10, tzinfo=jst)
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
        rid = int(
            justsfa.control.create_record(s.tenant, s.table_id, record, fire_webhooks=False)["recordId"]
        )
        assert poll_connection(connection).error is None
        passes.process_inbox(company.pk)
        assert subjects(caldav, mailbox) == ["A社 定例"]
        assert twoway.poll_calendar_changes(company.pk).written_back == 0  # the first read sets the cursor
        row = MirrorEvent.objects.get(company=company, login_id="yamada")
        caldav.user_update(mailbox, row.event_id, {"subject": "A社 定例（延長）"})
        report = twoway.poll_calendar_changes(company.pk)
        assert (report.written_back, report.conflicts, report.failed) == (1, 0, 0)
        stored = justsfa.control.record(s.tenant, s.table_id, rid)["record"]
        assert stored[s.title_field] == "A社 定例（延長）" and stored[s.location_field] == "大阪市北区"
        passes.process_inbox(company.pk)
        again = twoway.poll_calendar_changes(company.pk)
        assert again.written_back == 0  # nothing bounces back
        assert subjects(caldav, mailbox) == ["A社 定例（延長）"]
