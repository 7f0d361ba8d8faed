"""Outbound connections to URLs an administrator entered, under the outbound address rule (SSRF).

The rule itself is pure (:mod:`sfacal.core.addresses`); this package applies it where connections
are opened, so the address checked is the address connected to (no DNS-rebinding gap):

* :mod:`.resolver` -- the rule in force (``SFACAL_ALLOW_PRIVATE_URLS``) and one resolution per
  connection that keeps only the allowed addresses, or raises
  :class:`~sfacal.core.errors.AddressNotAllowedError`;
* :mod:`.httpx_transport` -- ``httpx`` clients (JUST.SFA records API, push write-back callbacks,
  Microsoft Graph through a proxy) whose connections are opened to a checked address, the name kept
  for the ``Host`` header, SNI and certificate checks;
* :mod:`.requests_adapter` -- the same for ``requests`` sessions (MSAL's token requests, including
  the discovery of the token endpoint).

Microsoft Graph's own lean client (:class:`sfacal.calendars.msgraph.wire.WirePool`) resolves
through :func:`.resolver.allowed_addresses_async` itself.

:mod:`.budget` keeps request budgets shared by every worker process (JUST.SFA's request limits,
Microsoft Graph's limit per application) in memory, locked files or Redis.
"""

from __future__ import annotations

from .resolver import ALLOW_ENV, allowed_addresses, allowed_addresses_async, current_rule

__all__ = ["ALLOW_ENV", "allowed_addresses", "allowed_addresses_async", "current_rule"]
