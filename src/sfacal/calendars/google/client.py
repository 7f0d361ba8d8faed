"""HTTP to Google: service-account tokens per impersonated user, the Calendar API with backoff,
and batch requests.

Guarantees (each has a test):

* **Tokens.** A token is asked per impersonated user (domain-wide delegation: the JWT's ``sub``)
  with an RS256 assertion signed by ``google-auth``'s signer from the key file, cached until a
  minute before it expires; concurrent callers for one user wait for one request. A ``401`` from
  the API drops the token and the call is sent once more with a new one. A refusal (unknown user,
  delegation not granted, key rejected) is remembered for :data:`REFUSAL_MEMORY_S`.
* **Backoff.** ``403``/``429`` ``rateLimitExceeded``/``userRateLimitExceeded``/``quotaExceeded``,
  ``5xx`` and connection failures are retried with exponential backoff and jitter (``Retry-After``
  when Google sends one), up to ``max_attempts``; then the error is raised with its hint.
* **Per user.** At most ``per_user_concurrency`` requests are in flight per user (Google's
  per-user quota is the tighter one).
* **Batch.** :meth:`GoogleHttp.batch` sends up to ``batch_size`` calls in one ``multipart/mixed``
  request; parts answered with a throttle reason are sent again (in a smaller batch) after a backoff,
  so one busy user never fails the other parts.
* Secrets (the private key, assertions, tokens) never reach a log line or an error text.
"""

from __future__ import annotations

import asyncio
import logging
import random
import secrets
import ssl
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
import orjson
from google.auth import crypt
from google.auth import jwt as google_jwt

from sfacal.core.classify import classify_network_error, parse_retry_after
from sfacal.core.errors import GoogleKeyInvalidError, SfacalError, redact
from sfacal.net.httpx_transport import guarded_async_client

from .errors import api_error, is_throttle, token_error
from .settings import GoogleSettings

__all__ = ["ApiCall", "ApiResult", "GoogleHttp"]

log = logging.getLogger("sfacal.calendars.google")

GOOGLE_TOKEN_AUDIENCE = "https://oauth2.googleapis.com/token"
"""The assertion's audience, as Google documents it (whatever URL the request goes to)."""
REFUSAL_MEMORY_S = 60.0
"""How long a refused token request (unknown user, delegation missing, bad key) is answered from
memory: a pass with many writes for one such user asks Google once."""
_RETRY_STATUSES = frozenset({500, 502, 503, 504, 408})


@dataclass(frozen=True)
class ApiCall:
    """One Calendar API call: ``path`` under ``/calendar/v3/``."""

    method: str
    path: str
    params: Sequence[tuple[str, str]] = ()
    body: Mapping[str, Any] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ApiResult:
    status: int
    body: Any
    retry_after: float | None = None


