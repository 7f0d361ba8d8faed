"""The product's settings plus one test-only middleware that fails on demand.

A request with the header ``X-Test-Fail`` raises, just before its view, an exception whose message
quotes the request as a careless one would (its full path and its Authorization header): how the
log tests provoke an unhandled exception on any path, now that no public path raises any more.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from sfacal.web.settings import *  # noqa: F403
from sfacal.web.settings import MIDDLEWARE as PRODUCT_MIDDLEWARE

MIDDLEWARE = [*PRODUCT_MIDDLEWARE, "tests.integration.failing_settings.FailOnRequest"]


class InjectedFailure(RuntimeError):
    pass


class FailOnRequest:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "X-Test-Fail" in request.headers:
            raise InjectedFailure(
                f"failed on {request.get_full_path()} with Authorization: "
                f"{request.headers.get('Authorization', '')}"
            )
        return self.get_response(request)
