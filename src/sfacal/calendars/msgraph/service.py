"""The Microsoft Graph calendar connector: :class:`MicrosoftGraphCalendar` (async).

It implements :class:`~sfacal.calendars.base.CalendarService` over :class:`~.client.GraphClient`:
reads in :mod:`.reads`, batched writes in :mod:`.writes`, and here the administrator's checks
(C7 "save and test", E5 "check").
"""

from __future__ import annotations

from typing import Any

from sfacal.core.errors import (
    AccessDeniedError,
    CalendarNotFoundError,
    CalendarReadOnlyError,
    InputError,
    SfacalError,
)
from sfacal.core.expiry import ExpiringCredentialWarning
from sfacal.core.settings import normalize_calendar

from ..base import (
    CalendarInfo,
    CheckResult,
)
from .errors import graph_error
from .writes import GraphCalendarWrites

__all__ = ["REQUIRED_ROLES", "MicrosoftGraphCalendar"]

REQUIRED_ROLES = frozenset({"Calendars.ReadWrite"})


class MicrosoftGraphCalendar(GraphCalendarWrites):
    """Microsoft 365 calendars through Microsoft Graph.

    Build with :meth:`from_settings`; use as an async context manager (or call :meth:`aclose`).
    Local credential problems (``.pfx``, thumbprint, token endpoint) do not raise here: they are
    kept in :attr:`setup_error` and returned by every call and by the checks, with their hint.
    """

    # -- checks -----------------------------------------------------------------------------------
    def expiry_warnings(self) -> tuple[ExpiringCredentialWarning, ...]:
        """Certificate / client secret expiring within 30 days (or expired), for the dashboard."""
        return self.auth.expiry_warnings() if self.auth is not None else ()

    def _warnings(self) -> tuple[ExpiringCredentialWarning, ...]:
        return self.expiry_warnings()

    def _auth_details(self) -> dict[str, Any]:
        details: dict[str, Any] = {"auth_method": self.settings.auth_method.value}
        if self.auth is None:
            return details
        details.update(
            tenant=self.auth.endpoint.tenant,
            authority=self.auth.endpoint.authority,
            token_endpoint_version=self.auth.endpoint.version,
        )
        cert = self.auth.certificate
        if cert is not None:
            details["certificate"] = {
                "subject": cert.subject,
                "thumbprint_hex": cert.thumbprint_hex,
                "thumbprint_base64": cert.thumbprint_base64,
                "not_valid_after": cert.not_valid_after.isoformat(),
            }
        if self.auth.secret_expires_at is not None:
            details["secret_expires_at"] = self.auth.secret_expires_at.isoformat()
        return details

    async def _checked_token(self) -> list[str] | None:
        token = await self.http.token()
        if token.roles is None:
            return None
        roles = sorted(token.roles)
        if not REQUIRED_ROLES <= token.roles:
            raise AccessDeniedError(
                f"the token grants {roles or 'no application permissions'}, not Calendars.ReadWrite"
            )
        return roles

    async def check_connection(self, probe_mailbox: str | None = None) -> CheckResult:
        """C7: acquire a token, check its permissions, and call Graph (with ``probe_mailbox``:
        list that mailbox's calendars; else the service root, which any answer but 401 proves)."""
        details = {"check": "connection", **self._auth_details()}
        try:
            roles = await self._checked_token()
            details["roles"] = roles
            if probe_mailbox:
                details["calendars"] = [c.to_dict() for c in await self.list_calendars(probe_mailbox)]
            else:
                response = await self.http.request("GET", "/", attempts=2, accept=tuple(range(400, 600)))
                if response.status in (401, 403):
                    raise graph_error(response.status, response.body, response.headers, what="GET /")
                details["graph_status"] = response.status
        except SfacalError as exc:
            return CheckResult(False, exc, details, self._warnings())
        return CheckResult(True, None, details, self._warnings())

    async def check_mailbox(self, user_id: str, calendar_name: str | None = None) -> CheckResult:
        """E5: the mailbox exists, is reachable, and has the target calendar (``None``/empty:
        the default calendar) and we may write to it."""
        mailbox = (user_id or "").strip()
        name = normalize_calendar(calendar_name)
        details: dict[str, Any] = {"check": "mailbox", "mailbox": mailbox, "calendar_name": name}
        try:
            if not mailbox:
                raise InputError(
                    "user_id", "the mailbox user ID is required", reason_ja="連携ユーザーIDは必須です"
                )
            await self._checked_token()
            calendars = await self.list_calendars(mailbox)
            details["calendars"] = [c.to_dict() for c in calendars]
            chosen: CalendarInfo | None
            if name is None:
                chosen = next((c for c in calendars if c.is_default), None) or await self.default_calendar(
                    mailbox
                )
            else:
                chosen = self.match_calendar(calendars, name)
                if chosen is None:
                    raise CalendarNotFoundError(
                        f"calendars of {mailbox}: {[c.name for c in calendars]}",
                        mailbox=mailbox,
                        calendar=name,
                    )
            details["calendar"] = chosen.to_dict()
            if not chosen.can_edit:
                raise CalendarReadOnlyError(
                    f"the calendar {chosen.name!r} of {mailbox} is read-only",
                    mailbox=mailbox,
                    calendar=chosen.name,
                )
        except SfacalError as exc:
            return CheckResult(False, exc, details, self._warnings())
        return CheckResult(True, None, details, self._warnings())
