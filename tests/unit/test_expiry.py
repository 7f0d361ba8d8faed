"""L2/L3: certificates and client secrets are warned about ahead of expiry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sfacal.core.errors import CertificateExpiredError, SecretExpiredError
from sfacal.core.expiry import CredentialKind, credential_expiry_warning

NOW = datetime(2025, 7, 1, 3, 0, tzinfo=UTC)


def test_l2_credential_expiring_soon_warning() -> None:
    warning = credential_expiry_warning(NOW + timedelta(days=10, hours=2), NOW, kind="client_secret")
    assert warning is not None and not warning.expired
    assert warning.code == "credential_expiring_soon" and warning.days_left == 10
    assert warning.user_message() == "クライアントシークレットの有効期限（2025-07-11）まで残り 10 日です。"
    assert warning.user_message("en") == "The client secret expires on 2025-07-11 (10 days left)."
    assert "新しいクライアントシークレット" in warning.hint(
        "ja"
    ) and "Certificates & secrets" in warning.hint("en")
    assert warning.to_dict()["days_left"] == 10


def test_l2_certificate_expiring_soon_warning() -> None:
    warning = credential_expiry_warning(NOW + timedelta(days=30), NOW, kind=CredentialKind.CERTIFICATE)
    assert warning is not None and warning.days_left == 30
    assert "証明書" in warning.user_message() and ".cer" in warning.hint("ja")
    assert "certificate" in warning.user_message("en") and "thumbprint" in warning.hint("en")


def test_no_warning_when_far_or_unknown() -> None:
    assert credential_expiry_warning(NOW + timedelta(days=30, seconds=1), NOW) is None
    assert credential_expiry_warning(None, NOW) is None
    assert credential_expiry_warning(NOW + timedelta(days=90), NOW, within_days=60) is None
    assert credential_expiry_warning(NOW + timedelta(days=50), NOW, within_days=60) is not None


def test_expired_credentials_turn_into_errors() -> None:
    at_once = credential_expiry_warning(NOW, NOW)
    assert at_once is not None and at_once.expired and at_once.code == "credential_expired"
    past = credential_expiry_warning(NOW - timedelta(days=3), NOW, kind="certificate")
    assert past is not None and past.expired and past.days_left == -3
    assert "切れています" in past.user_message() and "expired on 2025-06-28" in past.user_message("en")
    assert isinstance(past.to_error(), CertificateExpiredError)
    assert "2025-06-28" in past.to_error().user_message()
    assert isinstance(at_once.to_error(), SecretExpiredError)
