"""Assemble the emulator's ASGI application."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from urllib.parse import parse_qsl

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

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
from .viewer import MailboxViewer

TRANSPORT_KEY = "sfacal.transport"
GRAPH_PREFIX = "/v1.0/"


class Emulator:
    """The parts of the emulator, wired together (one per application)."""

    def __init__(self, state: EmulatorState, ca_pem: str | None = None) -> None:
        self.state = state
        self.identity = Identity(state)
        self.pipeline = Pipeline(state, self.identity)
        self.mailboxes = Mailboxes(state)
        self.graph = GraphApi(state, self.pipeline, self.mailboxes)
        self.delta = DeltaApi(state, self.pipeline)
        self.batch = BatchApi(state, self.pipeline)
        self.notifier = Notifier(state, self.pipeline, self.mailboxes, ca_pem)
        self.control = ControlApi(state, self.mailboxes, self.notifier)

    async def graph_asgi(self, scope: Scope, receive: Receive, send: Send) -> None:
        """``/v1.0/…`` as a plain ASGI endpoint: every Graph request and batch comes this way, so it
        skips the router and middleware the control and identity endpoints use."""
        limit = self.state.knobs.max_body_bytes
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            more = message.get("more_body", False)
            size += len(chunk)
            if size <= limit:
                chunks.append(chunk)
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        query = scope.get("query_string", b"")
        host = headers.get("host")
        if host is None:
            server = scope.get("server") or ("localhost", None)
            host = server[0] if server[1] is None else f"{server[0]}:{server[1]}"
        req = GraphRequest(
            method=scope["method"].upper(),
            path=scope["path"][len(GRAPH_PREFIX) :],
            query=dict(parse_qsl(query.decode("latin-1"), keep_blank_values=True)) if query else {},
            headers=headers,
            body=b"".join(chunks),
            base_url=f"{scope.get('scheme', 'https')}://{host}{scope.get('root_path', '')}".rstrip("/"),
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
                    "path": "/v1.0/" + req.path,
                    "status": 413,
                    "app": None,
                    "mailbox": None,
                    "kind": "graph",
                }
            )
        else:
            resp = await self.pipeline.handle(req)
        if resp is RESET:
            transport = scope.get(TRANSPORT_KEY)
            if transport is None:
                raise ConnectionResetError("emulated connection reset")
            transport.abort()
            await asyncio.sleep(0)
            return
        status, out_headers, content = to_wire(req, resp)
        await send({"type": "http.response.start", "status": status, "headers": out_headers})
        await send({"type": "http.response.body", "body": content})


def to_wire(req: GraphRequest, resp: GraphResponse) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """Status, headers and body of a Graph response as they go on the wire."""
    headers = {
        "request-id": req.request_id,
        "client-request-id": req.header("client-request-id") or req.request_id,
    }
    headers.update(resp.headers)
    if resp.text is not None:
        content = resp.text.encode()
        headers["Content-Type"] = "text/plain; charset=utf-8"
    elif resp.body is None:
        content = b""
    else:
        content = orjson.dumps(resp.body)
        headers["Content-Type"] = JSON_TYPE
    if resp.status >= 200 and resp.status not in (204, 304):
        headers["Content-Length"] = str(len(content))
    wire = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    return resp.status, wire, content


class EmulatorApplication(Starlette):
    """The Starlette application, with Graph's own URL space (``/v1.0/…``) served directly."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(GRAPH_PREFIX):
            scope["app"] = self
            await self.state.emulator.graph_asgi(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


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
        *MailboxViewer(emulator.state).routes(),
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
    app = EmulatorApplication(routes=routes, lifespan=lifespan)
    app.state.emulator = emulator
    return app
