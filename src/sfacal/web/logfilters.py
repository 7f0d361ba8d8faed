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
- Every record carries ``request_id`` and ``job_id`` (empty when none; :mod:`sfacal.core.logcontext`).
- With ``SFACAL_LOG_FORMAT=json`` each record is one JSON object on one line
  (:class:`JsonLogFormatter`: ``time``, ``level``, ``logger``, ``message``, ``request_id``,
  ``job_id``, ``exc_info`` when there is one, and any ``extra`` fields). The redaction above has
  run by then, and every string value of the object -- ``extra`` fields included -- is passed
  through :func:`redact_line` once more before it is written.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from pythonjsonlogger.json import JsonFormatter

from sfacal.core import logcontext
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


class LogContextFilter(logging.Filter):
    """Handler filter: adds ``request_id`` and ``job_id`` (the ids in force, or ``""``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        ids = logcontext.current()
        if not getattr(record, "request_id", ""):
            record.request_id = ids["request_id"]
        if not getattr(record, "job_id", ""):
            record.job_id = ids["job_id"]
        return True


def _redacted(value: Any) -> Any:
    if isinstance(value, str):
        return redact_line(value)
    if isinstance(value, dict):
        return {k: _redacted(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redacted(v) for v in value]
    return value


class JsonLogFormatter(JsonFormatter):
    """One JSON object per record (``SFACAL_LOG_FORMAT=json``); see the module docstring."""

    FIELDS = ("asctime", "levelname", "name", "message", "request_id", "job_id")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            list(self.FIELDS),
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            json_ensure_ascii=False,
            **kwargs,
        )

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        from datetime import UTC, datetime

        return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        return {key: _redacted(value) for key, value in log_data.items()}


SERVER_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")


def route_server_logs() -> None:
    """Send the web server's loggers through the product's handlers (uvicorn otherwise installs its
    own, which would print request paths and tracebacks unredacted)."""
    for name in SERVER_LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers = []
        logger.propagate = True
