"""The records API: ``/sites/api/services/v1/tables/{table_id}/records/``.

The tenant comes from the Host header (``TENANT.localhost:PORT``, ``TENANT.justsfa.com``) or
from an explicit path prefix (``/_tenant/TENANT/sites/api/...``) for clients that can only
reach 127.0.0.1. Order of checks per request: tenant, API key (401), request limits (429),
injected failures (knobs), table (404), key scope and permission (403), then the operation.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .model import ApiError, ApiKey, Record, Table, Tenant, ValueError400, parse_json, render_record
from .query import parse_paging, select_records
from .records import not_found
from .state import EmulatorState
from .variants import check_update_form, present_items, present_record

log = logging.getLogger(__name__)

API_PREFIX = "/sites/api/services/v1"
PERMISSION_BY_METHOD = {"GET": "read", "HEAD": "read", "POST": "add", "PUT": "edit", "DELETE": "delete"}


_INJECTED_CODES = {
    500: "INTERNAL_ERROR",
    502: "BAD_GATEWAY",
    503: "SERVICE_UNAVAILABLE",
    504: "GATEWAY_TIMEOUT",
}


class _DroppedResponse(Response):
    """Announces a body, sends part of it and stops: the server then drops the connection."""

    def __init__(self) -> None:
        super().__init__(status_code=200, media_type="application/json")
        self.status_code = 0  # what the journal shows: no complete answer

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-length", b"1000"), (b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": b'[{"recordId"', "more_body": True})
        # returning without completing the response makes the server close the connection


def error_response(exc: ApiError, headers: dict[str, str] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"code": exc.code, "message": exc.message}
    if exc.target is not None:
        body["target"] = exc.target
    return JSONResponse(body, status_code=exc.status, headers=headers)


def tenant_from_host(host: str) -> str | None:
    """``fsz2.localhost:8443`` -> ``fsz2``; an IP address or bare ``localhost`` names no tenant."""
    host = host.strip().lower()
    if host.startswith("["):
        return None
    name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    try:
        ipaddress.ip_address(name)
        return None
    except ValueError:
        pass
    labels = name.split(".")
    if len(labels) < 2 or not labels[0]:
        return None
    return labels[0]


def _mask(key: str) -> str:
    return key[:4] + "…" if len(key) > 4 else "…"


async def _json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw:
        raise ValueError400("INVALID_REQUEST", "a JSON body is required")
    body = parse_json(raw)
    if not isinstance(body, dict):
        raise ValueError400("INVALID_REQUEST", "the body must be a JSON object")
    return body


def _records_list(body: dict[str, Any], state: EmulatorState) -> list[Any]:
    items = body.get("records")
    if not isinstance(items, list) or not items:
        raise ValueError400("INVALID_REQUEST", "'records' must be a non-empty list", target="records")
    cap = state.knobs.max_records_per_write
    if len(items) > cap:
        raise ValueError400("TOO_MANY_RECORDS", f"at most {cap} records per request", target="records")
    return items


class RecordsApi:
    def __init__(self, state: EmulatorState) -> None:
        self.state = state

    def routes(self) -> list[Route]:
        methods = ["GET", "POST", "PUT", "DELETE"]
        out: list[Route] = []
        for prefix in ("", "/_tenant/{tenant}"):
            base = f"{prefix}{API_PREFIX}/tables/{{table_id}}/records"
            out += [
                Route(base + "/", self.handle, methods=methods),
                Route(base, self.handle, methods=methods),
                Route(base + "/{record_id}", self.handle, methods=["GET", "DELETE"]),
                Route(base + "/{record_id}/", self.handle, methods=["GET", "DELETE"]),
            ]
        return out

    async def handle(self, request: Request) -> Response:
        state = self.state
        entry: dict[str, Any] = {
            "at": state.clock.now().isoformat(),
            "method": request.method,
            "path": request.url.path,
            "query": request.url.query,
            "tenant": None,
            "key": None,
            "apiKeyTitle": None,
        }
        headers: dict[str, str] = {}
        try:
            response = await self._handle(request, entry, headers)
        except ApiError as exc:
            response = error_response(exc, headers or None)
        except Exception:  # a bug in the emulator; never let it look like a crash to the client
            log.exception("JUST.SFA emulator: unexpected error")
            response = JSONResponse({"code": "INTERNAL_ERROR", "message": "internal error"}, status_code=500)
        entry["status"] = response.status_code
        state.log_request(entry)
        return response

    def _tenant(self, request: Request, entry: dict[str, Any]) -> Tenant:
        name = request.path_params.get("tenant")
        entry["via"] = "path" if name else "host"
        if not name:
            name = tenant_from_host(request.headers.get("host", ""))
        if not name:
            raise not_found(
                "TENANT_NOT_FOUND",
                "no tenant: use https://TENANT.localhost:PORT/... or https://127.0.0.1:PORT/_tenant/TENANT/...",
            )
        entry["tenant"] = name
        return self.state.tenant(name)

    def _authenticate(self, request: Request, tenant: Tenant, entry: dict[str, Any]) -> ApiKey:
        auth = request.headers.get("authorization", "")
        scheme, _, token = auth.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise ApiError(
                "UNAUTHORIZED", "an 'Authorization: Bearer <API-Key>' header is required", status=401
            )
        entry["key"] = _mask(token)
        with self.state.lock:
            ak = tenant.api_keys.get(token)
        if ak is None:
            raise ApiError("UNAUTHORIZED", "the API key is not valid", status=401)
        entry["apiKeyTitle"] = ak.title
        if not ak.enabled:
            raise ApiError("UNAUTHORIZED", "the API key is disabled", status=401)
        if ak.expires_at is not None and self.state.clock.now() >= ak.expires_at:
            raise ApiError("UNAUTHORIZED", "the API key has expired", status=401)
        return ak

    async def _handle(self, request: Request, entry: dict[str, Any], headers: dict[str, str]) -> Response:
        state = self.state
        tenant = self._tenant(request, entry)
        knobs = state.knobs
        if knobs.latency_ms > 0:
            await asyncio.sleep(knobs.latency_ms / 1000.0)
        ak = self._authenticate(request, tenant, entry)

        scope = tenant.name if state.limits.scope == "tenant" else f"{tenant.name}/{ak.title}/{_mask(ak.key)}"
        rejection = state.limiter.hit(scope, state.clock.time(), tenant.tz)
        if rejection is not None:
            headers["Retry-After"] = str(rejection.retry_after)
            what = "per-minute" if rejection.which == "minute" else "daily"
            raise ApiError(
                "TOO_MANY_REQUESTS",
                f"the {what} request limit ({rejection.limit}) was reached; retry after {rejection.retry_after} s",
                status=429,
            )
        injected = self._injected_failure()
        if injected == 429:
            headers["Retry-After"] = "1"
            raise ApiError("TOO_MANY_REQUESTS", "too many requests (injected)", status=429)
        if injected is not None:
            raise ApiError(
                "SERVICE_UNAVAILABLE", f"service unavailable (injected {injected})", status=injected
            )

        table_id = request.path_params["table_id"]
        with state.lock:
            table = state.table(tenant, table_id)
        if table_id not in ak.tables:
            raise ApiError(
                "FORBIDDEN", f"the API key may not access table '{table_id}'", target=table_id, status=403
            )
        perm = PERMISSION_BY_METHOD[request.method]
        if perm not in ak.permissions:
            raise ApiError("FORBIDDEN", f"the API key lacks the '{perm}' permission", target=perm, status=403)

        record_id = request.path_params.get("record_id")
        if request.method in ("GET", "HEAD"):
            return self._get(request, tenant, table, record_id)
        if record_id is not None:  # DELETE …/records/{id}
            body: dict[str, Any] = {"records": [{"recordId": record_id}]}
        else:
            body = await _json_body(request)
            entry["body"] = body
        items = _records_list(body, state)
        if request.method == "POST":
            raws = []
            for item in items:
                if not isinstance(item, dict) or "record" not in item:
                    raise ValueError400("INVALID_REQUEST", "each item of 'records' needs a 'record' object")
                raws.append(item["record"])
            ids, events = state.create_records(tenant.name, table_id, raws)
        elif request.method == "PUT":
            for item in items:
                if not isinstance(item, dict) or not isinstance(item.get("record"), dict):
                    raise ValueError400(
                        "INVALID_REQUEST", "each item of 'records' needs 'recordKey' and a 'record' object"
                    )
                check_update_form(item, state.variants)
            ids, events = state.update_records(tenant.name, table_id, items)
        else:
            ids, events = state.delete_records(tenant.name, table_id, items)
        if state.knobs.api_writes_fire_webhooks:
            state.fire(events)
        if request.method == "PUT" and state.variants.update_status == 204:
            return Response(status_code=204)
        return JSONResponse({"recordIds": ids})

    def _injected_failure(self) -> int | None:
        state = self.state
        with state.lock:
            if state.knobs.fail_next:
                return state.knobs.fail_next.pop(0)
            r429, r503, reset = (
                state.knobs.fail_rate_429,
                state.knobs.fail_rate_503,
                state.knobs.fail_rate_reset,
            )
        if r429 or r503 or reset:
            x = state.random()
            if x < r429:
                return 429
            if x < r429 + r503:
                return 503
            if x < r429 + r503 + reset:
                return 0
        return None

    def _get(self, request: Request, tenant: Tenant, table: Table, record_id: str | None) -> Response:
        state = self.state
        params = dict(request.query_params)
        with state.lock:
            field_ids: list[str] | None = None
            panel_name = params.get("panelName")
            if panel_name:
                panel = table.panels.get(panel_name)
                if panel is None:
                    raise ValueError400(
                        "PANEL_NOT_FOUND",
                        f"panel '{panel_name}' does not exist for table {table.table_id}",
                        target=panel_name,
                    )
                field_ids = panel.field_ids
            if record_id is not None:
                try:
                    rec = table.records.get(int(record_id))
                except ValueError:
                    rec = None
                if rec is None:
                    raise not_found("RECORD_NOT_FOUND", f"record {record_id} does not exist", record_id)
                return JSONResponse(
                    present_items([self._item(table, rec, tenant, field_ids)], state.variants)
                )
            filter_name = params.get("filterName")
            flt = None
            if filter_name:
                flt = table.filters.get(filter_name)
                if flt is None:
                    raise ValueError400(
                        "FILTER_NOT_FOUND",
                        f"filter '{filter_name}' does not exist for table {table.table_id}",
                        target=filter_name,
                    )
            limit, offset = parse_paging(params)
            search = {k: v for k, v in params.items() if k.startswith("_")}
            records = select_records(table, tenant, flt, search)
            page = records[offset : offset + limit]
            out = present_items([self._item(table, r, tenant, field_ids) for r in page], state.variants)
        return JSONResponse(out)

    def _item(
        self, table: Table, rec: Record, tenant: Tenant, field_ids: list[str] | None
    ) -> tuple[int, dict[str, Any]]:
        rendered = render_record(table, rec, tenant, field_ids)
        return rec.record_id, present_record(table, rendered, rec.record_id, tenant, self.state.variants)


def parse_expiry(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        dt = datetime.fromisoformat(str(value))
    except ValueError:
        raise ValueError400("INVALID_PARAMETER", f"expiresAt '{value}' is not an ISO datetime") from None
    if dt.tzinfo is None:
        raise ValueError400("INVALID_PARAMETER", "expiresAt needs a UTC offset")
    return dt
