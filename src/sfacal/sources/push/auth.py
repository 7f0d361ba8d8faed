"""Per-company API tokens (``Authorization: Bearer sfa_…``).

Only the SHA-256 of a token is stored (:class:`~sfacal.directory.connections.models.ApiToken`). A request
is looked up by that hash (a unique index) and the hash is compared again in constant time. The
look-up is one plain SQL statement (:mod:`sfacal.directory.sqlrows`) that reads the token and its
company together, on every request: nothing is cached, so a revoked token (or one replaced by a
new one) is refused from the next request on, in every process. The
token decides the company (U2): nothing in a request can name another one. A missing, malformed,
unknown or revoked token gets the same 401, so nothing is revealed about which companies exist.
Recording ``last_used_at`` is best effort: a database too busy to take that write does not refuse
the request.
"""

from __future__ import annotations

import hmac
import logging
from datetime import timedelta
from functools import cache
from typing import Any, cast

from django.db import DatabaseError
from django.http import HttpRequest
from django.utils import timezone
from ninja.security import HttpBearer

from sfacal.directory import sqlrows
from sfacal.directory.companies.models import Company
from sfacal.directory.connections.models import ApiToken, hash_token

logger = logging.getLogger("sfacal.push")

TOKEN_PREFIX = "sfa_"
MAX_TOKEN_LENGTH = 200
LAST_USED_RESOLUTION = timedelta(minutes=1)
"""``last_used_at`` is written at most once a minute per token (cheap on busy integrations)."""


@cache
def _lookup_sql() -> str:
    t, c = ApiToken, Company
    return (
        f"SELECT t.{sqlrows.column(t, 'id')}, t.{sqlrows.column(t, 'token_hash')}, "  # noqa: S608 - names from the model, values bound
        f"t.{sqlrows.column(t, 'last_used_at')}, {sqlrows.columns(c, 'c')} "
        f"FROM {sqlrows.table(t)} t JOIN {sqlrows.table(c)} c ON c.{sqlrows.column(c, 'id')} = "
        f"t.{sqlrows.column(t, 'company')} "
        f"WHERE t.{sqlrows.column(t, 'token_hash')} = %s AND t.{sqlrows.column(t, 'revoked_at')} IS NULL"
    )


def company_for_token(token: str) -> tuple[Company, ApiToken] | None:
    """The company a live token belongs to, or ``None``."""
    token = token.strip()
    if not token.startswith(TOKEN_PREFIX) or len(token) > MAX_TOKEN_LENGTH:
        return None
    digest = hash_token(token)
    found = sqlrows.fetch(_lookup_sql(), [digest])
    if not found:
        return None
    token_pk, token_hash, last_used_at, *company_values = found[0]
    if not hmac.compare_digest(str(token_hash), digest):
        return None
    company = sqlrows.build(Company, company_values)
    row = ApiToken(pk=token_pk, company=company, token_hash=token_hash)
    row.last_used_at = sqlrows.converted(ApiToken, "last_used_at", last_used_at)
    now = timezone.now()
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION:
        try:
            ApiToken.objects.filter(pk=row.pk).update(last_used_at=now)
            row.last_used_at = now
        except DatabaseError as exc:  # a busy database must not refuse a valid token (a read needs no write)
            logger.warning("could not record the use of API token %s: %s", row.pk, exc)
    return row.company, row


class CompanyTokenAuth(HttpBearer):
    """django-ninja auth: ``request.auth`` becomes the token's :class:`Company`."""

    openapi_description = "A company's API token, issued in the settings screen: `Bearer sfa_…`"

    def authenticate(self, request: HttpRequest, token: str) -> Company | None:
        found = company_for_token(token)
        if found is None:
            return None
        company, row = found
        cast(Any, request).sfacal_api_token = row
        return company


def request_company(request: HttpRequest) -> Company:
    """The authenticated company of a request that passed :class:`CompanyTokenAuth`."""
    company = getattr(request, "auth", None)
    if not isinstance(company, Company):  # pragma: no cover - ninja guarantees it
        raise RuntimeError("request is not authenticated")
    return company
