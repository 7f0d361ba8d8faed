"""L2: every troubleshooting case has its type, message and an actionable hint (ja and en)."""

from __future__ import annotations

import json

import pytest

from sfacal.core import errors as E
from sfacal.core.errors import ERROR_TYPES, SfacalError, error_from_code, normalize_lang, redact


def test_l2_mailbox_not_found_hint() -> None:
    err = E.MailboxNotFoundError("500 ErrorInternalServerError", mailbox="taro@example.com")
    assert err.code == "mailbox_not_found" and not err.retryable
    assert "taro@example.com" in err.user_message()
    assert "The SMTP address has no mailbox associated with it." in err.user_message("en")
    assert "ユーザーIDが誤っている" in err.hint("ja") and "連携ユーザーID" in err.hint("ja")
    assert "user ID is probably wrong" in err.hint("en") and "Exchange Online licence" in err.hint("en")


def test_l2_app_not_found_hint() -> None:
    err = E.AppNotFoundError()
    assert isinstance(err, E.CredentialError) and isinstance(err, E.ConfigurationError)
    assert "AADSTS700016" in err.user_message() and "AADSTS70001" in err.user_message("en")
    assert "クライアントIDが誤っている" in err.hint(
        "ja"
    ) and "アプリケーション (クライアント) ID" in err.hint("ja")
    assert "client ID is probably wrong" in err.hint("en") and "App registrations" in err.hint("en")


def test_l2_invalid_signature_hint() -> None:
    err = E.InvalidSignatureError()
    assert "AADSTS50012" in err.user_message() and "AADSTS700027" in err.user_message("en")
    assert "Azure AD にアップロードした証明書と異なる" in err.hint("ja")
    assert "not the certificate uploaded to Azure AD" in err.hint("en") and ".cer" in err.hint("en")


def test_l2_pfx_unreadable_hint() -> None:
    err = E.PfxUnreadableError()
    assert ".pfx" in err.user_message() and ".pfx" in err.user_message("en")
    assert "形式が違う" in err.hint("ja") and "パスワードが" in err.hint("ja")
    assert "PKCS#12" in err.hint("en") and "password is wrong" in err.hint("en")


def test_l2_thumbprint_mismatch_hint() -> None:
    err = E.ThumbprintMismatchError()
    assert "AADSTS50064" in err.user_message()
    assert "拇印が誤っている" in err.hint("ja") and "base64Thumbprint.txt" in err.hint("ja")
    assert "thumbprint is probably wrong" in err.hint("en")


def test_l2_tenant_not_found_hint() -> None:
    err = E.TenantNotFoundError()
    assert "AADSTS90002" in err.user_message("en")
    assert "トークンエンドポイントが誤っている" in err.hint("ja") and "oauth2/v2.0/token" in err.hint("ja")
    assert "token endpoint is probably wrong" in err.hint("en") and "Endpoints" in err.hint("en")


def test_l2_network_error_hint() -> None:
    err = E.NetworkError("getaddrinfo failed", host="login.microsoftonline.com:443")
    assert err.retryable and isinstance(err, E.TransientError)
    assert "login.microsoftonline.com:443" in err.user_message()
    assert "ポート 443" in err.hint("ja") and "プロキシ" in err.hint("ja")
    assert "port 443" in err.hint("en") and "proxy" in err.hint("en") and "DNS" in err.hint("en")


def test_l2_access_denied_hint() -> None:
    err = E.AccessDeniedError()
    assert "403" in err.user_message()
    assert "Calendars.ReadWrite" in err.hint("ja") and "管理者の同意" in err.hint("ja")
    assert "Calendars.ReadWrite" in err.hint("en") and "Grant admin consent" in err.hint("en")


def test_l2_secret_invalid_hint() -> None:
    err = E.SecretInvalidError()
    assert "AADSTS7000215" in err.user_message()
    assert "「値」" in err.hint("ja") and "新しいクライアント" in err.hint("ja")
    assert "Value, not its Secret ID" in err.hint("en")


def test_l2_secret_expired_hint() -> None:
    err = E.SecretExpiredError()
    assert "AADSTS7000222" in err.user_message("en")
    assert "有効期限" in err.user_message() and "新しいクライアントシークレットを作成" in err.hint("ja")
    assert "Create a new client secret" in err.hint("en") and "expiry date" in err.hint("en")


def test_l2_throttled_hint() -> None:
    err = E.ThrottledError("429 ApplicationThrottled", retry_after=12.5)
    assert err.retryable and err.retry_after == 12.5
    assert "12.5 秒後" in err.user_message() and "Retrying in 12.5 s" in err.user_message("en")
    assert "自動的に再試行" in err.hint("ja") and "No action needed" in err.hint("en")
    unknown = E.ThrottledError()
    assert unknown.retry_after is None and "しばらく待って" in unknown.user_message()


def test_l2_mailbox_not_rest_enabled_hint() -> None:
    err = E.MailboxNotRestEnabledError(mailbox="hanako@example.com")
    assert "MailboxNotEnabledForRESTAPI" in err.user_message() and "hanako@example.com" in err.user_message(
        "en"
    )
    assert "オンプレミス" in err.hint("ja") and "Exchange Online のライセンス" in err.hint("ja")
    assert "on-premises" in err.hint("en") and "Exchange Online licence" in err.hint("en")


