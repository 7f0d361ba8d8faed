"""Microsoft Graph error responses -> :mod:`sfacal.core.errors` (L2).

Graph answers ``{"error": {"code", "message", "innerError": {"date", "request-id",
"client-request-id"}}}``. :func:`graph_error` maps the status and code to a core error that
carries the mailbox (when known), the upstream code, the HTTP status and the request id in its
internal detail.

=======================================================  ==========================================
Graph                                                    core error
=======================================================  ==========================================
404 ``ErrorInvalidUser`` / ``ErrorNonExistentMailbox``   :class:`MailboxNotFoundError`
``MailboxNotEnabledForRESTAPI`` (any status)             :class:`MailboxNotRestEnabledError`
403 (``ErrorAccessDenied``, ``Authorization_*`` ...)     :class:`AccessDeniedError`
401 ``InvalidAuthenticationToken``                       :class:`CredentialError`
404 ``ErrorItemNotFound`` and other 404s                 :class:`NotFoundError`
400 ``ErrorInvalidIdMalformed`` ("Id is malformed.")     :class:`NotFoundError` (it names no event)
410 ``syncStateNotFound`` / ``resyncRequired``           :class:`ResyncRequiredError`
412 ``ErrorIrresolvableConflict``                        :class:`ConflictError`
429                                                      :class:`ThrottledError` (``retry_after``)
500 / 502 / 503 / 504                                    :class:`ServiceUnavailableError`
other 4xx                                                :class:`InputError` (field ``event``)
=======================================================  ==========================================
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from sfacal.core.errors import (
    AccessDeniedError,
    ConflictError,
    CredentialError,
    InputError,
    MailboxError,
    MailboxNotFoundError,
    MailboxNotRestEnabledError,
    NotFoundError,
    ResyncRequiredError,
    ServiceUnavailableError,
    SfacalError,
    ThrottledError,
)

__all__ = ["RETRYABLE_STATUSES", "error_parts", "event_gone", "graph_error", "retry_after_seconds"]

RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})

_MAILBOX_MISSING = frozenset({"errorinvaliduser", "errornonexistentmailbox", "erroruserdoesnotexist"})
_NOT_REST = frozenset(
    {"mailboxnotenabledforrestapi", "mailboxnotsupportedforrestapi", "errormailboxnotenabledforrestapi"}
)
_RESYNC = frozenset({"syncstatenotfound", "resyncrequired", "syncstateinvalid"})
# An id Graph cannot read names no event: the event it was meant to name is as good as gone
# (Graph: 400 ErrorInvalidIdMalformed "Id is malformed.", not 404).
_ID_MALFORMED = "errorinvalididmalformed"
_MAILBOX_TROUBLE = frozenset(
    {"errorquotaexceeded", "errormailboxmoveinprogress", "errormailboxstoreunavailable"}
)


def error_parts(body: Any) -> tuple[str, str, str | None]:
    """``(code, message, request id)`` of a Graph error body (tolerant of odd shapes)."""
    if isinstance(body, Mapping):
        err = body.get("error")
        if isinstance(err, Mapping):
            inner = err.get("innerError") or err.get("innererror") or {}
            request_id = inner.get("request-id") if isinstance(inner, Mapping) else None
            return (
                str(err.get("code") or ""),
                str(err.get("message") or ""),
                (str(request_id) if request_id else None),
            )
        if isinstance(err, str):
            return err, str(body.get("error_description") or body.get("message") or ""), None
    if isinstance(body, str):
        return "", body[:500], None
    return "", "", None


def event_gone(status: int, body: Any) -> bool:
    """Whether an answer about one event says it does not exist: 404, or 400
    ``ErrorInvalidIdMalformed`` (the id cannot name an event)."""
    if status == 404:
        return True
    return status == 400 and error_parts(body)[0].lower() == _ID_MALFORMED


def retry_after_seconds(headers: Mapping[str, str] | None, now: datetime | None = None) -> float | None:
    """The ``Retry-After`` header as seconds (a number or an HTTP date), or ``None``."""
    if not headers:
        return None
    raw = None
    for key, value in headers.items():
        if key.lower() == "retry-after":
            raw = str(value).strip()
            break
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def graph_error(
    status: int,
    body: Any,
    headers: Mapping[str, str] | None = None,
    *,
    mailbox: str | None = None,
    calendar: str | None = None,
    what: str = "",
) -> SfacalError:
    """The core error for a Graph error response (see the module table)."""
    code, message, request_id = error_parts(body)
    low = code.lower()
    detail = f"{what + ': ' if what else ''}HTTP {status} {code}: {message}".strip()
    if request_id:
        detail += f" (request-id {request_id})"
    common: dict[str, Any] = {"upstream_code": code or None, "http_status": status, "request_id": request_id}
    if low in _NOT_REST:
        return MailboxNotRestEnabledError(detail, mailbox=mailbox, **common)
    if low in _MAILBOX_MISSING:
        return MailboxNotFoundError(detail, mailbox=mailbox, **common)
    if status == 429:
        return ThrottledError(detail, retry_after=retry_after_seconds(headers), **common)
    if status in (500, 502, 503, 504):
        return ServiceUnavailableError(detail, status=str(status), **common)
    if status == 403:
        return AccessDeniedError(detail, mailbox=mailbox, **common)
    if status == 401:
        return CredentialError(detail, **common)
    if status == 410 or low in _RESYNC:
        return ResyncRequiredError(detail, mailbox=mailbox, **common)
    if status == 412:
        return ConflictError(detail, **common)
    if low in _MAILBOX_TROUBLE:
        return MailboxError(detail, mailbox=mailbox, calendar=calendar, **common)
    if status == 404 or low == _ID_MALFORMED:
        return NotFoundError(detail, **common)
    if 400 <= status < 500:
        return InputError("event", message or code or f"HTTP {status}", detail=detail, **common)
    return SfacalError(detail, **common)
