"""JSON batching: ``POST /v1.0/$batch``.

Up to 20 requests with unique ids; each runs through the same pipeline as a
standalone request (so it counts against the mailbox's concurrency and rate
limits) with the batch's access token. ``dependsOn`` orders requests; a request
whose dependency failed gets 424. At most four Outlook requests of one batch run
at the same time. With the ``batch_throttle`` knob, some items of a large batch
for one mailbox are answered 429 as Graph does (:mod:`.batch_throttle`).
"""

from __future__ import annotations

import asyncio
import functools
import uuid
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from .batch_throttle import throttled_items
from .errors import GraphError, bad_request
from .service import Admitted, Ctx, GraphRequest, GraphResponse, Pipeline
from .state import EmulatorState


class BatchApi:
    def __init__(self, state: EmulatorState, pipeline: Pipeline) -> None:
        self.state = state
        self.p = pipeline
        pipeline.add(r"^\$batch$", {"POST": self.batch}, mailbox=False)

    def _validate(self, body: Any) -> list[dict[str, Any]]:
        if not isinstance(body, dict) or not isinstance(body.get("requests"), list):
            raise bad_request("Invalid batch payload format.")
        requests: list[dict[str, Any]] = body["requests"]
        limit = self.state.knobs.max_batch_requests
        if not requests:
            raise bad_request("Invalid batch payload format.")
        if len(requests) > limit:  # Graph's words (microsoftgraph/microsoftgraph-postman-collections#9)
            raise bad_request("Number of requests inside batch exceeds the limit.")
        ids: set[str] = set()
        for item in requests:
            if not isinstance(item, dict):
                raise bad_request("Invalid batch payload format.")
            rid = item.get("id")
            if not isinstance(rid, str) or not rid:
                raise bad_request("Invalid batch payload format.")
            if rid in ids:
                raise bad_request(f"Batch request id '{rid}' is not unique. Request ids must be unique.")
            ids.add(rid)
            if not isinstance(item.get("method"), str) or not isinstance(item.get("url"), str):
                raise bad_request("Invalid batch payload format.")
            headers = item.get("headers") or {}
            if not isinstance(headers, dict):
                raise bad_request("Invalid batch payload format.")
            has_ctype = any(k.lower() == "content-type" for k in headers)
            if item.get("body") is not None and not has_ctype:
                raise bad_request(f"Write request id : {rid} does not contain Content-Type header or body.")
            if item["method"].upper() in ("POST", "PATCH", "PUT") and item.get("body") is None:
                raise bad_request(f"Write request id : {rid} does not contain Content-Type header or body.")
            deps = item.get("dependsOn") or []
            if not isinstance(deps, list) or not all(isinstance(d, str) for d in deps):
                raise bad_request("Invalid batch payload format.")
        for item in requests:
            for dep in item.get("dependsOn") or []:
                if dep not in ids or dep == item["id"]:
                    raise bad_request(
                        f"Request dependency '{dep}' of request '{item['id']}' is not in the batch."
                    )
        deps_of = {item["id"]: list(item.get("dependsOn") or []) for item in requests}
        marks: dict[str, int] = {}  # 1 = visiting, 2 = done

        def visit(rid: str) -> None:
            if marks.get(rid) == 2:
                return
            if marks.get(rid) == 1:
                raise bad_request("Batch request dependencies form a cycle.")
            marks[rid] = 1
            for dep in deps_of[rid]:
                visit(dep)
            marks[rid] = 2

        for rid in deps_of:
            visit(rid)
        return requests

    def _item_request(
        self, ctx: Ctx, item: dict[str, Any], batch_id: str, throttled: dict[str, float]
    ) -> GraphRequest:
        path, query = _split_item_url(item["url"])
        headers = {k.lower(): str(v) for k, v in (item.get("headers") or {}).items()}
        body = item.get("body")
        req = GraphRequest(
            method=item["method"].upper(),
            path=path,
            query=dict(query),
            headers=headers,
            body=b"",
            base_url=ctx.req.base_url,
            in_batch=True,
            batch_id=batch_id,
            throttle_after=throttled.get(item["id"]),
        )
        if isinstance(body, str) and "json" not in headers.get("content-type", "json"):
            req.body = body.encode()
        elif body is not None:
            req.parsed = body  # decoded with the batch already: no bytes to encode and parse again
        return req

    async def batch(self, ctx: Ctx) -> GraphResponse:
        requests = self._validate(ctx.json)
        batch_id = ctx.req.request_id
        width = max(1, self.state.knobs.batch_outlook_parallelism)
        throttled = throttled_items(self.state, requests, ctx.tenant_id, _item_path, self.p.rng)
        if self.p.fixed_latency and not any(item.get("dependsOn") for item in requests):
            order = await self._in_waves(ctx, requests, batch_id, width, throttled)
        else:
            order = await self._concurrently(ctx, requests, batch_id, width, throttled)
        out = []
        for rid, resp in order:
            entry: dict[str, Any] = {"id": rid, "status": resp.status}
            headers = dict(resp.headers)
            if resp.body is not None:
                headers.setdefault(
                    "Content-Type", "application/json; odata.metadata=minimal; odata.streaming=true"
                )
            if headers:
                entry["headers"] = headers
            if resp.body is not None:
                entry["body"] = resp.body
            out.append(entry)
        return GraphResponse(200, {"responses": out})

    async def _in_waves(
        self, ctx: Ctx, requests: list[dict[str, Any]], batch_id: str, width: int, throttled: dict[str, float]
    ) -> list[tuple[str, GraphResponse]]:
        """Independent items with a fixed latency: ``width`` at a time, each wave waiting once.

        The same schedule as :meth:`_concurrently` (every item of a wave starts together and takes
        the same time), without a task and a timer per item.
        """
        order: list[tuple[str, GraphResponse]] = []
        for first in range(0, len(requests), width):
            admitted: list[tuple[str, Admitted]] = []
            for item in requests[first : first + width]:
                rid = item["id"]
                try:
                    item_req = self._item_request(ctx, item, batch_id, throttled)
                except GraphError as exc:
                    order.append((rid, self.p.error(ctx.req, exc)))
                    continue
                outcome = self.p.admit(item_req, ctx.claims)
                if isinstance(outcome, GraphResponse):
                    order.append((rid, outcome))
                else:
                    admitted.append((rid, outcome))
            if not admitted:
                continue
            try:
                await self.p.wait(self.p.delay())
            except BaseException:
                for _, one in admitted:
                    self.p.abandon(one)
                raise
            for rid, one in admitted:
                order.append((rid, await self.p.finish(one)))
        return order

    async def _concurrently(
        self, ctx: Ctx, requests: list[dict[str, Any]], batch_id: str, width: int, throttled: dict[str, float]
    ) -> list[tuple[str, GraphResponse]]:
        """Items as concurrent tasks, at most ``width`` running; ``dependsOn`` waits (424 on failure)."""
        by_id = {item["id"]: item for item in requests}
        done: dict[str, asyncio.Future[GraphResponse]] = {
            rid: asyncio.get_running_loop().create_future() for rid in by_id
        }
        gate = asyncio.Semaphore(width)
        order: list[tuple[str, GraphResponse]] = []

        async def run(rid: str) -> None:
            item = by_id[rid]
            deps = item.get("dependsOn") or []
            failed = False
            for dep in deps:
                dep_resp = await done[dep]
                if dep_resp.status >= 400:
                    failed = True
            if failed:
                req_id = str(uuid.uuid4())
                resp = self.p.error(
                    GraphRequest("GET", "", {}, {}, b"", ctx.req.base_url, request_id=req_id),
                    GraphError(424, "FailedDependency", "Dependent request failed."),
                )
            else:
                try:
                    item_req = self._item_request(ctx, item, batch_id, throttled)
                except GraphError as exc:
                    resp = self.p.error(ctx.req, exc)
                else:
                    async with gate:
                        resp = await self.p.handle(item_req, claims=ctx.claims)
            order.append((rid, resp))
            done[rid].set_result(resp)

        await asyncio.gather(*(run(rid) for rid in by_id))
        return order


def _item_path(url: str) -> str:
    return _split_item_url(url)[0]


@functools.lru_cache(maxsize=4096)
def _split_item_url(url: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    """A batch item's relative URL as (path after ``v1.0/``, query pairs); remembered, since the
    items of a mailbox's batches repeat their URLs."""
    parts = urlsplit(url)
    if parts.scheme or parts.netloc:
        raise bad_request("Batch request URLs must be relative.")
    path = unquote(parts.path.lstrip("/"))
    if path.lower().startswith("v1.0/"):
        path = path[5:]
    return path, tuple(parse_qsl(parts.query, keep_blank_values=True)) if parts.query else ()
