"""The outbound address rule at every door an administrator-entered URL opens (SSRF, issue 14 item 7).

With the default rule (no ``SFACAL_ALLOW_PRIVATE_URLS``) the push write-back callback (its test
button and real deliveries), the JUST.SFA tenant / API base URL, the Microsoft 365 token endpoint
and the Graph URL each refuse 127.0.0.1, localhost, 0.0.0.0, ::1, 10/8, 169.254.169.254 and a name
that resolves to a private address -- with ``address_not_allowed``, before any connection is
opened (the listener behind the port sees nothing), and with the same answer for an open and a
closed port. The address checked is the address connected to: a name that resolves differently the
second time never reaches the second address. The operator's allowance opens exactly what it names.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread

import pytest

from sfacal.calendars.msgraph import AuthMethod, GraphAuth, GraphSettings
from sfacal.calendars.msgraph.auth import AccessToken
from sfacal.calendars.msgraph.client import GraphClient
from sfacal.core.errors import AddressNotAllowedError, SfacalError
from sfacal.directory.companies.provisioning import ensure_company
from sfacal.directory.connections.models import SourceConnection, SourceKind
from sfacal.net import ALLOW_ENV
from sfacal.sources.justsfa import JustSfaSettings
from sfacal.sources.justsfa import check_connection as check_justsfa
from sfacal.sources.push.writeback import WriteBackPayload, deliver_write_back
from sfacal.web.checks import check_push_connection

from .conftest import Listener, Names, closed_port

pytestmark = pytest.mark.django_db

SECRET = "a-long-enough-signing-secret"
PRIVATE_NAME = "intranet.example.test"

# {port}: the listener's port (nothing may reach it); the others have no listener at all.
REFUSED = [
    "127.0.0.1:{port}",
    "localhost:{port}",
    "0.0.0.0:{port}",
    "[::1]:{port}",
    "[::ffff:127.0.0.1]:{port}",
    "10.0.0.1",
    "172.16.5.4",
    "192.168.1.1",
    "100.64.0.1",
    "169.254.169.254",
    "[fe80::1]",
    "[fc00::1]",
    PRIVATE_NAME + ":{port}",
]


class _Token:
    """The Graph client's token source, without an identity platform."""

    def acquire(self) -> AccessToken:
        return AccessToken("token", time.time() + 3600)

    def invalidate(self) -> None:
        pass


def _connection(base: str) -> SourceConnection:
    company = ensure_company("acme", "ACME")
    connection, _ = SourceConnection.objects.update_or_create(
        company=company,
        kind=SourceKind.PUSH,
        name="default",
        defaults={"callback_url": base + "/write-back", "callback_secret": SECRET},
    )
    return connection


def callback_test_button(base: str) -> str:
    result = check_push_connection(_connection(base), "en")
    return "ok" if result.ok else result.code


def callback_delivery(base: str) -> str:
    payload = WriteBackPayload("S1", ("subject",), {"subject": "x"}, "AAMk", "taro@example.com")
    result = deliver_write_back(_connection(base), payload, sleep=lambda s: None, max_attempts=3)
    if result.error_code == "address_not_allowed":
        assert len(result.attempts) == 1  # a refusal is not retried
    return result.error_code


def justsfa_base_url(base: str) -> str:
    config = {"tenant": "fsz2", "base_url": base + "/_tenant/fsz2", "table": "t", "panel": "p", "filter": "f"}
    fields = ("schedule", "title", "location", "content", "key", "status", "purpose")
    config |= {f"{name}_field": f"field_{name}" for name in fields}
    return check_justsfa(JustSfaSettings.from_config(config, "api-key")).code


def _graph_settings(base: str) -> GraphSettings:
    return GraphSettings(
        client_id="app",
        token_endpoint=base + "/t1/oauth2/v2.0/token",
        auth_method=AuthMethod.SECRET,
        client_secret="client-secret",
        graph_base_url=base + "/v1.0",
        connect_timeout_s=2,
        read_timeout_s=1,
        max_connections=8,
    )


def token_endpoint(base: str) -> str:
    try:
        GraphAuth(_graph_settings(base)).acquire()
    except SfacalError as exc:
        return exc.code
    return "ok"


def graph_url(base: str) -> str:
    async def run() -> str:
        client = GraphClient(_graph_settings(base), _Token())  # type: ignore[arg-type]
        try:
            await client.request("GET", "/users", attempts=1)
        except SfacalError as exc:
            return exc.code
        finally:
            await client.aclose()
        return "ok"

    return asyncio.run(run())


DOORS: dict[str, Callable[[str], str]] = {
    "callback_test_button": callback_test_button,
    "callback_delivery": callback_delivery,
    "justsfa_base_url": justsfa_base_url,
    "token_endpoint": token_endpoint,
    "graph_url": graph_url,
}


