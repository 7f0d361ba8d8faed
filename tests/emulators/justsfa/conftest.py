"""Fixtures: one TLS emulator per module (reset before each test), an API client, a webhook receiver."""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from sfacal.emulators.justsfa import EmulatorHandle, ScheduleSetup, running_emulator


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorHandle]:
    with running_emulator(tmp_path_factory.mktemp("justsfa")) as handle:
        yield handle


@pytest.fixture
def emu(emulator: EmulatorHandle) -> Iterator[EmulatorHandle]:
    emulator.control.reset()
    yield emulator
    emulator.wait_webhooks_idle(5)


@pytest.fixture
def http(emulator: EmulatorHandle) -> Iterator[httpx.Client]:
    with httpx.Client(
        verify=ssl.create_default_context(cafile=str(emulator.ca_pem)), trust_env=False, timeout=10
    ) as client:
        yield client


@dataclass
class Api:
    """The records API of one tenant/table, as the product would call it."""

    http: httpx.Client
    url: str
    key: str

    def _h(self, key: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key if key is None else key}"}

    def get(
        self, params: dict[str, Any] | None = None, *, key: str | None = None, path: str = ""
    ) -> httpx.Response:
        return self.http.get(self.url + path, params=params, headers=self._h(key))

    def post(self, records: list[dict[str, Any]], *, key: str | None = None) -> httpx.Response:
        return self.http.post(
            self.url, json={"records": [{"record": r} for r in records]}, headers=self._h(key)
        )

    def put(self, items: list[dict[str, Any]], *, key: str | None = None) -> httpx.Response:
        return self.http.put(self.url, json={"records": items}, headers=self._h(key))

    def delete(self, items: list[dict[str, Any]], *, key: str | None = None) -> httpx.Response:
        return self.http.request("DELETE", self.url, json={"records": items}, headers=self._h(key))

    def raw(self, method: str, content: bytes, *, key: str | None = None) -> httpx.Response:
        headers = {**self._h(key), "Content-Type": "application/json"}
        return self.http.request(method, self.url, content=content, headers=headers)


@pytest.fixture
def setup(emu: EmulatorHandle) -> ScheduleSetup:
    return emu.control.setup_schedule("fsz2")


@pytest.fixture
def api(emu: EmulatorHandle, http: httpx.Client, setup: ScheduleSetup) -> Api:
    return Api(http, emu.records_url("fsz2", setup.table_id), setup.api_key)


def schedule_record(
    s: ScheduleSetup,
    title: str,
    users: list[str],
    start: str = "2025-12-30T10:00+09:00",
    end: str = "2025-12-30T11:00+09:00",
    **extra: Any,
) -> dict[str, Any]:
    rec: dict[str, Any] = {
        s.title_field: title,
        s.schedule_field: s.schedule_value(start, end, users),
        s.status_field: "予定",
    }
    rec.update(extra)
    return rec


# ----------------------------------------------------------------------------- webhook receiver


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class Receiver:
    url: str
    received: list[Received] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)  # answered in order, then 200
    gate: threading.Event | None = None
    arrived: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def bodies(self) -> list[Any]:
        with self.lock:
            return [r.body for r in self.received]


def _start_receiver(ssl_ctx: ssl.SSLContext | None) -> tuple[Receiver, ThreadingHTTPServer]:
    holder: dict[str, Receiver] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            rec = holder["r"]
            length = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(length)
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw.decode("utf-8", "replace")
            with rec.lock:
                rec.received.append(
                    Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                )
                status = rec.statuses.pop(0) if rec.statuses else 200
            rec.arrived.set()
            if rec.gate is not None:
                rec.gate.wait(10)
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    scheme = "http"
    if ssl_ctx is not None:
        server.socket = ssl_ctx.wrap_socket(server.socket, server_side=True)
        scheme = "https"
    holder["r"] = Receiver(f"{scheme}://127.0.0.1:{server.server_address[1]}/webhook/abc")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return holder["r"], server


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec, server = _start_receiver(None)
    yield rec
    if rec.gate is not None:
        rec.gate.set()
    server.shutdown()
    server.server_close()


def tls_receiver(cert_pem: Path, key_pem: Path) -> tuple[Receiver, ThreadingHTTPServer]:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(str(cert_pem), str(key_pem))
    return _start_receiver(ctx)
