"""A small typed client for the emulator's control API (used by tests, benchmarks and the demo)."""

from __future__ import annotations

import ssl
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx


class ControlApiError(RuntimeError):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"control API {status}: {message}")
        self.status = status


@dataclass(frozen=True)
class TenantInfo:
    id: str
    domains: list[str]

    @property
    def domain(self) -> str:
        return self.domains[0] if self.domains else self.id


@dataclass(frozen=True)
class SecretInfo:
    key_id: str
    value: str | None
    expires: str


@dataclass(frozen=True)
class AppInfo:
    client_id: str
    tenant_id: str
    permissions: list[str]
    secrets: list[SecretInfo] = field(default_factory=list)

    @property
    def secret(self) -> str:
        """The value of the first secret created with the app."""
        for s in self.secrets:
            if s.value:
                return s.value
        raise LookupError("the app was created without a secret")


@dataclass(frozen=True)
class UserInfo:
    id: str
    upn: str
    tenant_id: str
    default_calendar_id: str
    calendars: dict[str, str]  # name -> id


def _user(data: dict[str, Any]) -> UserInfo:
    return UserInfo(
        id=data["id"],
        upn=data["userPrincipalName"],
        tenant_id=data["tenantId"],
        default_calendar_id=data["defaultCalendarId"],
        calendars={c["name"]: c["id"] for c in data["calendars"]},
    )


def _app(data: dict[str, Any]) -> AppInfo:
    return AppInfo(
        client_id=data["clientId"],
        tenant_id=data["tenantId"],
        permissions=list(data["permissions"]),
        secrets=[SecretInfo(s["keyId"], s.get("value"), s["expires"]) for s in data["secrets"]],
    )


