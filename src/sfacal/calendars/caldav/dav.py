"""One CalDAV account's connection: the ``caldav`` library's async client on a guarded ``httpx`` pool.

Guarantees:

* Every connection goes through (also a session the library makes anew) :func:`sfacal.net.httpx_transport.guarded_async_client` (the
  outbound address rule), with the company's CA bundle when it has one.
* The library speaks ``httpx`` whatever other HTTP library is installed (:func:`speak_httpx`).
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

import caldav.async_davclient as caldav_async
import httpx
from caldav.async_davclient import AsyncDAVClient
from caldav.lib import error as dav_error
from lxml import etree

from sfacal.core.classify import classify_network_error, parse_retry_after
from sfacal.core.errors import (
    CalDavAuthError,
    CalDavForbiddenError,
    ResyncRequiredError,
    ServiceUnavailableError,
    SfacalError,
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


def speak_httpx() -> None:
    """Make the library's async client use ``httpx`` even when ``niquests`` is installed (the
    library prefers it, and ``caldav`` depends on it): only an ``httpx`` pool can be guarded by the
    outbound address rule, and the requests below are built for it. Called at import."""
    if not caldav_async._USE_HTTPX:
        caldav_async.httpx = httpx  # type: ignore[attr-defined]
        caldav_async._USE_HTTPX = True
        caldav_async._USE_NIQUESTS = False


speak_httpx()


class _GuardedDavClient(AsyncDAVClient):  # type: ignore[misc]
    """The library's async client whose HTTP session is always a guarded one -- also when the
    library makes a new session itself (it does after some 401 answers)."""

    def __init__(self, *, verify: ssl.SSLContext | bool, timeout_s: float, **kwargs: Any) -> None:
        self._guard_verify = verify
        self._guard_timeout = timeout_s
        super().__init__(**kwargs)

    def _create_session(self) -> None:
        self.session = guarded_async_client(verify=self._guard_verify, timeout=self._guard_timeout)


class DavConnection:
    """Requests to one account's server (see the module docstring)."""

    def __init__(self, account: CalDavAccount, *, ca_bundle: str | None, timeout_s: float) -> None:
        self.account = account
        self.host = urlsplit(account.url).hostname or account.url
        auth = httpx.BasicAuth(account.username, account.password) if account.username else None
        verify: ssl.SSLContext | bool = ssl.create_default_context(cafile=ca_bundle) if ca_bundle else True
        self._client = _GuardedDavClient(
            verify=verify,
            timeout_s=timeout_s,
            url=account.url,
            auth=auth,
            auth_type="basic" if auth is not None else None,
            timeout=int(timeout_s),
            enable_rfc6764=False,
            require_tls=False,
            rate_limit_handle=False,
        )

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
            resp = await self._client.request(self.url(href), method, body, dict(headers or {}))
        except dav_error.RateLimitError as exc:
            raise ThrottledError(
                f"{method} {href}: {exc.status}", retry_after=exc.retry_after_seconds, http_status=exc.status
            ) from None
        except dav_error.AuthorizationError as exc:
            status = getattr(exc, "status", None)
            preconditions = " ".join(getattr(exc, "preconditions", None) or [])
            if _SYNC_TOKEN_INVALID in preconditions:
                raise ResyncRequiredError(f"{method} {href}: sync token no longer valid") from None
            if status == 403:
                raise CalDavForbiddenError(
                    f"{method} {href}: 403", http_status=403, host=self.host, mailbox=mailbox
                ) from None
            raise CalDavAuthError(f"{method} {href}: {status}", http_status=status, host=self.host) from None
        except SfacalError:
            raise
        except (httpx.HTTPError, OSError) as exc:
            raise classify_network_error(f"{type(exc).__name__}: {exc}", self.host, secrets=secrets) from None
        except dav_error.DAVError as exc:
            raise SfacalError(f"{method} {href}: {exc}", secrets=secrets) from None
        tree = getattr(resp, "tree", None)
        if tree is not None:
            raw: bytes = etree.tostring(tree)
        else:
            content = getattr(resp, "_raw", b"") or b""
            raw = content.encode("utf-8") if isinstance(content, str) else bytes(content)
        reply = DavReply(int(resp.status), {k.lower(): v for k, v in resp.headers.items()}, bytes(raw))
        if reply.status in (400, 403, 409) and _SYNC_TOKEN_INVALID.encode() in reply.body:
            raise ResyncRequiredError(f"{method} {href}: sync token no longer valid")
        if reply.status == 429:
            raise ThrottledError(
                f"{method} {href}: 429", retry_after=parse_retry_after(reply.headers.get("retry-after"))
            )
        if reply.status >= 500:
            raise ServiceUnavailableError(
                f"{method} {href}: {reply.status}", http_status=reply.status, status=str(reply.status)
            )
        return reply

    async def aclose(self) -> None:
        await self._client.session.aclose()
