"""HTTP middleware of the product.

Guarantees:

- Every response carries a strict Content-Security-Policy (only this site's scripts and styles).
- No response of the application may be stored by a browser or a proxy cache
  (``Cache-Control: no-store``) unless its view set its own ``Cache-Control``: pages show new API
  tokens, webhook URLs (with their token), invitation links, secrets held between two posts and
  personal data, and a shared or back-button cache must not keep them. Static files are served
  before this middleware and stay cacheable.
- Every request has an id (``X-Request-ID``, in every log line it causes and in the jobs it queues).
"""

from __future__ import annotations

from collections.abc import Callable

from django.core.signals import request_finished
from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers

from sfacal.core import logcontext

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'self'",
        "object-src 'none'",
    ]
)


class ContentSecurityPolicyMiddleware:
    """Adds a strict Content-Security-Policy: only this site's own scripts and styles."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        return response


class NoStoreMiddleware:
    """``Cache-Control: no-store`` (with ``no-cache, must-revalidate, private``) on every response
    whose view did not choose its own caching."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if "Cache-Control" not in response.headers:
            add_never_cache_headers(response)
        return response


REQUEST_ID_HEADER = "X-Request-ID"


class RequestIdMiddleware:
    """Gives each request an id for the logs (``request_id``), carried by the jobs it queues.

    A well-formed ``X-Request-ID`` sent by a reverse proxy is kept (so its logs and ours match);
    otherwise a new id is made (:func:`sfacal.core.logcontext.clean_id`). The response carries it
    back in ``X-Request-ID``.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        rid = logcontext.clean_id(request.headers.get(REQUEST_ID_HEADER))
        # Set, not bound to this block: Django logs a refused or failed response after the
        # middleware returned; the id is cleared when the request is finished (below).
        logcontext.request_id.set(rid)
        response = self.get_response(request)
        response[REQUEST_ID_HEADER] = rid
        return response


def _forget_request_id(**kwargs: object) -> None:
    logcontext.request_id.set("")


request_finished.connect(_forget_request_id, dispatch_uid="sfacal_forget_request_id")
