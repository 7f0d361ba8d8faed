"""How token endpoint answers that the emulator does not produce are reported (MSAL's HTTP mocked)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import requests
from requests.models import Response

from sfacal.calendars.msgraph import AuthMethod, GraphAuth, GraphSettings
from sfacal.core.errors import ServiceUnavailableError, SfacalError, ThrottledError

AUTHORITY = "https://login.example.test/t1"


def _response(status: int, body: str, content_type: str = "application/json") -> Response:
    r = Response()
    r.status_code = status
    r._content = body.encode()
    r.headers["Content-Type"] = content_type
    r.encoding = "utf-8"
    return r


@pytest.mark.parametrize(
    ("token_answer", "expected"),
    [
        (lambda: _response(502, "<html>bad gateway</html>", "text/html"), ServiceUnavailableError),
        (lambda: _response(500, "", "text/plain"), ServiceUnavailableError),
        (
            lambda: _response(
                503, json.dumps({"error": "temporarily_unavailable", "error_description": "busy"})
            ),
            ServiceUnavailableError,
        ),
        (
            lambda: _response(
                429, json.dumps({"error": "invalid_request", "error_description": "slow down"})
            ),
            ThrottledError,
        ),
        (lambda: _response(200, "not json", "text/plain"), ServiceUnavailableError),
    ],
)
def test_l2_token_endpoint_outages_are_transient_errors(
    monkeypatch: pytest.MonkeyPatch, token_answer: Callable[[], Response], expected: type[SfacalError]
) -> None:
    def send(self: requests.Session, request: requests.PreparedRequest, **kwargs: Any) -> Response:
        if "openid-configuration" in str(request.url):
            r = _response(
                200,
                json.dumps(
                    {
                        "token_endpoint": f"{AUTHORITY}/oauth2/v2.0/token",
                        "authorization_endpoint": f"{AUTHORITY}/oauth2/v2.0/authorize",
                        "issuer": f"{AUTHORITY}/v2.0",
                    }
                ),
            )
        else:
            r = token_answer()
        r.url = str(request.url)
        r.request = request
        return r

    monkeypatch.setattr(requests.Session, "send", send)
    settings = GraphSettings(
        client_id="c",
        token_endpoint=f"{AUTHORITY}/oauth2/v2.0/token",
        auth_method=AuthMethod.SECRET,
        client_secret="s3cr3t-value",
    )
    with pytest.raises(expected) as info:
        GraphAuth(settings).acquire()
    assert info.value.retryable
    assert "s3cr3t-value" not in info.value.detail
