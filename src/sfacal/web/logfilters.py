"""Logging helpers: nothing that looks like a secret reaches a log line."""

from __future__ import annotations

import logging
import re

# Values of these keys are replaced wherever they appear as key=value or "key": "value".
_SECRET_KEYS = r"(client_secret|client_assertion|password|passphrase|api[_-]?key|access_token|refresh_token|authorization|secret|token)"
_PATTERNS = [
    re.compile(r"(?i)(bearer\s+)([A-Za-z0-9._~+/=-]+)"),
    re.compile(r"(?i)(\"?" + _SECRET_KEYS + r"\"?\s*[:=]\s*\"?)(?!\*\*\*|bearer\b)([^\"&,\s]+)"),
]


def redact(text: str) -> str:
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + "***", text)
    return text


class RedactSecretsFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # pragma: no cover - a broken format string still gets logged
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg = cleaned
            record.args = None
        return True
