"""A local certificate authority for the emulators.

The emulators are served over TLS (MSAL insists on an https authority). One CA is
created per data directory and reused, so tests, the demo and the product's
connectors can all trust the same ``ca.pem`` file.

Layout under ``<dir>``::

    ca.pem           the CA certificate (give it to clients as their CA bundle)
    server.pem       server certificate chain for 127.0.0.1 / localhost / *.localhost
    server.key       server private key

Nothing here is used for production traffic: a real deployment talks to the real
Microsoft 365 and JUST.SFA with the system's trust store.
"""

from __future__ import annotations

import os
import ssl
from dataclasses import dataclass
from pathlib import Path

import trustme

SERVER_NAMES = ("127.0.0.1", "localhost", "*.localhost", "::1")


@dataclass(frozen=True)
class TlsFiles:
    ca_pem: Path
    cert_pem: Path
    key_pem: Path

    def server_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(str(self.cert_pem), str(self.key_pem))
        return ctx

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca_pem))


def ensure_tls_files(directory: Path | str) -> TlsFiles:
    """Create (once) a CA and a server certificate for loopback names in ``directory``."""
    base = Path(directory)
    base.mkdir(parents=True, exist_ok=True)
    files = TlsFiles(base / "ca.pem", base / "server.pem", base / "server.key")
    if files.ca_pem.exists() and files.cert_pem.exists() and files.key_pem.exists():
        return files
    ca = trustme.CA(organization_name="sfacal emulator CA")
    leaf = ca.issue_cert(*SERVER_NAMES)
    tmp_suffix = f".{os.getpid()}.tmp"
    for path, writer in (
        (files.key_pem, leaf.private_key_pem.write_to_path),
        (files.cert_pem, leaf.private_key_and_cert_chain_pem.write_to_path),
        (files.ca_pem, ca.cert_pem.write_to_path),
    ):
        tmp = path.with_name(path.name + tmp_suffix)
        writer(str(tmp))
        os.chmod(tmp, 0o600)  # the key, the chain that holds it too, and the CA: all private
        os.replace(tmp, path)
    return files
