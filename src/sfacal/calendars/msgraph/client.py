"""The HTTP layer: pooled connections per company, tokens, retries, JSON batches.

:meth:`GraphClient.request` sends one request and retries it on 429, 500/502/503/504 and connection
resets or timeouts (obeying ``Retry-After``, else bounded exponential backoff with jitter; see
:mod:`.throttle`), once on a 401 with a fresh token, and never on DNS or TLS failures (a setting
or the network must change). Every answer it does not accept becomes a core error
(:mod:`.errors`). Retrying a create is safe because every create carries a ``transactionId``.

:meth:`GraphClient.batch` sends up to 20 requests in one JSON batch and re-sends, in a smaller
batch, the items that came back throttled or unavailable.

Both hold :func:`~.throttle.mailbox_slots` while a request is open (a batch holds
``min(items, 4)``), so the process never has more than 4 requests open against a mailbox, and
both first take slots of the application's budget (:mod:`.app_budget`: one per request, one per
batch item), so all worker processes together stay under Graph's limit per application.

Every request, and every request inside a batch (the preference of the outer ``POST`` does not
reach the items), asks for immutable ids (``Prefer: IdType="ImmutableId"``,
:func:`prefer_immutable_ids`): the id of an event the user moves to another calendar stays the same,
so the product keeps finding its events (Microsoft: "Get immutable identifiers for Outlook
resources").

Requests go out through :class:`~.wire.WirePool` (lean keep-alive HTTP/1.1), or through pooled
``httpx.AsyncClient`` objects when a proxy is configured in the environment or a test transport is given.
Either way connections go only to addresses the outbound address rule allows (:mod:`sfacal.net`).
JSON is encoded and decoded with ``orjson``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import ssl
import urllib.request
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
import orjson

from sfacal.core.errors import SfacalError, redact
from sfacal.core.frozen import quick_init
from sfacal.net import metrics
from sfacal.net.httpx_transport import guarded_async_client

from .app_budget import AppBudget, app_budget
from .auth import AccessToken, GraphAuth, network_error_from
from .errors import RETRYABLE_STATUSES, graph_error, retry_after_seconds
from .settings import GraphSettings
from .throttle import MailboxSlots, backoff_delay, count_retries, mailbox_slots
from .wire import WirePool, WireResponse

__all__ = [
    "IMMUTABLE_IDS",
    "BatchItem",
    "GraphClient",
    "GraphResponse",
    "item_path",
    "prefer_immutable_ids",
    "user_path",
]

log = logging.getLogger(__name__)

_NO_RETRY_NETWORK = frozenset({"dns", "tls"})
_CONNECTIONS_PER_SHARD = 32


@functools.lru_cache(maxsize=4096)
def user_path(mailbox: str) -> str:
    """``/users/{mailbox}`` with the address safely encoded."""
    return "/users/" + quote(mailbox.strip(), safe="@")


def item_path(event_id: str) -> str:
    return quote(event_id, safe="=-_")


IMMUTABLE_IDS = 'IdType="ImmutableId"'


def prefer_immutable_ids(headers: Mapping[str, str] | None) -> dict[str, str]:
    """``headers`` with immutable ids asked for: added to a ``Prefer`` header already there (the
    read preferences), else as its own."""
    out = dict(headers or {})
    for key, value in out.items():
        if key.lower() == "prefer":
            if IMMUTABLE_IDS not in value:
                out[key] = f"{value}, {IMMUTABLE_IDS}"
            return out
    out["Prefer"] = IMMUTABLE_IDS
    return out


@quick_init
@dataclass(frozen=True)
class GraphResponse:
    status: int
    headers: Mapping[str, str]
    body: Any

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


@quick_init
@dataclass(frozen=True)
class BatchItem:
    """One request of a JSON batch; ``url`` is relative to the Graph version root."""

    method: str
    url: str
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)


SleepFn = Callable[[float], Awaitable[None]]


def _parse_body(content: bytes) -> Any:
    if not content:
        return None
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError:
        return content.decode("utf-8", "replace")[:2000]


@functools.lru_cache(maxsize=1024)
def _request_target(url: str) -> str:
    """The encoded path and query of ``url`` as sent on the wire (remembered: a pass sends every
    batch to the same URL, and parsing one costs more than the rest of a request's set-up)."""
    return httpx.URL(url).raw_path.decode("ascii")


@functools.lru_cache(maxsize=1024)
def _path_of(url: str) -> str:
    return urlsplit(url).path


def _proxied(url: str) -> bool:
    """Whether the environment routes ``url`` through a proxy (``HTTPS_PROXY``, ``ALL_PROXY``…)."""
    parts = urlsplit(url)
    proxies = urllib.request.getproxies_environment()
    if not (proxies.get(parts.scheme) or proxies.get("all")):
        return False
    bypass = urllib.request.proxy_bypass_environment  # type: ignore[attr-defined]
    return not bypass(parts.hostname or "", proxies)


class GraphClient:
    """Authenticated, throttled access to one company's Microsoft Graph (one event loop)."""

    def __init__(
        self,
        settings: GraphSettings,
        auth: GraphAuth,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: SleepFn | None = None,
    ) -> None:
        self.settings = settings
        self.auth = auth
        self._sleep: SleepFn = sleep or asyncio.sleep
        self._token: AccessToken | None = None
        self._token_lock: asyncio.Lock | None = None
        base = urlsplit(settings.graph_base_url)
        self._origin = f"{base.scheme}://{base.netloc}".lower()
        self.host = base.hostname or "graph.microsoft.com"
        self._verify: ssl.SSLContext | bool = True
        if settings.ca_bundle:
            self._verify = ssl.create_default_context(cafile=settings.ca_bundle)
        self._transport = transport
        self._pools: list[httpx.AsyncClient] = []
        self._slots: dict[str, MailboxSlots] = {}
        self._app_budget: AppBudget | None = None
        self._wire: WirePool | None = None
        if transport is None and base.scheme in ("http", "https") and not _proxied(settings.graph_base_url):
            context = self._verify if isinstance(self._verify, ssl.SSLContext) else httpx.create_ssl_context()
            self._wire = WirePool(
                base.scheme,
                self.host,
                base.port or (443 if base.scheme == "https" else 80),
                ssl_context=context if base.scheme == "https" else None,
                connect_timeout=settings.connect_timeout_s,
                read_timeout=settings.read_timeout_s,
                max_connections=settings.max_connections,
                default_headers={
                    "Accept": "application/json",
                    "Accept-Encoding": "gzip, deflate",
                    "User-Agent": "sfacal",
                },
            )

    def _httpx_pools(self) -> list[httpx.AsyncClient]:
        """The ``httpx`` clients (built on first use). The pool is split into shards (a mailbox
        always uses the same one): their bookkeeping grows with connections x waiting requests."""
        if not self._pools:
            settings = self.settings
            shards = (
                max(1, -(-settings.max_connections // _CONNECTIONS_PER_SHARD))
                if self._transport is None
                else 1
            )
            per_shard = max(1, -(-settings.max_connections // shards))
            make = guarded_async_client if self._transport is None else httpx.AsyncClient
            self._pools = [
                make(
                    timeout=httpx.Timeout(settings.read_timeout_s, connect=settings.connect_timeout_s),
                    limits=httpx.Limits(
                        max_connections=per_shard, max_keepalive_connections=per_shard, keepalive_expiry=30.0
                    ),
                    verify=self._verify,
                    transport=self._transport,
                    headers={"Accept": "application/json", "User-Agent": "sfacal"},
                    follow_redirects=False,
                )
                for _ in range(shards)
            ]
        return self._pools

    def _pool(self, mailbox: str | None) -> httpx.AsyncClient:
        pools = self._httpx_pools()
        if not mailbox or len(pools) == 1:
            return pools[0]
        return pools[zlib.crc32(mailbox.strip().lower().encode()) % len(pools)]

    async def _send(
        self,
        method: str,
        url: str,
        params: Mapping[str, str] | None,
        headers: dict[str, str],
        content: bytes | None,
        mailbox: str | None,
    ) -> WireResponse:
        if self._wire is not None:
            if params:
                target = httpx.URL(url).copy_merge_params(params).raw_path.decode("ascii")
            else:
                target = _request_target(url)
            return await self._wire.request(method, target, headers, content)
        response = await self._pool(mailbox).request(
            method, url, params=params, content=content, headers=headers
        )
        return WireResponse(response.status_code, dict(response.headers), response.content)

    async def aclose(self) -> None:
        if self._wire is not None:
            await self._wire.aclose()
        for pool in self._pools:
            await pool.aclose()

    # -- tokens -----------------------------------------------------------------------------------
    async def token(self) -> AccessToken:
        """A token valid for a while yet (acquired in a worker thread; MSAL caches it)."""
        current = self._token
        if current is not None and not current.expires_within(min(300.0, current.lifetime_s / 10)):
            return current
        if self._token_lock is None:
            self._token_lock = asyncio.Lock()
        async with self._token_lock:
            current = self._token
            if current is None or current.expires_within(min(300.0, current.lifetime_s / 10)):
                current = await asyncio.to_thread(self.auth.acquire)
                self._token = current
            return current

    async def _forget_token(self) -> None:
        self._token = None
        await asyncio.to_thread(self.auth.invalidate)

    # -- slots ------------------------------------------------------------------------------------
    def slots(self, mailbox: str) -> MailboxSlots:
        found = self._slots.get(mailbox)
        if found is None:  # held here, so the process-wide counter stays the same object
            found = mailbox_slots(self.settings.client_id, mailbox, self.settings.max_in_flight_per_mailbox)
            self._slots[mailbox] = found
        return found

    @contextlib.asynccontextmanager
    async def _held(self, mailbox: str | None, n: int) -> AsyncIterator[None]:
        if not mailbox:
            yield
            return
        async with self.slots(mailbox).hold(n):
            yield

    # -- the application's limit ------------------------------------------------------------------
    @property
    def app_budget(self) -> AppBudget:
        if self._app_budget is None:
            s = self.settings
            self._app_budget = app_budget(s.client_id, s.app_request_limit, s.app_window_s)
        return self._app_budget

    def _note_app_throttling(self, body: Any, headers: Mapping[str, str]) -> None:
        """A 429 for the application as a whole (not a mailbox's ``ApplicationThrottled``):
        every process holds off for its ``Retry-After``."""
        error = body.get("error") if isinstance(body, Mapping) else None
        code = error.get("code") if isinstance(error, Mapping) else None
        if code == "TooManyRequests":
            self.app_budget.hold_off(retry_after_seconds(headers))

    # -- requests ---------------------------------------------------------------------------------
    def url(self, path: str) -> str:
        if path.startswith("https://") or path.startswith("http://"):
            if not path.lower().startswith(self._origin + "/"):
                raise SfacalError(
                    f"refusing to follow a link outside the Graph host: {urlsplit(path).netloc}"
                )
            return path
        return self.settings.graph_base_url + (path if path.startswith("/") else "/" + path)

    async def request(
        self,
        method: str,
        path: str,
        *,
        mailbox: str | None = None,
        calendar: str | None = None,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
        accept: Sequence[int] = (),
        attempts: int | None = None,
        slots: int = 1,
        app_slots: int = 1,
    ) -> GraphResponse:
        """Send one request (see the module docstring). Answers below 400 and statuses in
        ``accept`` are returned; anything else raises the mapped core error. ``app_slots`` is
        what the request counts against the application's limit (a batch: its items)."""
        url = self.url(path)
        what = f"{method} {_path_of(url)}"
        max_attempts = attempts or self.settings.max_attempts
        attempt = 0
        refreshed = False
        content: bytes | None = None
        if json_body is not None:
            content = orjson.dumps(json_body)
        extra = prefer_immutable_ids(headers)
        while True:
            token = await self.token()
            send_headers = {"Authorization": f"Bearer {token.token}", **extra}
            if content is not None:
                send_headers.setdefault("Content-Type", "application/json")
            await self.app_budget.take(app_slots, self._sleep)
            try:
                async with self._held(mailbox, slots):
                    response = await self._send(method, url, params, send_headers, content, mailbox)
                    body = _parse_body(response.content)
            except httpx.TransportError as exc:
                err = network_error_from(exc, self.host)
                kind = err.params.get("kind", "")
                connect_phase = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
                give_up = (
                    kind in _NO_RETRY_NETWORK
                    or attempt + 1 >= max_attempts
                    or (connect_phase and attempt >= 1)  # nothing listens: one more try is enough
                )
                log.info(
                    "%s failed (%s), attempt %d%s", what, kind, attempt + 1, "" if give_up else ", retrying"
                )
                metrics.count_graph_request("network_error")
                if give_up:
                    raise err from None
                await self._sleep(backoff_delay(attempt, cap=self.settings.max_backoff_s))
                attempt += 1
                count_retries(requests=1)
                metrics.count_graph_request("retried")
                continue
            except httpx.HTTPError as exc:  # invalid URL and the like: a bug or bad data
                raise SfacalError(redact(f"{what}: {type(exc).__name__}: {exc}")) from None
            status = response.status
            metrics.count_graph_request(metrics.http_outcome(status))
            if status == 401 and not refreshed:
                refreshed = True
                await self._forget_token()
                continue
            if status == 429:
                self._note_app_throttling(body, response.headers)
            if status in RETRYABLE_STATUSES and attempt + 1 < max_attempts:
                wait = backoff_delay(
                    attempt, retry_after_seconds(response.headers), cap=self.settings.max_backoff_s
                )
                log.info("%s answered %d, retrying in %.2f s", what, status, wait)
                await self._sleep(wait)
                attempt += 1
                count_retries(requests=1)
                metrics.count_graph_request("retried")
                continue
            if status < 400 or status in accept:
                return GraphResponse(status, response.headers, body)
            failure = graph_error(
                status, body, response.headers, mailbox=mailbox, calendar=calendar, what=what
            )
            log.info("%s failed: %s", what, failure)
            raise failure

    async def get_all(
        self,
        path: str,
        *,
        mailbox: str | None = None,
        calendar: str | None = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        limit: int = 100_000,
    ) -> list[Any]:
        """Every item of a collection, following ``@odata.nextLink``."""
        items: list[Any] = []
        response = await self.request(
            "GET", path, mailbox=mailbox, calendar=calendar, params=params, headers=headers
        )
        while True:
            body = response.body if isinstance(response.body, Mapping) else {}
            value = body.get("value")
            if isinstance(value, list):
                items.extend(value)
            link = body.get("@odata.nextLink")
            if not isinstance(link, str) or not link or len(items) >= limit:
                return items
            response = await self.request("GET", link, mailbox=mailbox, calendar=calendar, headers=headers)

    async def batch(self, mailbox: str, items: Sequence[BatchItem]) -> list[GraphResponse]:
        """Run ``items`` (at most ``batch_size``) in one JSON batch; one response each, in order.

        Items answered 429/5xx are sent again (obeying the largest ``Retry-After``) until they
        succeed or the attempts run out; their last answer is returned then. A failure of the
        whole batch raises.
        """
        if not items:
            return []
        if len(items) > self.settings.batch_size:
            raise ValueError(f"at most {self.settings.batch_size} requests per batch")
        results: list[GraphResponse | None] = [None] * len(items)
        pending = list(range(len(items)))
        attempt = 0
        cap = self.settings.max_in_flight_per_mailbox
        while pending:
            requests: list[dict[str, Any]] = []
            for i in pending:
                item = items[i]
                entry: dict[str, Any] = {"id": str(i + 1), "method": item.method, "url": item.url}
                item_headers = prefer_immutable_ids(item.headers)
                if item.body is not None:
                    item_headers.setdefault("Content-Type", "application/json")
                    entry["body"] = item.body
                entry["headers"] = item_headers
                requests.append(entry)
            response = await self.request(
                "POST",
                "/$batch",
                mailbox=mailbox,
                json_body={"requests": requests},
                slots=min(len(pending), cap),
                app_slots=len(pending),
            )
            answers: dict[str, Mapping[str, Any]] = {}
            body = response.body if isinstance(response.body, Mapping) else {}
            for answer in body.get("responses") or []:
                if isinstance(answer, Mapping):
                    answers[str(answer.get("id"))] = answer
            retry: list[int] = []
            waits: list[float] = []
            for i in pending:
                answer = answers.get(str(i + 1))
                if answer is None:
                    got = GraphResponse(
                        503, {}, {"error": {"code": "MissingBatchResponse", "message": "no answer"}}
                    )
                else:
                    try:
                        status = int(answer.get("status", 500))
                    except (TypeError, ValueError):
                        status = 500
                    raw_headers = answer.get("headers")
                    item_headers = (
                        {str(k): str(v) for k, v in raw_headers.items()}
                        if isinstance(raw_headers, Mapping)
                        else {}
                    )
                    got = GraphResponse(status, item_headers, answer.get("body"))
                    metrics.count_graph_request(metrics.http_outcome(status))
                    if status == 429:
                        self._note_app_throttling(got.body, item_headers)
                if got.status in RETRYABLE_STATUSES and attempt + 1 < self.settings.max_attempts:
                    retry.append(i)
                    ra = retry_after_seconds(got.headers)
                    if ra is not None:
                        waits.append(ra)
                results[i] = got
            if retry:
                wait = backoff_delay(attempt, max(waits) if waits else None, cap=self.settings.max_backoff_s)
                log.info(
                    "batch for %s: %d of %d items to retry in %.2f s", mailbox, len(retry), len(pending), wait
                )
                await self._sleep(wait)
                attempt += 1
                count_retries(batch_items=len(retry))
                metrics.count_graph_request("retried", len(retry))
            pending = retry
        return [r if r is not None else GraphResponse(500, {}, None) for r in results]
