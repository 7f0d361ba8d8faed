"""Blocking checks over :class:`~.service.GoogleCalendar` for synchronous callers (each runs its own
event loop; never raises for a connection or user problem)."""

from __future__ import annotations

import asyncio

from ..base import CheckResult
from .service import GoogleCalendar
from .settings import GoogleSettings

__all__ = ["check_connection", "check_mailbox"]


def check_connection(settings: GoogleSettings, probe_mailbox: str | None = None) -> CheckResult:
    async def run() -> CheckResult:
        async with GoogleCalendar(settings) as cal:
            return await cal.check_connection(probe_mailbox)

    return asyncio.run(run())


def check_mailbox(settings: GoogleSettings, user_id: str, calendar_name: str | None = None) -> CheckResult:
    async def run() -> CheckResult:
        async with GoogleCalendar(settings) as cal:
            return await cal.check_mailbox(user_id, calendar_name)

    return asyncio.run(run())
