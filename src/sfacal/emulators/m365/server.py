"""Serving the emulator over TLS: blocking (:func:`serve`) or in a background thread (:func:`running_emulator`)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
from uvicorn._compat import asyncio_run
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from ..net import bind_listener
from ..tls import TlsFiles, ensure_tls_files
from .app import TRANSPORT_KEY, create_app
from .client import ControlClient
from .collector import IdleCollector
from .state import EmulatorState, Knobs


class ResettableHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's HTTP/1.1 protocol (``httptools`` parser), exposing the connection's transport to
    the app (see :data:`TRANSPORT_KEY`).

    The emulator uses it to emulate a connection reset: abort the transport and send nothing.
    """

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        inner = self.app

        async def app_with_transport(scope: Any, receive: Any, send: Any) -> None:
            scope[TRANSPORT_KEY] = transport
            await inner(scope, receive, send)

        self.app = app_with_transport

    def shutdown(self) -> None:
        # An idle keep-alive TLS connection would wait for the peer's close_notify before it
        # counts as closed, which holds up the server's shutdown; drop it at once instead.
        if self.cycle is None or self.cycle.response_complete:
            self.transport.abort()
        else:
            super().shutdown()


def _config(app: Any, tls: TlsFiles, host: str, port: int, log_level: str) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        ssl_certfile=str(tls.cert_pem),
        ssl_keyfile=str(tls.key_pem),
        http=ResettableHttpToolsProtocol,
        lifespan="on",
        proxy_headers=False,
        log_level=log_level,
        access_log=False,
        timeout_keep_alive=30,
        backlog=4096,
        timeout_graceful_shutdown=5,
    )


def _knobs(latency_ms: float | None, knobs: dict[str, Any] | None) -> Knobs:
    k = Knobs()
    if latency_ms is not None:
        k.latency_ms = float(latency_ms)
    if knobs:
        k.update(knobs)
    return k


def serve(
    host: str = "127.0.0.1",
    port: int = 8443,
    data_dir: Path | str = ".sfacal-emulator",
    latency_ms: float | None = None,
    *,
    knobs: dict[str, Any] | None = None,
    log_level: str = "warning",
) -> None:
    """Run the emulator in the foreground until interrupted (its process to itself: the garbage
    collector runs when it is quiet, :mod:`.collector`)."""
    tls = ensure_tls_files(data_dir)
    state = EmulatorState(_knobs(latency_ms, knobs))
    app = create_app(state, ca_pem=str(tls.ca_pem))
    server = uvicorn.Server(_config(app, tls, host, port, log_level))
    collector = IdleCollector(lambda: state.counters.requests)

    async def main() -> None:
        task = asyncio.create_task(collector.run())
        try:
            await server.serve()
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    asyncio_run(main(), loop_factory=server.config.get_loop_factory())


@dataclass
class EmulatorHandle:
    """A running emulator: where it is, which CA to trust, and a client for its control API."""

    base_url: str
    ca_pem: Path
    control: ControlClient
    host: str
    port: int

    def authority(self, tenant: str) -> str:
        """The MSAL authority for a tenant (GUID or domain)."""
        return f"{self.base_url}/{tenant}"

    def token_url(self, tenant: str, *, v2: bool = True) -> str:
        return (
            f"{self.base_url}/{tenant}/oauth2/v2.0/token" if v2 else f"{self.base_url}/{tenant}/oauth2/token"
        )

    @property
    def graph_url(self) -> str:
        return f"{self.base_url}/v1.0"


@contextlib.contextmanager
def running_emulator(
    data_dir: Path | str,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    latency_ms: float | None = None,
    knobs: dict[str, Any] | None = None,
    log_level: str = "warning",
    startup_timeout_s: float = 20.0,
) -> Iterator[EmulatorHandle]:
    """Run the emulator over TLS in a background thread (port 0 = a free port)."""
    tls = ensure_tls_files(data_dir)
    state = EmulatorState(_knobs(latency_ms, knobs))
    app = create_app(state, ca_pem=str(tls.ca_pem))
    sock = bind_listener(host, port, backlog=4096)
    actual_port = sock.getsockname()[1]
    server = uvicorn.Server(_config(app, tls, host, actual_port, log_level))
    errors: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(server.serve(sockets=[sock]))
        except BaseException as exc:  # surfaced to the caller below
            errors.append(exc)

    thread = threading.Thread(target=run, name=f"m365-emulator-{actual_port}", daemon=True)
    thread.start()
    ready = threading.Event()
    for _ in range(int(startup_timeout_s / 0.01)):
        if server.started or errors or not thread.is_alive():
            ready.set()
            break
        ready.wait(0.01)
    if not server.started:
        server.should_exit = True
        thread.join(5)
        sock.close()
        raise RuntimeError(f"the M365 emulator did not start: {errors[0] if errors else 'timeout'}")
    url_host = f"[{host}]" if ":" in host else host
    base_url = f"https://{url_host}:{actual_port}"
    control = ControlClient(base_url, tls.ca_pem)
    try:
        yield EmulatorHandle(base_url, tls.ca_pem, control, host, actual_port)
    finally:
        control.close()
        server.should_exit = True
        thread.join(10)
        if thread.is_alive():
            server.force_exit = True
            thread.join(5)
        sock.close()
