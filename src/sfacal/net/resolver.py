"""The outbound address rule in force, and one name resolution per connection under it.

Guarantees (each has a test):

* **The operator's allowance is read where it is used**: :func:`current_rule` parses
  ``SFACAL_ALLOW_PRIVATE_URLS`` (see :meth:`sfacal.core.addresses.AddressRule.parse`) at each
  connection, so a restart is all a change needs; a value that cannot be read is logged and
  allows nothing beyond public addresses (fail closed).
* **One resolution, then only checked addresses**: :func:`allowed_addresses` resolves a host once
  and returns the addresses the rule permits, in the resolver's order, for the caller to connect to
  one of them directly. An address literal is judged without a lookup. When none is permitted it
  raises :class:`~sfacal.core.errors.AddressNotAllowedError` naming the host only -- the same answer
  for every port, so it tells nothing about what listens there; the resolved addresses go to the
  server log for the operator. A name that does not resolve raises :class:`socket.gaierror`, as a
  connection attempt would.
* **Through a proxy** (the proxy connects, not this server) :func:`check_before_proxy` refuses an
  address literal or a name that resolves here only to refused addresses; a name this server cannot
  resolve is left to the proxy, whose own egress rules then apply.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import logging
import os
import socket
import urllib.request
from collections.abc import Sequence
from typing import Any

from sfacal.core.addresses import AddressRule, address_kind
from sfacal.core.errors import AddressNotAllowedError

__all__ = [
    "ALLOW_ENV",
    "allowed_addresses",
    "allowed_addresses_async",
    "check_before_proxy",
    "check_before_proxy_async",
    "current_rule",
    "proxies_configured",
]

log = logging.getLogger(__name__)

ALLOW_ENV = "SFACAL_ALLOW_PRIVATE_URLS"
"""Environment variable: what the operator allows besides public addresses (``1`` for everything,
or addresses and networks such as ``10.20.0.0/16``)."""


@functools.lru_cache(maxsize=8)
def _rule_for(value: str) -> AddressRule:
    try:
        return AddressRule.parse(value)
    except ValueError as exc:
        log.error("%s is ignored, only public addresses are allowed: %s", ALLOW_ENV, exc)
        return AddressRule()


def current_rule() -> AddressRule:
    """The rule in force: public addresses plus what ``SFACAL_ALLOW_PRIVATE_URLS`` allows."""
    return _rule_for(os.environ.get(ALLOW_ENV, ""))


def _literal(host: str) -> str | None:
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        return None


def _permitted(host: str, infos: Sequence[tuple[Any, ...]]) -> list[str]:
    rule = current_rule()
    found: list[str] = []
    for info in infos:
        address = str(info[4][0])
        if address not in found:
            found.append(address)
    allowed = [address for address in found if rule.permits(address)]
    if not allowed:
        log.warning(
            "refused to connect to %s: it leads to %s, which the outbound address rule (%s) does not allow",
            host,
            ", ".join(f"{address} ({address_kind(address)})" for address in found) or "no address",
            rule.describe(),
        )
        raise AddressNotAllowedError(  # what the rule allows stays in the server log
            f"{host} leads only to addresses the outbound address rule does not allow", host=host
        )
    return allowed


def _as_info(address: str, port: int) -> list[tuple[Any, ...]]:
    return [(0, socket.SOCK_STREAM, 0, "", (address, port))]


def allowed_addresses(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to that may be connected to (see the module docstring)."""
    literal = _literal(host)
    infos = _as_info(literal, port) if literal else socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return _permitted(host, infos)


async def allowed_addresses_async(host: str, port: int) -> list[str]:
    """:func:`allowed_addresses` on the running event loop (the lookup runs in its executor)."""
    literal = _literal(host)
    if literal:
        return _permitted(host, _as_info(literal, port))
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return _permitted(host, infos)


def proxies_configured() -> bool:
    """Whether the environment names a proxy (``HTTPS_PROXY``, ``ALL_PROXY``…)."""
    return bool(urllib.request.getproxies_environment())


def check_before_proxy(host: str, port: int) -> None:
    """Refuse a request a proxy would connect when ``host`` leads here only to refused addresses."""
    try:
        allowed_addresses(host, port)
    except OSError:
        pass  # not resolvable here: the proxy resolves it


async def check_before_proxy_async(host: str, port: int) -> None:
    """:func:`check_before_proxy` on the running event loop."""
    try:
        await allowed_addresses_async(host, port)
    except OSError:
        pass
