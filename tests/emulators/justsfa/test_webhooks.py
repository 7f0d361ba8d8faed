"""Webhooks (J2): delivery on create/update/delete with configured headers, test send, retries, TLS."""

from __future__ import annotations

import threading
from pathlib import Path

import trustme

from sfacal.emulators.justsfa import EmulatorHandle, ScheduleSetup

from .conftest import Api, Receiver, schedule_record, tls_receiver

SECRET = {"X-Sfacal-Secret": "s3cr3t-value"}


def _hook(emu: EmulatorHandle, setup: ScheduleSetup, receiver: Receiver, **kw: object) -> str:
    hook = emu.control.add_webhook("fsz2", setup.table_id, receiver.url, headers=SECRET, **kw)  # type: ignore[arg-type]
    return str(hook["webhookId"])


def test_j2_ui_create_update_delete_are_delivered_with_headers(
    emu: EmulatorHandle, setup: ScheduleSetup, receiver: Receiver
) -> None:
    _hook(emu, setup, receiver)
    c = emu.control
    created = c.create_record("fsz2", setup.table_id, schedule_record(setup, "訪問", ["yamada", "suzuki"]))
    rid = created["recordId"]
    assert len(created["deliveries"]) == 1
    c.update_record("fsz2", setup.table_id, rid, {setup.location_field: "東京都千代田区"})
    c.delete_record("fsz2", setup.table_id, rid)
    rows = c.wait_deliveries(3)
    assert [r["state"] for r in rows] == ["delivered"] * 3
    bodies = receiver.bodies()
    assert [b["type"] for b in bodies] == ["ADD_RECORD", "UPDATE_RECORD", "DELETE_RECORD"]
    assert all(b["recordId"] == rid for b in bodies)
    add = bodies[0]["record"]
    assert add[setup.title_field] == "訪問"
    sched = add[setup.schedule_field]
    assert sched[f"{setup.schedule_field}_participants"] == [["yamada", "山田 太郎"], ["suzuki", "鈴木 花子"]]
    assert set(add) == {
        f["fieldId"] for f in c.table("fsz2", setup.table_id)["fields"]
    }  # all fields by default
    assert bodies[1]["record"][setup.location_field] == "東京都千代田区"
    assert bodies[2]["record"][setup.title_field] == "訪問"  # the deleted record's last values
    for r in receiver.received:
        assert r.headers["x-sfacal-secret"] == "s3cr3t-value"
        assert r.headers["content-type"].startswith("application/json")
        assert r.path == "/webhook/abc"


def test_j2_api_writes_fire_webhooks_too(
    emu: EmulatorHandle, api: Api, setup: ScheduleSetup, receiver: Receiver
) -> None:
    _hook(emu, setup, receiver)
    (rid,) = api.post([schedule_record(setup, "a", ["yamada"])]).json()["recordIds"]
    api.put([{"recordKey": {setup.key_field: "1"}, "record": {setup.title_field: "b"}}])
    api.delete([{"recordId": rid}])
    emu.control.wait_deliveries(3)
    assert [(b["type"], b["recordId"]) for b in receiver.bodies()] == [
        ("ADD_RECORD", rid),
        ("UPDATE_RECORD", rid),
        ("DELETE_RECORD", rid),
    ]
    emu.control.set_knobs(api_writes_fire_webhooks=False)
    api.post([schedule_record(setup, "quiet", ["yamada"])])
    emu.wait_webhooks_idle()
    assert len(receiver.bodies()) == 3


def test_j2_selected_fields_and_events(emu: EmulatorHandle, setup: ScheduleSetup, receiver: Receiver) -> None:
    _hook(emu, setup, receiver, fields=[setup.title_field, setup.schedule_field], events=["add", "delete"])
    c = emu.control
    rid = c.create_record("fsz2", setup.table_id, schedule_record(setup, "x", ["yamada"]))["recordId"]
    c.update_record("fsz2", setup.table_id, rid, {setup.title_field: "y"})  # not subscribed
    c.delete_record("fsz2", setup.table_id, rid)
    c.wait_deliveries(2)
    bodies = receiver.bodies()
    assert [b["type"] for b in bodies] == ["ADD_RECORD", "DELETE_RECORD"]
    assert set(bodies[0]["record"]) == {setup.title_field, setup.schedule_field}


def test_j2_suppressed_ui_change_sends_nothing(
    emu: EmulatorHandle, setup: ScheduleSetup, receiver: Receiver
) -> None:
    _hook(emu, setup, receiver)
    created = emu.control.create_record(
        "fsz2", setup.table_id, schedule_record(setup, "x", ["yamada"]), fire_webhooks=False
    )
    assert created["deliveries"] == []
    emu.wait_webhooks_idle()
    assert receiver.bodies() == [] and emu.control.deliveries() == []


def test_j2_test_send(emu: EmulatorHandle, setup: ScheduleSetup, receiver: Receiver) -> None:
    wid = _hook(emu, setup, receiver)
    did = emu.control.test_webhook("fsz2", setup.table_id, wid)
    (row,) = emu.control.wait_deliveries(1)
    assert row["deliveryId"] == did and row["state"] == "delivered"
    assert receiver.bodies() == [{"type": "TEST", "recordId": 0, "record": {}}]
    assert receiver.received[0].headers["x-sfacal-secret"] == "s3cr3t-value"


