"""Assemble the Google emulator's ASGI application: token endpoint, Calendar API v3, batch, control."""

from __future__ import annotations

import asyncio
from urllib.parse import parse_qsl

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .api import CalendarApi
from .batch import handle_batch
from .control import ControlApi
from .identity import TokenEndpoint
from .state import EmulatorState

__all__ = ["create_app"]


def create_app(state: EmulatorState | None = None) -> Starlette:
    """The Google Workspace (OAuth 2.0 token endpoint + Calendar API v3) emulator."""
    state = state or EmulatorState()
    api = CalendarApi(state)
    identity = TokenEndpoint(state)
    control = ControlApi(state, api)

    async def latency() -> None:
        if state.knobs.latency_ms > 0:
            await asyncio.sleep(state.knobs.latency_ms / 1000)

    def headers_of(request: Request) -> dict[str, str]:
        return {k.lower(): v for k, v in request.headers.items()}

    async def calendar(request: Request) -> Response:
        await latency()
        body = await request.body()
        query = parse_qsl(request.url.query, keep_blank_values=True)
        response = api.handle(request.method, request.url.path, query, headers_of(request), body)
        if response.body is None:
            return Response(status_code=response.status, headers=response.headers)
        return Response(
            orjson.dumps(response.body),
            status_code=response.status,
            media_type="application/json; charset=UTF-8",
            headers=response.headers,
        )

    async def batch(request: Request) -> Response:
        await latency()
        status, headers, content = handle_batch(api, headers_of(request), await request.body())
        return Response(content, status_code=status, headers=headers)

    routes = [
        *control.routes(),
        Route("/token", identity.token, methods=["POST"]),
        Route("/batch/calendar/v3", batch, methods=["POST"]),
        Route("/calendar/v3/{path:path}", calendar, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
    ]
    app = Starlette(routes=routes)
    app.state.emulator = state
    return app
