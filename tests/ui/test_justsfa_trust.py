"""J1/T1 on the JUST.SFA screen against the real emulator over TLS: "save and test" shows the
first records as read (participants resolved to employees, purpose matched to the masters), the
write-back test reports what JUST.SFA answered, two-way waits for it, and the record-ID field is
not changed under stored schedules."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse

from sfacal.directory.companies.models import CompanySettings, Purpose
from sfacal.directory.connections.models import SourceConnection, SourceKind
from sfacal.directory.employees.models import Employee
from sfacal.emulators import justsfa as justsfa_emulator
from sfacal.engine.models import StoredSchedule

pytestmark = pytest.mark.django_db


@pytest.fixture
def emu(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    with justsfa_emulator.running_emulator(tmp_path / "emu") as handle:
        monkeypatch.setenv("SFACAL_CA_BUNDLE", str(handle.ca_pem))
        yield handle


def form_data(emu: Any, setup: Any, **changes: str) -> dict[str, str]:
    data = {
        "enabled": "on",
        "tenant": "fsz2",
        "base_url": emu.tenant_url("fsz2"),
        "api_key": setup.api_key,
        "table": setup.table_id,
        "panel": setup.panel_id,
        "filter": setup.filter_id,
        "schedule_field": setup.schedule_field,
        "title_field": setup.title_field,
        "location_field": setup.location_field,
        "content_field": setup.content_field,
        "status_field": setup.status_field,
        "purpose_field": setup.purpose_field,
        "customer_field": setup.customer_field,
        "key_field": setup.key_field,
        "requests_per_minute": "50",
        "requests_per_day": "15000",
        "participant_element": "1",
        "writeback_form": "recordId",
        "midnight_all_day": "on",
        "action": "test",
    }
    data.update(changes)
    return data


def record(setup: Any, users: list[str], purpose: str, customer: str) -> dict[str, Any]:
    return {
        setup.title_field: f"{customer} 訪問",
        setup.content_field: "メモ",
        setup.schedule_field: setup.schedule_value("2025-12-30T10:00+09:00", "2025-12-30T11:00+09:00", users),
        setup.status_field: "予定",
        setup.purpose_field: purpose,
        setup.customer_field: customer,
    }


def test_j1_save_and_test_shows_the_first_records_as_read(admin_client, company, emu):
    setup = emu.control.setup_schedule("fsz2")
    emu.control.create_record(
        "fsz2", setup.table_id, record(setup, ["yamada", "suzuki"], "新規開拓", "株式会社A")
    )
    Employee.objects.create(company=company, login_id="yamada", name="山田 太郎", user_id="y@acme.example")
    Purpose.objects.filter(company=company).delete()
    Purpose.objects.create(company=company, name="定期訪問")
    emu.control.set_knobs(
        participant_form="name_id", lookup_fields=[setup.customer_field], select_form="array"
    )
    response = admin_client.post(reverse("justsfa"), form_data(emu, setup), HTTP_HX_REQUEST="true")
    page = response.content.decode()
    assert 'id="justsfa-preview"' in page, page[page.find("justsfa-test-result") - 200 :][:1500]
    # Wrong element for this tenant: the names are read as user IDs, all unknown.
    preview = page[page.index('id="justsfa-preview"') :]
    preview = preview[: preview.index("</table>")]
    assert preview.count("不明") == 2 and 'class="mono muted">yamada' not in preview
    assert "新規開拓" in preview and "マスタにありません" in preview  # purpose read, not in masters
    assert "株式会社A" in preview and "C-001" not in preview  # the lookup's last element
    response = admin_client.post(
        reverse("justsfa"), form_data(emu, setup, participant_element="2"), HTTP_HX_REQUEST="true"
    )
    preview = response.content.decode()
    preview = preview[preview.index('id="justsfa-preview"') :]
    preview = preview[: preview.index("</table>")]
    assert '山田 太郎 <span class="mono muted">yamada' in preview and preview.count("不明") == 1  # suzuki
    assert "<td>予定</td>" in preview


def test_t1_write_back_test_then_two_way(admin_client, company, emu):
    setup = emu.control.setup_schedule("fsz2")
    rid = emu.control.create_record("fsz2", setup.table_id, record(setup, ["yamada"], "定期訪問", "A社"))[
        "recordId"
    ]
    assert admin_client.post(reverse("justsfa"), form_data(emu, setup, action="save")).status_code == 302
    source = SourceConnection.objects.get(company=company, kind=SourceKind.JUSTSFA)
    settings_form = admin_client.get(reverse("company_settings")).context["form"]
    data = {k: v for k, v in settings_form.initial.items() if v is not None}
    data.update(direction="two_way", action="save")
    refused = admin_client.post(reverse("company_settings"), data)
    assert "書き戻しテスト" in refused.content.decode()
    assert CompanySettings.objects.get(company=company).direction == "one_way"

    emu.control.set_knobs(update_forms=["recordKey"])
    admin_client.post(reverse("justsfa_writeback_test"), {"record": str(rid)})
    source.refresh_from_db()
    last = source.config["writeback_test"]
    assert last["ok"] is False and "UNSUPPORTED_UPDATE_FORM" in last["steps"][1]["answer"]
    page = admin_client.get(reverse("justsfa")).content.decode()
    assert 'id="writeback-steps"' in page and "UNSUPPORTED_UPDATE_FORM" in page and "未確認" in page

    emu.control.set_knobs(update_forms=["recordId", "recordKey"], update_status=204)
    admin_client.post(reverse("justsfa_writeback_test"), {"record": str(rid)})
    source.refresh_from_db()
    assert source.config["writeback_test"]["ok"] is True
    assert emu.control.record("fsz2", setup.table_id, rid)["record"][setup.content_field] == "メモ"
    assert "確認済み" in admin_client.get(reverse("justsfa")).content.decode()
    admin_client.post(reverse("company_settings"), data)
    assert CompanySettings.objects.get(company=company).direction == "two_way"
    assert admin_client.post(reverse("justsfa_writeback_test"), {"record": ""}).status_code == 302


def test_j1_the_record_id_field_is_not_changed_under_stored_schedules(admin_client, company, emu):
    setup = emu.control.setup_schedule("fsz2")
    assert admin_client.post(reverse("justsfa"), form_data(emu, setup, action="save")).status_code == 302
    StoredSchedule.objects.create(company=company, source="justsfa", record_id="1", payload={})
    response = admin_client.post(
        reverse("justsfa"), form_data(emu, setup, action="save", record_id_field=setup.key_field)
    )
    assert response.status_code == 200 and "二重に保存" in response.content.decode()
    source = SourceConnection.objects.get(company=company, kind=SourceKind.JUSTSFA)
    assert "record_id_field" not in source.config
