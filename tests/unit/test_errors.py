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


def test_l2_clock_skew_hint() -> None:
    err = E.ClockSkewError("AADSTS700024: Client assertion is not within its valid time range.")
    assert isinstance(err, E.CredentialError) and not err.retryable
    assert "AADSTS700024" in err.user_message() and "AADSTS700024" in err.user_message("en")
    assert "サーバーの時刻" in err.hint("ja") and "NTP" in err.hint("ja")
    assert "server clock" in err.hint("en") and "NTP" in err.hint("en")


def test_l2_calendar_read_only_hint() -> None:
    err = E.CalendarReadOnlyError(mailbox="taro@example.com", calendar="祝日")
    assert isinstance(err, E.MailboxError) and err.code == "calendar_read_only" and not err.retryable
    assert "祝日" in err.user_message() and "canEdit" in err.user_message("en")
    assert "編集できる予定表を選び直す" in err.hint("ja") and "編集権限" in err.hint("ja")
    assert "Choose an editable calendar" in err.hint("en") and "edit rights" in err.hint("en")


@pytest.mark.parametrize(
    ("kind", "cls", "ja", "en"),
    [
        ("dns", E.NetworkDnsError, "DNS", "DNS settings"),
        ("tls", E.NetworkTlsError, "SFACAL_CA_BUNDLE", "inspection appliance"),
        ("refused", E.NetworkRefusedError, "ポート 443", "firewall"),
        ("timeout", E.NetworkTimeoutError, "自動的に再試行", "silently drops"),
        ("reset", E.NetworkResetError, "切断", "cuts the connection"),
    ],
)
def test_l2_network_error_kind_hints(kind: str, cls: type[E.NetworkError], ja: str, en: str) -> None:
    err = E.NetworkError(f"{kind}: details", host="graph.microsoft.com", kind=kind)
    assert type(err) is cls and isinstance(err, E.NetworkError) and err.retryable
    assert err.code == f"network_{kind}" and err.params["kind"] == kind
    assert "graph.microsoft.com" in err.user_message() and "graph.microsoft.com" in err.user_message("en")
    assert ja in err.hint("ja") and en in err.hint("en")
    back = error_from_code(err.code, err.params, err.detail)  # a log line keeps the kind's hint
    assert type(back) is cls and back.hint("en") == err.hint("en")


def test_l2_network_tls_hint_names_the_ca_bundle() -> None:
    err = E.NetworkTlsError(host="login.microsoftonline.com")
    assert "証明書を差し替えている" in err.hint("ja") and "SFACAL_CA_BUNDLE" in err.hint("ja")
    assert "replaces the TLS certificates" in err.hint("en") and "CA bundle" in err.hint("en")


def test_network_error_of_an_unknown_kind_stays_generic() -> None:
    for kind in (None, "connect", "other"):
        assert type(E.NetworkError("x", host="h", kind=kind)) is E.NetworkError


def test_l2_unknown_participant_and_mailbox_unresolved_are_core_errors() -> None:
    unknown = error_from_code("unknown_participant", {"login_id": "taro"})
    assert type(unknown) is E.UnknownParticipantError and "taro" in unknown.user_message()
    assert "ユーザー対応表" in unknown.hint("ja") and "user mapping" in unknown.hint("en")
    unresolved = error_from_code("mailbox_unresolved", {"login_id": "taro"})
    assert type(unresolved) is E.MailboxUnresolvedError and "taro" in unresolved.user_message("en")
    assert "ドメイン名" in unresolved.hint("ja") and "domain name" in unresolved.hint("en")


@pytest.mark.parametrize(
    ("cls", "retryable", "ja", "en"),
    [
        (
            E.CallbackNotConfiguredError,
            False,
            "書き戻し先 URL と署名シークレットを登録",
            "callback URL and signing secret",
        ),
        (E.CallbackRejectedError, False, "リダイレクトされない最終的な URL", "redirects are"),
        (E.CallbackUnauthorizedError, False, "X-Sfacal-Signature", "X-Sfacal-Signature"),
        (E.CallbackUnreachableError, True, "受信側のサーバーが", "receiving server is running"),
        (E.CallbackUnavailableError, True, "受信側のアプリケーションのログ", "receiving application's log"),
        (E.CallbackRateLimitedError, True, "受信側の制限値", "receiver's rate limit"),
    ],
)
def test_l2_push_callback_error_hints(cls: type[E.CallbackError], retryable: bool, ja: str, en: str) -> None:
    err = cls("HTTP 4xx from sfa.example.com", host="sfa.example.com", status="403")
    assert isinstance(err, E.CallbackError) and isinstance(err, E.SourceError)
    assert err.retryable is retryable
    assert "JUST.SFA" not in err.user_message() + err.hint("ja") + err.hint("en")
    if cls is not E.CallbackNotConfiguredError:
        assert "sfa.example.com" in err.user_message() and "sfa.example.com" in err.user_message("en")
    assert ja in err.hint("ja") and en in err.hint("en")
