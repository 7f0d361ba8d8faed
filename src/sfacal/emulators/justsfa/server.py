"""Serving the emulator over TLS: in the foreground (``serve``) or in a background thread
(``running_emulator``, for tests and the demo)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from ..net import bind_listener
from ..tls import TlsFiles, ensure_tls_files
from .app import create_app
from .client import ControlClient, ScheduleSetup
from .presets import schedule_setup
from .state import EmulatorState


@dataclass
class EmulatorHandle:
    """A running emulator. Point the product at ``tenant_url(tenant)`` and trust ``ca_pem``."""

    base_url: str
    port: int
    ca_pem: Path
    tls: TlsFiles
    state: EmulatorState
    control: ControlClient

    def tenant_url(self, tenant: str) -> str:
        """Base URL of a tenant by path prefix (works with 127.0.0.1 only): use this from the product."""
        return f"{self.base_url}/_tenant/{tenant}"

    def host_url(self, tenant: str) -> str:
        """Base URL of a tenant by host name, like the real ``https://TENANT.justsfa.com``.

        Needs ``TENANT.localhost`` to resolve to 127.0.0.1 (not every resolver does that).
        """
        return f"https://{tenant}.localhost:{self.port}"

    def records_url(self, tenant: str, table_id: str) -> str:
        return f"{self.tenant_url(tenant)}/sites/api/services/v1/tables/{table_id}/records/"

    def wait_webhooks_idle(self, timeout: float = 10.0) -> bool:
        """Wait until no webhook delivery is queued or in flight."""
        return self.state.dispatcher.wait_idle(timeout)


def _config(state: EmulatorState, tls: TlsFiles, host: str, port: int, log_level: str) -> uvicorn.Config:
    state.dispatcher.default_ca_file = str(tls.ca_pem)
    return uvicorn.Config(
        create_app(state),
        host=host,
        port=port,
        ssl_certfile=str(tls.cert_pem),
        ssl_keyfile=str(tls.key_pem),
        log_level=log_level,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=1,
        timeout_keep_alive=5,
    )


@contextmanager
def running_emulator(
    data_dir: Path | str,
    *,
    state: EmulatorState | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    log_level: str = "warning",
) -> Iterator[EmulatorHandle]:
    """Run the emulator in a background thread on ``host:port`` (0: a free port) over TLS.

    TLS files (``ca.pem`` …) are created once in ``data_dir`` and reused. On exit the server
    and the webhook dispatcher are stopped.
    """
    st = state if state is not None else EmulatorState()
    tls = ensure_tls_files(data_dir)
    sock = bind_listener(host, port)
    actual_port = sock.getsockname()[1]
    server = uvicorn.Server(_config(st, tls, host, actual_port, log_level))
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="justsfa-emulator", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise RuntimeError("the JUST.SFA emulator did not start")
        time.sleep(0.01)
    url_host = f"[{host}]" if ":" in host else host
    base_url = f"https://{url_host}:{actual_port}"
    control = ControlClient(base_url, tls.ca_pem)
    try:
        yield EmulatorHandle(base_url, actual_port, tls.ca_pem, tls, st, control)
    finally:
        control.close()
        server.should_exit = True
        thread.join(10)
        st.dispatcher.stop()
        sock.close()


def serve(
    host: str = "127.0.0.1",
    port: int = 8444,
    data_dir: Path | str = ".data/emulators",
    *,
    state: EmulatorState | None = None,
    demo_tenant: str | None = None,
    demo_api_key: str | None = None,
    log_level: str = "info",
) -> None:
    """Serve in the foreground until interrupted. With ``demo_tenant``, a standard schedule
    table is set up first and its identifiers are printed."""
    st = state if state is not None else EmulatorState()
    tls = ensure_tls_files(data_dir)
    url_host = f"[{host}]" if ":" in host else host
    print(f"JUST.SFA emulator on https://{url_host}:{port}  (CA: {tls.ca_pem})", flush=True)
    print(
        f"  records API: https://{url_host}:{port}/_tenant/TENANT/sites/api/services/v1/tables/TABLE/records/"
    )
    print(f"  control API: https://{url_host}:{port}/_control/", flush=True)
    if demo_tenant:
        setup = ScheduleSetup.from_json(schedule_setup(st, demo_tenant, api_key=demo_api_key))
        print(f"  demo tenant '{setup.tenant}': base URL https://{url_host}:{port}/_tenant/{setup.tenant}")
        for name, value in vars(setup).items():
            if name != "users":
                print(f"    {name}: {value}")
        print(f"    users: {', '.join(u['userId'] for u in setup.users)}", flush=True)
    uvicorn.Server(_config(st, tls, host, port, log_level)).run()
