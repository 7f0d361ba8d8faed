"""The control API (``/_control/...``): set up tenants, act as a salesperson, read everything.

It lives outside JUST.SFA's URL space and needs no key (the emulator listens on loopback).
Every answer is JSON; every mistake is a 4xx ``{"code", "message"}``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .api import error_response, parse_expiry
from .model import WEBHOOK_EVENTS, ApiError, ValueError400, Webhook, parse_json, render_record
from .presets import schedule_setup
from .records import not_found
from .state import EmulatorState

Handler = Callable[[Request], Awaitable[Any]]


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw:
        return {}
    data = parse_json(raw)
    if not isinstance(data, dict):
        raise ValueError400("INVALID_REQUEST", "the body must be a JSON object")
    return data


def _str(body: dict[str, Any], name: str, default: str | None = None) -> str:
    v = body.get(name, default)
    if not isinstance(v, str) or not v:
        raise ValueError400("INVALID_PARAMETER", f"'{name}' is required (string)", target=name)
    return v


def _list(body: dict[str, Any], name: str, default: list[Any] | None = None) -> list[Any]:
    v = body.get(name, default)
    if not isinstance(v, list):
        raise ValueError400("INVALID_PARAMETER", f"'{name}' must be a list", target=name)
    return v


def _fire_flag(request: Request, body: dict[str, Any]) -> bool:
    q = request.query_params.get("webhooks")
    if q is not None:
        return q.lower() not in ("0", "false", "no", "off")
    v = body.get("fireWebhooks", True)
    return bool(v)


class ControlApi:
    def __init__(self, state: EmulatorState) -> None:
        self.state = state

    def _wrap(self, fn: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            try:
                result = await fn(request)
            except ApiError as exc:
                return error_response(exc)
            if isinstance(result, Response):
                return result
            return JSONResponse(result)

        return endpoint

    def routes(self) -> list[Route]:
        T = "/_control/tenants/{tenant}"
        TT = T + "/tables/{table_id}"
        spec: list[tuple[str, Handler, list[str]]] = [
            ("/_control/health", self.health, ["GET"]),
            ("/_control/reset", self.reset, ["POST"]),
            ("/_control/knobs", self.knobs, ["GET", "PUT", "PATCH"]),
            ("/_control/clock", self.clock, ["GET"]),
            ("/_control/clock/advance", self.advance, ["POST"]),
            ("/_control/journal", self.journal, ["GET"]),
            ("/_control/counters", self.counters, ["GET"]),
            ("/_control/webhook-deliveries", self.deliveries, ["GET"]),
            ("/_control/tenants", self.tenants, ["GET", "POST"]),
            (T, self.tenant, ["GET"]),
            (T + "/users", self.users, ["GET", "POST"]),
            (T + "/api-keys", self.api_keys, ["GET", "POST"]),
            (T + "/api-keys/{key}", self.api_key, ["PATCH"]),
            (T + "/setup/schedule", self.setup_schedule, ["POST"]),
            (T + "/tables", self.tables, ["GET", "POST"]),
            (TT, self.table, ["GET"]),
            (TT + "/fields", self.fields, ["POST"]),
            (TT + "/panels", self.panels, ["POST"]),
            (TT + "/filters", self.filters, ["POST"]),
            (TT + "/webhooks", self.webhooks, ["GET", "POST"]),
            (TT + "/webhooks/{webhook_id}", self.webhook, ["GET", "PUT", "DELETE"]),
            (TT + "/webhooks/{webhook_id}/test", self.webhook_test, ["POST"]),
            (TT + "/records", self.records, ["GET", "POST"]),
            (TT + "/records/{record_id:int}", self.record, ["GET", "PUT", "PATCH", "DELETE"]),
        ]
        return [Route(path, self._wrap(fn), methods=methods) for path, fn, methods in spec]

    # ------------------------------------------------------------------ global
    async def health(self, request: Request) -> Any:
        return {"ok": True, "tenants": len(self.state.tenants)}

    async def reset(self, request: Request) -> Any:
        self.state.reset()
        return {"ok": True}

    async def knobs(self, request: Request) -> Any:
        if request.method == "GET":
            return self.state.describe_knobs()
        return self.state.set_knobs(await _body(request))

    async def clock(self, request: Request) -> Any:
        return {"now": self.state.clock.now().isoformat(), "time": self.state.clock.time()}

    async def advance(self, request: Request) -> Any:
        body = await _body(request)
        secs = body.get("seconds")
        if isinstance(secs, bool) or not isinstance(secs, int | float) or not 0 <= secs <= 86_400 * 3660:
            raise ValueError400(
                "INVALID_PARAMETER", "'seconds' must be a number from 0 to ten years", target="seconds"
            )
        self.state.clock.advance(float(secs))
        return {"now": self.state.clock.now().isoformat()}

    async def journal(self, request: Request) -> Any:
        try:
            since = int(request.query_params.get("since", "0"))
        except ValueError:
            raise ValueError400("INVALID_PARAMETER", "'since' must be an integer", target="since") from None
        return self.state.journal_since(since, request.query_params.get("tenant"))

    async def counters(self, request: Request) -> Any:
        st = self.state
        tenant = request.query_params.get("tenant")
        now = st.clock.time()
        out = []
        for scope in st.limiter.scopes():
            name = scope.split("/", 1)[0]
            if tenant is not None and name != tenant:
                continue
            t = st.tenants.get(name)
            if t is not None:
                out.append(st.limiter.snapshot(scope, now, t.tz))
        if tenant is not None and not out:
            t = st.tenant(tenant)
            out.append(st.limiter.snapshot(tenant, now, t.tz))
        return out

    async def deliveries(self, request: Request) -> Any:
        rows = self.state.dispatcher.deliveries()
        tenant = request.query_params.get("tenant")
        if tenant is not None:
            rows = [r for r in rows if r["tenant"] == tenant]
        return rows

    # ------------------------------------------------------------------ tenants & schema
    async def tenants(self, request: Request) -> Any:
        st = self.state
        if request.method == "GET":
            return sorted(st.tenants)
        body = await _body(request)
        offset = body.get("utcOffsetMinutes", 540)
        if isinstance(offset, bool) or not isinstance(offset, int) or abs(offset) > 14 * 60:
            raise ValueError400(
                "INVALID_PARAMETER", "'utcOffsetMinutes' must be an integer", target="utcOffsetMinutes"
            )
        t = st.create_tenant(_str(body, "tenant"), offset)
        return JSONResponse({"tenant": t.name, "utcOffsetMinutes": t.utc_offset_minutes}, status_code=201)

    async def tenant(self, request: Request) -> Any:
        st = self.state
        with st.lock:
            t = st.tenant(request.path_params["tenant"])
            return {
                "tenant": t.name,
                "utcOffsetMinutes": t.utc_offset_minutes,
                "users": [{"userId": u.user_id, "name": u.name} for u in t.users.values()],
                "tables": [self._describe_table(t.name, tid) for tid in t.tables],
                "apiKeys": [self._describe_key(k) for k in t.api_keys.values()],
            }

    async def users(self, request: Request) -> Any:
        st = self.state
        name = request.path_params["tenant"]
        if request.method == "GET":
            with st.lock:
                return [{"userId": u.user_id, "name": u.name} for u in st.tenant(name).users.values()]
        body = await _body(request)
        u = st.add_user(name, _str(body, "userId"), _str(body, "name"))
        return JSONResponse({"userId": u.user_id, "name": u.name}, status_code=201)

    @staticmethod
    def _describe_key(k: Any) -> dict[str, Any]:
        return {
            "key": k.key,
            "title": k.title,
            "tables": list(k.tables),
            "permissions": sorted(k.permissions),
            "enabled": k.enabled,
            "expiresAt": k.expires_at.isoformat() if k.expires_at else None,
        }

    async def api_keys(self, request: Request) -> Any:
        st = self.state
        name = request.path_params["tenant"]
        if request.method == "GET":
            with st.lock:
                return [self._describe_key(k) for k in st.tenant(name).api_keys.values()]
        body = await _body(request)
        key = body.get("key")
        ak = st.create_api_key(
            name,
            str(body.get("title", "api-key")),
            _list(body, "tables"),
            _list(body, "permissions", ["read", "add", "edit", "delete"]),
            key=key if isinstance(key, str) else None,
            enabled=bool(body.get("enabled", True)),
            expires_at=parse_expiry(body.get("expiresAt")),
        )
        return JSONResponse(self._describe_key(ak), status_code=201)

    async def api_key(self, request: Request) -> Any:
        body = await _body(request)
        ak = self.state.update_api_key(request.path_params["tenant"], request.path_params["key"], body)
        return self._describe_key(ak)

    async def setup_schedule(self, request: Request) -> Any:
        body = await _body(request)
        users = body.get("users")
        if users is not None and (
            not isinstance(users, list)
            or not all(isinstance(u, dict) and isinstance(u.get("userId"), str) for u in users)
        ):
            raise ValueError400(
                "INVALID_PARAMETER", "'users' must be a list of {userId, name}", target="users"
            )
        result = schedule_setup(
            self.state,
            request.path_params["tenant"],
            users=users,
            api_key=body.get("apiKey") if isinstance(body.get("apiKey"), str) else None,
            table_name=str(body.get("tableName", "スケジュール")),
        )
        return JSONResponse(result, status_code=201)

    def _describe_table(self, tenant_name: str, table_id: str) -> dict[str, Any]:
        st = self.state
        with st.lock:
            t = st.tenant(tenant_name)
            tbl = st.table(t, table_id)
            return {
                "tableId": tbl.table_id,
                "name": tbl.name,
                "fields": [f.describe() for f in tbl.fields.values()],
                "panels": [
                    {"panelId": p.panel_id, "name": p.name, "fields": list(p.field_ids)}
                    for p in tbl.panels.values()
                ],
                "filters": [
                    {
                        "filterId": f.filter_id,
                        "name": f.name,
                        "conditions": [c.describe() for c in f.conditions],
                    }
                    for f in tbl.filters.values()
                ],
                "webhooks": [h.describe() for h in t.webhooks[table_id].values()],
                "recordCount": len(tbl.records),
            }

    async def tables(self, request: Request) -> Any:
        st = self.state
        name = request.path_params["tenant"]
        if request.method == "GET":
            with st.lock:
                return [self._describe_table(name, tid) for tid in st.tenant(name).tables]
        body = await _body(request)
        fields = _list(body, "fields", [])
        if not all(isinstance(f, dict) for f in fields):
            raise ValueError400("INVALID_PARAMETER", "'fields' must be a list of objects", target="fields")
        tid = body.get("tableId")
        tbl = st.create_table(
            name, str(body.get("name", "table")), tid if isinstance(tid, str) else None, fields
        )
        return JSONResponse(self._describe_table(name, tbl.table_id), status_code=201)

    async def table(self, request: Request) -> Any:
        return self._describe_table(request.path_params["tenant"], request.path_params["table_id"])

    async def fields(self, request: Request) -> Any:
        fld = self.state.add_field(
            request.path_params["tenant"], request.path_params["table_id"], await _body(request)
        )
        return JSONResponse(fld.describe(), status_code=201)

    async def panels(self, request: Request) -> Any:
        body = await _body(request)
        ids = body.get("fields")
        if ids is not None and (not isinstance(ids, list) or not all(isinstance(i, str) for i in ids)):
            raise ValueError400(
                "INVALID_PARAMETER", "'fields' must be a list of field identifiers", target="fields"
            )
        pid = body.get("panelId")
        p = self.state.add_panel(
            request.path_params["tenant"],
            request.path_params["table_id"],
            str(body.get("name", "panel")),
            ids,
            pid if isinstance(pid, str) else None,
        )
        return JSONResponse({"panelId": p.panel_id, "name": p.name, "fields": p.field_ids}, status_code=201)

    async def filters(self, request: Request) -> Any:
        body = await _body(request)
        conds = _list(body, "conditions", [])
        if not all(isinstance(c, dict) for c in conds):
            raise ValueError400(
                "INVALID_PARAMETER", "'conditions' must be a list of objects", target="conditions"
            )
        fid = body.get("filterId")
        f = self.state.add_filter(
            request.path_params["tenant"],
            request.path_params["table_id"],
            str(body.get("name", "filter")),
            conds,
            fid if isinstance(fid, str) else None,
        )
        return JSONResponse(
            {"filterId": f.filter_id, "name": f.name, "conditions": [c.describe() for c in f.conditions]},
            status_code=201,
        )

    # ------------------------------------------------------------------ webhooks
    def _webhook_from(self, body: dict[str, Any], webhook_id: str, table_fields: set[str]) -> Webhook:
        url = _str(body, "url")
        if not url.startswith(("http://", "https://")):
            raise ValueError400("INVALID_PARAMETER", "'url' must be an http(s) URL", target="url")
        headers = body.get("headers", {})
        if not isinstance(headers, dict) or not all(
            isinstance(k, str)
            and isinstance(v, str)
            and k.strip()
            and "\n" not in k + v
            and "\r" not in k + v
            for k, v in headers.items()
        ):
            raise ValueError400(
                "INVALID_PARAMETER", "'headers' must map header names to string values", target="headers"
            )
        events = _list(body, "events", list(WEBHOOK_EVENTS))
        if not all(e in WEBHOOK_EVENTS for e in events):
            raise ValueError400(
                "INVALID_PARAMETER", f"'events' must be a subset of {WEBHOOK_EVENTS}", target="events"
            )
        fields = body.get("fields")
        if fields is not None:
            if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
                raise ValueError400(
                    "INVALID_PARAMETER", "'fields' must be a list of field identifiers", target="fields"
                )
            for f in fields:
                if f not in table_fields:
                    raise ValueError400("UNKNOWN_FIELD", f"field '{f}' does not exist", target=f)
        return Webhook(
            webhook_id=webhook_id,
            title=str(body.get("title", "webhook")),
            url=url,
            headers=dict(headers),
            events=set(events),
            fields=fields,
            enabled=bool(body.get("enabled", True)),
        )

    async def webhooks(self, request: Request) -> Any:
        st = self.state
        name, tid = request.path_params["tenant"], request.path_params["table_id"]
        body = await _body(request) if request.method == "POST" else {}
        with st.lock:
            t = st.tenant(name)
            tbl = st.table(t, tid)
            if request.method == "GET":
                return [h.describe() for h in t.webhooks[tid].values()]
            hook = self._webhook_from(body, st.new_id("webhook"), set(tbl.fields))
            t.webhooks[tid][hook.webhook_id] = hook
            return JSONResponse(hook.describe(), status_code=201)

    async def webhook(self, request: Request) -> Any:
        st = self.state
        name, tid, wid = (request.path_params[k] for k in ("tenant", "table_id", "webhook_id"))
        body = await _body(request) if request.method == "PUT" else {}
        with st.lock:
            t = st.tenant(name)
            tbl = st.table(t, tid)
            hook = t.webhooks[tid].get(wid)
            if hook is None:
                raise not_found("WEBHOOK_NOT_FOUND", f"webhook '{wid}' does not exist", wid)
            if request.method == "GET":
                return hook.describe()
            if request.method == "DELETE":
                del t.webhooks[tid][wid]
                return {"deleted": wid}
            new = self._webhook_from({**hook.describe(), **body}, wid, set(tbl.fields))
            t.webhooks[tid][wid] = new
            return new.describe()

    async def webhook_test(self, request: Request) -> Any:
        p = request.path_params
        did = self.state.test_webhook(p["tenant"], p["table_id"], p["webhook_id"])
        return {"deliveryId": did}

    # ------------------------------------------------------------------ records (as a salesperson)
    def _describe_record(self, tenant_name: str, table_id: str, record_id: int) -> dict[str, Any]:
        st = self.state
        with st.lock:
            t = st.tenant(tenant_name)
            tbl = st.table(t, table_id)
            rec = tbl.records.get(record_id)
            if rec is None:
                raise not_found("RECORD_NOT_FOUND", f"record {record_id} does not exist", str(record_id))
            return {
                "recordId": rec.record_id,
                "record": render_record(tbl, rec, t),
                "createdAt": rec.created_at.isoformat(),
                "updatedAt": rec.updated_at.isoformat(),
                "revision": rec.revision,
            }

    async def records(self, request: Request) -> Any:
        st = self.state
        name, tid = request.path_params["tenant"], request.path_params["table_id"]
        if request.method == "GET":
            with st.lock:
                tbl = st.table(st.tenant(name), tid)
                return [self._describe_record(name, tid, rid) for rid in sorted(tbl.records)]
        body = await _body(request)
        ids, events = st.create_records(name, tid, [body.get("record")])
        deliveries = st.fire(events) if _fire_flag(request, body) else []
        return JSONResponse(
            {**self._describe_record(name, tid, ids[0]), "deliveries": deliveries}, status_code=201
        )

    async def record(self, request: Request) -> Any:
        st = self.state
        name, tid, rid = (
            request.path_params["tenant"],
            request.path_params["table_id"],
            request.path_params["record_id"],
        )
        if request.method == "GET":
            return self._describe_record(name, tid, rid)
        body = await _body(request)
        if request.method == "DELETE":
            _, events = st.delete_records(name, tid, [{"recordId": rid}])
            deliveries = st.fire(events) if _fire_flag(request, body) else []
            return {"deleted": rid, "deliveries": deliveries}
        _, events = st.update_records(name, tid, [{"recordId": rid, "record": body.get("record")}])
        deliveries = st.fire(events) if _fire_flag(request, body) else []
        return {**self._describe_record(name, tid, rid), "deliveries": deliveries}
