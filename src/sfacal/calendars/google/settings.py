"""Connection settings of the Google Calendar connector, as plain data, and the service-account key.

:func:`parse_key` reads the JSON key file a Workspace administrator downloads from the Google Cloud
console (``type: service_account``) and refuses anything else with an
:class:`~sfacal.core.errors.InputError` naming ``google_service_account_key``; the private key never
appears in an error, a ``repr`` or a log line.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sfacal.core.errors import InputError
from sfacal.core.schedule import DEFAULT_TIMEZONE

__all__ = ["DEFAULT_API_BASE_URL", "KEY_FIELD", "SCOPES", "GoogleSettings", "ServiceAccountKey", "parse_key"]

DEFAULT_API_BASE_URL = "https://www.googleapis.com"
KEY_FIELD = "google_service_account_key"
SCOPES = (
    "https://www.googleapis.com/auth/calendar.events",
    "https://www.googleapis.com/auth/calendar.calendarlist.readonly",
)
"""Write events; read the calendar list (to find a calendar by name, E3). Both are granted to the
service account's client id under domain-wide delegation."""


@dataclass(frozen=True)
class ServiceAccountKey:
    client_email: str
    client_id: str
    project_id: str
    private_key_id: str
    token_uri: str
    private_key: str = field(repr=False)

    def signer_info(self) -> dict[str, str]:
        """What ``google.auth.crypt.RSASigner.from_service_account_info`` reads."""
        return {"private_key": self.private_key, "private_key_id": self.private_key_id}


def _bad(reason: str, reason_ja: str) -> InputError:
    return InputError(KEY_FIELD, reason, reason_ja=reason_ja)


def parse_key(text: str | bytes | None) -> ServiceAccountKey:
    """The service-account key in ``text`` (the downloaded JSON file), checked."""
    raw = text.decode("utf-8-sig") if isinstance(text, bytes) else (text or "")
    raw = raw.strip().lstrip("\ufeff")
    if not raw:
        raise _bad("the service account key (JSON) is required", "サービスアカウントの鍵（JSON）は必須です")
    try:
        data: Any = json.loads(raw)
    except ValueError:
        raise _bad(
            "the service account key is not JSON: paste the whole downloaded key file",
            "サービスアカウントの鍵が JSON ではありません。ダウンロードした鍵ファイルの中身をすべて貼り付けてください",
        ) from None
    if not isinstance(data, dict) or data.get("type") != "service_account":
        raise _bad(
            'the JSON is not a service account key ("type": "service_account")',
            'サービスアカウントの鍵（"type": "service_account"）ではありません',
        )
    missing = [k for k in ("client_email", "private_key", "private_key_id", "client_id") if not data.get(k)]
    if missing:
        raise _bad(
            "the service account key lacks " + ", ".join(missing),
            "サービスアカウントの鍵に次の項目がありません: " + ", ".join(missing),
        )
    if "BEGIN PRIVATE KEY" not in str(data["private_key"]) and "BEGIN RSA PRIVATE KEY" not in str(
        data["private_key"]
    ):
        raise _bad(
            "the service account key holds no private key", "サービスアカウントの鍵に秘密鍵がありません"
        )
    return ServiceAccountKey(
        client_email=str(data["client_email"]),
        client_id=str(data["client_id"]),
        project_id=str(data.get("project_id", "")),
        private_key_id=str(data["private_key_id"]),
        token_uri=str(data.get("token_uri") or "https://oauth2.googleapis.com/token"),
        private_key=str(data["private_key"]),
    )


@dataclass(frozen=True)
class GoogleSettings:
    """Everything the connector needs. ``key`` is the parsed service-account key (``None`` when
    the stored text could not be read: every call then answers that error, with its hint)."""

    key: ServiceAccountKey | None
    domain: str | None = None
    api_base_url: str = DEFAULT_API_BASE_URL
    token_uri: str | None = None  # None: the key file's token_uri
    ca_bundle: str | None = None
    timezone: str = DEFAULT_TIMEZONE
    scopes: tuple[str, ...] = SCOPES
    key_error: InputError | None = None
    per_user_concurrency: int = 4
    batch_size: int = 50
    max_attempts: int = 6
    max_backoff_s: float = 32.0
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 60.0

    @classmethod
    def from_key_text(cls, text: str | bytes | None, **kwargs: Any) -> GoogleSettings:
        try:
            return cls(parse_key(text), **kwargs)
        except InputError as exc:
            return cls(None, key_error=exc, **kwargs)

    @property
    def token_url(self) -> str:
        if self.token_uri:
            return self.token_uri
        return self.key.token_uri if self.key is not None else "https://oauth2.googleapis.com/token"
