"""Running the emulator: background thread, command line, journal, counters, knobs, control API."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from sfacal.emulators.m365 import ControlApiError, ControlClient, running_emulator

from .conftest import UNKNOWN_ID, World, tls_context


def test_two_emulators_run_side_by_side_and_stop_cleanly(tmp_path: Path) -> None:
    with running_emulator(tmp_path / "a") as a, running_emulator(tmp_path / "b") as b:
        assert a.port != b.port
        assert a.control.health() and b.control.health()
        a.control.create_tenant("only-in-a.onmicrosoft.com")
        with httpx.Client(verify=tls_context(b), trust_env=False) as http:
            r = http.get(f"{b.base_url}/only-in-a.onmicrosoft.com/v2.0/.well-known/openid-configuration")
        assert r.status_code == 400 and r.json()["error_codes"] == [90002]
        port = a.port
    with socket.socket() as s:  # the port is free again
        s.bind(("127.0.0.1", port))


def test_command_line_serves_over_tls(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data = tmp_path / "data"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[3] / "src")}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sfacal.emulators.m365",
            "--port",
            str(port),
            "--data-dir",
            str(data),
            "--latency-ms",
            "5",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 20
        control = None
        while time.monotonic() < deadline:
            if (data / "ca.pem").exists():
                try:
                    control = ControlClient(f"https://127.0.0.1:{port}", data / "ca.pem", timeout=2)
                    if control.health():
                        break
                except (httpx.HTTPError, ControlApiError):
                    pass
                if control is not None:
                    control.close()
                    control = None
            time.sleep(0.1)
        assert control is not None, proc.stderr.read().decode() if proc.stderr else ""
        assert control.knobs()["latency_ms"] == 5
        control.close()
    finally:
        proc.terminate()
        proc.wait(10)


def test_journal_and_counters(world: World) -> None:
    world.handle.control.set_knobs(latency_ms=30)
    since = time.time() - 1
    world.get(f"users/{world.upn}/calendar")
    world.get("users/nobody@nowhere.example/calendar")
    journal = world.handle.control.journal(since)
    entries = [e for e in journal if e["app"] == world.app.client_id and e["kind"] == "graph"]
    assert [(e["method"], e["path"], e["status"]) for e in entries] == [
        ("GET", f"/v1.0/users/{world.upn}/calendar", 200),
        ("GET", "/v1.0/users/nobody@nowhere.example/calendar", 404),
    ]
    assert entries[0]["mailbox"] == world.user.id
    assert entries[0]["duration_ms"] >= 30
    counters = world.handle.control.counters()
    assert counters["per_mailbox"][world.user.id] == 1
    assert counters["peak_concurrency"][world.user.id] == 1


def test_knobs_and_control_errors(world: World) -> None:
    control = world.handle.control
    assert control.set_knobs(latency_ms=1, latency_max_ms=3)["latency_max_ms"] == 3
    assert world.get(f"users/{world.upn}/calendar").status_code == 200
    with pytest.raises(ControlApiError) as info:
        control.set_knobs(no_such_knob=1)
    assert info.value.status == 400
    with pytest.raises(ControlApiError) as info:
        control.create_user("no-such-tenant", "x@y")
    assert info.value.status == 404
    with pytest.raises(ControlApiError):
        control.user_update_event(world.upn, UNKNOWN_ID, {"subject": "x"})
    with pytest.raises(ControlApiError):
        control.user_create_event(
            world.upn, {"subject": "x", "start": {"dateTime": "bad"}, "end": {"dateTime": "bad"}}
        )


def test_user_created_event_in_named_calendar(world: World) -> None:
    cal = world.user.calendars["SFA"]
    created = world.handle.control.user_create_event(
        world.upn,
        {
            "subject": "Outlook で作成",
            "start": {"dateTime": "2025-03-10T10:00:00", "timeZone": "Tokyo Standard Time"},
            "end": {"dateTime": "2025-03-10T11:00:00", "timeZone": "Tokyo Standard Time"},
        },
        calendar_id=cal,
    )
    assert created["calendarId"] == cal
    listed = world.get(f"users/{world.upn}/calendars/{cal}/events").json()["value"]
    assert [e["subject"] for e in listed] == ["Outlook で作成"]
