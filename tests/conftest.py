"""Shared fixtures."""

from __future__ import annotations

import os
import tempfile

# Tests never write into the repository's ./data.
os.environ.setdefault("SFACAL_DATA_DIR", tempfile.mkdtemp(prefix="sfacal-test-"))

# The emulators, the test receivers and the served stack all listen on 127.0.0.1: allow loopback
# addresses (only those) for administrator-entered URLs, as an operator of an on-premises receiver
# would (docs/operations.md, "Outbound address rule"). Tests of the rule itself remove it.
os.environ.setdefault("SFACAL_ALLOW_PRIVATE_URLS", "127.0.0.0/8,::1")
