"""Google Workspace emulator: the OAuth 2.0 token endpoint for service accounts (JWT-bearer grant,
domain-wide delegation) and the Calendar API v3 subset sfacal uses, with batch, quotas and sync
tokens, built to the discovery document ``google-api-python-client`` ships.

Public API::

    create_app(state=None) -> Starlette
    serve(host, port, data_dir, *, knobs=None)
    running_emulator(data_dir, *, host="127.0.0.1", port=0, knobs=None) -> GoogleEmulatorHandle
    GoogleEmulatorHandle(.base_url, .token_url, .api_url, .ca_pem, .control: ControlClient)

Run alone: ``sfacal emulate google --port 8444`` or ``python -m sfacal.emulators.google``.

The names are imported when first used (PEP 562): a process that only drives a running emulator
through its control client (``from sfacal.emulators.google.client import ControlClient``, or this
package's ``ControlClient``) does not load the server, its web framework and its state -- a
benchmark's engine process measures the engine, not the emulator.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .app import create_app
    from .client import CALENDAR_SCOPES, ControlApiError, ControlClient
    from .server import GoogleEmulatorHandle, running_emulator, serve
    from .state import EmulatorState, Knobs

_WHERE = {
    "create_app": "app",
    "CALENDAR_SCOPES": "client",
    "ControlApiError": "client",
    "ControlClient": "client",
    "GoogleEmulatorHandle": "server",
    "running_emulator": "server",
    "serve": "server",
    "EmulatorState": "state",
    "Knobs": "state",
}

__all__ = [
    "CALENDAR_SCOPES",
    "ControlApiError",
    "ControlClient",
    "EmulatorState",
    "GoogleEmulatorHandle",
    "Knobs",
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
