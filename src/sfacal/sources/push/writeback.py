"""Two-way for push sources (T1): calendar edits delivered to the connection's callback URL.

The engine decides *what* to write back (:mod:`sfacal.core.twoway`); this module delivers it:

* ``POST <callback_url>`` with a JSON body (:meth:`WriteBackPayload.to_json`);
* headers ``X-Sfacal-Event: schedule.write_back``, ``X-Sfacal-Delivery: <delivery id>`` (the same on
  every retry: the receiver's idempotency key), ``X-Sfacal-Timestamp: <unix seconds>`` and
  ``X-Sfacal-Signature: sha256=<hex>`` = HMAC-SHA256 with the connection's ``callback_secret`` over
  ``"<timestamp>." + body`` (:func:`sign`; receivers check it with :func:`verify_signature`);
* any 2xx is success; network errors, 408, 425, 429 and 5xx are retried with exponential backoff
  (``Retry-After`` honoured); other answers fail at once (a person must fix the receiver);
* every attempt is a line in the sync log (trigger ``writeback``) with its error code:
  ``callback_unreachable`` (no connection), ``callback_unavailable`` (5xx, 408, 425),
  ``callback_rate_limited`` (429), ``callback_unauthorized`` (401, 403: the signature or the
  receiver's own authentication), ``callback_rejected`` (any other answer, redirects included),
  ``callback_not_configured`` (no URL), ``address_not_allowed`` (the URL leads to a private or local
  address the outbound address rule refuses, :mod:`sfacal.net`: not retried, and refused before any
  connection is opened, so the answer is the same whatever listens on the port);
  :func:`callback_error` gives the typed error with its hint.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx

from sfacal import __version__
from sfacal.core.classify import network_error_kind
from sfacal.core.errors import (
    AddressNotAllowedError,
    CallbackNotConfiguredError,
    CallbackRateLimitedError,
    CallbackRejectedError,
    CallbackUnauthorizedError,
    CallbackUnavailableError,
    CallbackUnreachableError,
    SfacalError,
    log_params,
)
from sfacal.core.schedule import AllDaySpan, Schedule
from sfacal.core.twoway import ScheduleEdit
from sfacal.directory.connections.models import SourceConnection
from sfacal.engine.models import LogResult, SyncLogEntry, Trigger
from sfacal.net import metrics
from sfacal.net.httpx_transport import guarded_client
from sfacal.sources.push.convert import SOURCE, schedule_to_out
from sfacal.sources.trust import default_verify

logger = logging.getLogger("sfacal.push.writeback")

EVENT = "schedule.write_back"
SIGNATURE_HEADER = "X-Sfacal-Signature"
TIMESTAMP_HEADER = "X-Sfacal-Timestamp"
DELIVERY_HEADER = "X-Sfacal-Delivery"
EVENT_HEADER = "X-Sfacal-Event"
SIGNATURE_TOLERANCE_SECONDS = 300
RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


NOT_CONFIGURED = CallbackNotConfiguredError.code
UNREACHABLE = CallbackUnreachableError.code
UNAVAILABLE = CallbackUnavailableError.code
RATE_LIMITED = CallbackRateLimitedError.code
UNAUTHORIZED = CallbackUnauthorizedError.code
REJECTED = CallbackRejectedError.code
NOT_ALLOWED = AddressNotAllowedError.code


def _host(url: str) -> str:
    return urlsplit(url).hostname or "?"


def callback_error(attempt: Attempt, url: str) -> SfacalError:
    """The typed error (message and hint, L2) of a failed attempt to reach ``url``: a
    :class:`~sfacal.core.errors.CallbackError`, or the refusal of the outbound address rule."""
    host = _host(url) if url else "?"
    status = str(attempt.status_code) if attempt.status_code is not None else None
    if attempt.error_code == NOT_CONFIGURED:
        return CallbackNotConfiguredError(attempt.message)
    if attempt.error_code == NOT_ALLOWED:
        return AddressNotAllowedError(attempt.message, host=host)
    if attempt.error_code == UNREACHABLE:
        return CallbackUnreachableError(attempt.message, host=host)
    if attempt.error_code == UNAVAILABLE:
        return CallbackUnavailableError(attempt.message, host=host, status=status)
    if attempt.error_code == RATE_LIMITED:
        return CallbackRateLimitedError(attempt.message, host=host, retry_after=attempt.retry_after)
    if attempt.error_code == UNAUTHORIZED:
        return CallbackUnauthorizedError(attempt.message, host=host, status=status)
    return CallbackRejectedError(attempt.message, host=host, status=status)


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class WriteBackPayload:
    """What one write-back tells the SFA. ``calendar`` holds the calendar-side values of the
    changed fields; ``schedule`` the whole schedule with them applied (API shape)."""

    source_id: str
    changed_fields: tuple[str, ...]
    calendar: Mapping[str, Any]
    event_id: str
    mailbox: str
    login_id: str = ""
    schedule: Mapping[str, Any] | None = None
    delivery_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    occurred_at: datetime = field(default_factory=_now)

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": EVENT,
            "delivery_id": self.delivery_id,
            "occurred_at": self.occurred_at.isoformat(),
            "source_id": self.source_id,
            "changed_fields": list(self.changed_fields),
            "calendar": dict(self.calendar),
            "schedule": dict(self.schedule) if self.schedule is not None else None,
            "event": {"id": self.event_id, "mailbox": self.mailbox, "login_id": self.login_id},
        }

    def to_json(self) -> bytes:
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def payload_from_edit(
    schedule: Schedule, edit: ScheduleEdit, *, event_id: str, mailbox: str, login_id: str = ""
) -> WriteBackPayload:
    """The payload for a T1 decision: ``schedule`` is the SFA schedule *after* the edit
    (:func:`sfacal.core.twoway.apply_edit`), ``edit`` the calendar-side changes."""
    calendar: dict[str, Any] = {}
    changed: list[str] = []
    if edit.subject is not None:
        calendar["subject"] = edit.subject
        changed.append("subject")
    if edit.location is not None:
        calendar["location"] = edit.location
        changed.append("location")
    if edit.body is not None:
        calendar["body"] = edit.body
        changed.append("body")
    if edit.span is not None:
        span = edit.span
        all_day = isinstance(span, AllDaySpan)
        calendar["all_day"] = all_day
        if all_day:
            calendar["start"] = span.start.isoformat()
            calendar["end"] = (span.end - timedelta(days=1)).isoformat()  # last day, included
        else:
            calendar["start"] = span.start.isoformat()
            calendar["end"] = span.end.isoformat()
        calendar["timezone"] = schedule.timezone
        changed += ["start", "end", "all_day"]
    shown = schedule_to_out(schedule, "", "stored")
    for key in ("etag", "outcome", "warnings"):
        shown.pop(key, None)
    return WriteBackPayload(
        source_id=schedule.ref.record_id,
        changed_fields=tuple(changed),
        calendar=calendar,
        event_id=event_id,
        mailbox=mailbox,
        login_id=login_id,
        schedule=shown,
    )


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>``: HMAC-SHA256 of ``"<timestamp>." + body`` with ``secret``."""
    mac = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify_signature(
    secret: str,
    timestamp: str,
    body: bytes,
    signature: str,
    *,
    now: float | None = None,
    tolerance: int = SIGNATURE_TOLERANCE_SECONDS,
) -> bool:
    """What a receiver checks: the signature matches and the timestamp is recent."""
    try:
        sent = int(timestamp)
    except ValueError:
        return False
    current = time.time() if now is None else now
    if abs(current - sent) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


