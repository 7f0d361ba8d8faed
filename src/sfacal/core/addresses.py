"""Which network addresses the server may connect to for a URL an administrator entered (SSRF rule).

A company administrator types URLs the server then connects to: the push write-back callback, the
JUST.SFA tenant or API base URL, the Microsoft 365 token endpoint and Graph URL. Left unchecked,
``http://127.0.0.1:<port>`` or ``http://169.254.169.254/`` turn the server into a probe of its own
machine and network. This module is the rule; :mod:`sfacal.net` applies it to the address each
connection is actually opened to.

Guarantees (each has a test):

* **Public addresses only, by default** (:func:`is_public`): refused are loopback (``127.0.0.0/8``,
  ``::1``), unspecified (``0.0.0.0``, ``::``), private (``10/8``, ``172.16/12``, ``192.168/16``,
  ``fc00::/7``), link-local (``169.254/16`` with the cloud metadata address ``169.254.169.254``,
  ``fe80::/10``), shared (``100.64/10``), site-local, multicast, reserved and documentation ranges
  -- every range Python's :mod:`ipaddress` does not call global. An IPv4 address carried inside IPv6
  (``::ffff:a.b.c.d``, 6to4 ``2002::/16``, NAT64 ``64:ff9b::/96``) is judged by that IPv4 address.
* **The operator may allow more** (:meth:`AddressRule.parse`, the value of the environment variable
  ``SFACAL_ALLOW_PRIVATE_URLS``): ``1`` / ``true`` / ``yes`` / ``all`` / ``*`` allow every address; a
  list of addresses and networks (``10.20.0.0/16, 192.168.1.5``, commas or spaces) allows those
  besides the public ones; empty, ``0``, ``false`` or ``no`` allow nothing more. A value that is none
  of these raises ``ValueError`` naming the entry (the caller then allows nothing more).
* Pure: no I/O, no name resolution (the caller resolves once and asks about each address).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

__all__ = ["ALL_VALUES", "NONE_VALUES", "AddressRule", "address_kind", "is_public"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

ALL_VALUES = frozenset({"1", "true", "yes", "on", "all", "*"})
"""Values of the allowance that allow every address."""
NONE_VALUES = frozenset({"", "0", "false", "no", "off", "none"})
"""Values of the allowance that allow nothing besides public addresses."""

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_SHARED = ipaddress.IPv4Network("100.64.0.0/10")


def _address(value: str | IPAddress) -> IPAddress:
    if isinstance(value, ipaddress.IPv4Address | ipaddress.IPv6Address):
        return value
    return ipaddress.ip_address(value.strip().strip("[]"))


def _embedded_v4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, 6to4, NAT64), if any."""
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _judged(value: str | IPAddress) -> IPAddress:
    address = _address(value)
    return _embedded_v4(address) or address


def address_kind(value: str | IPAddress) -> str:
    """What kind of address ``value`` is, for an operator's log line: ``public``, ``loopback``,
    ``unspecified``, ``link-local``, ``private``, ``shared``, ``multicast``, ``site-local`` or
    ``reserved``."""
    address = _judged(value)
    if address.is_loopback:
        return "loopback"
    if address.is_unspecified:
        return "unspecified"
    if address.is_link_local:
        return "link-local"
    if address.is_multicast:
        return "multicast"
    if isinstance(address, ipaddress.IPv4Address) and address in _SHARED:
        return "shared"
    if isinstance(address, ipaddress.IPv6Address) and address.is_site_local:
        return "site-local"
    if address.is_private:
        return "private"
    if address.is_reserved or not address.is_global:
        return "reserved"
    return "public"


def is_public(value: str | IPAddress) -> bool:
    """Whether ``value`` is a public unicast address (see the module docstring)."""
    return address_kind(value) == "public"


@dataclass(frozen=True)
class AddressRule:
    """Public addresses, plus what the operator allowed."""

    allow_all: bool = False
    allowed: tuple[IPNetwork, ...] = ()

    @classmethod
    def parse(cls, text: str | None) -> AddressRule:
        """The rule for an allowance value (see the module docstring); ``ValueError`` names a bad entry."""
        value = (text or "").strip()
        if value.lower() in NONE_VALUES:
            return cls()
        if value.lower() in ALL_VALUES:
            return cls(allow_all=True)
        networks: list[IPNetwork] = []
        bad: list[str] = []
        for entry in value.replace(",", " ").split():
            try:
                networks.append(ipaddress.ip_network(entry.replace("[", "").replace("]", ""), strict=False))
            except ValueError:
                bad.append(entry)
        if bad:
            raise ValueError(
                f"not an address or network: {', '.join(bad)} "
                "(use 1 for every address, or addresses and networks such as 10.20.0.0/16)"
            )
        return cls(allowed=tuple(networks))

    def permits(self, value: str | IPAddress) -> bool:
        """Whether a connection to ``value`` may be opened."""
        if self.allow_all or is_public(value):
            return True
        address = _address(value)
        judged = _judged(address)
        return any(address in network or judged in network for network in self.allowed)

    def describe(self) -> str:
        """The rule in a few words, for the operator (``sfacal check``, log lines)."""
        if self.allow_all:
            return "every address allowed"
        if not self.allowed:
            return "public addresses only"
        return "public addresses and " + ", ".join(str(n) for n in self.allowed)
