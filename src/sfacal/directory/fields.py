"""Model fields whose values are encrypted at rest (see ``sfacal.directory.crypto``)."""

from __future__ import annotations

from typing import Any

from django.db import models

from sfacal.directory import crypto

PREFIX = "fernet:"


class EncryptedTextField(models.TextField):
    """A text value stored encrypted. Empty strings are stored as empty strings."""

    description = "Encrypted text"

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> str | None:
        if value is None or value == "":
            return value
        if isinstance(value, str) and value.startswith(PREFIX):
            return crypto.decrypt_text(value[len(PREFIX) :])
        return value

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return PREFIX + crypto.encrypt_text(str(value))


class EncryptedBinaryField(models.TextField):
    """Bytes (a .pfx file) stored encrypted as text."""

    description = "Encrypted bytes"

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> bytes | None:
        if value is None or value == "":
            return None
        return crypto.decrypt_bytes(value[len(PREFIX) :] if value.startswith(PREFIX) else value)

    def to_python(self, value: Any) -> bytes | None:
        if value is None or isinstance(value, bytes):
            return value
        if isinstance(value, str) and value.startswith(PREFIX):
            return crypto.decrypt_bytes(value[len(PREFIX) :])
        raise TypeError("EncryptedBinaryField holds bytes")

    def get_prep_value(self, value: Any) -> Any:
        if value is None or value == b"":
            return None
        if isinstance(value, str):
            value = value.encode("utf-8")
        return PREFIX + crypto.encrypt_bytes(bytes(value))
