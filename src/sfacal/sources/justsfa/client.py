"""The JUST.SFA records API over httpx, within the shared request budget (J4).

``GET …/records/?panelName=&filterName=&limit=&offset=`` lists records (an array of
``{"recordId", "record"}``), ``PUT …/records/`` updates them (write-back, T1). Every request first
takes a slot from the :class:`~.ratelimit.RateLimiter`; a 429 makes every process hold off.

Failures are typed:

* 401 (and 403: the key may not use the table or lacks a permission) → :class:`SourceAuthError`;
* an unknown table / panel / filter / field → :class:`SourceIdentifierError` naming the setting;
* an unknown tenant (404 ``TENANT_NOT_FOUND``, or a ``*.justsfa.com`` name that does not resolve)
  → :class:`SourceTenantNotFoundError`;
* 429 → :class:`SourceRateLimitedError` (``retry_after`` from ``Retry-After``);
* 5xx → :class:`ServiceUnavailableError`; DNS / TLS / refused / timeout / reset → the
  :class:`NetworkError` of that kind (:func:`sfacal.core.classify.classify_network_error`);
* any other refusal → :class:`SourceError` with the service's code and message in ``detail``;
* a tenant or API base URL that leads to a private or local address → :class:`AddressNotAllowedError`
  before any connection is opened (the outbound address rule, :mod:`sfacal.net`).
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from sfacal.core.classify import classify_network_error, network_error_kind
from sfacal.core.errors import (
    NetworkError,
    ServiceUnavailableError,
    SfacalError,
    SourceAuthError,
    SourceError,
    SourceIdentifierError,
    SourceRateLimitedError,
    SourceTenantNotFoundError,
)
from sfacal.net import metrics
from sfacal.net.httpx_transport import guarded_client
from sfacal.sources.trust import default_verify

from .ratelimit import Budget, BudgetStore, RateLimiter, default_store
from .settings import JustSfaSettings, both_labels

__all__ = ["RecordItem", "RecordsClient", "limiter_for"]

log = logging.getLogger(__name__)

SOURCE_LABEL = "JUST.SFA"
SFA_METRIC_SOURCE = "justsfa"
_IDENTIFIER_CODES = {
    "TABLE_NOT_FOUND": "table",
    "PANEL_NOT_FOUND": "panel",
    "FILTER_NOT_FOUND": "filter",
}


@dataclass(frozen=True)
class RecordItem:
    """One item of a list answer: ``record_id`` (``None`` if the service sent none) and values."""

    record_id: object
    record: Mapping[str, Any]


def limiter_for(
    settings: JustSfaSettings,
    store: BudgetStore | None = None,
    *,
    slack_seconds: float | None = None,
    **kwargs: Any,
) -> RateLimiter:
    """The shared limiter of ``settings``' tenant (``store``: :func:`default_store`).

    ``slack_seconds`` widens the window beyond ``minute_seconds`` to absorb network delay between
    taking a slot and the request reaching the service (default: 1 s per real minute, at least
    0.25 s under time compression)."""
    slack = (
        slack_seconds if slack_seconds is not None else max(0.25, min(1.0, settings.minute_seconds / 60.0))
    )
    budget = Budget(
        per_minute=settings.requests_per_minute,
        per_day=settings.requests_per_day,
        minute_seconds=settings.minute_seconds,
        day_seconds=settings.day_seconds,
        slack_seconds=slack,
        timezone=settings.timezone,
    )
    return RateLimiter(settings.limiter_key, budget, store or default_store(), **kwargs)


def _retry_after(response: httpx.Response) -> float | None:
    raw = response.headers.get("Retry-After")
    if raw is None:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        return None


def list_items(body: Any) -> list[RecordItem]:
    """The items of a list answer, in every form public clients read: a JSON array or
    ``{"records": [...]}``; items ``{"recordId", "record": {...}}``, ``{"record": {...}}`` (no
    ``recordId``: the record-ID field names the record) or bare records (the values at the item's
    top level, ``recordId`` among them or not)."""
    if isinstance(body, Mapping) and isinstance(body.get("records"), list):
        body = body["records"]
    if body is None:
        return []
    if not isinstance(body, list):
        raise SourceError(
            f"the records list is neither a JSON array nor {{'records': [...]}} ({type(body).__name__})",
            source=SOURCE_LABEL,
        )
    out: list[RecordItem] = []
    for item in body:
        if not isinstance(item, Mapping):
            raise SourceError("a records list item is not an object", source=SOURCE_LABEL)
        if isinstance(item.get("record"), Mapping):
            out.append(RecordItem(item.get("recordId"), item["record"]))
        else:
            out.append(RecordItem(item.get("recordId"), {k: v for k, v in item.items() if k != "recordId"}))
    return out


class RecordsClient:
    """A records-API client for one connection. Close it (or use ``with``) when done."""

    def __init__(
        self,
        settings: JustSfaSettings,
        *,
        limiter: RateLimiter | None = None,
        verify: ssl.SSLContext | str | bool | None = None,
        timeout: float = 15.0,
        max_wait: float | None = 30.0,
        trust_env: bool = True,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.settings = settings
        self.limiter = limiter if limiter is not None else limiter_for(settings)
        self.max_wait = max_wait
        self._http = guarded_client(
            verify=default_verify() if verify is None else verify,
            timeout=timeout,
            trust_env=trust_env,
            transport=transport,
            headers={
                "Authorization": f"Bearer {settings.api_key}",
                "Accept": "application/json",
                "User-Agent": "sfacal (JUST.SFA calendar sync)",
            },
        )
        self.last_exchange: tuple[int, str] = (0, "")
        """Status and body text (at most 2,000 characters) of the last answer."""

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> RecordsClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- requests ----------------------------------------------------------------------------------

    def list_records(
        self,
        *,
        panel: str | None = None,
        filter_name: str | None = None,
        limit: int | None = None,
        offset: int = 0,
        params: Mapping[str, str] | None = None,
    ) -> list[RecordItem]:
        """One page of records. ``panel``/``filter_name`` ``None`` are left out of the query."""
        query: dict[str, str] = {}
        if panel:
            query["panelName"] = panel
        if filter_name:
            query["filterName"] = filter_name
        query["limit"] = str(limit or self.settings.page_size)
        query["offset"] = str(offset)
        query.update(params or {})
        return list_items(self._request("GET", query=query))

    def iter_pages(
        self, *, panel: str | None, filter_name: str | None, start: int = 0, max_requests: int | None = None
    ) -> Iterator[tuple[int, list[RecordItem]]]:
        """``(offset, page)`` from ``start`` until a short page (the end) or ``max_requests``."""
        offset, done = start, 0
        size = self.settings.page_size
        while max_requests is None or done < max_requests:
            page = self.list_records(panel=panel, filter_name=filter_name, limit=size, offset=offset)
            done += 1
            yield offset, page
            if len(page) < size:
                return
            offset += len(page)

    def get_record(self, record_id: str) -> list[RecordItem]:
        """``GET …/records/{recordId}`` (the same list form, one item)."""
        return list_items(self._request("GET", path=f"{record_id}"))

    def update_records(self, items: Sequence[Mapping[str, Any]]) -> list[Any]:
        """``PUT …/records/`` with ``{"records": items}``; returns the answered record IDs (none
        when a 2xx answer has no body, e.g. 204: that is success too)."""
        body = self._request("PUT", json_body={"records": list(items)})
        if isinstance(body, Mapping) and isinstance(body.get("recordIds"), list):
            return list(body["recordIds"])
        return []

    # -- plumbing ----------------------------------------------------------------------------------

    def _request(
        self, method: str, *, query: Mapping[str, str] | None = None, json_body: Any = None, path: str = ""
    ) -> Any:
        self.limiter.acquire(self.max_wait)
        url = self.settings.records_url + quote(path, safe="")
        try:
            response = self._http.request(method, url, params=query, json=json_body)
        except httpx.TimeoutException as exc:
            metrics.count_sfa_request(SFA_METRIC_SOURCE, "network_error")
            raise NetworkError(
                f"{method} {self.settings.host}: timeout ({type(exc).__name__})",
                host=self.settings.host,
                kind="timeout",
            ) from exc
        except httpx.HTTPError as exc:
            metrics.count_sfa_request(SFA_METRIC_SOURCE, "network_error")
            raise self._network_error(exc) from exc
        self.last_exchange = (response.status_code, response.text[:2000])
        metrics.count_sfa_request(SFA_METRIC_SOURCE, metrics.http_outcome(response.status_code))
        if response.status_code >= 400:
            raise self._error(response, query or {})
        if not response.content.strip():
            return None  # 2xx without a body (204): success
        try:
            return response.json()
        except ValueError as exc:
            raise SourceError(
                f"{method} answered {response.status_code} with a body that is not JSON",
                source=SOURCE_LABEL,
                http_status=response.status_code,
            ) from exc

    def _network_error(self, exc: httpx.HTTPError) -> SfacalError:
        host = self.settings.host
        text = f"{host}: {type(exc).__name__}: {exc}"
        kind = network_error_kind(text)
        if kind == "dns" and host.endswith((".justsfa.com", ".just-db.com")):
            return SourceTenantNotFoundError(
                f"{host} does not resolve: {exc}", tenant=self.settings.tenant, source=SOURCE_LABEL
            )
        return classify_network_error(text, host, kind=kind)

    def _error(self, response: httpx.Response, query: Mapping[str, str]) -> SfacalError:
        status = response.status_code
        code, message, target = "", "", ""
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, Mapping):
            code = str(body.get("code") or body.get("errorCode") or "")
            message = str(body.get("message") or body.get("errorMessage") or "")
            target = str(body.get("target") or "")
        detail = f"HTTP {status} {code}: {message}".strip()
        secrets = [self.settings.api_key]
        common: dict[str, Any] = {"secrets": secrets, "http_status": status, "upstream_code": code or None}
        if status == 429:
            retry_after = _retry_after(response)
            self.limiter.penalize(retry_after)
            return SourceRateLimitedError(detail, retry_after=retry_after, source=SOURCE_LABEL, **common)
        if status == 401:
            return SourceAuthError(detail, source=SOURCE_LABEL, **common)
        if status == 403:
            return SourceAuthError(detail, source=SOURCE_LABEL, **common)
        if status >= 500:
            return ServiceUnavailableError(f"JUST.SFA: {detail}", status=status, **common)
        if code == "TENANT_NOT_FOUND":
            return SourceTenantNotFoundError(
                detail, tenant=self.settings.tenant, source=SOURCE_LABEL, **common
            )
        if code == "RECORD_NOT_FOUND":
            return SourceError(
                f"the record does not exist (any more): {detail}", source=SOURCE_LABEL, **common
            )
        setting = _IDENTIFIER_CODES.get(code)
        if setting is None and target:
            setting = self.settings.setting_for_identifier(target)
        if setting is None and status == 404 and code in ("", "NOT_FOUND"):
            setting = "table"  # the only identifier in the path
        if setting is not None and (status == 404 or "NOT_FOUND" in code or "UNKNOWN" in code):
            identifier = self.settings.identifiers().get(setting, target)
            return SourceIdentifierError(
                detail,
                source=SOURCE_LABEL,
                identifier=identifier,
                field=both_labels(setting),
                setting=setting,
                **common,
            )
        return SourceError(detail, source=SOURCE_LABEL, **common)
