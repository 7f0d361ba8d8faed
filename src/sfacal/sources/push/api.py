"""The push API (django-ninja) mounted at ``/api/v1/``: schedules, employees and masters.

Documented for users in ``docs/push-api.md``; the OpenAPI document is ``/api/v1/openapi.json`` and
the interactive documentation ``/api/v1/docs``. Every error answers with the JSON shape of
:mod:`sfacal.sources.push.errors`.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.parser import Parser

from sfacal.engine import inbox
from sfacal.sources.push import errors
from sfacal.sources.push.auth import CompanyTokenAuth
from sfacal.sources.push.bodies import (
    BodyTooLarge,
    body_limit,
    read_json,
)
from sfacal.sources.push.routes import directory_router, schedule_router
from sfacal.sources.push.schemas import BATCH_REQUEST_SCHEMA, BatchItem

logger = logging.getLogger("sfacal.push")


class LimitedJsonParser(Parser):
    """JSON bodies, refused above the size limit before they are parsed."""

    def parse_body(self, request: HttpRequest) -> Any:
        return read_json(request, body_limit(request))


def _respond(api: NinjaAPI, request: HttpRequest, exc: errors.ApiError) -> HttpResponse:
    company = getattr(request, "auth", None)
    logger.info(
        "push api %s %s -> %d %s field=%s company=%s",
        request.method,
        request.path,
        exc.status,
        exc.code,
        exc.field_name,
        getattr(company, "slug", "-"),
    )
    response = api.create_response(request, exc.body(), status=exc.status)
    for name, value in exc.headers.items():
        response[name] = value
    return response


class PushApi(NinjaAPI):
    """Adds the schemas of bodies that are parsed item by item (the batch) to the document."""

    extra_schemas: tuple[type[Schema], ...] = ()
    extra_documents: dict[str, dict[str, Any]] = {}

    def get_openapi_schema(self, *, path_prefix: str | None = None, path_params: Any = None) -> Any:
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for model in self.extra_schemas:
            doc = model.model_json_schema(ref_template="#/components/schemas/{model}")
            for name, definition in doc.pop("$defs", {}).items():
                components.setdefault(name, definition)
            components.setdefault(model.__name__, doc)
        for name, definition in self.extra_documents.items():
            components.setdefault(name, definition)
        return schema


def build_api() -> NinjaAPI:
    api = PushApi(
        title="sfacal push API",
        version="1",
        description=(
            "Push SFA schedules, employees and masters into sfacal (for Sales Force Assistant and "
            "any SFA without webhooks). Authenticate with a company API token: "
            "`Authorization: Bearer sfa_…`. Errors: "
            '`{"error": {"code", "field", "message", "message_ja", "errors": [...]}}`.'
        ),
        urls_namespace="push_api",
        auth=CompanyTokenAuth(),
        parser=LimitedJsonParser(),
        docs_url="/docs",
        openapi_url="/openapi.json",
    )

    @api.exception_handler(errors.ApiError)
    def on_api_error(request: HttpRequest, exc: errors.ApiError) -> HttpResponse:
        return _respond(api, request, exc)

    @api.exception_handler(AuthenticationError)
    def on_auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        return _respond(api, request, errors.unauthorized())

    @api.exception_handler(ValidationError)
    def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        return _respond(
            api, request, errors.ApiError(422, "input_invalid", errors.problems_from_pydantic(exc.errors))
        )

    @api.exception_handler(HttpError)
    def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        cause = exc.__cause__
        if isinstance(cause, BodyTooLarge):
            return _respond(api, request, errors.payload_too_large(cause.limit))
        if exc.status_code == 400:
            return _respond(api, request, errors.malformed_json())
        return _respond(
            api, request, errors.ApiError.single(exc.status_code, "http_error", None, str(exc), str(exc))
        )

    @api.exception_handler(Http404)
    def on_404(request: HttpRequest, exc: Http404) -> HttpResponse:
        return _respond(api, request, errors.not_found("resource", "対象", "path"))

    @api.exception_handler(BodyTooLarge)
    def on_too_large(request: HttpRequest, exc: BodyTooLarge) -> HttpResponse:
        return _respond(api, request, errors.payload_too_large(exc.limit))

    @api.exception_handler(RequestDataTooBig)
    def on_data_too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
        return _respond(api, request, errors.payload_too_large(body_limit(request)))

    @api.exception_handler(Exception)
    def on_unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
        if inbox.is_unavailable(exc):  # locked past the busy timeout, unreachable: nothing stored
            logger.warning(
                "push api %s %s: the database is unavailable: %s", request.method, request.path, exc
            )
            return _respond(api, request, errors.unavailable(inbox.RETRY_AFTER_SECONDS))
        logger.exception("push api %s %s failed unexpectedly", request.method, request.path)
        return _respond(api, request, errors.internal_error())

    api.extra_schemas = (BatchItem,)
    api.extra_documents = {"BatchRequest": BATCH_REQUEST_SCHEMA}

    api.add_router("/", schedule_router)
    api.add_router("/", directory_router)
    return api


api = build_api()
