"""Google's error answers -> the product's error tree (L2).

Token endpoint (JWT-bearer grant): ``unauthorized_client`` -> delegation not granted;
``invalid_grant`` with "Invalid email or User ID" -> the user does not exist; other
``invalid_grant`` (signature, key deleted, clock) -> the key cannot be used.
Calendar API: ``401`` -> the key; ``403 accessNotConfigured`` -> API disabled; ``403
insufficientPermissions`` -> delegation lacks a scope; ``403``/``429`` ``rateLimitExceeded`` /
``userRateLimitExceeded`` / ``quotaExceeded`` -> throttled (retried); ``404`` -> not found;
``409`` -> conflict (a duplicate id); ``410`` on a list -> full sync required; ``412`` -> stale etag;
``5xx`` -> service unavailable.
"""

from __future__ import annotations

from typing import Any

from sfacal.core.errors import (
    ConflictError,
    GoogleApiDisabledError,
    GoogleDelegationMissingError,
    GoogleKeyInvalidError,
    GoogleThrottledError,
    GoogleUserNotFoundError,
    NotFoundError,
    ResyncRequiredError,
    ServiceUnavailableError,
    SfacalError,
)

__all__ = ["THROTTLE_REASONS", "api_error", "error_reason", "token_error"]

THROTTLE_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded"})


def error_reason(body: Any) -> tuple[str, str]:
    """``(reason, message)`` of a Calendar API error body."""
    if not isinstance(body, dict) or not isinstance(body.get("error"), dict):
        return "", ""
    error = body["error"]
    items = error.get("errors") or [{}]
    first = items[0] if isinstance(items[0], dict) else {}
    return str(first.get("reason", "")), str(error.get("message", first.get("message", "")))


def is_throttle(status: int, body: Any) -> bool:
    reason, _ = error_reason(body)
    return status == 429 or (status == 403 and reason in THROTTLE_REASONS)


def token_error(status: int, body: Any, *, mailbox: str | None, client_id: str) -> SfacalError:
    error = str(body.get("error", "")) if isinstance(body, dict) else ""
    description = str(body.get("error_description", "")) if isinstance(body, dict) else str(body)[:300]
    detail = f"token endpoint {status} {error}: {description}"
    if error == "unauthorized_client":
        return GoogleDelegationMissingError(
            detail, upstream_code=error, http_status=status, client_id=client_id
        )
    if error == "invalid_grant" and "invalid email or user id" in description.lower():
        return GoogleUserNotFoundError(detail, upstream_code=error, http_status=status, mailbox=mailbox)
    if status >= 500:
        return ServiceUnavailableError(detail, http_status=status, status=str(status))
    return GoogleKeyInvalidError(
        detail, upstream_code=error or None, http_status=status, reason=description or error
    )


def api_error(
    status: int, body: Any, *, what: str, project: str, client_id: str, retry_after: float | None = None
) -> SfacalError:
    reason, message = error_reason(body)
    detail = f"{what}: {status} {reason}: {message}"[:800]
    if status == 401:
        return GoogleKeyInvalidError(
            detail, upstream_code=reason, http_status=status, reason=message or reason
        )
    if status in (403, 429) and (status == 429 or reason in THROTTLE_REASONS):
        return GoogleThrottledError(detail, retry_after=retry_after, upstream_code=reason, http_status=status)
    if status == 403 and reason == "accessNotConfigured":
        return GoogleApiDisabledError(detail, upstream_code=reason, http_status=status, project=project)
    if status == 403 and reason in ("insufficientPermissions", "forbidden", "requiredAccessLevel"):
        return GoogleDelegationMissingError(
            detail, upstream_code=reason, http_status=status, client_id=client_id
        )
    if status in (404, 410) and not what.startswith("list"):
        return NotFoundError(detail, upstream_code=reason, http_status=status)
    if status == 410:
        return ResyncRequiredError(detail, upstream_code=reason, http_status=status)
    if status == 409:
        return ConflictError(detail, upstream_code=reason, http_status=status)
    if status == 412:
        return ConflictError(detail, upstream_code=reason, http_status=status)
    if status >= 500 or status == 408:
        return ServiceUnavailableError(detail, upstream_code=reason, http_status=status, status=str(status))
    return SfacalError(detail, upstream_code=reason, http_status=status)