class GoogleHttp:
    """One per connector; owns the HTTP pool and the token cache (see the module docstring)."""

    def __init__(
        self, settings: GoogleSettings, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.settings = settings
        verify: ssl.SSLContext | bool = (
            ssl.create_default_context(cafile=settings.ca_bundle) if settings.ca_bundle else True
        )
        options: dict[str, Any] = {
            "verify": verify,
            "timeout": httpx.Timeout(settings.read_timeout_s, connect=settings.connect_timeout_s),
            "limits": httpx.Limits(max_connections=64, max_keepalive_connections=32),
        }
        self._client = (
            httpx.AsyncClient(transport=transport, **options)
            if transport
            else guarded_async_client(**options)
        )
        self._signer: crypt.RSASigner | None = None
        self._tokens: dict[str, tuple[str, float]] = {}
        self._refused: dict[str, tuple[SfacalError, float]] = {}  # a user Google refused, for a minute
        self._token_locks: dict[str, asyncio.Lock] = {}
        self._slots: dict[str, asyncio.Semaphore] = {}
        self.requests_sent = 0
        self.retries = 0

    async def aclose(self) -> None:
        await self._client.aclose()

    @property
    def client_id(self) -> str:
        return self.settings.key.client_id if self.settings.key else ""

    @property
    def project(self) -> str:
        return self.settings.key.project_id if self.settings.key else ""

    def _secrets(self) -> tuple[str, ...]:
        tokens = tuple(t for t, _ in self._tokens.values())
        return (*tokens, self.settings.key.private_key) if self.settings.key else tokens

    # -- tokens -----------------------------------------------------------------------------------
    def _assertion(self, subject: str | None) -> str:
        key = self.settings.key
        if key is None:
            raise self.settings.key_error or GoogleKeyInvalidError("no key", reason="no key")
        if self._signer is None:
            try:
                self._signer = crypt.RSASigner.from_service_account_info(key.signer_info())
            except (ValueError, TypeError) as exc:
                raise GoogleKeyInvalidError(
                    f"the private key cannot be read: {type(exc).__name__}",
                    reason="秘密鍵を読めません / the private key cannot be read",
                ) from None
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": key.client_email,
            "scope": " ".join(self.settings.scopes),
            "aud": GOOGLE_TOKEN_AUDIENCE,
            "iat": now,
            "exp": now + 3600,
        }
        if subject:
            claims["sub"] = subject
        return google_jwt.encode(self._signer, claims).decode("ascii")

    async def token(self, subject: str | None, *, fresh: bool = False) -> str:
        key = subject or ""
        cached = self._tokens.get(key)
        if cached and not fresh and cached[1] > time.time() + 60:
            return cached[0]
        lock = self._token_locks.setdefault(key, asyncio.Lock())
        async with lock:
            cached = self._tokens.get(key)
            if cached and not fresh and cached[1] > time.time() + 60:
                return cached[0]
            refused = self._refused.get(key)
            if refused is not None and refused[1] > time.monotonic():
                raise refused[0]  # the same answer again, without asking Google for every write
            form = {
                "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                "assertion": self._assertion(subject),
            }
            url = self.settings.token_url
            for attempt in range(self.settings.max_attempts):
                try:
                    response = await self._client.post(url, data=form)
                except httpx.TransportError as exc:
                    if attempt + 1 >= self.settings.max_attempts:
                        raise self._network(exc, url) from None
                    await asyncio.sleep(backoff_delay(attempt, cap=self.settings.max_backoff_s))
                    continue
                body = _json(response.content)
                if response.status_code == 200 and isinstance(body, dict) and body.get("access_token"):
                    value = str(body["access_token"])
                    self._tokens[key] = (value, time.time() + float(body.get("expires_in", 3600)))
                    return value
                if response.status_code >= 500 and attempt + 1 < self.settings.max_attempts:
                    await asyncio.sleep(backoff_delay(attempt, cap=self.settings.max_backoff_s))
                    continue
                error = token_error(response.status_code, body, mailbox=subject, client_id=self.client_id)
                if not error.retryable:
                    self._refused[key] = (error, time.monotonic() + REFUSAL_MEMORY_S)
                raise error
            raise AssertionError("unreachable")

    def _network(self, exc: BaseException, url: str) -> SfacalError:
        host = urlsplit(url).hostname or url
        return classify_network_error(redact(f"{type(exc).__name__}: {exc}", self._secrets()), host)

    def _slot(self, subject: str | None) -> asyncio.Semaphore:
        return self._slots.setdefault(subject or "", asyncio.Semaphore(self.settings.per_user_concurrency))

    # -- single calls ---------------------------------------------------------------------------
    def _url(self, call: ApiCall) -> str:
        url = f"{self.settings.api_base_url.rstrip('/')}/calendar/v3/{call.path}"
        return f"{url}?{urlencode(list(call.params))}" if call.params else url

    async def call(self, subject: str | None, call: ApiCall, *, accept: tuple[int, ...] = ()) -> ApiResult:
        """Send ``call`` as ``subject``; a status in ``accept`` is returned, others raise."""
        url = self._url(call)
        listing = call.method == "GET" and not call.path.rstrip("/").split("/")[-2:-1] == ["events"]
        what = ("list " if listing else f"{call.method} ") + call.path
        refreshed = False
        attempt = 0
        while True:
            token = await self.token(subject)
            headers = {"Authorization": f"Bearer {token}", **call.headers}
            content = orjson.dumps(call.body) if call.body is not None else None
            if content is not None:
                headers["Content-Type"] = "application/json"
            try:
                async with self._slot(subject):
                    self.requests_sent += 1
                    response = await self._client.request(call.method, url, headers=headers, content=content)
            except httpx.TransportError as exc:
                attempt += 1
                if attempt >= self.settings.max_attempts:
                    raise self._network(exc, url) from None
                self.retries += 1
                await asyncio.sleep(backoff_delay(attempt - 1, cap=self.settings.max_backoff_s))
                continue
            status = response.status_code
            body = _json(response.content) if response.content else None
            retry_after = parse_retry_after(response.headers.get("retry-after"))
            if status == 401 and not refreshed:
                refreshed = True
                await self.token(subject, fresh=True)
                continue
            if status < 300 or status in accept:
                return ApiResult(status, body, retry_after)
            if (
                is_throttle(status, body) or status in _RETRY_STATUSES
            ) and attempt + 1 < self.settings.max_attempts:
                attempt += 1
                self.retries += 1
                log.info("google calendar %s answered %s; retry %d", what, status, attempt)
                await asyncio.sleep(backoff_delay(attempt - 1, retry_after, cap=self.settings.max_backoff_s))
                continue
            raise api_error(
                status,
                body,
                what=what,
                project=self.project,
                client_id=self.client_id,
                retry_after=retry_after,
            )

    # -- batch ----------------------------------------------------------------------------------
    async def batch(self, subject: str | None, calls: Sequence[ApiCall]) -> list[ApiResult]:
        """Every call answered (in order); throttled parts are sent again after a backoff. Parts
        still throttled after ``max_attempts`` come back with their throttle status."""
        results: list[ApiResult | None] = [None] * len(calls)
        pending = list(range(len(calls)))
        attempt = 0
        while pending:
            chunks = [
                pending[i : i + self.settings.batch_size]
                for i in range(0, len(pending), self.settings.batch_size)
            ]
            again: list[int] = []
            wait: float | None = None
            for chunk in chunks:
                answered = await self._send_batch(subject, [calls[i] for i in chunk])
                for index, result in zip(chunk, answered, strict=True):
                    results[index] = result
                    retryable = is_throttle(result.status, result.body) or result.status in _RETRY_STATUSES
                    if retryable and attempt + 1 < self.settings.max_attempts:
                        again.append(index)
                        wait = max(wait or 0.0, result.retry_after or 0.0) if result.retry_after else wait
            if not again:
                break
            self.retries += len(again)
            await asyncio.sleep(backoff_delay(attempt, wait, cap=self.settings.max_backoff_s))
            attempt += 1
            pending = again
        return [r for r in results if r is not None]

    async def _send_batch(self, subject: str | None, calls: Sequence[ApiCall]) -> list[ApiResult]:
        if len(calls) == 1:  # no envelope for one call; its failure statuses come back as results
            return [await self.call(subject, calls[0], accept=tuple(range(300, 600)))]
        boundary = "sfacal_" + secrets.token_hex(12)
        base_path = urlsplit(self.settings.api_base_url).path.rstrip("/")
        parts = bytearray()
        for i, call in enumerate(calls):
            target = f"{base_path}/calendar/v3/{call.path}"
            if call.params:
                target += "?" + urlencode(list(call.params))
            lines = [f"{call.method} {target} HTTP/1.1"]
            lines += [f"{k}: {v}" for k, v in call.headers.items()]
            payload = orjson.dumps(call.body) if call.body is not None else b""
            if payload:
                lines.append("Content-Type: application/json")
            parts += (
                f"--{boundary}\r\nContent-Type: application/http\r\nContent-ID: <item{i}>\r\n\r\n".encode()
                + "\r\n".join(lines).encode()
                + b"\r\n\r\n"
                + payload
                + b"\r\n"
            )
        parts += f"--{boundary}--\r\n".encode()
        url = self.settings.api_base_url.rstrip("/") + "/batch/calendar/v3"
        refreshed = False
        attempt = 0
        while True:
            token = await self.token(subject)
            headers = {
                "Authorization": f"Bearer {token}",
                "Content-Type": f"multipart/mixed; boundary={boundary}",
            }
            try:
                async with self._slot(subject):
                    self.requests_sent += 1
                    response = await self._client.post(url, headers=headers, content=bytes(parts))
            except httpx.TransportError as exc:
                attempt += 1
                if attempt >= self.settings.max_attempts:
                    raise self._network(exc, url) from None
                await asyncio.sleep(backoff_delay(attempt - 1, cap=self.settings.max_backoff_s))
                continue
            if response.status_code == 200:
                answered = _parse_batch(
                    response.headers.get("content-type", ""), response.content, len(calls)
                )
                if any(r.status == 401 for r in answered) and not refreshed:
                    refreshed = True
                    await self.token(subject, fresh=True)
                    continue
                return answered
            body = _json(response.content)
            if (is_throttle(response.status_code, body) or response.status_code in _RETRY_STATUSES) and (
                attempt + 1 < self.settings.max_attempts
            ):
                attempt += 1
                await asyncio.sleep(backoff_delay(attempt - 1, cap=self.settings.max_backoff_s))
                continue
            raise api_error(
                response.status_code, body, what="batch", project=self.project, client_id=self.client_id
            )


