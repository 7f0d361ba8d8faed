"""The emulator's ASGI application: records API + control API on one port."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .api import RecordsApi
from .control import ControlApi
from .state import EmulatorState

_CODES = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}


async def _http_error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    code = _CODES.get(status, "HTTP_ERROR")
    return JSONResponse(
        {"code": code, "message": f"{request.method} {request.url.path}: {code.lower()}"}, status_code=status
    )


def create_app(state: EmulatorState | None = None) -> Starlette:
    """Build the app around ``state`` (a fresh one if not given); ``app.state.emulator`` holds it."""
    st = state if state is not None else EmulatorState()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        st.dispatcher.start()
        try:
            yield
        finally:
            st.dispatcher.stop()

    app = Starlette(
        routes=[*RecordsApi(st).routes(), *ControlApi(st).routes()],
        exception_handlers={HTTPException: _http_error},
        lifespan=lifespan,
    )
    app.state.emulator = st
    return app
