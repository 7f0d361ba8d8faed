"""Serving the Google emulator over TLS: blocking (:func:`serve`) or in a background thread
(:func:`running_emulator`), with the same local CA as the other emulators (:mod:`..tls`)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn

from ..net import bind_listener
from ..tls import TlsFiles, ensure_tls_files
from .app import create_app
from .client import ControlClient
from .state import EmulatorState, Knobs

__all__ = ["GoogleEmulatorHandle", "running_emulator", "serve"]


def _config(app: Any, tls: TlsFiles, host: str, port: int, log_level: str) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        ssl_certfile=str(tls.cert_pem),
        ssl_keyfile=str(tls.key_pem),
        lifespan="off",
        proxy_headers=False,
        log_level=log_level,
        access_log=False,
        timeout_keep_alive=30,
        timeout_graceful_shutdown=5,
    )


def _state(knobs: dict[str, Any] | None) -> EmulatorState:
    k = Knobs()
    if knobs:
        k.update(knobs)
    return EmulatorState(k)


def serve(
    host: str = "127.0.0.1",
    port: int = 8444,
    data_dir: Path | str = ".sfacal-emulator",
    *,
    knobs: dict[str, Any] | None = None,
    log_level: str = "warning",
) -> None:
    """Run the emulator in the foreground until interrupted."""
    tls = ensure_tls_files(data_dir)
    server = uvicorn.Server(_config(create_app(_state(knobs)), tls, host, port, log_level))
    asyncio.run(server.serve())


@dataclass
class GoogleEmulatorHandle:
    """A running emulator: where it is, which CA to trust, and a client for its control API."""

    base_url: str
    ca_pem: Path
    control: ControlClient

    @property
    def token_url(self) -> str:
        return self.base_url + "/token"

    @property
    def api_url(self) -> str:
        """What stands for ``https://www.googleapis.com`` (the Calendar API and batch live under it)."""
        return self.base_url


@contextlib.contextmanager
def running_emulator(
    data_dir: Path | str,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    knobs: dict[str, Any] | None = None,
    log_level: str = "warning",
) -> Iterator[GoogleEmulatorHandle]:
    """Run the emulator over TLS in a background thread (port 0 = a free port)."""
    tls = ensure_tls_files(data_dir)
    sock = bind_listener(host, port, backlog=1024)
    actual_port = sock.getsockname()[1]
    server = uvicorn.Server(_config(create_app(_state(knobs)), tls, host, actual_port, log_level))
    thread = threading.Thread(
        target=lambda: asyncio.run(server.serve(sockets=[sock])),
        name=f"google-emulator-{actual_port}",
        daemon=True,
    )
    thread.start()
    started = threading.Event()
    for _ in range(2000):
        if server.started or not thread.is_alive():
            break
        started.wait(0.01)
    if not server.started:
        server.should_exit = True
        thread.join(5)
        sock.close()
        raise RuntimeError("the Google emulator did not start")
    base_url = f"https://{host}:{actual_port}"
    control = ControlClient(base_url, tls.ca_pem)
    try:
        yield GoogleEmulatorHandle(base_url, tls.ca_pem, control)
    finally:
        control.close()
        server.should_exit = True
        thread.join(10)
        sock.close()
