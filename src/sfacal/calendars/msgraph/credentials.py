"""Local credential checks: the ``.pfx`` and its thumbprint, before any network call (C6, L2).

* :func:`load_pfx` reads a PKCS#12 file (password optional) and returns the certificate and an
  RSA key, or raises :class:`~sfacal.core.errors.PfxUnreadableError` (wrong format or password),
  :class:`~sfacal.core.errors.CertificateExpiredError`.
* :func:`parse_thumbprint` accepts the first manual's 拇印 (base64 of the SHA-1 hash of the DER
  certificate, as PowerShell's ``GetCertHash()`` gives it) and the hex form the Azure portal and
  Windows show (spaces, colons and the invisible marks Windows copies along are ignored); a SHA-256
  thumbprint (hex or base64) is accepted too.
* :meth:`PfxCertificate.check_thumbprint` compares it with the certificate of the ``.pfx`` and
  raises :class:`~sfacal.core.errors.ThumbprintMismatchError` when it differs.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12

from sfacal.core.errors import CertificateExpiredError, PfxUnreadableError, ThumbprintMismatchError

__all__ = ["PfxCertificate", "Thumbprint", "load_pfx", "parse_thumbprint"]

_MAX_PFX_BYTES = 1_000_000
_INVISIBLE = re.compile(r"[\s:\-\u200e\u200f\ufeff\u200b]")
_HEX = re.compile(r"^[0-9a-fA-F]+$")


@dataclass(frozen=True)
class Thumbprint:
    """A certificate hash as given by the administrator: ``algorithm`` ``sha1`` or ``sha256``."""

    algorithm: str
    digest: bytes

    @property
    def hex(self) -> str:
        return self.digest.hex().upper()

    @property
    def base64(self) -> str:
        return base64.b64encode(self.digest).decode("ascii")


def parse_thumbprint(value: str) -> Thumbprint:
    """Parse a thumbprint in hex or base64 (SHA-1 or SHA-256); see the module docstring."""
    text = _INVISIBLE.sub("", value or "")
    if not text:
        raise ThumbprintMismatchError("empty thumbprint", field="thumbprint")
    digest: bytes | None = None
    if _HEX.match(text) and len(text) in (40, 64):
        digest = bytes.fromhex(text)
    else:
        try:
            padded = text + "=" * (-len(text) % 4)
            decoded = base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)
        except (binascii.Error, ValueError):
            decoded = b""
        if len(decoded) in (20, 32):
            digest = decoded
    if digest is None:
        raise ThumbprintMismatchError(
            "the thumbprint is neither 40/64 hex digits nor the base64 of a SHA-1/SHA-256 hash",
            field="thumbprint",
        )
    return Thumbprint("sha1" if len(digest) == 20 else "sha256", digest)


@dataclass(frozen=True, repr=False)
class PfxCertificate:
    """The certificate and private key of an uploaded ``.pfx`` (kept in memory only)."""

    certificate: x509.Certificate
    private_key: rsa.RSAPrivateKey = field(repr=False)

    def __repr__(self) -> str:
        return f"PfxCertificate(subject={self.subject!r}, sha1={self.sha1.hex().upper()}, not_valid_after={self.not_valid_after.isoformat()})"

    @property
    def der(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.DER)

    @property
    def sha1(self) -> bytes:
        return self.certificate.fingerprint(hashes.SHA1())  # noqa: S303 - the thumbprint Azure shows

    @property
    def sha256(self) -> bytes:
        return self.certificate.fingerprint(hashes.SHA256())

    @property
    def thumbprint_hex(self) -> str:
        """The SHA-1 thumbprint as the Azure portal shows it."""
        return self.sha1.hex().upper()

    @property
    def thumbprint_base64(self) -> str:
        """The SHA-1 thumbprint as the first manual's base64Thumbprint.txt holds it."""
        return base64.b64encode(self.sha1).decode("ascii")

    @property
    def subject(self) -> str:
        return self.certificate.subject.rfc4514_string()

    @property
    def not_valid_after(self) -> datetime:
        return self.certificate.not_valid_after_utc

    @property
    def not_valid_before(self) -> datetime:
        return self.certificate.not_valid_before_utc

    def certificate_pem(self) -> str:
        return self.certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")

    def private_key_pem(self) -> str:
        """Unencrypted PKCS#8 PEM of the key, for the token library's in-memory credential."""
        return self.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode("ascii")

    def check_thumbprint(self, value: str | None) -> None:
        """Raise :class:`ThumbprintMismatchError` when ``value`` (if given) is not this
        certificate's thumbprint."""
        if value is None or not _INVISIBLE.sub("", value):
            return
        thumb = parse_thumbprint(value)
        mine = self.sha1 if thumb.algorithm == "sha1" else self.sha256
        if thumb.digest != mine:
            raise ThumbprintMismatchError(
                f"the thumbprint {thumb.hex} is not the .pfx certificate's ({self.thumbprint_hex}, "
                f"base64 {self.thumbprint_base64})",
                field="thumbprint",
            )

    def check_valid(self, now: datetime | None = None) -> None:
        """Raise :class:`CertificateExpiredError` when the certificate is past its end date."""
        now = now or datetime.now(UTC)
        if self.not_valid_after <= now:
            raise CertificateExpiredError(
                f"certificate {self.thumbprint_hex} expired at {self.not_valid_after.isoformat()}",
                expires_at=self.not_valid_after.date().isoformat(),
            )


def load_pfx(data: bytes | None, password: str | None) -> PfxCertificate:
    """The certificate and RSA key in ``data`` (PKCS#12), or :class:`PfxUnreadableError`.

    An empty password and no password are both tried, as Windows exports either way.
    """
    if not data:
        raise PfxUnreadableError("no certificate file (.pfx) was uploaded", field="pfx")
    if len(data) > _MAX_PFX_BYTES:
        raise PfxUnreadableError(f"the file is too large for a .pfx ({len(data)} bytes)", field="pfx")
    candidates: list[bytes | None] = [password.encode("utf-8")] if password else [None, b""]
    loaded = None
    failure = "unknown format"
    for candidate in candidates:
        try:
            loaded = pkcs12.load_key_and_certificates(data, candidate)
            break
        except ValueError as exc:
            failure = (
                "wrong password or not a PKCS#12 file"
                if "password" in str(exc).lower()
                else "not a PKCS#12 file"
            )
        except (TypeError, OverflowError):
            failure = "not a PKCS#12 file"
    if loaded is None:
        raise PfxUnreadableError(f"the .pfx could not be opened: {failure}", field="pfx", secrets=(password,))
    key, cert, _chain = loaded
    if cert is None:
        raise PfxUnreadableError("the .pfx holds no certificate", field="pfx")
    if key is None:
        raise PfxUnreadableError(
            "the .pfx holds no private key (export it with the private key)", field="pfx"
        )
    if not isinstance(key, rsa.RSAPrivateKey):
        raise PfxUnreadableError(
            f"the .pfx key is {type(key).__name__}, but Microsoft Entra ID needs an RSA key", field="pfx"
        )
    cert_key = cert.public_key()
    if (
        not isinstance(cert_key, rsa.RSAPublicKey)
        or cert_key.public_numbers() != key.public_key().public_numbers()
    ):
        raise PfxUnreadableError("the .pfx private key does not belong to its certificate", field="pfx")
    return PfxCertificate(cert, key)
