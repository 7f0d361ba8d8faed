"""``requests`` sessions (MSAL's token requests) under the outbound address rule.

Guarantees (each has a test):

* :class:`GuardedAdapter`, mounted for ``http://`` and ``https://``, opens every direct connection
  of the session to an address :func:`~.resolver.allowed_addresses` permitted for the host, resolved
  once; ``urllib3`` keeps the name for the ``Host`` header, SNI and the certificate check. Every
  request MSAL sends goes through it: the token request, the discovery of the token endpoint and
  whatever the discovery document names, redirects included.
* A refused host raises :class:`~sfacal.core.errors.AddressNotAllowedError` before any connection
  is opened; a name that does not resolve fails as it did (``NameResolutionError``).
* A request through a proxy from the environment is checked first with
  :func:`~.resolver.check_before_proxy` (the proxy connects).
"""

from __future__ import annotations

import socket
from typing import Any
from urllib.parse import urlsplit

import urllib3
from requests import PreparedRequest, Response
from requests.adapters import HTTPAdapter
from requests.utils import select_proxy
from urllib3.connection import HTTPConnection, HTTPSConnection

from .resolver import allowed_addresses, check_before_proxy

__all__ = ["GuardedAdapter", "mount_guarded"]


class _Guarded(HTTPConnection):
    def _new_conn(self) -> socket.socket:
        """Connect to a permitted address of the host (the name stays for SNI and the certificate)."""
        name = self._dns_host
        try:
            addresses = allowed_addresses(name, self.port)
        except socket.gaierror as exc:
            raise urllib3.exceptions.NameResolutionError(self.host, self, exc) from exc
        failure: Exception | None = None
        for address in addresses:
            self._dns_host = address
            try:
                return super()._new_conn()
            except (urllib3.exceptions.NewConnectionError, urllib3.exceptions.ConnectTimeoutError) as exc:
                failure = exc
            finally:
                self._dns_host = name
        assert failure is not None
        raise failure


class _GuardedHTTPConnection(_Guarded):
    pass


class _GuardedHTTPSConnection(_Guarded, HTTPSConnection):
    pass


class _GuardedHTTPConnectionPool(urllib3.HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection


class _GuardedHTTPSConnectionPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


class GuardedAdapter(HTTPAdapter):
    """A transport adapter whose direct connections obey the outbound address rule."""

    def init_poolmanager(
        self, connections: int, maxsize: int, block: bool = False, **pool_kwargs: Any
    ) -> None:
        super().init_poolmanager(connections, maxsize, block, **pool_kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _GuardedHTTPConnectionPool,
            "https": _GuardedHTTPSConnectionPool,
        }

    def send(
        self,
        request: PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> Response:
        if request.url and proxies and select_proxy(request.url, proxies):
            parts = urlsplit(request.url)
            check_before_proxy(parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80))
        return super().send(
            request, stream=stream, timeout=timeout, verify=verify, cert=cert, proxies=proxies
        )


def mount_guarded(session: Any) -> None:
    """Mount :class:`GuardedAdapter` on ``session`` for ``http://`` and ``https://``."""
    session.mount("https://", GuardedAdapter())
    session.mount("http://", GuardedAdapter())