@dataclass(frozen=True)
class Attempt:
    number: int
    status_code: int | None
    ok: bool
    retryable: bool
    error_code: str = ""
    message: str = ""
    retry_after: float | None = None


@dataclass(frozen=True)
class DeliveryResult:
    delivered: bool
    delivery_id: str
    attempts: tuple[Attempt, ...]

    @property
    def status_code(self) -> int | None:
        return self.attempts[-1].status_code if self.attempts else None

    @property
    def error_code(self) -> str:
        return "" if self.delivered or not self.attempts else self.attempts[-1].error_code


def backoff_delay(
    attempt: int, base_delay: float, max_delay: float, retry_after: float | None = None
) -> float:
    """Seconds to wait after failed ``attempt`` (1-based): ``base * 2**(attempt-1)``, capped;
    a ``Retry-After`` from the receiver wins (also capped)."""
    delay = base_delay * (2 ** (attempt - 1))
    if retry_after is not None:
        delay = retry_after
    return float(max(0.0, min(delay, max_delay)))


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def callback_client(timeout: float = 10.0) -> httpx.Client:
    """The HTTP client for callback URLs: no redirects followed (a signed body goes only where the
    administrator said), the service's CA bundle trusted (:mod:`sfacal.sources.trust`), connections
    only to addresses the outbound address rule allows (:mod:`sfacal.net`)."""
    return guarded_client(timeout=timeout, follow_redirects=False, verify=default_verify())


def attempt_once(
    client: httpx.Client,
    connection: SourceConnection,
    payload: WriteBackPayload,
    number: int,
) -> Attempt:
    """One POST of ``payload``; never raises for network or HTTP failures."""
    return post_signed(client, connection, payload.to_json(), payload.delivery_id, EVENT, number)


