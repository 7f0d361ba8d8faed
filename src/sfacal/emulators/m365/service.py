"""The Graph request pipeline: authentication, throttling, latency, failure injection, journal.

HTTP requests and ``$batch`` items both go through :meth:`Pipeline.handle`, so batch
items count individually against the limits, exactly like Graph: per (app, mailbox) at most
``mailbox_concurrency`` in flight and ``rate_limit`` per ``rate_window_s``; per app across all
tenants ``app_rate_limit`` per ``app_rate_window_s`` (Graph's global limit, 130,000 per 10 s:
learn.microsoft.com/graph/throttling-limits), where a batch counts by its items, not as one more.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import math
import random
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from .errors import (
    GraphError,
    access_denied,
    bad_request,
    graph_error_body,
    insufficient_privileges,
    throttled,
)
from .identity import Identity
from .state import EmulatorState, User

log = logging.getLogger(__name__)

JSON_TYPE = (
    "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"
)
WRITE_METHODS = {"POST", "PATCH", "PUT", "DELETE"}
READ_ROLES = {"Calendars.Read", "Calendars.ReadWrite", "Calendars.ReadBasic", "Calendars.ReadBasic.All"}
WRITE_ROLES = {"Calendars.ReadWrite"}
_USER_PATH = re.compile(r"users/[^/]+", re.IGNORECASE)
_UNPARSED: Any = object()
USER_ROLES = {
    "User.Read.All",
    "User.ReadBasic.All",
    "User.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
}


_ids = random.Random()
_MATCH_CACHE = 4096  # request paths whose route match is remembered


def new_request_id() -> str:
    """A random (version 4) GUID, as Graph's ``request-id`` header carries."""
    h = f"{_ids.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"


@dataclass
class GraphRequest:
    method: str
    path: str  # after "/v1.0/", without a leading slash
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes
    base_url: str
    request_id: str = field(default_factory=lambda: new_request_id())
    in_batch: bool = False
    batch_id: str | None = None
    parsed: Any = _UNPARSED  # a batch item's body, already decoded with the batch
    throttle_after: float | None = None  # a batch item Graph throttles: 429 with this Retry-After

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def q(self, name: str) -> str | None:
        """A query option, case-insensitively (``$top`` == ``$TOP``)."""
        lname = name.lower()
        for key, value in self.query.items():
            if key.lower() == lname:
                return value
        return None

    def prefer(self, name: str) -> str | None:
        """A ``Prefer`` header value such as ``outlook.timezone="Tokyo Standard Time"``."""
        return _prefer_values(self.header("prefer") or "").get(name.lower())


@functools.lru_cache(maxsize=256)
def _prefer_values(raw: str) -> dict[str, str]:
    """The preferences of a ``Prefer`` header by lower-case name (the first of each name wins)."""
    values: dict[str, str] = {}
    if not raw:
        return values
    for part in re.split(r",(?=(?:[^\"]*\"[^\"]*\")*[^\"]*$)", raw):
        key, _, value = part.strip().partition("=")
        values.setdefault(key.strip().lower(), value.strip().strip('"') if value else "")
    return values


@dataclass
class GraphResponse:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    text: str | None = None


RESET = GraphResponse(status=0)  # sentinel: drop the connection without a response


@dataclass
class Ctx:
    req: GraphRequest
    claims: dict[str, Any]
    match: dict[str, str]
    json: Any = None
    user: User | None = None

    @property
    def app_id(self) -> str:
        return str(self.claims.get("appid", ""))

    @property
    def tenant_id(self) -> str:
        return str(self.claims.get("tid", ""))


Handler = Callable[[Ctx], Awaitable[GraphResponse]]


@dataclass(slots=True)
class Admitted:
    """A request past authentication, routing and throttling, holding its mailbox slot (if any)."""

    ctx: Ctx
    handler: Handler
    key: tuple[str, str] | None
    app_id: str | None
    mailbox: str | None
    started: float


@dataclass
class Route:
    pattern: re.Pattern[str]
    handlers: dict[str, Handler]
    mailbox: bool = True  # addresses a mailbox: user checks and throttling apply
    write_methods: frozenset[str] = frozenset(WRITE_METHODS)