def backoff_delay(attempt: int, retry_after: float | None = None, *, cap: float = 32.0) -> float:
    """Seconds before retry ``attempt`` (0-based): ``Retry-After`` when given, else Google's
    truncated exponential backoff (1, 2, 4 ... s, capped) with full jitter in its upper half."""
    if retry_after is not None:
        return min(max(0.0, retry_after), cap) + random.uniform(0.0, 0.25)
    ceiling = min(cap, 2.0**attempt)
    return random.uniform(ceiling / 2, ceiling)


def _json(content: bytes) -> Any:
    try:
        return orjson.loads(content) if content else None
    except orjson.JSONDecodeError:
        return {"raw": content[:300].decode("utf-8", "replace")}


def _boundary(content_type: str) -> str:
    for piece in content_type.split(";")[1:]:
        name, _, value = piece.strip().partition("=")
        if name.lower() == "boundary":
            return value.strip('"')
    return ""


def _parse_batch(content_type: str, content: bytes, expected: int) -> list[ApiResult]:
    """The parts of a batch answer, ordered by their ``Content-ID`` (``response-item{i}``).

    Split on the boundary by hand: the standard library's MIME parser costs milliseconds per part,
    more than the round trip it answers."""
    boundary = _boundary(content_type).encode()
    found: dict[int, ApiResult] = {}
    chunks = content.split(b"--" + boundary)[1:] if boundary else []
    for order, chunk in enumerate(c for c in chunks if not c.startswith(b"--")):
        outer, _, inner = chunk.replace(b"\r\n", b"\n").strip(b"\n").partition(b"\n\n")
        cid = ""
        for line in outer.split(b"\n"):
            name, _, value = line.decode("latin-1").partition(":")
            if name.strip().lower() == "content-id":
                cid = value.strip().strip("<>")
        head, _, body = inner.partition(b"\n\n")
        status_line = head.split(b"\n", 1)[0].decode("latin-1").split(" ")
        status = int(status_line[1]) if len(status_line) > 1 and status_line[1].isdigit() else 500
        retry_after = None
        for line in head.split(b"\n")[1:]:
            name, _, value = line.decode("latin-1").partition(":")
            if name.strip().lower() == "retry-after":
                retry_after = parse_retry_after(value.strip())
        tail = cid.rsplit("item", 1)[-1]
        index = int(tail) if "item" in cid and tail.isdigit() else order
        body = body.strip()
        found[index] = ApiResult(status, _json(body) if body else None, retry_after)
    return [
        found.get(i, ApiResult(500, {"error": {"message": "missing batch part"}})) for i in range(expected)
    ]
