"""Reading an uploaded PKCS#12 (.pfx) file: its certificate's expiry and thumbprint (C6).

The first manual's 拇印 is the base64 of the SHA-1 hash of the DER certificate
(PowerShell ``GetCertHash()``); the Azure portal shows the same hash in hex. Both are
accepted, with or without spaces or colons.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass
from datetime import datetime

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from sfacal.core.errors import PfxUnreadableError, ThumbprintMismatchError

_HEX = re.compile(r"^[0-9a-fA-F]{40}$")


@dataclass(frozen=True)
class PfxInfo:
    thumbprint: bytes  # SHA-1 of the DER certificate
    not_after: datetime  # aware (UTC)
    subject: str

    @property
    def thumbprint_hex(self) -> str:
        return self.thumbprint.hex().upper()

    @property
    def thumbprint_base64(self) -> str:
        return base64.b64encode(self.thumbprint).decode("ascii")


def read_pfx(data: bytes, password: str = "") -> PfxInfo:
    """Open a .pfx; :class:`PfxUnreadableError` when it is not one, has no key, or the password is wrong."""
    if not data:
        raise PfxUnreadableError("empty .pfx")
    try:
        key, cert, _extra = pkcs12.load_key_and_certificates(data, password.encode("utf-8") or None)
    except (ValueError, TypeError) as exc:
        raise PfxUnreadableError("the .pfx cannot be opened (format or password)") from exc
    if cert is None or key is None:
        raise PfxUnreadableError("the .pfx holds no certificate with its private key")
    der = cert.public_bytes(serialization.Encoding.DER)
    return PfxInfo(
        thumbprint=hashlib.sha1(der, usedforsecurity=False).digest(),
        not_after=cert.not_valid_after_utc,
        subject=cert.subject.rfc4514_string(),
    )


def parse_thumbprint(text: str) -> bytes:
    """The 20 bytes of a thumbprint given in hex (Azure portal) or base64 (PowerShell).

    Raises ``ValueError`` when the text is neither.
    """
    cleaned = re.sub(r"[\s:]", "", text or "")
    if _HEX.match(cleaned):
        return bytes.fromhex(cleaned)
    try:
        raw = base64.b64decode(cleaned, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("not a thumbprint") from exc
    if len(raw) != 20:
        raise ValueError("not a thumbprint")
    return raw


def check_thumbprint(info: PfxInfo, given: str) -> None:
    """:class:`ThumbprintMismatchError` when ``given`` is not the thumbprint of the .pfx certificate."""
    try:
        raw = parse_thumbprint(given)
    except ValueError as exc:
        raise ThumbprintMismatchError("thumbprint is neither hex nor base64") from exc
    if raw != info.thumbprint:
        raise ThumbprintMismatchError("thumbprint differs from the .pfx certificate")
