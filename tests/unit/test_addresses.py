"""sfacal.core.addresses: the outbound address rule (which addresses an entered URL may reach)."""

from __future__ import annotations

import ipaddress
import re

import pytest

from sfacal.core.addresses import AddressRule, address_kind, is_public

REFUSED = {
    "127.0.0.1": "loopback",
    "127.8.9.10": "loopback",
    "::1": "loopback",
    "0.0.0.0": "unspecified",
    "::": "unspecified",
    "10.0.0.1": "private",
    "172.16.5.4": "private",
    "192.168.1.1": "private",
    "fc00::1": "private",
    "169.254.169.254": "link-local",
    "fe80::1%eth0": "link-local",
    "100.64.0.1": "shared",
    "224.0.0.1": "multicast",
    "ff0e::1": "multicast",
    "fec0::1": "site-local",
    "192.0.2.1": "private",  # documentation
    "240.0.0.1": "private",  # reserved for future use
    "::ffff:127.0.0.1": "loopback",  # IPv4 inside IPv6
    "::ffff:10.1.2.3": "private",
    "2002:7f00:1::": "loopback",  # 6to4 of 127.0.0.1
    "64:ff9b::a9fe:a9fe": "link-local",  # NAT64 of 169.254.169.254
    "::7f00:1": "reserved",  # the deprecated IPv4-compatible form
}
PUBLIC = [
    "8.8.8.8",
    "203.0.114.1",
    "2001:4860:4860::8888",
    "::ffff:8.8.8.8",
    "64:ff9b::808:808",
    "[2606:4700::1]",
]


@pytest.mark.parametrize(("address", "kind"), sorted(REFUSED.items()))
def test_the_default_rule_refuses_every_address_that_is_not_public(address, kind):
    assert address_kind(address) == kind
    assert not is_public(address) and not AddressRule().permits(address)


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_are_allowed(address):
    assert is_public(address) and address_kind(address) == "public"
    assert AddressRule().permits(ipaddress.ip_address(address.strip("[]")))


@pytest.mark.parametrize("value", ["", "  ", "0", "false", "No", "off", "none", None])
def test_an_empty_or_negative_allowance_allows_nothing_more(value):
    rule = AddressRule.parse(value)
    assert rule == AddressRule() and rule.describe() == "public addresses only"
    assert not rule.permits("127.0.0.1")


@pytest.mark.parametrize("value", ["1", "true", "YES", "on", "all", "*"])
def test_a_positive_allowance_allows_every_address(value):
    rule = AddressRule.parse(value)
    assert rule.allow_all and rule.describe() == "every address allowed"
    assert all(rule.permits(address.split("%")[0]) for address in REFUSED)


def test_a_list_allows_exactly_its_addresses_and_networks():
    rule = AddressRule.parse("10.20.0.0/16, 192.168.1.5 [fd00::]/8,::1")
    assert rule.describe() == "public addresses and 10.20.0.0/16, 192.168.1.5/32, fd00::/8, ::1/128"
    for address in ("10.20.3.4", "192.168.1.5", "fd00::7", "::1", "::ffff:10.20.3.4", "8.8.8.8"):
        assert rule.permits(address), address
    for address in ("10.21.0.1", "192.168.1.6", "127.0.0.1", "169.254.169.254", "fc00::1"):
        assert not rule.permits(address), address


def test_a_bad_entry_is_named():
    with pytest.raises(ValueError, match=re.escape("intranet.example, 10.0.0.0/33")):
        AddressRule.parse("10.0.0.0/8 intranet.example 10.0.0.0/33")
