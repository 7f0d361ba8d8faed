"""One CalDAV account's connection: WebDAV requests on a guarded ``httpx`` pool.

The connector builds its own request bodies (``queries.py``) and reads multistatus answers itself
(:func:`multistatus`), so the wire is plain ``httpx``. The ``caldav`` client library was used here
at first and dropped: every release of it depends on ``niquests``, whose ``urllib3-future``
replaces the ``urllib3`` package of the whole environment at interpreter start, which broke other
``requests`` users of the same installation (a test client reading ``urllib3`` pool internals);
the product's own calendars must not change the libraries beside them.

Guarantees:

* Every connection goes through :func:`sfacal.net.httpx_transport.guarded_async_client` (the
  outbound address rule), with the company's CA bundle when it has one.
* Credentials travel only as HTTP Basic authentication; no header, URL or log line holds them.
* Failures are :class:`~sfacal.core.errors.SfacalError`\\ s: 401 → ``caldav_auth_failed``,
  403 → ``caldav_forbidden`` (or ``resync_required`` when the server says the sync token is no
  longer valid), 429 / 503 with ``Retry-After`` → ``throttled``, other 5xx → ``service_unavailable``,
  connection failures → the ``network_*`` kind found in the error.
* Multistatus bodies are read into plain ``(href, status, props)`` rows (:func:`multistatus`).
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
from lxml import etree

from sfacal.core.classify import classify_network_error, parse_retry_after
from sfacal.core.errors import (
    CalDavAuthError,
    CalDavForbiddenError,
    ResyncRequiredError,
    ServiceUnavailableError,
    ThrottledError,
)
from sfacal.net.httpx_transport import guarded_async_client

from .settings import CalDavAccount

__all__ = ["CALDAV", "DAV", "DavConnection", "DavReply", "PropRow", "multistatus"]

DAV = "DAV:"
CALDAV = "urn:ietf:params:xml:ns:caldav"
_SYNC_TOKEN_INVALID = "valid-sync-token"


@dataclass(frozen=True)
class DavReply:
    status: int
    headers: Mapping[str, str]
    body: bytes

    @property
    def etag(self) -> str | None:
        return self.headers.get("etag") or self.headers.get("ETag")

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


@dataclass(frozen=True)
class PropRow:
    """One ``DAV:response`` of a multistatus: its href, status and found properties."""

    href: str
    status: int
    props: Mapping[str, Any]  # Clark name → lxml element

    def text(self, name: str) -> str | None:
        elem = self.props.get(name)
        if elem is None:
            return None
        return str(elem.text or "")


def _status_code(text: str | None) -> int:
    try:
        return int((text or "").split()[1])
    except (IndexError, ValueError):
        return 200


def multistatus(body: bytes) -> tuple[list[PropRow], str | None]:
    """The responses of a ``207 Multi-Status`` body and its ``sync-token`` (if any)."""
    if not body.strip():
        return [], None
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
    root = etree.fromstring(body, parser=parser)
    rows: list[PropRow] = []
    for resp in root.findall(f"{{{DAV}}}response"):
        href = resp.findtext(f"{{{DAV}}}href") or ""
        status = (
            _status_code(resp.findtext(f"{{{DAV}}}status"))
            if resp.find(f"{{{DAV}}}status") is not None
            else 200
        )
        props: dict[str, Any] = {}
        for propstat in resp.findall(f"{{{DAV}}}propstat"):
            if _status_code(propstat.findtext(f"{{{DAV}}}status")) != 200:
                continue
            prop = propstat.find(f"{{{DAV}}}prop")
            for child in prop if prop is not None else []:
                props[str(child.tag)] = child
        rows.append(PropRow(href, status, props))
    token = root.findtext(f"{{{DAV}}}sync-token")
    return rows, token


class DavConnection:
    """Requests to one account's server (see the module docstring)."""

    def __init__(self, account: CalDavAccount, *, ca_bundle: str | None, timeout_s: float) -> None:
        self.account = account
        self.host = urlsplit(account.url).hostname or account.url
        self._auth = httpx.BasicAuth(account.username, account.password) if account.username else None
        verify: ssl.SSLContext | bool = ssl.create_default_context(cafile=ca_bundle) if ca_bundle else True
        self._client = guarded_async_client(verify=verify, timeout=timeout_s, follow_redirects=True)

    def url(self, href: str) -> str:
        return urljoin(self.account.url, href)

    async def send(
        self,
        method: str,
        href: str,
        body: str = "",
        headers: Mapping[str, str] | None = None,
        *,
        mailbox: str = "",
    ) -> DavReply:
        secrets = (self.account.password,)
        try:
            resp = await self._client.request(
                method,
                self.url(href),
                content=body.encode("utf-8") if body else None,
                headers=dict(headers or {}),
                auth=self._auth if self._auth is not None else httpx.USE_CLIENT_DEFAULT,
            )
        except (httpx.HTTPError, OSError) as exc:
            raise classify_network_error(f"{type(exc).__name__}: {exc}", self.host, secrets=secrets) from None
        reply = DavReply(resp.status_code, {k.lower(): v for k, v in resp.headers.items()}, resp.content)
        if reply.status in (400, 403, 409) and _SYNC_TOKEN_INVALID.encode() in reply.body:
            raise ResyncRequiredError(f"{method} {href}: sync token no longer valid")
        if reply.status == 401:
            raise CalDavAuthError(f"{method} {href}: 401", http_status=401, host=self.host)
        if reply.status == 403:
            raise CalDavForbiddenError(
                f"{method} {href}: 403", http_status=403, host=self.host, mailbox=mailbox
            )
        if reply.status == 429 or (reply.status == 503 and reply.headers.get("retry-after")):
            raise ThrottledError(
                f"{method} {href}: {reply.status}",
                retry_after=parse_retry_after(reply.headers.get("retry-after")),
                http_status=reply.status,
            )
        if reply.status >= 500:
            raise ServiceUnavailableError(
                f"{method} {href}: {reply.status}", http_status=reply.status, status=str(reply.status)
            )
        return reply

    async def aclose(self) -> None:
        await self._client.aclose()
