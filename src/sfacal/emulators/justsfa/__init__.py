"""JUST.SFA emulator: the records API, webhooks, request limits and a control API.

Public entry points::

    create_app(state=None) -> Starlette
    serve(host, port, data_dir, *, demo_tenant=None, ...)            # foreground
    running_emulator(data_dir, *, state=None, port=0) -> EmulatorHandle   # context manager
    ControlClient(base_url, ca_pem)                                    # typed control API client

Point a JUST.SFA client at ``handle.tenant_url(tenant)`` (``https://127.0.0.1:PORT/_tenant/TENANT``)
and trust ``handle.ca_pem``. See ``docs/justsfa.md``.
"""

from .app import create_app
from .client import ControlClient, ControlError, ScheduleSetup
from .server import EmulatorHandle, running_emulator, serve
from .state import EmulatorState

__all__ = [
    "ControlClient",
    "ControlError",
    "EmulatorHandle",
    "EmulatorState",
    "ScheduleSetup",
    "create_app",
    "running_emulator",
    "serve",
]
