"""The emulator plays every answer form public clients show: each variant knob changes the wire form."""

from __future__ import annotations

from sfacal.emulators.justsfa import EmulatorHandle, ScheduleSetup
from sfacal.emulators.justsfa.client import ControlError

from .conftest import Api, Receiver, schedule_record


def _one(emu: EmulatorHandle, setup: ScheduleSetup, **extra: object) -> int:
    rec = schedule_record(setup, "訪問", ["yamada", "suzuki"], **extra)  # type: ignore[arg-type]
    return int(emu.control.create_record("fsz2", setup.table_id, rec)["recordId"])


def test_array_selects_lookups_and_participant_order(
    emu: EmulatorHandle, setup: ScheduleSetup, api: Api
) -> None:
    rid = _one(emu, setup, **{setup.customer_field: "株式会社A"})
    emu.control.set_knobs(
        select_form="array", lookup_fields=[setup.customer_field], participant_form="name_id"
    )
    (item,) = api.get().json()
    rec = item["record"]
    assert rec[setup.status_field] == ["予定"]
    assert rec[setup.kind_field] == []  # an empty select is an empty array
    assert rec[setup.customer_field] == [str(rid), f"C-{rid:03d}", "", "株式会社A"]
    parts = rec[setup.schedule_field][f"{setup.schedule_field}_participants"]
    assert parts == [["山田 太郎", "yamada"], ["鈴木 花子", "suzuki"]]
    emu.control.set_knobs(participant_form="id")
    parts = api.get().json()[0]["record"][setup.schedule_field][f"{setup.schedule_field}_participants"]
    assert parts == [["yamada"], ["suzuki"]]


def test_list_forms_and_missing_item_record_id(emu: EmulatorHandle, setup: ScheduleSetup, api: Api) -> None:
    rid = _one(emu, setup)
    emu.control.set_knobs(list_form="wrapped")
    body = api.get().json()
    assert set(body) == {"records"} and body["records"][0]["recordId"] == rid
    emu.control.set_knobs(list_form="bare")
    (bare,) = api.get().json()
    assert bare["recordId"] == rid and bare[setup.title_field] == "訪問" and "record" not in bare
    emu.control.set_knobs(list_record_id=False)
    (bare,) = api.get().json()
    assert "recordId" not in bare
    emu.control.set_knobs(list_form="array")
    (item,) = api.get(path=f"{rid}").json()
    assert set(item) == {"record"}


def test_all_day_as_midnight(emu: EmulatorHandle, setup: ScheduleSetup, api: Api) -> None:
    _one(emu, setup)
    rec = schedule_record(setup, "休暇", ["yamada"], start="2025-12-30", end="2025-12-31")
    emu.control.create_record("fsz2", setup.table_id, rec)
    emu.control.set_knobs(all_day_form="midnight")
    periods = [i["record"][setup.schedule_field][f"{setup.schedule_field}_period"] for i in api.get().json()]
    assert ["2025-12-30T00:00+09:00", "2026-01-01T00:00+09:00"] in periods
    assert ["2025-12-30T10:00+09:00", "2025-12-30T11:00+09:00"] in periods  # timed: unchanged


def test_update_204_and_refused_forms(emu: EmulatorHandle, setup: ScheduleSetup, api: Api) -> None:
    rid = _one(emu, setup)
    emu.control.set_knobs(update_status=204)
    r = api.put([{"recordId": rid, "record": {setup.content_field: "x"}}])
    assert r.status_code == 204 and r.content == b""
    emu.control.set_knobs(update_status=200, update_forms=["recordKey"])
    r = api.put([{"recordId": rid, "record": {setup.content_field: "y"}}])
    assert r.status_code == 400 and r.json()["code"] == "UNSUPPORTED_UPDATE_FORM"
    key = api.get().json()[0]["record"][setup.key_field]
    r = api.put([{"recordKey": {setup.key_field: key}, "record": {setup.content_field: "y"}}])
    assert r.status_code == 200
    emu.control.set_knobs(update_forms=["recordId"])
    r = api.put([{"recordKey": {setup.key_field: key}, "record": {setup.content_field: "z"}}])
    assert r.status_code == 400 and r.json()["target"] == "recordKey"
    assert api.get().json()[0]["record"][setup.content_field] == "y"


def test_webhook_array_body_and_sample_test_send(
    emu: EmulatorHandle, setup: ScheduleSetup, receiver: Receiver
) -> None:
    hook = emu.control.add_webhook("fsz2", setup.table_id, receiver.url)
    emu.control.set_knobs(webhook_form="array_body", test_send_form="sample")
    rid = _one(emu, setup)
    emu.control.test_webhook("fsz2", setup.table_id, str(hook["webhookId"]))
    rows = emu.control.wait_deliveries(2)
    assert [r["type"] for r in rows] == ["ADD_RECORD", "ADD_RECORD"]
    assert [r["recordId"] for r in rows] == [rid, 0]
    add, test = receiver.bodies()
    assert isinstance(add, list) and add[0]["body"]["recordId"] == rid
    sample = test[0]["body"]["record"]
    assert sample[setup.schedule_field][f"{setup.schedule_field}_participants"] == [["sample", "サンプル"]]


def test_bad_variant_values_are_refused(emu: EmulatorHandle) -> None:
    for knobs in (
        {"select_form": "list"},
        {"update_status": 201},
        {"update_forms": ["key"]},
        {"list_record_id": 1},
    ):
        try:
            emu.control.set_knobs(**knobs)
        except ControlError as exc:
            assert exc.status == 400
        else:
            raise AssertionError(f"{knobs} accepted")
    assert emu.control.knobs()["select_form"] == "string"
