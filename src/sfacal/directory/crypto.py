"""Encryption of stored secrets (client secrets, .pfx files and passwords, API keys).

Secrets are encrypted with Fernet (AES-128-CBC + HMAC-SHA256). The key comes from
``SFACAL_SECRET_KEY`` — one or several comma-separated keys, newest first, so a key
can be rotated (``sfacal rotate-key`` re-encrypts with the newest). A value that is
not a Fernet key is stretched into one with HKDF, so an administrator may also set a
long passphrase. Without the variable, a key is generated once into
``<data dir>/secret.key`` with mode 0600.
"""

from __future__ import annotations

import base64
import binascii
import functools
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from sfacal.config import data_dir

KEY_FILE_NAME = "secret.key"


class SecretDecryptionError(Exception):
    """A stored secret cannot be decrypted with the configured key(s)."""


def _as_fernet_key(raw: str) -> bytes:
    raw = raw.strip()
    try:
        decoded = base64.urlsafe_b64decode(raw.encode("ascii"))
        if len(decoded) == 32:
            return raw.encode("ascii")
    except (binascii.Error, ValueError, UnicodeEncodeError):
        pass
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"sfacal-secrets", info=b"fernet").derive(
        raw.encode("utf-8")
    )
    return base64.urlsafe_b64encode(derived)


def _load_or_create_key_file(path: Path) -> str:
    if path.exists():
        return path.read_text(encoding="ascii").strip()
    key = Fernet.generate_key().decode("ascii")
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(key + "\n")
    try:
        # Another process may have won the race: keep whichever file exists.
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    return path.read_text(encoding="ascii").strip()


def configured_keys() -> list[str]:
    env = os.environ.get("SFACAL_SECRET_KEY", "").strip()
    if env:
        return [part for part in (p.strip() for p in env.split(",")) if part]
    return [_load_or_create_key_file(data_dir() / KEY_FILE_NAME)]


@functools.lru_cache(maxsize=1)
def _fernet() -> MultiFernet:
    return MultiFernet([Fernet(_as_fernet_key(k)) for k in configured_keys()])


def reset_key_cache() -> None:
    """Forget the loaded keys (tests, key rotation)."""
    _fernet.cache_clear()


def encrypt_bytes(value: bytes) -> str:
    return _fernet().encrypt(value).decode("ascii")


def decrypt_bytes(token: str) -> bytes:
    try:
        return _fernet().decrypt(token.encode("ascii"))
    except (InvalidToken, UnicodeEncodeError) as exc:
        raise SecretDecryptionError(
            "A stored secret cannot be decrypted: SFACAL_SECRET_KEY or secret.key changed."
        ) from exc


def encrypt_text(value: str) -> str:
    return encrypt_bytes(value.encode("utf-8"))


def decrypt_text(token: str) -> str:
    return decrypt_bytes(token).decode("utf-8")


def rotate(token: str) -> str:
    """Re-encrypt a token with the newest key."""
    return _fernet().rotate(token.encode("ascii")).decode("ascii")


def derived_secret(label: str) -> str:
    """A stable secret for another purpose (Django's SECRET_KEY), derived from the first key."""
    key = _as_fernet_key(configured_keys()[0])
    derived = HKDF(algorithm=hashes.SHA256(), length=48, salt=b"sfacal-derived", info=label.encode()).derive(
        base64.urlsafe_b64decode(key)
    )
    return base64.urlsafe_b64encode(derived).decode("ascii")