@pytest.mark.parametrize("door", sorted(DOORS))
@pytest.mark.parametrize("host", REFUSED)
def test_the_default_rule_refuses_private_and_local_addresses_before_connecting(
    door: str, host: str, public_only: None, names: Names, listener: Listener
) -> None:
    names.add(PRIVATE_NAME, ["10.1.2.3"])
    assert DOORS[door]("https://" + host.format(port=listener.port)) == "address_not_allowed"
    assert listener.connections() == 0


@pytest.mark.parametrize("door", sorted(DOORS))
def test_an_open_and_a_closed_port_get_the_same_answer(
    door: str, public_only: None, listener: Listener
) -> None:
    open_port = DOORS[door](f"https://127.0.0.1:{listener.port}")
    closed = DOORS[door](f"https://127.0.0.1:{closed_port()}")
    assert open_port == closed == "address_not_allowed"
    assert listener.connections() == 0


@pytest.mark.parametrize("door", ["callback_test_button", "token_endpoint", "graph_url", "justsfa_base_url"])
def test_a_name_that_resolves_differently_the_second_time_never_reaches_the_second_address(
    door: str, monkeypatch: pytest.MonkeyPatch, names: Names, listener: Listener
) -> None:
    """DNS rebinding: the first answer (127.0.0.2, allowed here) is checked and connected to; the
    second (127.0.0.1, where the listener is) is never used for a connection."""
    monkeypatch.setenv(ALLOW_ENV, "127.0.0.2/32")
    names.add("rebind.example.test", ["127.0.0.2"], ["127.0.0.1"])
    code = DOORS[door](f"https://rebind.example.test:{listener.port}")
    assert code != "ok"
    assert listener.connections() == 0
    assert names.lookups  # the name was resolved by the product, not by a library behind its back


class _Recorder(BaseHTTPRequestHandler):
    hosts: list[str] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        type(self).hosts.append(self.headers.get("Host", ""))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_the_connection_goes_to_the_checked_address_under_the_url_s_own_name(names: Names) -> None:
    """With loopback allowed (as in these tests), a name is resolved once and connected to by
    address, while the request still names the host as the administrator wrote it."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    Thread(target=server.serve_forever, daemon=True).start()
    try:
        names.add("receiver.example.test", ["127.0.0.1"])
        port = server.server_address[1]
        assert callback_test_button(f"http://receiver.example.test:{port}") == "ok"
        assert _Recorder.hosts == [f"receiver.example.test:{port}"]
        assert names.lookups == ["receiver.example.test"]
        # Refused addresses are skipped, and an allowed one that refuses makes way for the next.
        names.add("several.example.test", ["10.1.2.3", "127.0.0.2", "169.254.169.254", "127.0.0.1"])
        assert callback_test_button(f"http://several.example.test:{port}") == "ok"
        assert _Recorder.hosts[-1] == f"several.example.test:{port}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    ("allowance", "allowed", "refused"),
    [
        ("1", ["127.0.0.1", "127.0.0.9"], []),
        ("127.0.0.0/8", ["127.0.0.1", "127.0.0.9"], ["10.0.0.1", "169.254.169.254", "[fe80::1]"]),
        ("127.0.0.9, 10.0.0.0/8", ["127.0.0.9"], ["127.0.0.1", "192.168.1.9", "169.254.169.254"]),
        ("not-a-network", [], ["127.0.0.1", "10.0.0.1"]),
    ],
)
def test_the_operator_allowance_opens_exactly_what_it_names(
    allowance: str, allowed: list[str], refused: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only loopback addresses are ever connected to here (a closed port: the connection is tried
    and refused); the refused ones are refused before any connection."""
    monkeypatch.setenv(ALLOW_ENV, allowance)
    port = closed_port()
    for host in allowed:
        assert callback_delivery(f"http://{host}:{port}") == "callback_unreachable"
    for host in refused:
        assert callback_delivery(f"http://{host}:{port}") == "address_not_allowed"


def test_a_proxy_gets_no_request_for_a_refused_address(public_only, names, monkeypatch, listener):
    """Through a proxy the proxy connects: the product checks the target first (an address, or a
    name it can resolve) and refuses without asking the proxy; a name only the proxy can resolve
    is left to the proxy."""
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{listener.port}")
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{listener.port}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    names.add(PRIVATE_NAME, ["10.1.2.3"])
    for host in ("10.0.0.1", "169.254.169.254", PRIVATE_NAME):
        assert callback_delivery(f"http://{host}") == "address_not_allowed"
        assert token_endpoint(f"https://{host}") == "address_not_allowed"
        assert graph_url(f"https://{host}") == "address_not_allowed"
    assert listener.connections() == 0
    with pytest.raises(SfacalError) as info:  # unresolvable here: handed to the proxy
        GraphAuth(_graph_settings("https://only-the-proxy-knows.invalid")).acquire()
    assert not isinstance(info.value, AddressNotAllowedError)
    assert listener.connections() == 1
