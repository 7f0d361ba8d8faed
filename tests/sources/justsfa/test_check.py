"""J1 "Save and test": against the emulator, the check proves the key and every identifier and
names exactly the one that is wrong."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from sfacal.core.errors import (
    InputError,
    NetworkError,
    SourceAuthError,
    SourceIdentifierError,
    SourceTenantNotFoundError,
)
from sfacal.emulators.justsfa import EmulatorHandle, ScheduleSetup
from sfacal.sources.justsfa import JustSfaSettings, check_connection, check_saved_connection

from .conftest import TENANT, ClientFactory, config_for, schedule_record


def run(
    emu: EmulatorHandle,
    setup: ScheduleSetup,
    make_client: ClientFactory,
    key: str | None = None,
    **changes: Any,
):
    settings = JustSfaSettings.from_config(config_for(emu, setup, **changes), key or setup.api_key)
    return check_connection(settings, client=make_client(settings))


def with_record(emu: EmulatorHandle, setup: ScheduleSetup) -> None:
    emu.control.create_record(
        TENANT, setup.table_id, schedule_record(setup, "訪問", ["yamada"]), fire_webhooks=False
    )


def test_j1_correct_settings_pass_and_every_identifier_is_verified(emu, setup, make_client):
    with_record(emu, setup)
    result = run(emu, setup, make_client)
    assert result.ok, result.to_dict()
    verified = result.details["verified"]
    assert set(verified) >= {
        "tenant",
        "api_key",
        "table",
        "panel",
        "filter",
        "schedule_field",
        "title_field",
        "location_field",
        "content_field",
        "status_field",
        "purpose_field",
    }
    assert set(verified.values()) == {"ok"}
    assert "JUST.SFA" in result.message("ja") and "JUST.SFA" in result.message("en")


def test_j1_empty_table_fields_are_probed(emu, setup, make_client):
    result = run(emu, setup, make_client)
    assert result.ok, result.to_dict()
    assert result.details["records_seen"] == 0
    assert result.details["verified"]["title_field"] == "ok"
    assert result.details["verified"]["schedule_field"] == "ok"


@pytest.mark.parametrize("with_records", [True, False])
@pytest.mark.parametrize(
    "setting", ["schedule_field", "title_field", "location_field", "content_field", "status_field"]
)
def test_j1_wrong_field_is_named(emu, setup, make_client, setting: str, with_records: bool):
    if with_records:
        with_record(emu, setup)
    result = run(emu, setup, make_client, **{setting: "field_9999999999"})
    assert not result.ok
    assert isinstance(result.error, SourceIdentifierError)
    assert result.error.params["setting"] == setting
    assert result.error.params["identifier"] == "field_9999999999"
    assert len(result.problems) == 1
    assert "field_9999999999" in result.message("ja") and "field_9999999999" in result.message("en")
    assert result.hint("ja") and result.hint("en")


def test_j1_two_wrong_fields_are_both_listed(emu, setup, make_client):
    with_record(emu, setup)
    result = run(emu, setup, make_client, title_field="field_1", content_field="field_2")
    assert [p.params["setting"] for p in result.problems] == ["title_field", "content_field"]


@pytest.mark.parametrize(
    ("setting", "value"), [("table", "table_1"), ("panel", "panel_1"), ("filter", "filter_1")]
)
def test_j1_wrong_table_panel_filter_is_named(emu, setup, make_client, setting: str, value: str):
    result = run(emu, setup, make_client, **{setting: value})
    assert isinstance(result.error, SourceIdentifierError)
    assert result.error.params["setting"] == setting and result.error.params["identifier"] == value
    assert result.to_dict("en")["code"] == "source_identifier_invalid"


def test_j1_wrong_api_key(emu, setup, make_client):
    result = run(emu, setup, make_client, key="not-the-right-key-000")
    assert isinstance(result.error, SourceAuthError)
    assert "not-the-right-key-000" not in str(result.to_dict())


def test_j1_key_without_access_to_the_table(emu, setup, make_client):
    other = emu.control.create_table(TENANT, "別テーブル", [{"name": "x", "type": "text"}])
    key = emu.control.create_api_key(TENANT, [other["tableId"]])["key"]
    result = run(emu, setup, make_client, key=key)
    assert isinstance(result.error, SourceAuthError) and result.error.http_status == 403


def test_j1_disabled_key(emu, setup, make_client):
    emu.control.update_api_key(TENANT, setup.api_key, enabled=False)
    assert isinstance(run(emu, setup, make_client).error, SourceAuthError)


def test_j1_unknown_tenant(emu, setup, make_client):
    result = run(emu, setup, make_client, base_url=emu.tenant_url("nosuchtenant"))
    assert isinstance(result.error, SourceTenantNotFoundError)


def test_j1_field_missing_from_the_panel(emu, setup, make_client):
    with_record(emu, setup)
    fields = [
        f["fieldId"]
        for f in emu.control.table(TENANT, setup.table_id)["fields"]
        if f["fieldId"] != setup.content_field
    ]
    panel = emu.control.add_panel(TENANT, setup.table_id, "狭いパネル", fields)["panelId"]
    result = run(emu, setup, make_client, panel=panel)
    assert isinstance(result.error, SourceIdentifierError)
    assert result.error.params["setting"] == "content_field"
    assert result.details["verified"]["content_field"] == "not_in_panel"


def test_j1_unreachable_server_is_a_network_error(emu, setup, make_client):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = run(emu, setup, make_client, base_url=f"https://127.0.0.1:{port}/_tenant/{TENANT}")
    assert isinstance(result.error, NetworkError)


@pytest.mark.django_db
def test_j1_saved_connection_records_the_outcome(emu, setup, make_client):
    from sfacal.directory.companies.provisioning import ensure_company
    from sfacal.directory.connections.models import SourceConnection

    company = ensure_company("acme", "ACME")
    conn = SourceConnection.objects.create(
        company=company, kind="justsfa", config=config_for(emu, setup), api_key=setup.api_key
    )
    settings = JustSfaSettings.from_connection(conn)
    result = check_saved_connection(conn, client=make_client(settings))
    conn.refresh_from_db()
    assert result.ok and conn.last_test_ok is True and conn.last_test_code == "ok"

    conn.config = {**conn.config, "panel": "パネル"}
    conn.save()
    result = check_saved_connection(conn)
    conn.refresh_from_db()
    assert isinstance(result.error, InputError) and result.error.field == "panel"
    assert conn.last_test_ok is False and conn.last_test_code == "input_invalid"
