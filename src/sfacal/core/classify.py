"""Upstream failures -> the error taxonomy (L2). Pure: the connectors pass what they received.

* :func:`classify_token_error` -- a Microsoft identity platform token response (``AADSTSnnnn``).
* :func:`classify_graph_error` -- a Microsoft Graph error response (``{"error": {"code", "message"}}``).
* :func:`classify_network_error` -- a failed connection (its exception text) -> the
  :class:`~sfacal.core.errors.NetworkError` of its kind (dns, tls, refused, timeout, reset).
* :func:`parse_retry_after` -- a ``Retry-After`` header (seconds or an HTTP date).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

from sfacal.core.errors import (
    AccessDeniedError,
    AppNotFoundError,
    ClockSkewError,
    ConflictError,
    CredentialError,
    InvalidSignatureError,
    MailboxNotFoundError,
    MailboxNotRestEnabledError,
    NetworkError,
    NotFoundError,
    ResyncRequiredError,
    SecretExpiredError,
    SecretInvalidError,
    ServiceUnavailableError,
    SfacalError,
    TenantNotFoundError,
    ThrottledError,
    ThumbprintMismatchError,
)

__all__ = [
    "AADSTS_ERRORS",
    "AADSTS_TRANSIENT",
    "classify_graph_error",
    "classify_network_error",
    "classify_token_error",
    "network_error_kind",
    "parse_retry_after",
]

AADSTS_ERRORS: dict[int, type[SfacalError]] = {
    700016: AppNotFoundError,
    70001: AppNotFoundError,
    7000112: AppNotFoundError,  # application disabled
    700027: InvalidSignatureError,
    50012: InvalidSignatureError,
    50027: InvalidSignatureError,  # malformed client assertion
    50064: ThumbprintMismatchError,
    90002: TenantNotFoundError,
    900023: TenantNotFoundError,
    7000215: SecretInvalidError,
    7000222: SecretExpiredError,
    700024: ClockSkewError,  # client assertion outside its valid time range: the server clock
    65001: AccessDeniedError,  # consent not granted
    500011: AccessDeniedError,  # Graph not consented in the tenant
}
"""Specific ``AADSTS`` codes; the generic 70002 ("error validating credentials") is not listed."""

AADSTS_TRANSIENT = frozenset({90033, 50196, 90055, 9002341})
"""``AADSTS`` codes that mean the identity platform is struggling, not that a setting is wrong."""

_AADSTS = re.compile(r"AADSTS(\d+)")
_NO_MAILBOX = "has no mailbox associated with it"
_MAILBOX_CODES = {"ErrorInvalidUser", "ErrorNonExistentMailbox", "ErrorMailboxNotFound"}
_REST_CODES = {"MailboxNotEnabledForRESTAPI", "MailboxNotSupportedForRESTAPI"}
_DENIED_CODES = {
    "ErrorAccessDenied",
    "AccessDenied",
    "Authorization_RequestDenied",
    "ErrorAccessDeniedForCalendar",
}
_THROTTLE_CODES = {
    "ApplicationThrottled",
    "TooManyRequests",
    "ErrorTooManyObjectsOpened",
    "ActivityLimitReached",
}
_RESYNC_CODES = {"syncStateNotFound", "resyncRequired", "SyncStateInvalid", "SyncStateNotFound"}
_CONFLICT_CODES = {"ErrorIrresolvableConflict", "PreconditionFailed"}


def _aadsts_codes(body: Mapping[str, Any] | None, text: str) -> list[int]:
    codes: list[int] = []
    if body:
        raw = body.get("error_codes")
        if isinstance(raw, list):
            codes.extend(c for c in raw if isinstance(c, int))
        desc = body.get("error_description")
        if isinstance(desc, str):
            codes.extend(int(c) for c in _AADSTS.findall(desc))
    codes.extend(int(c) for c in _AADSTS.findall(text))
    return codes


def classify_token_error(
    status: int | None,
    body: Mapping[str, Any] | None,
    *,
    text: str = "",
    secrets: Iterable[str | None] = (),
    retry_after: float | None = None,
) -> SfacalError:
    """The error for a failed token request (``body`` = the parsed JSON, ``text`` = raw text)."""
    description = ""
    if body and isinstance(body.get("error_description"), str):
        description = str(body["error_description"])
    detail = f"{status}: {description or text}".strip()
    codes = _aadsts_codes(body, text)
    # The identity platform's correlation id is what its support asks for: kept as the request id.
    rid = (body.get("correlation_id") or body.get("trace_id")) if body else None
    ids = {"request_id": str(rid)} if isinstance(rid, str) and rid else {}
    for code in codes:
        if code in AADSTS_TRANSIENT:
            return ServiceUnavailableError(
                detail,
                secrets=secrets,
                upstream_code=f"AADSTS{code}",
                http_status=status,
                status=f"AADSTS{code}",
                **ids,
            )
        cls = AADSTS_ERRORS.get(code)
        if cls is not None:
            return cls(detail, secrets=secrets, upstream_code=f"AADSTS{code}", http_status=status, **ids)
    error = str(body.get("error")) if body and body.get("error") else ""
    upstream = f"AADSTS{codes[0]}" if codes else (error or None)
    if error == "temporarily_unavailable":
        return ServiceUnavailableError(
            detail, secrets=secrets, upstream_code=upstream, http_status=status, status=error, **ids
        )
    if status == 429 or error == "throttled":
        return ThrottledError(
            detail,
            retry_after=retry_after,
            secrets=secrets,
            upstream_code=upstream,
            http_status=status,
            **ids,
        )
    if status is not None and status >= 500:
        return ServiceUnavailableError(
            detail, secrets=secrets, upstream_code=upstream, http_status=status, status=str(status), **ids
        )
    return CredentialError(detail, secrets=secrets, upstream_code=upstream, http_status=status, **ids)


def classify_graph_error(
    status: int,
    body: Mapping[str, Any] | None,
    *,
    mailbox: str | None = None,
    calendar: str | None = None,
    retry_after: float | None = None,
    secrets: Iterable[str | None] = (),
) -> SfacalError:
    """The error for a failed Graph call (``body`` = the parsed JSON error, if any)."""
    error = body.get("error") if body else None
    code = str(error.get("code", "")) if isinstance(error, Mapping) else ""
    message = str(error.get("message", "")) if isinstance(error, Mapping) else ""
    detail = f"{status} {code}: {message}".strip()
    kw: dict[str, Any] = {"secrets": secrets, "upstream_code": code or None, "http_status": status}
    where: dict[str, Any] = {"mailbox": mailbox, "calendar": calendar}
    if _NO_MAILBOX in message or code in _MAILBOX_CODES:
        return MailboxNotFoundError(detail, **kw, **where)
    if code in _REST_CODES:
        return MailboxNotRestEnabledError(detail, **kw, **where)
    if status == 429 or code in _THROTTLE_CODES:
        return ThrottledError(detail, retry_after=retry_after, **kw)
    if code in _DENIED_CODES or status == 403:
        return AccessDeniedError(detail, **kw, **where)
    if status == 401:
        return CredentialError(detail, **kw)
    if status == 412 or code in _CONFLICT_CODES:
        return ConflictError(detail, **kw)
    if status == 410 or code in _RESYNC_CODES:
        return ResyncRequiredError(detail, **kw)
    if status == 404:
        return NotFoundError(detail, **kw)
    if status >= 500:
        return ServiceUnavailableError(detail, **kw, status=str(status))
    return SfacalError(detail, **kw)


_DNS_MARKERS = (
    "nameresolutionerror",
    "name or service not known",
    "temporary failure in name resolution",
    "nodename nor servname",
    "getaddrinfo failed",
    "no address associated",
    "failed to resolve",
)
_CERT_MARKERS = ("certificate_verify_failed", "certificate verify failed")
_TLS_MARKERS = ("ssl", "tls", "hostname mismatch", "handshake")
_REFUSED_MARKERS = ("connection refused", "errno 111", "actively refused", "connectrefused")
_TIMEOUT_MARKERS = ("timed out", "timeout")
_RESET_MARKERS = (
    "connection reset",
    "errno 104",
    "remote end closed",
    "remoteprotocolerror",
    "server disconnected",
)


def network_error_kind(text: str) -> str:
    """``dns``, ``tls``, ``refused``, ``timeout``, ``reset`` or ``connect`` (unknown) for the text of a
    failed connection (an exception chain's types and messages)."""
    low = text.lower()
    if any(m in low for m in _CERT_MARKERS):
        return "tls"
    for kind, markers in (
        ("dns", _DNS_MARKERS),
        ("refused", _REFUSED_MARKERS),
        ("timeout", _TIMEOUT_MARKERS),
        ("reset", _RESET_MARKERS),
        ("tls", _TLS_MARKERS),
    ):
        if any(m in low for m in markers):
            return kind
    return "connect"


def classify_network_error(
    text: str, host: str, *, secrets: Iterable[str | None] = (), kind: str | None = None
) -> NetworkError:
    """The :class:`NetworkError` subclass for a failed connection to ``host`` (``kind`` if known,
    else found in ``text``); the text, secrets removed, is the detail."""
    found = kind or network_error_kind(text)
    return NetworkError(f"{found}: {text[:800]}", secrets=secrets, host=host, kind=found)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds, or an HTTP date (needs ``now``)."""
    if value is None:
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    if now is None:
        return None
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None or now.tzinfo is None:
        return None
    return max(0.0, (when - now).total_seconds())