class Pipeline:
    def __init__(self, state: EmulatorState, identity: Identity) -> None:
        self.state = state
        self.identity = identity
        self.routes: list[Route] = []
        self._matched: dict[str, tuple[Route, dict[str, str]]] = {}
        self.rng = random.Random()

    def add(self, regex: str, handlers: dict[str, Handler], *, mailbox: bool = True) -> None:
        self.routes.append(Route(re.compile(regex, re.IGNORECASE), handlers, mailbox))
        self._matched.clear()

    # -- helpers used by handlers ------------------------------------------------------------------
    def require_user(self, ctx: Ctx, *, mailbox: bool = True) -> User:
        ref = ctx.match["uid"]
        if ref.lower() == "me":
            raise bad_request("/me request is only valid with delegated authentication flow.")
        user = ctx.user if ctx.user is not None else self.state.find_user(ref, ctx.tenant_id)
        if user is None:
            from .errors import invalid_user

            raise invalid_user(ref)
        if mailbox:
            if not user.has_mailbox:
                from .errors import non_existent_mailbox

                raise non_existent_mailbox()
            if not user.rest_enabled:
                from .errors import mailbox_not_enabled

                raise mailbox_not_enabled()
        return user

    # -- the pipeline -----------------------------------------------------------------------------
    async def handle(self, req: GraphRequest, claims: dict[str, Any] | None = None) -> GraphResponse:
        """One request through the whole pipeline: admission, latency, execution, journal."""
        admitted = self.admit(req, claims)
        if isinstance(admitted, GraphResponse):
            return admitted
        try:
            await self.wait(self.delay())
        except BaseException:
            self.abandon(admitted)
            raise
        return await self.finish(admitted)

    def admit(self, req: GraphRequest, claims: dict[str, Any] | None = None) -> Admitted | GraphResponse:
        """Authenticate, route, authorise and take a mailbox slot; or the (journaled) error response.

        An admitted request holds its slot until :meth:`finish`, which must follow.
        """
        started = time.time()
        app_id: str | None = None
        mailbox: str | None = None
        try:
            if claims is None:
                claims = self.identity.validate_bearer(req.header("authorization"))
            app_id = str(claims.get("appid"))
            route, match = self._match(req)
            if req.path.lower() != "$batch":  # a batch counts by its items, each admitted on its own
                self._admit_app(app_id)
            handler = route.handlers.get(req.method)
            if handler is None:
                raise GraphError(
                    405, "BadRequest", f"The HTTP method '{req.method}' is not supported for this resource."
                )
            ctx = Ctx(req, claims, match)
            key: tuple[str, str] | None = None
            if route.mailbox:
                self._authorize(ctx, write=req.method in WRITE_METHODS)
                ref = match["uid"]
                user = self.state.find_user(ref, str(claims.get("tid")))
                ctx.user = user
                mailbox = user.id if user is not None else ref.lower()
                key = (app_id, mailbox)
                if req.throttle_after is not None:  # chosen by batch_throttle.throttled_items
                    raise GraphError(
                        429,
                        "ApplicationThrottled",
                        "Application is over its MailboxConcurrency limit.",
                        {"Retry-After": f"{req.throttle_after:g}"},
                    )
                self._acquire(key)
            return Admitted(ctx, handler, key, app_id, mailbox, started)
        except GraphError as exc:
            resp = self.error(req, exc)
        except Exception:  # a bug in the emulator must not take a whole batch or connection down
            resp = self._internal_error(req)
        self._journal(req, resp, app_id, mailbox, started)
        return resp

    async def finish(self, admitted: Admitted) -> GraphResponse:
        """Run an admitted request's handler (after its latency), release its slot, journal it."""
        req = admitted.ctx.req
        try:
            resp = await self._execute(admitted.ctx, admitted.handler)
        except GraphError as exc:
            resp = self.error(req, exc)
        except Exception:  # a bug in the emulator must not take a whole batch or connection down
            resp = self._internal_error(req)
        finally:
            if admitted.key is not None:
                self._release(admitted.key)
        self._journal(req, resp, admitted.app_id, admitted.mailbox, admitted.started)
        return resp

    def _internal_error(self, req: GraphRequest) -> GraphResponse:
        log.exception("M365 emulator: unexpected error for %s /v1.0/%s", req.method, req.path)
        return self.error(req, GraphError(500, "InternalServerError", "An internal server error occurred."))

    def abandon(self, admitted: Admitted) -> None:
        """Give back an admitted request's slot without running it (the client went away)."""
        if admitted.key is not None:
            self._release(admitted.key)

    def _match(self, req: GraphRequest) -> tuple[Route, dict[str, str]]:
        found = self._matched.get(req.path)
        if found is not None:
            return found[0], dict(found[1])
        for route in self.routes:
            m = route.pattern.match(req.path)
            if m:
                groups = {k: v for k, v in m.groupdict().items() if v is not None}
                if len(self._matched) >= _MATCH_CACHE:
                    self._matched.clear()
                self._matched[req.path] = (route, groups)  # a busy mailbox repeats its paths
                return route, dict(groups)
        first = req.path.split("/", 1)[0] or req.path
        raise bad_request(f"Resource not found for the segment '{first}'.")

    def _authorize(self, ctx: Ctx, *, write: bool) -> None:
        roles = set(ctx.claims.get("roles") or [])
        if _USER_PATH.fullmatch(ctx.req.path):
            if not roles & USER_ROLES:
                raise insufficient_privileges()
            return
        needed = WRITE_ROLES if write else READ_ROLES
        if not roles & needed:
            raise access_denied()

    @property
    def fixed_latency(self) -> bool:
        """Whether every request waits the same time (no random latency configured)."""
        k = self.state.knobs
        return k.latency_max_ms is None or k.latency_max_ms <= k.latency_ms

    def delay(self) -> float:
        """This request's service latency in seconds (fixed, or random between the knobs)."""
        k = self.state.knobs
        delay = k.latency_ms
        if k.latency_max_ms is not None and k.latency_max_ms > k.latency_ms:
            delay = self.rng.uniform(k.latency_ms, k.latency_max_ms)
        return delay / 1000

    @staticmethod
    async def wait(seconds: float) -> None:
        if seconds > 0:
            await asyncio.sleep(seconds)

    def _admit_app(self, app_id: str) -> None:
        """Count a request against the app's global limit (all tenants), or raise Graph's 429."""
        k = self.state.knobs
        now = time.monotonic()
        window = self.state.app_windows.get(app_id)
        if window is None:
            window = self.state.app_windows[app_id] = deque()
        cutoff = now - k.app_rate_window_s
        while window and window[0] <= cutoff:
            window.popleft()
        if len(window) >= k.app_rate_limit:
            wait = math.ceil(window[0] + k.app_rate_window_s - now)
            raise GraphError(429, "TooManyRequests", "Too many requests.", {"Retry-After": str(max(1, wait))})
        window.append(now)

    def _acquire(self, key: tuple[str, str]) -> None:
        """Take one of the (app, mailbox) slots, or raise the 429 Graph gives."""
        state, k = self.state, self.state.knobs
        now = time.monotonic()
        window = state.rate_windows.get(key)
        if window is None:
            window = state.rate_windows[key] = deque()
        cutoff = now - k.rate_window_s
        while window and window[0] <= cutoff:
            window.popleft()
        if len(window) >= k.rate_limit:
            wait = math.ceil(window[0] + k.rate_window_s - now)
            raise throttled("Application is over its MailboxRequestRate limit.", wait)
        in_flight = state.in_flight.get(key, 0)
        if in_flight >= k.mailbox_concurrency:
            raise throttled("Application is over its MailboxConcurrency limit.", k.concurrency_retry_after_s)
        window.append(now)
        mailbox = key[1]
        state.in_flight[key] = in_flight + 1
        total = state.mailbox_in_flight.get(mailbox, 0) + 1
        state.mailbox_in_flight[mailbox] = total
        peaks = state.counters.peak_concurrency
        if total > peaks.get(mailbox, 0):
            peaks[mailbox] = total

    def _release(self, key: tuple[str, str]) -> None:
        self.state.in_flight[key] -= 1
        self.state.mailbox_in_flight[key[1]] -= 1

    async def _execute(self, ctx: Ctx, handler: Handler) -> GraphResponse:
        """Failure injection, then the handler (the latency has been waited already)."""
        k = self.state.knobs
        roll = self.rng.random()
        if roll < k.failure_rate_reset and not ctx.req.in_batch:
            return RESET
        roll -= k.failure_rate_reset
        if roll < k.failure_rate_429:
            raise throttled("Application is over its MailboxConcurrency limit.", k.failure_retry_after_s)
        roll -= k.failure_rate_429
        if roll < k.failure_rate_503:
            raise GraphError(
                503,
                "ServiceNotAvailable",
                "The service is temporarily unavailable.",
                {"Retry-After": str(k.failure_retry_after_s)},
            )
        roll -= k.failure_rate_503
        if roll < k.failure_rate_504:
            raise GraphError(504, "UnknownError", "")
        ctx.json = self._parse_body(ctx.req)
        resp = await handler(ctx)
        if (
            ctx.req.method in WRITE_METHODS
            and resp.status < 300
            and k.failure_rate_504_after_write > 0
            and self.rng.random() < k.failure_rate_504_after_write
        ):
            raise GraphError(504, "UnknownError", "")
        return resp

    def _parse_body(self, req: GraphRequest) -> Any:
        if req.method not in ("POST", "PATCH", "PUT"):
            return None
        if req.parsed is not _UNPARSED:
            return req.parsed
        if len(req.body) > self.state.knobs.max_body_bytes:
            raise GraphError(
                413,
                "RequestEntityTooLarge",
                f"The request is larger than the maximum allowed size of {self.state.knobs.max_body_bytes} bytes.",
            )
        if not req.body.strip():
            return None
        ctype = (req.header("content-type") or "").lower()
        try:
            if "json" not in ctype:
                raise ValueError("not JSON")
            return orjson.loads(req.body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise bad_request(
                "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of "
                "valid JSON format."
            ) from exc

    # -- responses ---------------------------------------------------------------------------------
    def error(self, req: GraphRequest, exc: GraphError) -> GraphResponse:
        body = graph_error_body(exc.code, exc.message, req.request_id, req.header("client-request-id"))
        return GraphResponse(exc.status, body, dict(exc.headers))

    def _journal(
        self, req: GraphRequest, resp: GraphResponse, app_id: str | None, mailbox: str | None, started: float
    ) -> None:
        if resp is RESET:
            self.state.counters.resets += 1
        self.state.record(
            {
                "time": started,
                "duration_ms": round((time.time() - started) * 1000, 3),
                "method": req.method,
                "path": "/v1.0/" + req.path,
                "status": resp.status,
                "app": app_id,
                "mailbox": mailbox,
                "request_id": req.request_id,
                "batch_id": req.batch_id,
                "kind": "graph",
            }
        )
