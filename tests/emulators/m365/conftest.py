"""Fixtures: one TLS M365 emulator per session, a fresh tenant/app/mailbox per test, a Graph client."""

from __future__ import annotations

import json
import ssl
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from sfacal.emulators.m365 import AppInfo, EmulatorHandle, Knobs, UserInfo, running_emulator
from sfacal.emulators.m365.csdl import Schema
from sfacal.emulators.m365.ids import new_rest_id

CSDL = Path("/work/shared/reference/msgraph/v1.0-Prod.csdl")
EXT_ID = "String {66f5a359-4659-4830-9070-00047ec6ac6e} Name sfacalScheduleId"
DEFAULT_KNOBS = Knobs().as_dict()
UNKNOWN_ID = new_rest_id()  # a well-formed id that names nothing (404, not 400 malformed)


def csdl_path() -> Path:
    for candidate in (
        CSDL,
        Path(__file__).resolve().parents[4] / "shared" / "reference" / "msgraph" / "v1.0-Prod.csdl",
    ):
        if candidate.exists():
            return candidate
    pytest.skip("Microsoft's v1.0 CSDL (shared/reference/msgraph) is not available")
    raise AssertionError  # unreachable


@pytest.fixture(scope="session")
def full_schema() -> Schema:
    return Schema.from_csdl(csdl_path())


@pytest.fixture(scope="session")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorHandle]:
    with running_emulator(tmp_path_factory.mktemp("m365")) as handle:
        yield handle


def tls_context(handle: EmulatorHandle) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(handle.ca_pem))


def token_for(handle: EmulatorHandle, tenant: str, app: AppInfo) -> str:
    with httpx.Client(verify=tls_context(handle), trust_env=False) as http:
        r = http.post(
            handle.token_url(tenant),
            data={
                "grant_type": "client_credentials",
                "client_id": app.client_id,
                "client_secret": app.secret,
                "scope": "https://graph.microsoft.com/.default",
            },
        )
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


@dataclass
class World:
    """A tenant with one app (Calendars.ReadWrite, by secret) and one mailbox user."""

    handle: EmulatorHandle
    domain: str
    tenant_id: str
    app: AppInfo
    user: UserInfo
    token: str
    http: httpx.Client = field(repr=False)

    @property
    def upn(self) -> str:
        return self.user.upn

    def url(self, path: str) -> str:
        return f"{self.handle.graph_url}/{path.lstrip('/')}"

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token}", **kwargs.pop("headers", {})}
        return self.http.request(method, self.url(path), headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", path, **kwargs)

    def create_event(self, **overrides: Any) -> dict[str, Any]:
        r = self.post(f"users/{self.upn}/calendar/events", json=event_body(**overrides))
        assert r.status_code == 201, r.text
        return dict(r.json())

    def new_user(self, **kwargs: Any) -> UserInfo:
        return self.handle.control.create_user(
            self.tenant_id, f"u{uuid.uuid4().hex[:8]}@{self.domain}", **kwargs
        )


def event_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "subject": "赤木電機/定期訪問",
        "body": {"contentType": "text", "content": "打ち合わせメモ"},
        "start": {"dateTime": "2025-03-10T10:00:00", "timeZone": "Tokyo Standard Time"},
        "end": {"dateTime": "2025-03-10T11:00:00", "timeZone": "Tokyo Standard Time"},
        "location": {"displayName": "東京都千代田区"},
        "sensitivity": "normal",
    }
    body.update(overrides)
    return body


def make_world(handle: EmulatorHandle, **app_kwargs: Any) -> World:
    domain = f"t{uuid.uuid4().hex[:10]}.onmicrosoft.com"
    tenant = handle.control.create_tenant(domain)
    app = handle.control.create_app(tenant.id, **app_kwargs)
    user = handle.control.create_user(tenant.id, f"taro@{domain}", calendars=["SFA"])
    token = token_for(handle, domain, app) if app.secrets else ""
    http = httpx.Client(verify=tls_context(handle), trust_env=False, timeout=30)
    return World(handle, domain, tenant.id, app, user, token, http)


@pytest.fixture
def world(emulator: EmulatorHandle) -> Iterator[World]:
    w = make_world(emulator)
    try:
        yield w
    finally:
        w.http.close()
        emulator.control.set_knobs(**DEFAULT_KNOBS)


# -- a subscriber endpoint for change notifications ------------------------------------------------


@dataclass
class Receiver:
    url: str
    received: list[dict[str, Any]] = field(default_factory=list)
    validations: list[str] = field(default_factory=list)
    echo: bool = True  # answer validation requests correctly
    arrived: threading.Condition = field(default_factory=threading.Condition)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.received) >= count, timeout)
            return list(self.received)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server: ThreadingHTTPServer
    rec = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            query = parse_qs(urlsplit(self.path).query)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            if "validationToken" in query:
                token = query["validationToken"][0]
                rec.validations.append(token)
                answer = (token if rec.echo else "wrong").encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)
                return
            with rec.arrived:
                rec.received.append(json.loads(raw))
                rec.arrived.notify_all()
            self.send_response(202)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    rec.url = f"http://127.0.0.1:{server.server_address[1]}/notify"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield rec
    finally:
        server.shutdown()
        server.server_close()
