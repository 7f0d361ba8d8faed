"""J1 against the JUST.SFA emulator over TLS, through the screen and the periodic poll: a mistyped
API key is refused before it replaces the working one, polling keeps running on the stored key,
and only "save without testing" stores it -- which the next poll then uses."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from sfacal.directory.companies.models import AuditEntry, Membership, Role
from sfacal.directory.companies.provisioning import ensure_company
from sfacal.directory.connections.models import SourceConnection, SourceKind
from sfacal.emulators.justsfa import EmulatorHandle, ScheduleSetup, running_emulator
from sfacal.sources.justsfa import poll_connection
from sfacal.web.companies.tested_first import AUDIT_FIELD

pytestmark = pytest.mark.django_db

TENANT = "j1keys"
WRONG_KEY = "mistypedKey000000000000000000001"


@pytest.fixture
def justsfa(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[EmulatorHandle]:
    with running_emulator(tmp_path / "justsfa") as handle:
        monkeypatch.setenv("SFACAL_CA_BUNDLE", str(handle.ca_pem))
        yield handle


def form(emu: EmulatorHandle, s: ScheduleSetup, **values: str) -> dict[str, str]:
    return {
        "enabled": "on",
        "tenant": s.tenant,
        "base_url": emu.tenant_url(s.tenant),
        "api_key": "",
        "table": s.table_id,
        "panel": s.panel_id,
        "schedule_field": s.schedule_field,
        "title_field": s.title_field,
        "location_field": s.location_field,
        "content_field": s.content_field,
        "filter": s.filter_id,
        "requests_per_minute": "600",
        "requests_per_day": "15000",
        "action": "save",
        **values,
    }


def add_record(emu: EmulatorHandle, s: ScheduleSetup, title: str) -> None:
    record: dict[str, Any] = {
        s.title_field: title,
        s.schedule_field: s.schedule_value("2025-12-30T10:00+09:00", "2025-12-30T11:00+09:00", ["yamada"]),
    }
    emu.control.create_record(TENANT, s.table_id, record, fire_webhooks=False)


def test_j1_wrong_api_key_is_refused_polling_keeps_the_working_one_until_saved_anyway(justsfa):
    setup = justsfa.control.setup_schedule(TENANT)
    company = ensure_company("j1tls", "J1 TLS")
    admin = get_user_model().objects.create_user("j1admin")
    Membership.objects.create(user=admin, company=company, role=Role.COMPANY_ADMIN)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(admin)

    # The working key, saved and tested against the emulated tenant.
    first = client.post(reverse("justsfa"), form(justsfa, setup, api_key=setup.api_key, action="test"))
    assert first.status_code == 200 and first.context["result"].ok, first.context["result"]
    source = SourceConnection.objects.get(company=company, kind=SourceKind.JUSTSFA)
    add_record(justsfa, setup, "訪問1")
    assert poll_connection(source).accepted == 1

    # A mistyped key: refused by the records API, nothing stored, polling unaffected.
    refused = client.post(reverse("justsfa"), form(justsfa, setup, api_key=WRONG_KEY, action="test"))
    assert refused.status_code == 200 and refused.context["refused"]
    assert refused.context["result"].code == "source_auth_failed"
    assert "The new connection settings were not saved" in refused.content.decode()
    source.refresh_from_db()
    assert source.api_key == setup.api_key and source.last_test_ok is True
    add_record(justsfa, setup, "訪問2")
    polled = poll_connection(source)
    assert polled.error is None and polled.accepted == 1

    # "Save without testing" stores the held key (audited); the next poll uses it and is refused.
    saved = client.post(
        reverse("justsfa"),
        form(justsfa, setup, held=refused.context["held_token"], action="save_untested"),
    )
    assert saved.status_code == 302
    source.refresh_from_db()
    assert source.api_key == WRONG_KEY
    assert AuditEntry.objects.for_company(company).get(field=AUDIT_FIELD).new_value == "api_key"
    failed = poll_connection(source)
    assert failed.error is not None and failed.error.code == "source_auth_failed"
