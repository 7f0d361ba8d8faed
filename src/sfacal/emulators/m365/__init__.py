"""Microsoft 365 emulator: Microsoft Entra ID token endpoints and the Graph v1.0 calendar subset.

Public API::

    create_app(state=None, *, ca_pem=None) -> Starlette
    serve(host, port, data_dir, latency_ms=None, *, knobs=None, log_level="warning")
    running_emulator(data_dir, *, host="127.0.0.1", port=0, latency_ms=None, knobs=None) -> EmulatorHandle
    EmulatorHandle(.base_url, .graph_url, .ca_pem, .control: ControlClient, .authority(t), .token_url(t, v2=True))

Run alone: ``python -m sfacal.emulators.m365 --port 8443 [--host 127.0.0.1] [--data-dir DIR]``.

The names are imported when first used (PEP 562): a process that only drives a running emulator
through its control client (``from sfacal.emulators.m365.client import ControlClient``, or this
package's ``ControlClient``) does not load the server, its web framework and its state -- a
benchmark's engine process measures the engine, not the emulator.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .app import create_app
    from .client import AppInfo, ControlApiError, ControlClient, SecretInfo, TenantInfo, UserInfo
    from .server import EmulatorHandle, running_emulator, serve
    from .state import EmulatorState, Knobs

_WHERE = {
    "create_app": "app",
    "AppInfo": "client",
    "ControlApiError": "client",
    "ControlClient": "client",
    "SecretInfo": "client",
    "TenantInfo": "client",
    "UserInfo": "client",
    "EmulatorHandle": "server",
    "running_emulator": "server",
    "serve": "server",
    "EmulatorState": "state",
    "Knobs": "state",
}

__all__ = [
    "AppInfo",
    "ControlApiError",
    "ControlClient",
    "EmulatorHandle",
    "EmulatorState",
    "Knobs",
    "SecretInfo",
    "TenantInfo",
    "UserInfo",
    "create_app",
    "running_emulator",
    "serve",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
