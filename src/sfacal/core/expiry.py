"""L2/L3: warn ahead of a certificate or client secret expiring.

:func:`credential_expiry_warning` returns an :class:`ExpiringCredentialWarning` when the credential
expires within ``within_days`` (30 by default) -- or has already expired -- and ``None`` otherwise.
The warning speaks Japanese and English like the errors do; its ``code`` is
``credential_expiring_soon`` (or ``credential_expired``).

:func:`expiry_day` is the one way an expiry is shown as a date -- screens, warnings, errors, the
command line: the day in the company's time zone, never the UTC day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sfacal.core.errors import CertificateExpiredError, SecretExpiredError, SfacalError, normalize_lang
from sfacal.core.schedule import DEFAULT_TIMEZONE, require_aware, zone

__all__ = [
    "EXPIRY_WARNING_DAYS",
    "WARNING_CODES",
    "CredentialKind",
    "ExpiringCredentialWarning",
    "credential_expiry_warning",
    "expiry_day",
]

EXPIRY_WARNING_DAYS = 30
WARNING_CODES = ("credential_expiring_soon", "credential_expired")


class CredentialKind(StrEnum):
    CERTIFICATE = "certificate"
    CLIENT_SECRET = "client_secret"


_NAMES = {
    CredentialKind.CERTIFICATE: {"ja": "証明書", "en": "certificate"},
    CredentialKind.CLIENT_SECRET: {"ja": "クライアントシークレット", "en": "client secret"},
}
_HINTS = {
    CredentialKind.CERTIFICATE: {
        "ja": (
            "期限までに新しい証明書を作成し、.cer を Azure ポータル › アプリの登録 › 証明書とシークレット に"
            "アップロードしてから、.pfx・パスワード・拇印を基本設定に登録し直してください。"
            "新旧の証明書は Azure に同時に登録しておけるため、連携を止めずに切り替えられます。"
        ),
        "en": (
            "Before that date, create a new certificate, upload its .cer under Azure portal › App "
            "registrations › Certificates & secrets, then save the new .pfx, password and thumbprint "
            "here. Azure accepts both certificates at once, so the switch does not stop the sync."
        ),
    },
    CredentialKind.CLIENT_SECRET: {
        "ja": (
            "期限までに Azure ポータル › アプリの登録 › 証明書とシークレット で新しいクライアントシークレットを"
            "作成し、その値と有効期限を基本設定に登録してください。古いシークレットは切り替え後に削除できます。"
        ),
        "en": (
            "Before that date, create a new client secret under Azure portal › App registrations › "
            "Certificates & secrets and save its value and expiry date here. Delete the old secret "
            "after the switch."
        ),
    },
}


def expiry_day(expires_at: datetime, timezone: str = DEFAULT_TIMEZONE) -> str:
    """``YYYY-MM-DD``: the day ``expires_at`` falls on in ``timezone`` (the company's)."""
    return require_aware(expires_at, "expires_at").astimezone(zone(timezone)).date().isoformat()


@dataclass(frozen=True)
class ExpiringCredentialWarning:
    kind: CredentialKind
    expires_at: datetime
    days_left: int  # whole days until expiry; negative once expired
    timezone: str = DEFAULT_TIMEZONE

    @property
    def expired(self) -> bool:
        return self.days_left < 0

    @property
    def code(self) -> str:
        return WARNING_CODES[1] if self.expired else WARNING_CODES[0]

    def _date(self) -> str:
        return expiry_day(self.expires_at, self.timezone)

    def user_message(self, lang: str = "ja") -> str:
        lang = normalize_lang(lang)
        name = _NAMES[self.kind][lang]
        if lang == "ja":
            if self.expired:
                return f"{name}の有効期限が {self._date()} に切れています。"
            return f"{name}の有効期限（{self._date()}）まで残り {self.days_left} 日です。"
        if self.expired:
            return f"The {name} expired on {self._date()}."
        return f"The {name} expires on {self._date()} ({self.days_left} days left)."

    def hint(self, lang: str = "ja") -> str:
        return _HINTS[self.kind][normalize_lang(lang)]

    def to_error(self) -> SfacalError:
        """The error to report once the credential has expired."""
        if self.kind is CredentialKind.CERTIFICATE:
            return CertificateExpiredError(expires_at=self._date())
        return SecretExpiredError(expires_at=self._date())

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "kind": self.kind.value,
            "expires_at": self.expires_at.isoformat(),
            "days_left": self.days_left,
        }


def credential_expiry_warning(
    expires_at: datetime | None,
    now: datetime,
    *,
    kind: CredentialKind | str = CredentialKind.CLIENT_SECRET,
    within_days: int = EXPIRY_WARNING_DAYS,
    timezone: str = DEFAULT_TIMEZONE,
) -> ExpiringCredentialWarning | None:
    """A warning when ``expires_at`` is within ``within_days`` of ``now`` (or past), else ``None``."""
    if expires_at is None:
        return None
    require_aware(expires_at, "expires_at")
    require_aware(now, "now")
    left = expires_at - now
    if left > timedelta(days=within_days):
        return None
    days = left.days if left > timedelta(0) else min(left.days, -1)
    return ExpiringCredentialWarning(CredentialKind(kind), expires_at, days, timezone)