class ControlClient:
    """Talks to ``/_control`` of a running emulator (thread-safe; one pooled connection set)."""

    def __init__(self, base_url: str, ca_pem: Path | str, *, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        ctx = ssl.create_default_context(cafile=str(ca_pem))
        self._http = httpx.Client(
            base_url=self.base_url + "/_control", verify=ctx, trust_env=False, timeout=timeout
        )

    def close(self) -> None:
        self._http.close()

    def _call(self, method: str, path: str, json: Any = None, params: dict[str, Any] | None = None) -> Any:
        r = self._http.request(method, path, json=json, params=params)
        if r.status_code >= 300:
            try:
                message = r.json().get("error", r.text)
            except ValueError:
                message = r.text
            raise ControlApiError(r.status_code, str(message))
        return r.json()

    # -- service ---------------------------------------------------------------------------------
    def health(self) -> bool:
        return bool(self._call("GET", "/health")["ok"])

    def reset(self, *, default_knobs: bool = False) -> None:
        self._call("POST", "/reset", {"knobs": "defaults"} if default_knobs else {})

    def knobs(self) -> dict[str, Any]:
        return dict(self._call("GET", "/knobs"))

    def set_knobs(self, **values: Any) -> dict[str, Any]:
        return dict(self._call("PATCH", "/knobs", values))

    def counters(self) -> dict[str, Any]:
        return dict(self._call("GET", "/counters"))

    def journal(self, since: float = 0.0) -> list[dict[str, Any]]:
        return list(self._call("GET", "/journal", params={"since": since})["value"])

    # -- directory -------------------------------------------------------------------------------
    def create_tenant(
        self, domain: str, *, display_name: str | None = None, tenant_id: str | None = None
    ) -> TenantInfo:
        data = self._call(
            "POST", "/tenants", {"domains": [domain], "displayName": display_name, "id": tenant_id}
        )
        return TenantInfo(data["id"], data["domains"])

    def create_app(
        self,
        tenant: str,
        *,
        permissions: Iterable[str] = ("Calendars.ReadWrite",),
        secret: bool | str = True,
        secret_expires: datetime | str | None = None,
        certificate_pem: str | None = None,
        client_id: str | None = None,
        display_name: str = "sfacal",
    ) -> AppInfo:
        secrets: list[dict[str, Any]] = []
        if secret:
            expires = secret_expires.isoformat() if isinstance(secret_expires, datetime) else secret_expires
            secrets.append({"value": secret if isinstance(secret, str) else None, "expires": expires})
        body = {
            "tenant": tenant,
            "clientId": client_id,
            "displayName": display_name,
            "permissions": list(permissions),
            "secrets": secrets,
            "certificates": [{"pem": certificate_pem}] if certificate_pem else [],
        }
        return _app(self._call("POST", "/apps", body))

    def add_secret(
        self, client_id: str, *, value: str | None = None, expires: datetime | str | None = None
    ) -> SecretInfo:
        exp = expires.isoformat() if isinstance(expires, datetime) else expires
        data = self._call("POST", f"/apps/{client_id}/secrets", {"value": value, "expires": exp})
        return SecretInfo(data["keyId"], data["value"], data["expires"])

    def add_certificate(self, client_id: str, pem: str) -> dict[str, Any]:
        return dict(self._call("POST", f"/apps/{client_id}/certificates", {"pem": pem}))

    def set_permissions(self, client_id: str, permissions: Iterable[str]) -> AppInfo:
        return _app(self._call("PATCH", f"/apps/{client_id}", {"permissions": list(permissions)}))

    def create_user(
        self,
        tenant: str,
        upn: str,
        *,
        has_mailbox: bool = True,
        rest_enabled: bool = True,
        calendars: Iterable[str] = (),
        display_name: str | None = None,
        user_id: str | None = None,
    ) -> UserInfo:
        body = {
            "tenant": tenant,
            "userPrincipalName": upn,
            "hasMailbox": has_mailbox,
            "restEnabled": rest_enabled,
            "calendars": list(calendars),
            "displayName": display_name,
            "id": user_id,
        }
        return _user(self._call("POST", "/users", body))

    def user(self, user: str) -> dict[str, Any]:
        """The user as the control API describes it (calendars included)."""
        return dict(self._call("GET", f"/users/{user}"))

    def update_user(self, user: str, **fields: Any) -> UserInfo:
        return _user(self._call("PATCH", f"/users/{user}", fields))

    def create_calendar(self, user: str, name: str, *, can_edit: bool = True) -> str:
        """A calendar in the user's mailbox; ``can_edit=False`` models one shared read-only."""
        body = {"name": name, "canEdit": can_edit}
        return str(self._call("POST", f"/users/{user}/calendars", body)["id"])

    def delete_calendar(self, user: str, calendar: str) -> None:
        """The user deletes a calendar (by id or name), with its events."""
        self._call("DELETE", f"/users/{user}/calendars/{quote(calendar, safe='')}")

    # -- mailbox contents --------------------------------------------------------------------------
    def events(self, user: str | None = None) -> list[dict[str, Any]]:
        """Every stored event (all calendars, with extended properties); optionally of one user.
        ``id`` is the immutable id, ``restId`` the default id, ``calendarId`` where it is."""
        return list(self._call("GET", "/events", params={"user": user} if user else None)["value"])

    def user_create_event(
        self, user: str, event: dict[str, Any], *, calendar_id: str | None = None
    ) -> dict[str, Any]:
        """Create an event as the user would in Outlook."""
        return dict(self._call("POST", f"/users/{user}/events", {"event": event, "calendarId": calendar_id}))

    def user_update_event(self, user: str, event_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        """Edit an event as the user would in Outlook (new change key, feeds delta and notifications)."""
        return dict(self._call("PATCH", f"/users/{user}/events/{event_id}", changes))

    def user_delete_event(self, user: str, event_id: str) -> None:
        self._call("DELETE", f"/users/{user}/events/{event_id}")

    def user_move_event(self, user: str, event_id: str, calendar: str) -> dict[str, Any]:
        """Move an event to another calendar (id or name) as the user would in Outlook: its REST id
        and change key change, its immutable id stays."""
        return dict(self._call("POST", f"/users/{user}/events/{event_id}/move", {"calendar": calendar}))

    # -- subscriptions and delta -------------------------------------------------------------------
    def subscriptions(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "/subscriptions")["value"])

    def send_lifecycle(self, subscription_id: str, event: str) -> None:
        self._call("POST", f"/subscriptions/{subscription_id}/lifecycle", {"event": event})

    def notifications(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "/notifications")["value"])

    def expire_delta_tokens(self) -> int:
        return int(self._call("POST", "/delta/expire", {})["expired"])
