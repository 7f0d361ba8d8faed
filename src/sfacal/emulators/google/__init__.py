"""Google Workspace emulator: the OAuth 2.0 token endpoint for service accounts (JWT-bearer grant,
domain-wide delegation) and the Calendar API v3 subset sfacal uses, with batch, quotas and sync
tokens, built to the discovery document ``google-api-python-client`` ships.

Public API::

    create_app(state=None) -> Starlette
    serve(host, port, data_dir, *, knobs=None)
    running_emulator(data_dir, *, host="127.0.0.1", port=0, knobs=None) -> GoogleEmulatorHandle
    GoogleEmulatorHandle(.base_url, .token_url, .api_url, .ca_pem, .control: ControlClient)

Run alone: ``sfacal emulate google --port 8444`` or ``python -m sfacal.emulators.google``.
"""

from .app import create_app
from .client import CALENDAR_SCOPES, ControlApiError, ControlClient
from .server import GoogleEmulatorHandle, running_emulator, serve
from .state import EmulatorState, Knobs

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
