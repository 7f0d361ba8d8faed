"""Which certificate authorities outbound calls to SFAs and write-back receivers trust.

The system's trust store, unless the service is given a CA bundle (``SFACAL_CA_BUNDLE``, a PEM
file): then that bundle -- e.g. the root of a TLS-inspecting proxy, or the internal CA of an SFA
or receiver on the company network. Microsoft 365 calls take the same bundle through their
connector's settings (:mod:`sfacal.engine.calendar`).
"""

from __future__ import annotations

import os
import ssl

__all__ = ["CA_BUNDLE_ENV", "default_verify"]

CA_BUNDLE_ENV = "SFACAL_CA_BUNDLE"


def default_verify() -> ssl.SSLContext | bool:
    """What to give an HTTP client as ``verify``: a context trusting the service's CA bundle, or
    ``True`` (the system's trust store) when none is configured."""
    bundle = os.environ.get(CA_BUNDLE_ENV, "").strip()
    if bundle:
        return ssl.create_default_context(cafile=bundle)
    return True
