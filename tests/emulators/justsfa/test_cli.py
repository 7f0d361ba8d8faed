"""``python -m sfacal.emulators.justsfa`` serves over TLS and can seed a demo tenant."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from sfacal.emulators.justsfa.client import ControlClient


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_module_entry_point_serves_a_demo_tenant(tmp_path: Path) -> None:
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sfacal.emulators.justsfa",
            "--port",
            str(port),
            "--data-dir",
            str(tmp_path),
            "--demo-tenant",
            "demo",
            "--demo-api-key",
            "demo-key-0123456789",
            "--log-level",
            "warning",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while not (tmp_path / "ca.pem").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        client = ControlClient(f"https://127.0.0.1:{port}", tmp_path / "ca.pem")
        while True:
            try:
                client.health()
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.05)
        info = client.tenant("demo")
        (table,) = info["tables"]
        assert any(f["type"] == "schedule" for f in table["fields"])
        assert [k["key"] for k in info["apiKeys"]] == ["demo-key-0123456789"]
        client.close()
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
    assert "tableId" in out or "table_id" in out
    assert "demo-key-0123456789" in out
