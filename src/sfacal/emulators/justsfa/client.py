"""A small typed client of the emulator's control API (for tests, benchmarks and the demo)."""

from __future__ import annotations

import ssl
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx


class ControlError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True)
class ScheduleSetup:
    """Identifiers of the standard schedule table (what the product's J1 settings reference)."""

    tenant: str
    table_id: str
    panel_id: str
    filter_id: str
    api_key: str
    key_field: str
    title_field: str
    location_field: str
    content_field: str
    schedule_field: str
    status_field: str
    kind_field: str
    purpose_field: str
    business_field: str
    customer_field: str
    address_field: str
    users: list[dict[str, str]]

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> ScheduleSetup:
        return cls(
            tenant=d["tenant"],
            table_id=d["tableId"],
            panel_id=d["panelId"],
            filter_id=d["filterId"],
            api_key=d["apiKey"],
            key_field=d["keyField"],
            title_field=d["titleField"],
            location_field=d["locationField"],
            content_field=d["contentField"],
            schedule_field=d["scheduleField"],
            status_field=d["statusField"],
            kind_field=d["kindField"],
            purpose_field=d["purposeField"],
            business_field=d["businessField"],
            customer_field=d["customerField"],
            address_field=d["addressField"],
            users=list(d["users"]),
        )

    def schedule_value(self, start: str, end: str, participants: list[str]) -> dict[str, Any]:
        """The schedule field's value for ``participants`` (user IDs) from ``start`` to ``end``."""
        f = self.schedule_field
        return {f"{f}_period": [start, end], f"{f}_participants": [[u] for u in participants]}


def tls_context(ca_pem: Path | str) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(ca_pem))


