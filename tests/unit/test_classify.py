"""L2: upstream responses map to the right error type."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sfacal.core import errors as E
from sfacal.core.classify import (
    classify_graph_error,
    classify_network_error,
    classify_token_error,
    network_error_kind,
    parse_retry_after,
)


def _token_body(code: int, text: str = "") -> dict[str, object]:
    return {
        "error": "invalid_client",
        "error_description": f"AADSTS70002: Error validating credentials. AADSTS{code}: {text} Trace ID: x",
        "error_codes": [70002, code],
    }


@pytest.mark.parametrize(
    "code,cls",
    [
        (700016, E.AppNotFoundError),
        (70001, E.AppNotFoundError),
        (700027, E.InvalidSignatureError),
        (50012, E.InvalidSignatureError),
        (50064, E.ThumbprintMismatchError),
        (90002, E.TenantNotFoundError),
        (7000215, E.SecretInvalidError),
        (7000222, E.SecretExpiredError),
        (65001, E.AccessDeniedError),
    ],
)
def test_l2_token_errors_are_classified_by_aadsts_code(code: int, cls: type[E.SfacalError]) -> None:
    err = classify_token_error(401, _token_body(code))
    assert type(err) is cls
    assert err.upstream_code == f"AADSTS{code}" and err.http_status == 401
    assert f"AADSTS{code}" in err.detail


def test_l2_token_error_from_description_text_only() -> None:
    body = {
        "error": "unauthorized_client",
        "error_description": "AADSTS700016: Application with identifier x",
    }
    assert isinstance(classify_token_error(400, body), E.AppNotFoundError)
    assert isinstance(
        classify_token_error(400, None, text="AADSTS90002: No service namespace"), E.TenantNotFoundError
    )


def test_token_error_fallbacks() -> None:
    generic = classify_token_error(400, {"error": "invalid_request", "error_description": "AADSTS12345: odd"})
    assert type(generic) is E.CredentialError and generic.upstream_code == "AADSTS12345"
    throttled = classify_token_error(429, None, text="slow down", retry_after=5)
    assert isinstance(throttled, E.ThrottledError) and throttled.retry_after == 5
    down = classify_token_error(503, None, text="unavailable")
    assert isinstance(down, E.ServiceUnavailableError) and "503" in down.user_message()
    plain = classify_token_error(400, {"error": "invalid_grant"})
    assert type(plain) is E.CredentialError and plain.upstream_code == "invalid_grant"


def test_token_error_detail_is_redacted() -> None:
    err = classify_token_error(401, None, text="client_secret=abcdef123 rejected", secrets=["abcdef123"])
    assert "abcdef123" not in err.detail


def _graph(code: str, message: str = "") -> dict[str, object]:
    return {"error": {"code": code, "message": message, "innerError": {"request-id": "r"}}}


def test_l2_graph_smtp_message_means_mailbox_not_found() -> None:
    # The first manual's example: 500 ErrorInternalServerError with the SMTP message.
    err = classify_graph_error(
        500,
        _graph("ErrorInternalServerError", "The SMTP address has no mailbox associated with it."),
        mailbox="x@example.com",
    )
    assert isinstance(err, E.MailboxNotFoundError) and "x@example.com" in err.user_message()


@pytest.mark.parametrize(
    "status,code,cls",
    [
        (404, "ErrorInvalidUser", E.MailboxNotFoundError),
        (404, "ErrorNonExistentMailbox", E.MailboxNotFoundError),
        (404, "MailboxNotEnabledForRESTAPI", E.MailboxNotRestEnabledError),
        (403, "ErrorAccessDenied", E.AccessDeniedError),
        (403, "Something", E.AccessDeniedError),
        (429, "ApplicationThrottled", E.ThrottledError),
        (401, "InvalidAuthenticationToken", E.CredentialError),
        (412, "ErrorIrresolvableConflict", E.ConflictError),
        (410, "syncStateNotFound", E.ResyncRequiredError),
        (404, "ErrorItemNotFound", E.NotFoundError),
        (503, "ServiceUnavailable", E.ServiceUnavailableError),
        (504, "GatewayTimeout", E.ServiceUnavailableError),
        (400, "ErrorInvalidRequest", E.SfacalError),
    ],
)
def test_graph_errors_are_classified(status: int, code: str, cls: type[E.SfacalError]) -> None:
    err = classify_graph_error(status, _graph(code, "msg"), mailbox="m@x", retry_after=2)
    assert type(err) is cls
    assert err.upstream_code == code and err.http_status == status


def test_graph_throttle_carries_retry_after_and_empty_body_works() -> None:
    err = classify_graph_error(429, None, retry_after=7)
    assert isinstance(err, E.ThrottledError) and err.retry_after == 7 and err.retryable
    assert type(classify_graph_error(418, None)) is E.SfacalError


def test_parse_retry_after() -> None:
    now = datetime(2025, 1, 1, 0, 0, 0, tzinfo=UTC)
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(" 1.5 ") == 1.5
    assert parse_retry_after("-4") == 0.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("Wed, 01 Jan 2025 00:00:30 GMT", now) == 30.0
    assert parse_retry_after("Wed, 01 Jan 2025 00:00:30 GMT") is None
    assert parse_retry_after("not a date", now) is None
    assert parse_retry_after("Wed, 01 Jan 2025 00:00:30 -0000", now) is None  # naive per RFC: unknown zone


def test_l2_clock_skew_token_error() -> None:
    body = _token_body(700024, "Client assertion is not within its valid time range.")
    err = classify_token_error(401, body)
    assert type(err) is E.ClockSkewError and err.upstream_code == "AADSTS700024"
    assert "NTP" in err.hint("ja") and "server clock" in err.hint("en")


@pytest.mark.parametrize(
    ("text", "cls"),
    [
        ("ConnectError: [Errno -2] Name or service not known", E.NetworkDnsError),
        ("ConnectError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed", E.NetworkTlsError),
        ("ConnectError: [Errno 111] Connection refused", E.NetworkRefusedError),
        ("ReadTimeout: timed out", E.NetworkTimeoutError),
        ("RemoteProtocolError: Server disconnected without sending a response", E.NetworkResetError),
        ("ConnectError: something else", E.NetworkError),
    ],
)
def test_l2_network_errors_are_classified_by_kind(text: str, cls: type[E.NetworkError]) -> None:
    err = classify_network_error(text, "graph.microsoft.com", secrets=["s3cret"])
    assert type(err) is cls and err.params["host"] == "graph.microsoft.com"
    assert network_error_kind(text) == err.params["kind"]


def test_network_error_detail_is_redacted() -> None:
    err = classify_network_error(
        "ConnectError: refused for client_secret=abc s3cret", "h", secrets=["s3cret"]
    )
    assert "s3cret" not in err.detail and "abc" not in err.detail