def post_signed(
    client: httpx.Client,
    connection: SourceConnection,
    body: bytes,
    delivery_id: str,
    event: str,
    number: int = 1,
) -> Attempt:
    """POST ``body`` to the callback URL, signed (see the module docstring)."""
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": f"sfacal/{__version__}",
        EVENT_HEADER: event,
        DELIVERY_HEADER: delivery_id,
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: sign(connection.callback_secret or "", timestamp, body),
    }
    host = _host(connection.callback_url)
    try:
        response = client.post(connection.callback_url, content=body, headers=headers)
    except AddressNotAllowedError as exc:
        return Attempt(number, None, False, False, NOT_ALLOWED, exc.detail)
    except httpx.TimeoutException as exc:
        metrics.count_sfa_request("push_callback", "network_error")
        return Attempt(
            number, None, False, True, UNREACHABLE, f"timeout calling {host}: {type(exc).__name__}"
        )
    except httpx.HTTPError as exc:
        metrics.count_sfa_request("push_callback", "network_error")
        kind = network_error_kind(f"{type(exc).__name__}: {exc}")
        return Attempt(
            number, None, False, True, UNREACHABLE, f"cannot connect to {host} ({kind}): {type(exc).__name__}"
        )
    status = response.status_code
    metrics.count_sfa_request("push_callback", metrics.http_outcome(status))
    if 200 <= status < 300:
        return Attempt(number, status, True, False, "", f"HTTP {status}")
    retryable = status in RETRYABLE_STATUS
    if status == 429:
        code = RATE_LIMITED
    elif retryable:
        code = UNAVAILABLE
    elif status in (401, 403):
        code = UNAUTHORIZED
    else:
        code = REJECTED
    text = response.text[:200].replace("\n", " ")
    return Attempt(
        number, status, False, retryable, code, f"HTTP {status} from {host}: {text}", _retry_after(response)
    )


def _log(
    connection: SourceConnection, payload: WriteBackPayload, attempt: Attempt, final: bool, of: int
) -> None:
    result = LogResult.SUCCESS if attempt.ok else LogResult.FAILURE if final else LogResult.WARNING
    suffix = "" if attempt.ok or final else " (will retry)"
    SyncLogEntry.objects.create(
        company_id=connection.company_id,
        trigger=Trigger.WRITEBACK,
        operation="writeback",
        result=result,
        source=SOURCE,
        record_id=payload.source_id[:200],
        login_id=payload.login_id[:150],
        mailbox=payload.mailbox[:254],
        error_code="" if attempt.ok else attempt.error_code,
        error_params={} if attempt.ok else log_params(callback_error(attempt, connection.callback_url)),
        message=f"delivery {payload.delivery_id} attempt {attempt.number}/{of}: {attempt.message}{suffix}"[
            :2000
        ],
    )


def deliver_write_back(
    connection: SourceConnection,
    payload: WriteBackPayload,
    *,
    max_attempts: int = 5,
    base_delay: float = 1.0,
    max_delay: float = 60.0,
    timeout: float = 10.0,
    client: httpx.Client | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> DeliveryResult:
    """Deliver ``payload`` to ``connection.callback_url``, retrying as the module docstring says.

    Blocking (meant for a worker task). Each attempt is logged; the result lists them all.
    """
    if not connection.callback_url:
        attempt = Attempt(1, None, False, False, NOT_CONFIGURED, "no write-back callback URL is configured")
        _log(connection, payload, attempt, True, 1)
        return DeliveryResult(False, payload.delivery_id, (attempt,))
    own_client = client is None
    http = client or callback_client(timeout)
    attempts: list[Attempt] = []
    try:
        for number in range(1, max_attempts + 1):
            attempt = attempt_once(http, connection, payload, number)
            attempts.append(attempt)
            final = attempt.ok or not attempt.retryable or number == max_attempts
            _log(connection, payload, attempt, final, max_attempts)
            if final:
                break
            sleep(backoff_delay(number, base_delay, max_delay, attempt.retry_after))
            metrics.count_sfa_request("push_callback", "retried")
    finally:
        if own_client:
            http.close()
    delivered = bool(attempts and attempts[-1].ok)
    level = logging.INFO if delivered else logging.WARNING
    logger.log(
        level,
        "write-back %s of %s to company %s: %s after %d attempt(s)",
        payload.delivery_id,
        payload.source_id,
        connection.company_id,
        "delivered" if delivered else "failed",
        len(attempts),
    )
    return DeliveryResult(delivered, payload.delivery_id, tuple(attempts))