class ControlClient:
    def __init__(self, base_url: str, ca_pem: Path | str, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.base_url, verify=tls_context(ca_pem), timeout=timeout, trust_env=False
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ControlClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, method: str, path: str, json: Any = None, params: dict[str, Any] | None = None) -> Any:
        resp = self._http.request(method, "/_control" + path, json=json, params=params)
        if resp.status_code >= 400:
            try:
                body = resp.json()
                code, message = str(body.get("code")), str(body.get("message"))
            except ValueError:
                code, message = "HTTP_ERROR", resp.text
            raise ControlError(resp.status_code, code, message)
        return resp.json()

    # ------------------------------------------------------------------ global
    def health(self) -> dict[str, Any]:
        return dict(self._call("GET", "/health"))

    def reset(self) -> None:
        self._call("POST", "/reset")

    def knobs(self) -> dict[str, Any]:
        return dict(self._call("GET", "/knobs"))

    def set_knobs(self, **knobs: Any) -> dict[str, Any]:
        return dict(self._call("PUT", "/knobs", json=knobs))

    def advance_clock(self, seconds: float) -> str:
        return str(self._call("POST", "/clock/advance", json={"seconds": seconds})["now"])

    def journal(self, since: int = 0, tenant: str | None = None) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"since": since}
        if tenant is not None:
            params["tenant"] = tenant
        return list(self._call("GET", "/journal", params=params))

    def counters(self, tenant: str) -> dict[str, Any]:
        rows = self._call("GET", "/counters", params={"tenant": tenant})
        return dict(rows[0])

    def deliveries(self, tenant: str | None = None) -> list[dict[str, Any]]:
        return list(self._call("GET", "/webhook-deliveries", params={"tenant": tenant} if tenant else None))

    def wait_deliveries(
        self, count: int, *, tenant: str | None = None, timeout: float = 10.0
    ) -> list[dict[str, Any]]:
        """Wait until at least ``count`` deliveries are finished (delivered or failed); return all."""
        deadline = time.monotonic() + timeout
        while True:
            rows = self.deliveries(tenant)
            done = [r for r in rows if r["state"] != "pending"]
            if len(done) >= count and len(done) == len(rows):
                return rows
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(done)} of {count} webhook deliveries finished: {rows}")
            time.sleep(0.02)

    # ------------------------------------------------------------------ schema
    def create_tenant(self, tenant: str, utc_offset_minutes: int = 540) -> dict[str, Any]:
        return dict(
            self._call("POST", "/tenants", json={"tenant": tenant, "utcOffsetMinutes": utc_offset_minutes})
        )

    def tenant(self, tenant: str) -> dict[str, Any]:
        return dict(self._call("GET", f"/tenants/{tenant}"))

    def add_user(self, tenant: str, user_id: str, name: str) -> dict[str, Any]:
        return dict(self._call("POST", f"/tenants/{tenant}/users", json={"userId": user_id, "name": name}))

    def create_table(
        self, tenant: str, name: str, fields: list[dict[str, Any]], table_id: str | None = None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"name": name, "fields": fields}
        if table_id is not None:
            body["tableId"] = table_id
        return dict(self._call("POST", f"/tenants/{tenant}/tables", json=body))

    def table(self, tenant: str, table_id: str) -> dict[str, Any]:
        return dict(self._call("GET", f"/tenants/{tenant}/tables/{table_id}"))

    def add_field(self, tenant: str, table_id: str, **spec: Any) -> dict[str, Any]:
        return dict(self._call("POST", f"/tenants/{tenant}/tables/{table_id}/fields", json=spec))

    def add_panel(
        self,
        tenant: str,
        table_id: str,
        name: str,
        fields: list[str] | None = None,
        panel_id: str | None = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"name": name, "fields": fields, "panelId": panel_id}
        return dict(self._call("POST", f"/tenants/{tenant}/tables/{table_id}/panels", json=body))

    def add_filter(
        self,
        tenant: str,
        table_id: str,
        name: str,
        conditions: list[dict[str, Any]],
        filter_id: str | None = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"name": name, "conditions": conditions, "filterId": filter_id}
        return dict(self._call("POST", f"/tenants/{tenant}/tables/{table_id}/filters", json=body))

    def create_api_key(
        self,
        tenant: str,
        tables: list[str],
        permissions: list[str] | None = None,
        *,
        title: str = "api-key",
        key: str | None = None,
        enabled: bool = True,
        expires_at: str | None = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "tables": tables,
            "permissions": permissions or ["read", "add", "edit", "delete"],
            "title": title,
            "enabled": enabled,
            "expiresAt": expires_at,
        }
        if key is not None:
            body["key"] = key
        return dict(self._call("POST", f"/tenants/{tenant}/api-keys", json=body))

    def update_api_key(self, tenant: str, key: str, **changes: Any) -> dict[str, Any]:
        return dict(self._call("PATCH", f"/tenants/{tenant}/api-keys/{key}", json=changes))

    def setup_schedule(
        self, tenant: str, users: list[dict[str, str]] | None = None, api_key: str | None = None
    ) -> ScheduleSetup:
        body: dict[str, Any] = {}
        if users is not None:
            body["users"] = users
        if api_key is not None:
            body["apiKey"] = api_key
        return ScheduleSetup.from_json(self._call("POST", f"/tenants/{tenant}/setup/schedule", json=body))

    # ------------------------------------------------------------------ webhooks
    def add_webhook(
        self,
        tenant: str,
        table_id: str,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        events: list[str] | None = None,
        fields: list[str] | None = None,
        title: str = "webhook",
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"url": url, "headers": headers or {}, "title": title, "fields": fields}
        if events is not None:
            body["events"] = events
        return dict(self._call("POST", f"/tenants/{tenant}/tables/{table_id}/webhooks", json=body))

    def update_webhook(self, tenant: str, table_id: str, webhook_id: str, **changes: Any) -> dict[str, Any]:
        return dict(
            self._call("PUT", f"/tenants/{tenant}/tables/{table_id}/webhooks/{webhook_id}", json=changes)
        )

    def delete_webhook(self, tenant: str, table_id: str, webhook_id: str) -> None:
        self._call("DELETE", f"/tenants/{tenant}/tables/{table_id}/webhooks/{webhook_id}")

    def test_webhook(self, tenant: str, table_id: str, webhook_id: str) -> int:
        return int(
            self._call("POST", f"/tenants/{tenant}/tables/{table_id}/webhooks/{webhook_id}/test")[
                "deliveryId"
            ]
        )

    # ------------------------------------------------------------------ records (as a salesperson in the UI)
    def create_record(
        self, tenant: str, table_id: str, record: dict[str, Any], *, fire_webhooks: bool = True
    ) -> dict[str, Any]:
        return dict(
            self._call(
                "POST",
                f"/tenants/{tenant}/tables/{table_id}/records",
                json={"record": record, "fireWebhooks": fire_webhooks},
            )
        )

    def update_record(
        self,
        tenant: str,
        table_id: str,
        record_id: int,
        record: dict[str, Any],
        *,
        fire_webhooks: bool = True,
    ) -> dict[str, Any]:
        return dict(
            self._call(
                "PUT",
                f"/tenants/{tenant}/tables/{table_id}/records/{record_id}",
                json={"record": record, "fireWebhooks": fire_webhooks},
            )
        )

    def delete_record(
        self, tenant: str, table_id: str, record_id: int, *, fire_webhooks: bool = True
    ) -> None:
        self._call(
            "DELETE",
            f"/tenants/{tenant}/tables/{table_id}/records/{record_id}",
            json={"fireWebhooks": fire_webhooks},
        )

    def records(self, tenant: str, table_id: str) -> list[dict[str, Any]]:
        return list(self._call("GET", f"/tenants/{tenant}/tables/{table_id}/records"))

    def record(self, tenant: str, table_id: str, record_id: int) -> dict[str, Any]:
        return dict(self._call("GET", f"/tenants/{tenant}/tables/{table_id}/records/{record_id}"))
