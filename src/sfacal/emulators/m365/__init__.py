"""Microsoft 365 emulator: Microsoft Entra ID token endpoints and the Graph v1.0 calendar subset.

Public API::

    create_app(state=None, *, ca_pem=None) -> Starlette
    serve(host, port, data_dir, latency_ms=None, *, knobs=None, log_level="warning")
    running_emulator(data_dir, *, host="127.0.0.1", port=0, latency_ms=None, knobs=None) -> EmulatorHandle
    EmulatorHandle(.base_url, .graph_url, .ca_pem, .control: ControlClient, .authority(t), .token_url(t, v2=True))

Run alone: ``python -m sfacal.emulators.m365 --port 8443 [--host 127.0.0.1] [--data-dir DIR]``.
"""

from .app import create_app
from .client import AppInfo, ControlApiError, ControlClient, SecretInfo, TenantInfo, UserInfo
from .server import EmulatorHandle, running_emulator, serve
from .state import EmulatorState, Knobs

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