def test_l2_calendar_not_found_hint() -> None:
    err = E.CalendarNotFoundError(mailbox="taro@example.com", calendar="営業")
    assert "「営業」" in err.user_message() and '"営業"' in err.user_message("en")
    assert "既定の予定表" in err.hint("ja") and "default calendar" in err.hint("en")


def test_l2_certificate_expired_hint() -> None:
    err = E.CertificateExpiredError(expires_at="2025-06-30")
    assert "2025-06-30" in err.user_message() and ".pfx" in err.hint("ja") and ".cer" in err.hint("en")


def test_l2_source_errors_hints() -> None:
    key = E.SourceAuthError(source="JUST.SFA")
    assert isinstance(key, E.SourceError) and isinstance(key, E.ConfigurationError) and not key.retryable
    assert "APIキー" in key.hint("ja") and "API-Key" in key.hint("en")
    ident = E.SourceIdentifierError(source="JUST.SFA", field="panel", identifier="panel_x")
    assert "panel_x" in ident.user_message() and "panel" in ident.hint("en")
    budget = E.SourceRateLimitedError(source="JUST.SFA", retry_after=60)
    assert budget.retryable and isinstance(budget, E.ThrottledError) and budget.retry_after == 60
    assert "1日" in budget.hint("ja") and "per-day" in budget.hint("en")
    tenant = E.SourceTenantNotFoundError(tenant="acme.justsfa.com")
    assert "acme.justsfa.com" in tenant.user_message() and "justsfa.com" in tenant.hint("en")


def test_input_error_names_the_field() -> None:
    err = E.InputError("start", "the end is before the start", reason_ja="終了が開始より前です")
    assert isinstance(err, ValueError) and err.field == "start"
    assert "start" in err.user_message() and "終了が開始より前です" in err.user_message()
    assert err.user_message("en") == "Invalid input (start): the end is before the start"
    assert '"start"' in err.hint("en")


def test_every_error_type_has_distinct_code_and_both_languages() -> None:
    assert len(ERROR_TYPES) >= 25
    for code, cls in ERROR_TYPES.items():
        assert cls.code == code
        err = cls.from_params({"field": "x", "mailbox": "m@x"})
        for lang in ("ja", "en"):
            assert err.user_message(lang).strip() and err.hint(lang).strip()
        assert err.hint("ja") != err.hint("en")
        if issubclass(cls, E.TransientError):
            assert err.retryable
        if issubclass(cls, E.ConfigurationError) and not issubclass(cls, E.TransientError):
            assert not err.retryable


def test_missing_params_render_as_unknown() -> None:
    err = E.MailboxNotFoundError()
    assert "（不明）" in err.user_message() and "(unknown)" in err.user_message("en")


@pytest.mark.parametrize(
    "lang,expected", [("en-US", "en"), ("EN", "en"), ("ja_JP", "ja"), ("fr", "ja"), (None, "ja")]
)
def test_normalize_lang(lang: str | None, expected: str) -> None:
    assert normalize_lang(lang) == expected


def test_log_round_trip_rehydrates_hint_from_code() -> None:
    for original in (
        E.MailboxNotFoundError("x", mailbox="a@b.c", upstream_code="ErrorInvalidUser", http_status=404),
        E.ThrottledError("y", retry_after=3),
        E.InputError("end", "bad", reason_ja="不正"),
        E.CalendarNotFoundError(mailbox="a@b.c", calendar="営業"),
    ):
        stored = json.loads(json.dumps(original.to_dict()))
        back = error_from_code(stored["code"], stored["params"], stored["detail"])
        assert type(back) is type(original)
        assert back.user_message("en") == original.user_message("en")
        assert back.hint("ja") == original.hint("ja")
        assert back.detail == original.detail
    assert isinstance(error_from_code("throttled", {"retry_after": "soon"}), E.ThrottledError)
    unknown = error_from_code("no_such_code", {"secrets": "x"}, "boom")
    assert type(unknown) is SfacalError and unknown.detail == "boom"


def test_redact_removes_listed_and_well_known_secrets() -> None:
    secret = "s3cr3t+/=value"
    text = (
        f"client_secret={secret}&grant_type=client_credentials body client_secret=abc%2B "
        f"raw {secret} form s3cr3t%2B%2F%3Dvalue Authorization: Bearer eyJhbGciOi.x.y "
        '{"access_token": "tok123", "password":"pw"} api-key=KEY1'
    )
    out = redact(text, [secret, None, ""])
    for leaked in (secret, "s3cr3t%2B", "eyJhbGciOi", "tok123", '"pw"', "KEY1", "abc%2B"):
        assert leaked not in out
    assert "grant_type=client_credentials" in out and "Bearer ***" in out


def test_errors_never_carry_secrets() -> None:
    err = E.SecretInvalidError(
        "sent client_secret=hunter2hunter2 to x", secrets=["hunter2hunter2"], mailbox="hunter2hunter2"
    )
    assert "hunter2hunter2" not in err.detail and "hunter2hunter2" not in str(err)
    assert "hunter2hunter2" not in json.dumps(err.to_dict())
    assert str(E.ConflictError()) == "conflict"
