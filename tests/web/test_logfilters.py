"""Secrets never reach a log line; expected refusals are one line (sfacal.web.logfilters)."""

from __future__ import annotations

import io
import logging
import re
import sys
from collections.abc import Iterator

import pytest
from django.conf import settings
from django.urls import URLPattern, URLResolver, get_resolver

from sfacal.web import logfilters
from sfacal.web.logfilters import ExpectedRefusalFilter, RedactSecretsFilter, redact_line

SAMPLE = "S3cretSampleValue_0123456789abcdef"


def test_redact_key_value_bearer_basic_and_api_tokens():
    text = (
        'client_secret=abc123&x=1 "password": "pw" Authorization: Bearer eyJ.abc.def '
        "authorization=Basic dXNlcjpwYXNz token=tok123 callback_secret: cb456 sfa_AbCdEfGhIjKlMnOpQrSt"
    )
    out = redact_line(text)
    for secret in ("abc123", '"pw"', "eyJ.abc.def", "dXNlcjpwYXNz", "tok123", "cb456", "sfa_AbCdEfGh"):
        assert secret not in out, out
    assert "x=1" in out


def test_token_paths_are_redacted_with_or_without_host_slash_and_query():
    for path in (
        f"/hooks/justsfa/{SAMPLE}",
        f"https://sync.example.jp/hooks/justsfa/{SAMPLE}/?x=1",
        f'"POST /hooks/justsfa/{SAMPLE} HTTP/1.1" 500',
        f"/accounts/invitation/Mw/{SAMPLE}/",
    ):
        out = redact_line(path)
        assert SAMPLE not in out and "***" in out, out


def _routes(patterns: list[URLPattern | URLResolver], prefix: str = "") -> Iterator[str]:
    for entry in patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _routes(entry.url_patterns, route)
        else:
            yield route


def test_every_url_with_a_secret_in_its_path_is_redacted():
    """A new route with a token, secret or key among its path parameters must be in TOKEN_PATHS."""
    secret_params = re.compile(r"<(?:\w+:)?(\w*(?:token|secret|key)\w*)>", re.IGNORECASE)
    covered = 0
    for route in _routes(get_resolver().url_patterns):
        names = secret_params.findall(route)
        if not names:
            continue
        path = "/" + re.sub(
            r"<(?:\w+:)?(\w+)>", lambda m, secret=names: SAMPLE if m.group(1) in secret else "Mw", route
        )
        assert SAMPLE not in redact_line(path), route
        covered += 1
    assert covered >= 3  # the webhook (with and without slash) and the invitation


def _record(status: int | None, exc: BaseException) -> logging.LogRecord:
    try:
        raise exc
    except type(exc):
        info = sys.exc_info()
    record = logging.LogRecord("django.request", logging.WARNING, __file__, 1, "%s: %s", ("X", "/p"), info)
    if status is not None:
        record.status_code = status
    return record


def _emit(record: logging.LogRecord) -> str:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(ExpectedRefusalFilter())
    handler.addFilter(RedactSecretsFilter())
    handler.handle(record)
    return stream.getvalue()


def test_tracebacks_are_redacted_too():
    out = _emit(_record(500, RuntimeError(f"failed on /hooks/justsfa/{SAMPLE} with Bearer {SAMPLE}")))
    assert "Traceback" in out and "RuntimeError" in out
    assert SAMPLE not in out


def test_a_refusal_is_one_line_an_error_keeps_its_traceback():
    refused = _emit(_record(403, PermissionError("denied")))
    assert refused.strip() == "X: /p"
    failed = _emit(_record(500, ValueError("boom")))
    assert "Traceback (most recent call last)" in failed


def test_every_product_handler_redacts_and_shortens_refusals():
    for name, handler in settings.LOGGING["handlers"].items():
        assert handler["filters"][:2] == ["refusals", "redact"], name
    assert settings.LOGGING["loggers"]["huey"]["handlers"] == ["console"]


def test_the_web_servers_loggers_go_through_the_product_handler(monkeypatch):
    import uvicorn

    for name in logfilters.SERVER_LOGGERS:
        logging.getLogger(name).addHandler(logging.NullHandler())  # as uvicorn's own config would
        logging.getLogger(name).propagate = False
    from sfacal.web.ops import runner

    monkeypatch.setattr(uvicorn, "Config", lambda *a, **kw: kw)
    config = runner.server_config("127.0.0.1", 8000)
    assert config["log_config"] is None
    for name in logfilters.SERVER_LOGGERS:
        logger = logging.getLogger(name)
        assert logger.handlers == [] and logger.propagate, name


@pytest.fixture
def product_log() -> Iterator[io.StringIO]:
    """What a handler with the filters of the product's console handler (from settings.LOGGING)
    writes, with the product's format."""
    root = logging.getLogger()
    product = next(h for h in root.handlers if h.filters)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(product.formatter)
    for log_filter in product.filters:
        handler.addFilter(log_filter)
    root.addHandler(handler)
    try:
        yield stream
    finally:
        root.removeHandler(handler)


@pytest.mark.django_db
def test_a_permission_denied_page_is_one_line_in_the_product_log(product_log, client):
    from sfacal.directory.companies.models import Role
    from sfacal.directory.companies.provisioning import ensure_company
    from tests.ui.conftest import make_user, signed_in

    employee = make_user(ensure_company("acme", "ACME"), "taro", Role.EMPLOYEE)
    assert signed_in(employee).get("/settings/").status_code == 403
    text = product_log.getvalue()
    assert "Forbidden (Permission denied): /settings/" in text
    assert "Traceback" not in text
