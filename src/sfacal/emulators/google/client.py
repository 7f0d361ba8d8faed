"""A small client for the Google emulator's control API (tests, benchmarks, the demo)."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

__all__ = ["ControlApiError", "ControlClient"]

CALENDAR_SCOPES = (
    "https://www.googleapis.com/auth/calendar.events",
    "https://www.googleapis.com/auth/calendar.calendarlist.readonly",
)


class ControlApiError(RuntimeError):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"control API {status}: {message}")
        self.status = status


class ControlClient:
    """Talks to ``/_control`` of a running Google emulator."""

    def __init__(self, base_url: str, ca_pem: Path | str, *, timeout: float = 30.0) -> None:
        ctx = ssl.create_default_context(cafile=str(ca_pem))
        self._http = httpx.Client(
            base_url=base_url.rstrip("/") + "/_control", verify=ctx, trust_env=False, timeout=timeout
        )

    def close(self) -> None:
        self._http.close()

    def _call(self, method: str, path: str, json: Any = None) -> Any:
        r = self._http.request(method, path, json=json)
        if r.status_code >= 300:
            raise ControlApiError(r.status_code, r.text)
        return r.json()

    def health(self) -> bool:
        return bool(self._call("GET", "/health")["ok"])

    def reset(self) -> None:
        self._call("POST", "/reset", {})

    def set_knobs(self, **values: Any) -> dict[str, Any]:
        return dict(self._call("PATCH", "/knobs", values))

    def counters(self) -> dict[str, Any]:
        return dict(self._call("GET", "/counters"))

    def journal(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "/journal"))

    def create_project(self, project_id: str | None = None) -> dict[str, str]:
        return dict(self._call("POST", "/projects", {"project_id": project_id}))

    def set_api_enabled(self, project_id: str, enabled: bool) -> None:
        self._call("PATCH", f"/projects/{quote(project_id, safe='')}", {"api_enabled": enabled})

    def create_service_account(
        self, project_id: str, domain: str, delegated_scopes: tuple[str, ...] | None = CALENDAR_SCOPES
    ) -> dict[str, str]:
        """The key file (JSON) of a new service account whose client id is granted ``delegated_scopes``."""
        body = {"project_id": project_id, "domain": domain, "delegated_scopes": list(delegated_scopes or ())}
        return dict(self._call("POST", "/service-accounts", body))

    def update_service_account(self, client_email: str, **changes: Any) -> None:
        self._call("PATCH", f"/service-accounts/{quote(client_email, safe='')}", changes)

    def create_user(
        self,
        email: str,
        calendars: list[str] | None = None,
        *,
        read_only_calendars: list[str] | None = None,
        time_zone: str = "Asia/Tokyo",
    ) -> dict[str, Any]:
        body = {
            "email": email,
            "calendars": calendars or [],
            "read_only_calendars": read_only_calendars or [],
            "time_zone": time_zone,
        }
        return dict(self._call("POST", "/users", body))

    def events(self, email: str) -> list[dict[str, Any]]:
        """Every live event of the user, all calendars (``calendarId``/``calendarName`` added)."""
        return list(self._call("GET", f"/users/{quote(email, safe='')}/events"))

    def user_create_event(
        self, email: str, event: dict[str, Any], calendar: str | None = None
    ) -> dict[str, Any]:
        return dict(
            self._call(
                "POST", f"/users/{quote(email, safe='')}/events", {"event": event, "calendar": calendar}
            )
        )

    def user_update_event(self, email: str, event_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        return dict(self._call("PATCH", f"/users/{quote(email, safe='')}/events/{event_id}", changes))

    def user_delete_event(self, email: str, event_id: str) -> None:
        self._call("DELETE", f"/users/{quote(email, safe='')}/events/{event_id}")

    def user_move_event(self, email: str, event_id: str, calendar: str) -> dict[str, Any]:
        return dict(
            self._call(
                "POST", f"/users/{quote(email, safe='')}/events/{event_id}/move", {"calendar": calendar}
            )
        )

    def expire_sync_tokens(self) -> int:
        return int(self._call("POST", "/expire-sync-tokens", {})["expired"])
