"""J1/J2/S10: every answer form public JUST.SFA clients show is read to the same schedules.

The emulator plays each variant (its variant knobs); the product, configured with the matching
field-element settings where one is needed, must store exactly what it stores for the plain
form -- by the poll (records API) and by the webhook.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from sfacal.directory.companies.provisioning import ensure_company
from sfacal.directory.connections.models import SourceConnection
from sfacal.emulators.justsfa import EmulatorHandle, ScheduleSetup
from sfacal.engine.models import StoredSchedule
from sfacal.sources.justsfa import JustSfaSettings, poll_connection

from .conftest import TENANT, ClientFactory, config_for, schedule_record

pytestmark = pytest.mark.django_db

COMPARED = (
    "kind",
    "status",
    "all_day",
    "start",
    "end",
    "participants",
    "purpose",
    "business_name",
    "customer_name",
    "customer_address",
    "title",
    "content",
)


def variants(setup: ScheduleSetup) -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    """name -> (emulator knobs, product settings that read it)."""
    return {
        "plain": ({}, {}),
        "array selects": ({"select_form": "array"}, {}),
        "lookup arrays": ({"lookup_fields": [setup.customer_field, setup.address_field]}, {}),
        "participants [name, id]": ({"participant_form": "name_id"}, {"participant_element": "2"}),
        "participants [id]": ({"participant_form": "id"}, {}),
        "wrapped list": ({"list_form": "wrapped"}, {}),
        "bare list": ({"list_form": "bare"}, {}),
        "no item recordId": ({"list_record_id": False}, {"record_id_field": setup.key_field}),
        "bare, no recordId": (
            {"list_form": "bare", "list_record_id": False},
            {"record_id_field": setup.key_field},
        ),
        "midnight all-day": ({"all_day_form": "midnight"}, {}),
        "array webhook body": ({"webhook_form": "array_body"}, {}),
        "everything at once": (
            {
                "select_form": "array",
                "lookup_fields": [setup.customer_field],
                "participant_form": "name_id",
                "list_form": "wrapped",
                "all_day_form": "midnight",
                "webhook_form": "array_body",
            },
            {"participant_element": "2"},
        ),
    }


def _records(setup: ScheduleSetup) -> list[dict[str, Any]]:
    return [
        schedule_record(
            setup,
            "赤木電機 訪問",
            ["yamada", "suzuki"],
            **{
                setup.purpose_field: "新規開拓",
                setup.kind_field: "商談",
                setup.customer_field: "株式会社A",
                setup.address_field: "東京都千代田区1-1",
                setup.content_field: "見積の説明",
            },
        ),
        schedule_record(
            setup,
            "休暇",
            ["tanaka"],
            start="2025-12-30",
            end="2025-12-31",
            **{setup.kind_field: "業務", setup.business_field: "その他", setup.status_field: "実績"},
        ),
    ]


def _stored(conn: SourceConnection) -> list[dict[str, Any]]:
    """The stored schedules' compared values, by title (record IDs differ between setups)."""
    rows = StoredSchedule.objects.filter(company=conn.company)
    return sorted(({k: r.payload.get(k) for k in COMPARED} for r in rows), key=lambda p: p["title"])


def _connection(emu: EmulatorHandle, setup: ScheduleSetup, **config: Any) -> SourceConnection:
    company = ensure_company("acme", "ACME")
    SourceConnection.objects.filter(company=company).delete()
    StoredSchedule.objects.filter(company=company).delete()
    return SourceConnection.objects.create(
        company=company, kind="justsfa", config=config_for(emu, setup, **config), api_key=setup.api_key
    )


def _expected(emu: EmulatorHandle, setup: ScheduleSetup, make_client: ClientFactory) -> dict[str, Any]:
    conn = _connection(emu, setup)
    assert poll_connection(conn, client=make_client(JustSfaSettings.from_connection(conn))).accepted == 2
    return _stored(conn)


