"""The product's log output: no secret in any line, and an expected refusal in one line.

Guarantees, for every record that reaches a handler the product configures (``LOGGING`` in
``sfacal.web.settings``: Django, the uvicorn server and access log, Huey, httpx, sfacal's own; the
web server's loggers are routed there by :func:`route_server_logs`):

- The message, the traceback and the stack are redacted before any formatter sees them
  (:func:`redact_line`): the token segments of URL paths that carry one (:data:`TOKEN_PATHS`, kept in
  step with the URL patterns by a test), push-API tokens (``sfa_…``), bearer and basic credentials,
  and ``key=value`` / ``"key": "value"`` pairs whose key names a secret (:func:`sfacal.core.errors.redact`).
- A response refused on purpose (any 4xx logged by Django: permission denied, not found, CSRF failure,
  a paused sign-in) is logged as one line, without the traceback of the exception behind it.
  5xx answers keep their traceback (redacted).
"""

from __future__ import annotations

import logging
import re

from sfacal.core.errors import REDACTED, redact

TOKEN_PATHS: tuple[re.Pattern[str], ...] = (
    # /hooks/justsfa/<token>: the JUST.SFA webhook (sfacal.sources.justsfa.urls)
    re.compile(r"(/hooks/justsfa/)[^/\s?#\"'<>]+"),
    # /accounts/invitation/<uidb64>/<token>/: an invitation link (sfacal.web.accounts.urls)
    re.compile(r"(/accounts/invitation/)[^/\s?#\"'<>]+(?:/[^/\s?#\"'<>]+)?"),
    # /feeds/<token>.ics: an employee's calendar feed (sfacal.web.employees.feeds)
    re.compile(r"(/feeds/)[^/\s?#\"'<>]+"),
)
"""URL paths whose segments are secrets; each match keeps group 1 and hides the rest."""

_MORE_SECRETS: tuple[re.Pattern[str], ...] = (
    # push-API tokens (sfacal.directory.connections.models.ApiToken.issue), wherever they appear
    re.compile(r"\bsfa_[A-Za-z0-9_-]{8,}"),
    # Authorization headers of any scheme, and other header/field names that hold a credential
    re.compile(
        r"(?i)(\b(?:authorization|proxy-authorization|x-api-key|api-key|token|webhook_token|"
        r"callback_secret|certificate_password|webhook_header_value|x-sfacal-signature)\"?'?\s*[:=]\s*\"?'?)"
        r"(?!\*\*\*)(?:(?:bearer|basic|token)\s+)?[^\s\"'&,;}]+"
    ),
)


def redact_line(text: str) -> str:
    """``text`` with every secret that has a known shape or place replaced by ``***``."""
    for pattern in TOKEN_PATHS:
        text = pattern.sub(lambda m: m.group(1) + REDACTED, text)
    text = _MORE_SECRETS[0].sub(REDACTED, text)
    text = _MORE_SECRETS[1].sub(lambda m: m.group(1) + REDACTED, text)
    return redact(text)


_TRACEBACK_FORMATTER = logging.Formatter()


class RedactSecretsFilter(logging.Filter):
    """Handler filter: rewrites the record's message, traceback and stack, redacted."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: log its template rather than nothing
            message = str(record.msg)
        record.msg = redact_line(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            # formatted here so that it can be redacted: formatters print exc_text when it is set
            record.exc_text = _TRACEBACK_FORMATTER.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_line(record.exc_text)
        if record.stack_info:
            record.stack_info = redact_line(record.stack_info)
        return True


class ExpectedRefusalFilter(logging.Filter):
    """Handler filter: a 4xx answer logged by Django keeps its line and loses its traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if isinstance(status, int) and 400 <= status < 500:
            record.exc_info = None
            record.exc_text = None
        return True


SERVER_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")


def route_server_logs() -> None:
    """Send the web server's loggers through the product's handlers (uvicorn otherwise installs its
    own, which would print request paths and tracebacks unredacted)."""
    for name in SERVER_LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers = []
        logger.propagate = True
