"""Assemble the emulator's ASGI application."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .batch import BatchApi
from .control import ControlApi
from .delta import DeltaApi
from .errors import GraphError
from .graph import GraphApi
from .identity import Identity
from .mailbox import Mailboxes
from .service import JSON_TYPE, RESET, GraphRequest, GraphResponse, Pipeline
from .state import EmulatorState
from .subscriptions import Notifier

TRANSPORT_KEY = "sfacal.transport"


class Emulator:
    """The parts of the emulator, wired together (one per application)."""

    def __init__(self, state: EmulatorState, ca_pem: str | None = None) -> None:
        self.state = state
        self.identity = Identity(state)
        self.pipeline = Pipeline(state, self.identity)
        self.mailboxes = Mailboxes()
        self.graph = GraphApi(state, self.pipeline, self.mailboxes)
        self.delta = DeltaApi(state, self.pipeline)
        self.batch = BatchApi(state, self.pipeline)
        self.notifier = Notifier(state, self.pipeline, self.mailboxes, ca_pem)
        self.control = ControlApi(state, self.mailboxes, self.notifier)

    async def graph_endpoint(self, request: Request) -> Response:
        path = request.path_params["path"]
        headers = {k.lower(): v for k, v in request.headers.items()}
        limit = self.state.knobs.max_body_bytes
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                break
            chunks.append(chunk)
        base_url = str(request.base_url).rstrip("/")
        req = GraphRequest(
            method=request.method.upper(),
            path=path,
            query=dict(request.query_params),
            headers=headers,
            body=b"".join(chunks),
            base_url=base_url,
        )
        if size > limit:
            exc = GraphError(
                413,
                "RequestEntityTooLarge",
                f"The request is larger than the maximum allowed size of {limit} bytes.",
            )
            resp = self.pipeline.error(req, exc)
            self.state.record(
                {
                    "time": time.time(),
                    "method": req.method,
                    "path": "/v1.0/" + path,
                    "status": 413,
                    "app": None,
                    "mailbox": None,
                    "kind": "graph",
                }
            )
        else:
            resp = await self.pipeline.handle(req)
        if resp is RESET:
            transport = request.scope.get(TRANSPORT_KEY)
            if transport is not None:
                transport.abort()
                await asyncio.sleep(0)
                return _NoResponse()
            raise ConnectionResetError("emulated connection reset")
        return to_http(req, resp)


class _NoResponse(Response):
    """Sends nothing: the connection is already gone."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        return None


def to_http(req: GraphRequest, resp: GraphResponse) -> Response:
    headers = {
        "request-id": req.request_id,
        "client-request-id": req.header("client-request-id") or req.request_id,
    }
    headers.update(resp.headers)
    if resp.text is not None:
        return Response(resp.text, status_code=resp.status, headers=headers, media_type="text/plain")
    if resp.body is None:
        return Response(status_code=resp.status, headers=headers)
    content = json.dumps(resp.body, ensure_ascii=False, separators=(",", ":")).encode()
    headers["Content-Type"] = JSON_TYPE
    return Response(content, status_code=resp.status, headers=headers)


def create_app(state: EmulatorState | None = None, *, ca_pem: str | None = None) -> Starlette:
    """The Microsoft 365 emulator as a Starlette application.

    ``ca_pem`` is an extra CA bundle trusted when the emulator calls subscribers
    (validation handshakes and change notifications).
    """
    emulator = Emulator(state or EmulatorState(), ca_pem)

    async def not_found(request: Request) -> Response:
        return JSONResponse({"error": {"code": "BadRequest", "message": "Invalid version."}}, status_code=400)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await emulator.notifier.close()

    identity = emulator.identity
    methods = ["GET", "POST", "PATCH", "PUT", "DELETE"]
    routes = [
        *emulator.control.routes(),
        Route("/v1.0/{path:path}", emulator.graph_endpoint, methods=methods),
        Route("/beta/{path:path}", not_found, methods=methods),
        Route(
            "/{tenant}/v2.0/.well-known/openid-configuration", identity.openid_configuration, methods=["GET"]
        ),
        Route("/{tenant}/.well-known/openid-configuration", identity.openid_configuration, methods=["GET"]),
        Route("/{tenant}/discovery/v2.0/keys", identity.jwks, methods=["GET"]),
        Route("/{tenant}/discovery/keys", identity.jwks, methods=["GET"]),
        Route("/{tenant}/oauth2/v2.0/token", identity.token, methods=["POST"]),
        Route("/{tenant}/oauth2/token", identity.token, methods=["POST"]),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.emulator = emulator
    return app