def test_j2_s10_every_variant_is_polled_to_the_same_schedules(emu, setup, make_client):
    for rec in _records(setup):
        emu.control.create_record(TENANT, setup.table_id, rec, fire_webhooks=False)
    expected = _expected(emu, setup, make_client)
    holiday, visit = expected
    assert visit["customer_name"] == "株式会社A" and visit["purpose"] == "新規開拓"
    assert visit["customer_address"] == "東京都千代田区1-1" and visit["status"] == "予定"
    assert visit["participants"] == ["yamada", "suzuki"] and visit["kind"] == "商談"
    assert holiday["all_day"] is True and holiday["status"] == "実績" and holiday["business_name"] == "その他"
    for name in variants(setup):
        emu.control.reset()
        setup = emu.control.setup_schedule(TENANT)
        knobs, config = variants(setup)[name]
        for rec in _records(setup):
            emu.control.create_record(TENANT, setup.table_id, rec, fire_webhooks=False)
        emu.control.set_knobs(**knobs)
        conn = _connection(emu, setup, **config)
        result = poll_connection(conn, client=make_client(JustSfaSettings.from_connection(conn)))
        assert result.error is None and result.invalid == 0, name
        assert _stored(conn) == expected, name


def test_j2_every_variant_is_received_by_webhook_to_the_same_schedules(emu, setup, make_client):
    for rec in _records(setup):
        emu.control.create_record(TENANT, setup.table_id, rec, fire_webhooks=False)
    expected = _expected(emu, setup, make_client)
    client = Client()
    for name in variants(setup):
        emu.control.reset()
        setup = emu.control.setup_schedule(TENANT)
        knobs, config = variants(setup)[name]
        emu.control.set_knobs(max_attempts=1, **knobs)
        conn = _connection(emu, setup, **config)
        # The emulator's delivery bodies (sent to a closed port; the body is in its log).
        emu.control.add_webhook(TENANT, setup.table_id, "http://127.0.0.1:9/hook")
        for rec in _records(setup):
            emu.control.create_record(TENANT, setup.table_id, rec)
        rows = emu.control.wait_deliveries(2, tenant=TENANT)
        for row in rows:
            response = client.post(
                f"/hooks/justsfa/{conn.webhook_token}",
                data=json.dumps(row["body"]),
                content_type="application/json",
            )
            assert response.status_code == 200 and response.json()["outcome"] == "accepted", (
                name,
                response.content,
            )
        assert _stored(conn) == expected, name


def test_j1_a_wrong_element_choice_reads_wrong_values_which_the_settings_fix(emu, setup, make_client):
    """The matrix above is not vacuous: without the matching setting the values come out wrong."""
    rid = emu.control.create_record(TENANT, setup.table_id, _records(setup)[0], fire_webhooks=False)[
        "recordId"
    ]
    emu.control.set_knobs(participant_form="name_id", lookup_fields=[setup.customer_field])
    conn = _connection(emu, setup, customer_element="join")
    poll_connection(conn, client=make_client(JustSfaSettings.from_connection(conn)))
    (wrong,) = _stored(conn)
    assert wrong["participants"] == ["山田 太郎", "鈴木 花子"]
    assert wrong["customer_name"] == f"{rid}, C-{rid:03d}, 株式会社A"
    conn = _connection(emu, setup, participant_element="2", customer_element="4")
    poll_connection(conn, client=make_client(JustSfaSettings.from_connection(conn)))
    (right,) = _stored(conn)
    assert right["participants"] == ["yamada", "suzuki"] and right["customer_name"] == "株式会社A"


def test_s11_records_listed_without_an_id_are_never_taken_for_deleted(emu, setup, make_client):
    """A tenant whose list items carry no recordId, before the record-ID field is set: the poll
    skips them and says what to set, and deletes nothing although it "sees" none of them."""
    emu.control.create_record(TENANT, setup.table_id, _records(setup)[0], fire_webhooks=False)
    conn = _connection(emu, setup)
    poll_connection(conn, client=make_client(JustSfaSettings.from_connection(conn)))
    assert len(_stored(conn)) == 1
    emu.control.set_knobs(list_record_id=False)
    for _ in range(3):
        conn.refresh_from_db()
        result = poll_connection(conn, client=make_client(JustSfaSettings.from_connection(conn)))
        assert result.complete and result.unidentified == 1 and result.deleted == 0
    assert not StoredSchedule.objects.get(company=conn.company).deleted
    from sfacal.engine.models import SyncLogEntry

    line = SyncLogEntry.objects.filter(company=conn.company, operation="detect_deletions").last()
    assert line is not None and "record-ID field" in line.message
