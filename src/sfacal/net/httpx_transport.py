"""``httpx`` clients whose connections are opened only to addresses the outbound address rule allows.

Guarantees (each has a test):

* :func:`guarded_client` / :func:`guarded_async_client` build an ``httpx`` client as given, then
  replace the network backend of its own connection pool: every new connection resolves the host
  once (:func:`~.resolver.allowed_addresses`) and connects to one of the permitted addresses, while
  ``httpx`` keeps using the name for the ``Host`` header, SNI and the certificate check. There is
  no second lookup a rebinding DNS server could answer differently.
* A refused host raises :class:`~sfacal.core.errors.AddressNotAllowedError` out of the request
  before any connection is opened; a name that does not resolve is an ``httpx.ConnectError`` whose
  text names the DNS failure, as before.
* Proxies from the environment keep working: a request the proxy will connect is checked first
  with :func:`~.resolver.check_before_proxy` (a request hook).
* A client given a transport of its own (a test's mock transport) is left as it is.
"""

from __future__ import annotations

import typing
from collections.abc import Callable
from typing import Any, TypeVar

import httpcore
import httpx

from .resolver import (
    allowed_addresses,
    allowed_addresses_async,
    check_before_proxy,
    check_before_proxy_async,
    proxies_configured,
)

__all__ = ["GuardedAsyncBackend", "GuardedBackend", "guarded_async_client", "guarded_client"]

_SocketOptions = typing.Iterable[Any] | None
_Client = TypeVar("_Client", httpx.Client, httpx.AsyncClient)


class GuardedBackend(httpcore.NetworkBackend):
    """An ``httpcore`` network backend that connects only to permitted addresses (sync)."""

    def __init__(self, inner: httpcore.NetworkBackend | None = None) -> None:
        self._inner = inner or httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: _SocketOptions = None,
    ) -> httpcore.NetworkStream:
        try:
            addresses = allowed_addresses(host, port)
        except OSError as exc:  # the name does not resolve
            raise httpcore.ConnectError(f"{type(exc).__name__}: {exc}") from exc
        failure: Exception | None = None
        for address in addresses:
            try:
                return self._inner.connect_tcp(
                    address, port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None
        raise failure

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: _SocketOptions = None
    ) -> httpcore.NetworkStream:
        return self._inner.connect_unix_socket(path, timeout=timeout, socket_options=socket_options)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class GuardedAsyncBackend(httpcore.AsyncNetworkBackend):
    """:class:`GuardedBackend` for ``httpx.AsyncClient`` (asyncio)."""

    def __init__(self, inner: httpcore.AsyncNetworkBackend) -> None:
        self._inner = inner

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: _SocketOptions = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            addresses = await allowed_addresses_async(host, port)
        except OSError as exc:
            raise httpcore.ConnectError(f"{type(exc).__name__}: {exc}") from exc
        failure: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    address, port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None
        raise failure

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: _SocketOptions = None
    ) -> httpcore.AsyncNetworkStream:
        return await self._inner.connect_unix_socket(path, timeout=timeout, socket_options=socket_options)

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def _own_pool(client: httpx.Client | httpx.AsyncClient) -> Any:
    """The connection pool of the client's own transport (``None``: a transport given by a test)."""
    transport = client._transport  # the default transport; proxies are mounted separately
    if not isinstance(transport, httpx.HTTPTransport | httpx.AsyncHTTPTransport):
        return None
    pool = transport._pool
    if type(pool) not in (httpcore.ConnectionPool, httpcore.AsyncConnectionPool):
        raise RuntimeError(f"unexpected httpx connection pool {type(pool).__name__}: cannot guard it")
    return pool


def _port(url: httpx.URL) -> int:
    return url.port or (443 if url.scheme == "https" else 80)


def _before_proxy(request: httpx.Request) -> None:
    if proxies_configured():
        check_before_proxy(request.url.host, _port(request.url))


async def _before_proxy_async(request: httpx.Request) -> None:
    if proxies_configured():
        await check_before_proxy_async(request.url.host, _port(request.url))


def _guard(client: _Client, backend: Callable[[Any], Any], before_proxy: Callable[..., Any]) -> _Client:
    pool = _own_pool(client)
    if pool is not None:
        pool._network_backend = backend(pool._network_backend)
    if client.trust_env:
        hooks: dict[str, list[Callable[..., Any]]] = dict(client.event_hooks)
        client.event_hooks = {**hooks, "request": [before_proxy, *hooks.get("request", [])]}
    return client


def guarded_client(**kwargs: Any) -> httpx.Client:
    """``httpx.Client(**kwargs)`` under the outbound address rule (see the module docstring)."""
    return _guard(httpx.Client(**kwargs), GuardedBackend, _before_proxy)


def guarded_async_client(**kwargs: Any) -> httpx.AsyncClient:
    """``httpx.AsyncClient(**kwargs)`` under the outbound address rule (see the module docstring)."""
    return _guard(httpx.AsyncClient(**kwargs), GuardedAsyncBackend, _before_proxy_async)