def test_webhook_retries_after_receiver_failures(
    emu: EmulatorHandle, setup: ScheduleSetup, receiver: Receiver
) -> None:
    emu.control.set_knobs(retry_delays=[0.05, 0.05], max_attempts=3)
    _hook(emu, setup, receiver)
    receiver.statuses = [500, 503]
    emu.control.create_record("fsz2", setup.table_id, schedule_record(setup, "x", ["yamada"]))
    (row,) = emu.control.wait_deliveries(1)
    assert row["state"] == "delivered"
    assert [a["status"] for a in row["attempts"]] == [500, 503, 200]
    assert len(receiver.bodies()) == 3 and receiver.bodies()[0] == receiver.bodies()[2]


def test_webhook_gives_up_after_max_attempts(emu: EmulatorHandle, setup: ScheduleSetup) -> None:
    emu.control.set_knobs(retry_delays=[0.01], max_attempts=2, timeout=2)
    emu.control.add_webhook("fsz2", setup.table_id, "http://127.0.0.1:9/unreachable")
    emu.control.create_record("fsz2", setup.table_id, schedule_record(setup, "x", ["yamada"]))
    (row,) = emu.control.wait_deliveries(1)
    assert row["state"] == "failed"
    assert len(row["attempts"]) == 2 and all(a["status"] is None and a["error"] for a in row["attempts"])


def test_delivery_does_not_block_the_api_call(
    emu: EmulatorHandle, api: Api, setup: ScheduleSetup, receiver: Receiver
) -> None:
    receiver.gate = threading.Event()
    _hook(emu, setup, receiver)
    api.post([schedule_record(setup, "first", ["yamada"])])
    assert receiver.arrived.wait(5)  # the receiver now holds the first delivery open
    # while it is held, the API keeps answering and further changes are queued
    resp = api.post([schedule_record(setup, "second", ["yamada"])])
    assert resp.status_code == 200
    assert [d["state"] for d in emu.control.deliveries()] == ["pending", "pending"]
    receiver.gate.set()
    rows = emu.control.wait_deliveries(2)
    assert [r["state"] for r in rows] == ["delivered", "delivered"]
    assert [b["record"][setup.title_field] for b in receiver.bodies()] == ["first", "second"]


def test_webhook_tls_verification(emu: EmulatorHandle, setup: ScheduleSetup, tmp_path: Path) -> None:
    # a receiver whose certificate comes from the emulators' own CA is trusted by default
    trusted, server1 = tls_receiver(emu.tls.cert_pem, emu.tls.key_pem)
    # one signed by an unknown CA is refused unless verification is switched off
    foreign_ca = trustme.CA()
    leaf = foreign_ca.issue_cert("127.0.0.1")
    d = tmp_path
    leaf.private_key_and_cert_chain_pem.write_to_path(str(d / "cert.pem"))
    leaf.private_key_pem.write_to_path(str(d / "key.pem"))
    untrusted, server2 = tls_receiver(d / "cert.pem", d / "key.pem")
    try:
        emu.control.set_knobs(max_attempts=1)
        emu.control.add_webhook("fsz2", setup.table_id, trusted.url)
        w2 = emu.control.add_webhook("fsz2", setup.table_id, untrusted.url)
        emu.control.create_record("fsz2", setup.table_id, schedule_record(setup, "x", ["yamada"]))
        rows = emu.control.wait_deliveries(2)
        by_url = {r["url"]: r for r in rows}
        assert by_url[trusted.url]["state"] == "delivered"
        assert by_url[untrusted.url]["state"] == "failed"
        assert "CERTIFICATE" in by_url[untrusted.url]["attempts"][0]["error"].upper()
        emu.control.set_knobs(verify=False)
        emu.control.test_webhook("fsz2", setup.table_id, w2["webhookId"])
        rows = emu.control.wait_deliveries(3)
        assert rows[-1]["state"] == "delivered" and untrusted.bodies()[-1]["type"] == "TEST"
        # or trust that CA explicitly
        foreign_ca.cert_pem.write_to_path(str(d / "ca.pem"))
        emu.control.set_knobs(verify=True, ca_file=str(d / "ca.pem"))
        emu.control.test_webhook("fsz2", setup.table_id, w2["webhookId"])
        rows = emu.control.wait_deliveries(4)
        assert rows[-1]["state"] == "delivered"
    finally:
        for s in (server1, server2):
            s.shutdown()
            s.server_close()


def test_webhook_config_validation(emu: EmulatorHandle, setup: ScheduleSetup) -> None:
    from sfacal.emulators.justsfa import ControlError

    bad = [
        {"url": "ftp://x"},
        {"url": "http://x", "headers": {"X-A": 1}},
        {"url": "http://x", "headers": {"X-A": "a\r\nInjected: 1"}},
        {"url": "http://x", "events": ["maybe"]},
        {"url": "http://x", "fields": ["field_0"]},
    ]
    for body in bad:
        try:
            emu.control.add_webhook("fsz2", setup.table_id, **body)  # type: ignore[arg-type]
        except ControlError as exc:
            assert exc.status == 400, body
        else:
            raise AssertionError(f"accepted {body}")
