"""The error taxonomy of sfacal, documented in one place.

Every failure the product reports is one of these types. Each carries:

* ``code`` -- a stable string stored in the log (``ERROR_TYPES[code]`` gives the class back, so a
  stored log line can re-hydrate its message and hint in any language);
* ``retryable`` -- ``True`` when the same operation may succeed later without anybody changing a
  setting (the engine retries it with backoff); ``False`` when a person must act;
* ``detail`` -- an internal detail for operators (upstream error text, request ids), with secret
  values removed (see :func:`redact`);
* ``params`` -- non-secret strings shown to the user (a mailbox, a calendar name, a field);
* ``user_message(lang)`` and ``hint(lang)`` -- what happened and what to check, where (``"ja"``
  default, ``"en"``).

The tree (``*`` = ``retryable``)::

    SfacalError                          unexpected_error
    ├── ConfigurationError               configuration_error     (an administrator must fix a setting)
    │   ├── CredentialError              credential_error
    │   │   ├── AppNotFoundError         app_not_found           AADSTS700016 / AADSTS70001
    │   │   ├── InvalidSignatureError    invalid_signature       AADSTS700027 / AADSTS50012
    │   │   ├── PfxUnreadableError       pfx_unreadable          wrong .pfx format or password
    │   │   ├── ThumbprintMismatchError  thumbprint_mismatch     AADSTS50064 / local check
    │   │   ├── TenantNotFoundError      tenant_not_found        AADSTS90002 / AADSTS900023
    │   │   ├── SecretInvalidError       secret_invalid          AADSTS7000215
    │   │   ├── SecretExpiredError       secret_expired          AADSTS7000222
    │   │   ├── ClockSkewError           clock_skew              AADSTS700024 (server clock / NTP)
    │   │   └── CertificateExpiredError  certificate_expired     certificate past its end date
    │   ├── AccessDeniedError            access_denied           403 ErrorAccessDenied
    │   ├── MailboxError                 mailbox_error
    │   │   ├── MailboxNotFoundError     mailbox_not_found       ErrorInvalidUser / ErrorNonExistentMailbox
    │   │   ├── MailboxNotRestEnabledError mailbox_not_rest_enabled  MailboxNotEnabledForRESTAPI
    │   │   ├── CalendarNotFoundError    calendar_not_found      calendar name not in the mailbox
    │   │   └── CalendarReadOnlyError    calendar_read_only      the calendar's canEdit is false
    │   ├── UnknownParticipantError      unknown_participant     no employee has the participant's login ID
    │   ├── MailboxUnresolvedError       mailbox_unresolved      no user ID and no domain (E2)
    │   ├── SourceAuthError (+SourceError)        source_auth_failed      SFA API key rejected
    │   ├── SourceIdentifierError (+SourceError)  source_identifier_invalid  table/panel/field/filter wrong
    │   └── SourceTenantNotFoundError (+SourceError) source_tenant_not_found
    ├── SourceError                      source_error            (any SFA-side failure)
    │   ├── SourceRateLimitedError* (+ThrottledError) source_rate_limited  request budget exhausted
    │   └── CallbackError                callback_error          push write-back callback (T1)
    │       ├── CallbackNotConfiguredError (+ConfigurationError)  callback_not_configured
    │       ├── CallbackRejectedError (+ConfigurationError)       callback_rejected    other 3xx/4xx
    │       │   └── CallbackUnauthorizedError                     callback_unauthorized  401 / 403
    │       ├── CallbackUnreachableError* (+NetworkError)         callback_unreachable
    │       ├── CallbackUnavailableError* (+ServiceUnavailableError)  callback_unavailable  5xx/408/425
    │       └── CallbackRateLimitedError* (+ThrottledError)       callback_rate_limited  429
    ├── InputError (also ValueError)     input_invalid           bad input; names the field
    ├── TransientError*                  transient_error
    │   ├── NetworkError*                network_error           could not connect (kind unknown)
    │   │   ├── NetworkDnsError*         network_dns             name not resolved
    │   │   ├── NetworkTlsError*         network_tls             certificate not trusted (proxy / inspection)
    │   │   ├── NetworkRefusedError*     network_refused         port 443 refused (firewall / proxy)
    │   │   ├── NetworkTimeoutError*     network_timeout         no answer in time
    │   │   └── NetworkResetError*       network_reset           connection cut
    │   ├── ThrottledError*              throttled               429, carries retry_after
    │   ├── ServiceUnavailableError*     service_unavailable     500/502/503/504
    │   └── ResyncRequiredError*         resync_required         delta token expired (410)
    ├── ConflictError*                   conflict                412 stale change key: re-read, retry
    └── NotFoundError                    not_found               the item is gone (404)

``NetworkError(detail, kind=...)`` with a kind of :data:`NETWORK_KINDS` (``dns``, ``tls``, ``refused``,
``timeout``, ``reset``) gives that kind's subclass, so every connector that names the kind gets the
kind's hint; :func:`sfacal.core.classify.classify_network_error` finds the kind in an exception's text.

Ahead-of-time warnings (not exceptions) live in :mod:`sfacal.core.expiry`
(``ExpiringCredentialWarning``, code ``credential_expiring_soon``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar, Self, cast
from urllib.parse import quote, quote_plus

__all__ = [
    "ERROR_TYPES",
    "NETWORK_KINDS",
    "AccessDeniedError",
    "AppNotFoundError",
    "CalendarNotFoundError",
    "CalendarReadOnlyError",
    "CallbackError",
    "CallbackNotConfiguredError",
    "CallbackRateLimitedError",
    "CallbackRejectedError",
    "CallbackUnauthorizedError",
    "CallbackUnavailableError",
    "CallbackUnreachableError",
    "CertificateExpiredError",
    "ClockSkewError",
    "ConfigurationError",
    "ConflictError",
    "CredentialError",
    "InputError",
    "InvalidSignatureError",
    "MailboxError",
    "MailboxNotFoundError",
    "MailboxNotRestEnabledError",
    "MailboxUnresolvedError",
    "NetworkDnsError",
    "NetworkError",
    "NetworkRefusedError",
    "NetworkResetError",
    "NetworkTimeoutError",
    "NetworkTlsError",
    "NotFoundError",
    "PfxUnreadableError",
    "ResyncRequiredError",
    "SecretExpiredError",
    "SecretInvalidError",
    "ServiceUnavailableError",
    "SfacalError",
    "SourceAuthError",
    "SourceError",
    "SourceIdentifierError",
    "SourceRateLimitedError",
    "SourceTenantNotFoundError",
    "TenantNotFoundError",
    "ThrottledError",
    "ThumbprintMismatchError",
    "TransientError",
    "UnknownParticipantError",
    "WriteBackUnsupportedError",
    "error_from_code",
    "log_params",
    "normalize_lang",
    "redact",
]

LANGS = ("ja", "en")
REDACTED = "***"

_RESERVED = frozenset({"detail", "secrets", "upstream_code", "http_status"})
_UNKNOWN = {"ja": "（不明）", "en": "(unknown)"}

# Well-known secret-bearing fragments removed even when the caller did not list the value.
_SECRET_PATTERNS = (
    re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9\-._~+/]+=*"),
    re.compile(
        r"(?i)\b(client_secret|client_assertion|password|passphrase|access_token|refresh_token"
        r"|id_token|api[_-]?key|secret)(\"?\s*[:=]\s*\"?)[^\s\"&,;}]+"
    ),
)


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """Return ``text`` with every secret value replaced by ``***``.

    Each non-empty secret is removed verbatim and in its URL-encoded forms (form bodies, query
    strings). Bearer tokens and ``key=value`` pairs whose key names a secret (``client_secret``,
    ``password``, ``api_key``, ``access_token`` ...) are removed even when not listed.
    """
    values = sorted({s for s in secrets if s}, key=len, reverse=True)
    for value in values:
        for form in {value, quote(value, safe=""), quote_plus(value)}:
            text = text.replace(form, REDACTED)
    text = _SECRET_PATTERNS[0].sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    text = _SECRET_PATTERNS[1].sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)
    return text


def normalize_lang(lang: str | None) -> str:
    """``"en-US"`` -> ``"en"``; anything not supported falls back to Japanese, the default."""
    if not lang:
        return "ja"
    base = lang.strip().lower().replace("_", "-").split("-")[0]
    return base if base in LANGS else "ja"


class _Params(dict[str, str]):
    def __init__(self, values: Mapping[str, str], lang: str) -> None:
        super().__init__(values)
        self._lang = lang

    def __missing__(self, key: str) -> str:
        return _UNKNOWN[self._lang]


class SfacalError(Exception):
    """Base of every sfacal error. Also used for unexpected upstream failures."""

    code: ClassVar[str] = "unexpected_error"
    retryable: ClassVar[bool] = False
    message_ja: ClassVar[str] = "予期しないエラーが発生しました。"
    message_en: ClassVar[str] = "An unexpected error occurred."
    hint_ja: ClassVar[str] = (
        "ログの詳細（エラーコードとリクエストID）を確認してください。再実行しても解消しない場合は、"
        "詳細を添えてシステム管理者にお問い合わせください。"
    )
    hint_en: ClassVar[str] = (
        "Check the log detail (error code and request id). If retrying does not help, contact your "
        "system administrator with that detail."
    )

    def __init__(
        self,
        detail: str = "",
        *,
        secrets: Iterable[str | None] = (),
        upstream_code: str | None = None,
        http_status: int | None = None,
        **params: object,
    ) -> None:
        secret_list = [s for s in secrets if s]
        self.detail: str = redact(str(detail), secret_list)
        self.upstream_code: str | None = upstream_code
        self.http_status: int | None = http_status
        self.params: dict[str, str] = {
            k: redact(str(v), secret_list) for k, v in params.items() if v is not None
        }
        super().__init__(self.detail or self.code)

    def __str__(self) -> str:
        return f"{self.code}: {self.detail}" if self.detail else self.code

    def user_message(self, lang: str = "ja") -> str:
        """One sentence saying what went wrong, in the administrator's language."""
        lang = normalize_lang(lang)
        template = self.message_ja if lang == "ja" else self.message_en
        return template.format_map(_Params(self.params, lang))

    def hint(self, lang: str = "ja") -> str:
        """What to check and where, in the administrator's language."""
        lang = normalize_lang(lang)
        template = self.hint_ja if lang == "ja" else self.hint_en
        return template.format_map(_Params(self.params, lang))

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form for the log; :func:`error_from_code` reverses it."""
        return {
            "code": self.code,
            "retryable": self.retryable,
            "detail": self.detail,
            "params": dict(self.params),
            "upstream_code": self.upstream_code,
            "http_status": self.http_status,
        }

    @classmethod
    def from_params(cls, params: Mapping[str, str], detail: str = "") -> SfacalError:
        """Rebuild an error from its stored ``params`` (see :func:`error_from_code`)."""
        kwargs: dict[str, Any] = {k: v for k, v in params.items() if k not in _RESERVED}
        return cls(detail, **kwargs)


# --------------------------------------------------------------------------------------------
# Configuration: a person must change a setting.


class ConfigurationError(SfacalError):
    code = "configuration_error"
    message_ja = "設定に誤りがあります。"
    message_en = "A setting is wrong."
    hint_ja = "スケジュール連携の基本設定と社員設定を見直し、「登録して接続をテスト」で確認してください。"
    hint_en = 'Review the company sync settings and employee settings, then use "Save and test".'


class CredentialError(ConfigurationError):
    code = "credential_error"
    message_ja = "Microsoft 365 への認証に失敗しました。"
    message_en = "Authentication with Microsoft 365 failed."
    hint_ja = (
        "基本設定の共通認証情報（クライアントID、証明書またはクライアントシークレット、ドメイン名、"
        "トークンエンドポイント）が Azure ポータルの「アプリの登録」と一致しているか確認してください。"
    )
    hint_en = (
        "Check that the shared credentials (client ID, certificate or client secret, domain, token "
        'endpoint) match the app in the Azure portal under "App registrations".'
    )


class AppNotFoundError(CredentialError):
    code = "app_not_found"
    message_ja = "Azure AD にアプリケーションが見つかりません（AADSTS700016 / AADSTS70001）。"
    message_en = "The application was not found in Azure AD (AADSTS700016 / AADSTS70001)."
    hint_ja = (
        "クライアントIDが誤っている可能性があります。Azure ポータル › アプリの登録 › 対象アプリ › 概要の"
        "「アプリケーション (クライアント) ID」をコピーして基本設定のクライアントIDに貼り付け、"
        "トークンエンドポイントのテナントがそのアプリを登録したテナントであることも確認してください。"
    )
    hint_en = (
        "The client ID is probably wrong. Copy the 'Application (client) ID' from Azure portal › App "
        "registrations › your app › Overview into the client ID setting, and check that the token "
        "endpoint names the tenant where the app is registered."
    )


class InvalidSignatureError(CredentialError):
    code = "invalid_signature"
    message_ja = "証明書の署名を Azure AD が受け付けませんでした（AADSTS700027 / AADSTS50012）。"
    message_en = "Azure AD rejected the certificate signature (AADSTS700027 / AADSTS50012)."
    hint_ja = (
        "Azure AD にアップロードした証明書と異なる証明書ファイル（.pfx）を指定している可能性があります。"
        "Azure ポータル › アプリの登録 › 証明書とシークレット › 証明書 の拇印と、アップロードした .pfx の"
        "証明書が同じものか確認し、必要なら .cer を再アップロードしてください。"
    )
    hint_en = (
        "The .pfx file is probably not the certificate uploaded to Azure AD. Compare the thumbprint "
        "under Azure portal › App registrations › Certificates & secrets › Certificates with the "
        ".pfx certificate and upload the matching .cer again if needed."
    )


class PfxUnreadableError(CredentialError):
    code = "pfx_unreadable"
    message_ja = "証明書ファイル（.pfx）を読み込めませんでした。"
    message_en = "The certificate file (.pfx) could not be read."
    hint_ja = (
        "証明書ファイルの形式が違う（PKCS#12 の .pfx ではない）か、証明書ファイルのパスワードが"
        "誤っている可能性があります。秘密キーを含めて .pfx 形式でエクスポートし直し、"
        "エクスポート時に設定したパスワードを入力してください。"
    )
    hint_en = (
        "The file is not a PKCS#12 .pfx, or the password is wrong. Export the certificate again as "
        ".pfx including the private key, and enter the password chosen during the export."
    )


class ThumbprintMismatchError(CredentialError):
    code = "thumbprint_mismatch"
    message_ja = "証明書の拇印が一致しません（AADSTS50064: Credential validation failed）。"
    message_en = "The certificate thumbprint does not match (AADSTS50064: credential validation failed)."
    hint_ja = (
        "拇印が誤っている可能性があります。.pfx の証明書から取得した拇印（base64Thumbprint.txt の内容、"
        "または Azure ポータルの証明書一覧に表示される16進の拇印）を基本設定の拇印に貼り付けてください。"
    )
    hint_en = (
        "The thumbprint is probably wrong. Paste the thumbprint of the .pfx certificate (the "
        "base64Thumbprint.txt content, or the hex thumbprint shown in the Azure portal's "
        "certificate list) into the thumbprint setting."
    )


class TenantNotFoundError(CredentialError):
    code = "tenant_not_found"
    message_ja = "テナントが見つかりません（AADSTS90002）。"
    message_en = "The tenant was not found (AADSTS90002)."
    hint_ja = (
        "OAuth 2.0 トークンエンドポイントが誤っている可能性があります。Azure ポータル › アプリの登録 › "
        "エンドポイント の「OAuth 2.0 トークン エンドポイント」をコピーして貼り付けてください"
        "（例: https://login.microsoftonline.com/<テナントID>/oauth2/v2.0/token）。"
    )
    hint_en = (
        "The OAuth 2.0 token endpoint is probably wrong. Copy 'OAuth 2.0 token endpoint' from Azure "
        "portal › App registrations › Endpoints "
        "(e.g. https://login.microsoftonline.com/<tenant id>/oauth2/v2.0/token)."
    )


class SecretInvalidError(CredentialError):
    code = "secret_invalid"
    message_ja = "クライアントシークレットが正しくありません（AADSTS7000215）。"
    message_en = "The client secret is invalid (AADSTS7000215)."
    hint_ja = (
        "シークレットの「ID」ではなく「値」を入力しているか確認してください。値は作成直後にしか表示されない"
        "ため、分からない場合は Azure ポータル › アプリの登録 › 証明書とシークレット で新しいクライアント"
        "シークレットを作成し、その値を基本設定に登録してください。"
    )
    hint_en = (
        "Check that you entered the secret's Value, not its Secret ID. The value is shown only right "
        "after creation: if unsure, create a new client secret under Azure portal › App registrations "
        "› Certificates & secrets and save its value here."
    )


class SecretExpiredError(CredentialError):
    code = "secret_expired"
    message_ja = "クライアントシークレットの有効期限が切れています（AADSTS7000222）。"
    message_en = "The client secret has expired (AADSTS7000222)."
    hint_ja = (
        "Azure ポータル › アプリの登録 › 証明書とシークレット で新しいクライアントシークレットを作成し、"
        "その値と有効期限を基本設定に登録してください。"
    )
    hint_en = (
        "Create a new client secret under Azure portal › App registrations › Certificates & secrets "
        "and save its value and expiry date in the company settings."
    )


class ClockSkewError(CredentialError):
    code = "clock_skew"
    message_ja = "クライアント アサーションが有効期間外です（AADSTS700024）。サーバーの時刻がずれている可能性があります。"
    message_en = (
        "The client assertion is outside its valid time range (AADSTS700024): the server clock is "
        "probably wrong."
    )
    hint_ja = (
        "証明書認証では、サーバーの時刻で有効期間を付けたアサーションを送ります。サーバーの時刻を確認し、"
        "NTP（chrony、systemd-timesyncd など）で正しい時刻に同期してください（timedatectl で"
        "「System clock synchronized: yes」と表示されること）。仮想マシンではホストとの時刻同期も確認してください。"
    )
    hint_en = (
        "With certificate authentication the assertion carries a validity period taken from the "
        "server clock. Check the server clock and keep it synchronised with NTP (chrony, "
        "systemd-timesyncd; timedatectl should show 'System clock synchronized: yes'). On a virtual "
        "machine also check its time sync with the host."
    )


class CertificateExpiredError(CredentialError):
    code = "certificate_expired"
    message_ja = "証明書の有効期限が切れています（期限: {expires_at}）。"
    message_en = "The certificate has expired (expired: {expires_at})."
    hint_ja = (
        "新しい証明書を作成して .cer を Azure ポータル › アプリの登録 › 証明書とシークレット に"
        "アップロードし、.pfx・パスワード・拇印を基本設定に登録し直してください。"
    )
    hint_en = (
        "Create a new certificate, upload its .cer under Azure portal › App registrations › "
        "Certificates & secrets, then save the new .pfx, password and thumbprint here."
    )


class AccessDeniedError(ConfigurationError):
    code = "access_denied"
    message_ja = "予定表へのアクセスが拒否されました（403 ErrorAccessDenied）。"
    message_en = "Access to the calendar was denied (403 ErrorAccessDenied)."
    hint_ja = (
        "Azure AD アプリケーションにアクセス許可が設定されていない状態です。Azure ポータル › アプリの登録 › "
        "API のアクセス許可 で Microsoft Graph のアプリケーションの許可「Calendars.ReadWrite」を追加し、"
        "「管理者の同意を与えます」を実行してください。Exchange のアプリケーションアクセスポリシーで"
        "対象メールボックスが制限されていないかも確認してください。"
    )
    hint_en = (
        "The app lacks permission. In Azure portal › App registrations › API permissions add the "
        "Microsoft Graph application permission 'Calendars.ReadWrite' and click 'Grant admin "
        "consent'. Also check that no Exchange application access policy excludes this mailbox."
    )


class MailboxError(ConfigurationError):
    code = "mailbox_error"
    message_ja = "メールボックス {mailbox} を利用できません。"
    message_en = "The mailbox {mailbox} cannot be used."
    hint_ja = "社員設定（または個人オプション設定）の連携ユーザーIDと連携先カレンダーを確認してください。"
    hint_en = "Check the employee's mailbox user ID and target calendar in the employee settings."


class MailboxNotFoundError(MailboxError):
    code = "mailbox_not_found"
    message_ja = (
        "メールボックス {mailbox} が存在しません（The SMTP address has no mailbox associated with it.）。"
    )
    message_en = "The mailbox {mailbox} does not exist (The SMTP address has no mailbox associated with it.)."
    hint_ja = (
        "ユーザーIDが誤っている可能性があります。社員設定、または個人オプション設定のスケジュール連携設定で"
        "連携ユーザーID（「社員ログインID@ドメイン名」を使う場合は基本設定のドメイン名）を確認し、"
        "Microsoft 365 管理センターでそのユーザーに Exchange Online のライセンスがあるか確認してください。"
    )
    hint_en = (
        "The user ID is probably wrong. Check the mailbox user ID in the employee settings or the "
        "personal sync settings (with 'login ID @ domain', the domain in the company settings), and "
        "check in the Microsoft 365 admin center that the user has an Exchange Online licence."
    )


class MailboxNotRestEnabledError(MailboxError):
    code = "mailbox_not_rest_enabled"
    message_ja = "メールボックス {mailbox} は REST API に対応していません（MailboxNotEnabledForRESTAPI）。"
    message_en = "The mailbox {mailbox} is not enabled for the REST API (MailboxNotEnabledForRESTAPI)."
    hint_ja = (
        "オンプレミスの Exchange にあるメールボックス、非アクティブ・共有・ライセンスのないメールボックスは"
        "連携できません。Microsoft 365 管理センターでユーザーに Exchange Online のライセンスを割り当て、"
        "メールボックスが Exchange Online にあることを確認してください。"
    )
    hint_en = (
        "Mailboxes hosted on-premises, inactive, or without a licence cannot be used. Assign an "
        "Exchange Online licence in the Microsoft 365 admin center and make sure the mailbox lives in "
        "Exchange Online."
    )


class CalendarNotFoundError(MailboxError):
    code = "calendar_not_found"
    message_ja = "メールボックス {mailbox} に予定表「{calendar}」がありません。"
    message_en = 'The mailbox {mailbox} has no calendar named "{calendar}".'
    hint_ja = (
        "連携先カレンダーの名前を確認してください。Outlook で予定表の名前が変更・削除されていないか確認し、"
        "社員設定（または個人オプション設定）で連携先カレンダーを選び直してください。"
        "空欄にすると既定の予定表に連携します。"
    )
    hint_en = (
        "Check the target calendar name: it may have been renamed or deleted in Outlook. Choose the "
        "target calendar again in the employee (or personal) settings; leave it empty to use the "
        "default calendar."
    )


class CalendarReadOnlyError(MailboxError):
    code = "calendar_read_only"
    message_ja = "メールボックス {mailbox} の予定表「{calendar}」は編集できません（canEdit: false）。"
    message_en = 'The calendar "{calendar}" of the mailbox {mailbox} cannot be edited (canEdit: false).'
    hint_ja = (
        "他の人から共有された予定表や祝日・誕生日の予定表など、編集できない予定表が連携先に選ばれています。"
        "社員設定（または個人オプション設定）で編集できる予定表を選び直すか（空欄にすると既定の予定表）、"
        "予定表の所有者にこのメールボックスへの編集権限を付与してもらってください。"
    )
    hint_en = (
        "The target is a calendar that cannot be edited (a calendar shared by someone else, a "
        "holiday or birthday calendar). Choose an editable calendar in the employee (or personal) "
        "settings (empty = the default calendar), or have the calendar's owner give this mailbox "
        "edit rights."
    )


class UnknownParticipantError(ConfigurationError):
    """A participant of a schedule has no employee (kept; synced once the employee exists)."""

    code = "unknown_participant"
    message_ja = "スケジュールの参加者「{login_id}」に該当する社員が登録されていません。"
    message_en = 'No employee with login ID "{login_id}" is registered for a participant of the schedule.'
    hint_ja = (
        "社員一覧に社員ログインIDが一致する社員を登録してください（JUST.SFA 連携ではユーザー対応表に"
        "JUST.SFA ユーザーIDと Outlook メールアドレスを登録）。登録後、保存済みのスケジュールが連携されます。"
    )
    hint_en = (
        "Register an employee with this login ID (for JUST.SFA, add the JUST.SFA user ID and the "
        "Outlook mail address to the user mapping). The stored schedules are synced once it exists."
    )


class MailboxUnresolvedError(ConfigurationError):
    """E2: neither an explicit user ID nor "login ID @ domain" gives the employee's mailbox."""

    code = "mailbox_unresolved"
    message_ja = "社員「{login_id}」の連携ユーザーIDを決定できません。"
    message_en = 'The mailbox user ID of employee "{login_id}" cannot be determined.'
    hint_ja = (
        "社員設定で連携ユーザーIDを入力するか、「社員ログインID@ドメイン名」を使う場合は基本設定の"
        "ドメイン名を入力してください。"
    )
    hint_en = (
        "Enter the mailbox user ID in the employee settings, or, with 'login ID @ domain', enter "
        "the domain name in the company settings."
    )


# --------------------------------------------------------------------------------------------
# SFA side.


class SourceError(SfacalError):
    code = "source_error"
    message_ja = "SFA（{source}）との連携でエラーが発生しました。"
    message_en = "An error occurred with the SFA ({source})."
    hint_ja = (
        "SFA 連携設定（テナント、APIキー、各識別名）を確認し、「登録して接続をテスト」を実行してください。"
    )
    hint_en = 'Check the SFA settings (tenant, API key, identifiers) and use "Save and test".'


class SourceAuthError(SourceError, ConfigurationError):
    code = "source_auth_failed"
    message_ja = "SFA（{source}）が APIキーを受け付けませんでした。"
    message_en = "The SFA ({source}) rejected the API key."
    hint_ja = (
        "JUST.SFA の 設定 › API-Key で発行した APIキーを、余分な空白を含めずに貼り付けてください。"
        "APIキーが削除・再発行されていないか、対象テーブルへのアクセス権があるかも確認してください。"
    )
    hint_en = (
        "Paste the API key issued under JUST.SFA Settings › API-Key, without extra spaces. Check that "
        "it was not deleted or reissued and that it may access the table."
    )


class SourceIdentifierError(SourceError, ConfigurationError):
    code = "source_identifier_invalid"
    message_ja = "SFA（{source}）の識別名「{identifier}」（{field}）が見つかりません。"
    message_en = 'The SFA ({source}) does not know the identifier "{identifier}" ({field}).'
    hint_ja = (
        "{field} の識別名を確認してください。JUST.SFA の データベース設定 › 対象テーブル で各識別名"
        "（table_…、panel_…、field_…、filter_…）を確認し、表示名ではなく識別名をコピーしてください。"
    )
    hint_en = (
        "Check the {field} identifier. In JUST.SFA database settings › the table, copy the identifier "
        "(table_…, panel_…, field_…, filter_…), not the display name."
    )


class SourceTenantNotFoundError(SourceError, ConfigurationError):
    code = "source_tenant_not_found"
    message_ja = "SFA のテナント {tenant} が見つかりません。"
    message_en = "The SFA tenant {tenant} was not found."
    hint_ja = "JUST.SFA にログインする URL（例: https://TENANT.justsfa.com）をテナントに入力してください。"
    hint_en = "Enter the URL you use to sign in to JUST.SFA (e.g. https://TENANT.justsfa.com) as the tenant."


# --------------------------------------------------------------------------------------------
# Input.


class InputError(SfacalError, ValueError):
    """Bad input. Always names the field; the message says what is wrong with it."""

    code = "input_invalid"
    message_ja = "入力内容に誤りがあります（{field}）: {reason_ja}"
    message_en = "Invalid input ({field}): {reason}"
    hint_ja = "「{field}」の値を確認して、もう一度送信してください。"
    hint_en = 'Correct the value of "{field}" and send it again.'

    def __init__(
        self,
        field: str,
        reason: str,
        *,
        reason_ja: str | None = None,
        detail: str = "",
        **params: Any,
    ) -> None:
        params.pop("reason", None)
        params.pop("reason_ja", None)
        super().__init__(
            detail or f"{field}: {reason}",
            field=field,
            reason=reason,
            reason_ja=reason_ja or reason,
            **params,
        )
        self.field = field

    @classmethod
    def from_params(cls, params: Mapping[str, str], detail: str = "") -> SfacalError:
        rest: dict[str, Any] = {
            k: v
            for k, v in params.items()
            if k not in ("field", "reason", "reason_ja") and k not in _RESERVED
        }
        return cls(
            params.get("field", "?"),
            params.get("reason", ""),
            reason_ja=params.get("reason_ja"),
            detail=detail,
            **rest,
        )


# --------------------------------------------------------------------------------------------
# Transient: the engine retries with backoff.


class TransientError(SfacalError):
    code = "transient_error"
    retryable = True
    message_ja = "一時的なエラーが発生しました。自動的に再試行します。"
    message_en = "A temporary error occurred. It will be retried automatically."
    hint_ja = (
        "対処は不要です。長く続く場合はネットワークと Microsoft 365 のサービス正常性を確認してください。"
    )
    hint_en = "No action needed. If it persists, check the network and the Microsoft 365 service health."


class NetworkError(TransientError):
    code = "network_error"
    message_ja = "{host} に接続できません（DNS・TLS・接続拒否など）。"
    message_en = "Cannot connect to {host} (DNS, TLS or connection refused)."
    hint_ja = (
        "サーバーからポート 443 で https://login.microsoftonline.com と https://graph.microsoft.com"
        "（JUST.SFA 連携では https://TENANT.justsfa.com）に接続できる必要があります。DNS の名前解決、"
        "ファイアウォール、プロキシ設定（HTTPS_PROXY）、TLS を検査する機器の証明書を、社内の担当者"
        "またはネットワーク業者に確認してください。"
    )
    hint_en = (
        "The server must reach https://login.microsoftonline.com and https://graph.microsoft.com "
        "(and https://TENANT.justsfa.com for JUST.SFA) on port 443. Check DNS, the firewall, the proxy "
        "setting (HTTPS_PROXY) and any TLS-inspecting device's certificate with your network team."
    )

    def __new__(cls, *args: Any, **kwargs: Any) -> Self:
        # NetworkError(..., kind="tls") is the kind's subclass (its own code and hint).
        target: type[Self] = cls
        if cls is NetworkError:
            found = NETWORK_KINDS.get(str(kwargs.get("kind") or ""))
            if found is not None:
                target = cast("type[Self]", found)
        return super().__new__(target, *args, **kwargs)


class NetworkDnsError(NetworkError):
    code = "network_dns"
    message_ja = "{host} の名前を解決できません（DNS）。"
    message_en = "The name {host} cannot be resolved (DNS)."
    hint_ja = (
        "サーバーの DNS 設定で {host} を名前解決できるか確認してください。社内の DNS が外部の名前を"
        "解決しない環境では、プロキシ（HTTPS_PROXY）を設定してください。JUST.SFA 連携ではテナントの"
        "綴りも確認してください。"
    )
    hint_en = (
        "Check that the server's DNS settings resolve {host}. Where the internal DNS does not resolve "
        "outside names, set the proxy (HTTPS_PROXY). For JUST.SFA also check the tenant's spelling."
    )


class NetworkTlsError(NetworkError):
    code = "network_tls"
    message_ja = "{host} の TLS 証明書を検証できません。"
    message_en = "The TLS certificate of {host} could not be verified."
    hint_ja = (
        "プロキシや通信を検査する機器（SSL インスペクション）が証明書を差し替えている可能性があります。"
        "その機器のルート証明書を含む PEM ファイルを用意して環境変数 SFACAL_CA_BUNDLE にそのパスを設定し、"
        "サービスを再起動してください（または {host} を検査の対象外にしてください）。"
        "サーバーの時刻が正しいかも確認してください。"
    )
    hint_en = (
        "A proxy or an inspection appliance probably replaces the TLS certificates. Put its root "
        "certificate in a PEM file, set the CA bundle (environment variable SFACAL_CA_BUNDLE) to that "
        "file and restart the service (or exclude {host} from inspection). Also check the server clock."
    )


class NetworkRefusedError(NetworkError):
    code = "network_refused"
    message_ja = "{host} への接続が拒否されました。"
    message_en = "The connection to {host} was refused."
    hint_ja = (
        "ファイアウォールまたはプロキシが外向きの通信（ポート 443）を遮断している可能性があります。"
        "サーバーから {host} へのポート 443 の通信を許可するか、プロキシを経由する場合は HTTPS_PROXY を"
        "設定してください。"
    )
    hint_en = (
        "A firewall or proxy probably blocks outgoing traffic (port 443). Allow port 443 from the "
        "server to {host}, or set HTTPS_PROXY when traffic must go through a proxy."
    )


class NetworkTimeoutError(NetworkError):
    code = "network_timeout"
    message_ja = "{host} から時間内に応答がありません（タイムアウト）。"
    message_en = "{host} did not answer in time (timeout)."
    hint_ja = (
        "自動的に再試行します。続く場合は、ファイアウォールが通信を破棄していないか、プロキシ"
        "（HTTPS_PROXY）の設定、回線の混雑を確認してください。"
    )
    hint_en = (
        "It is retried automatically. If it continues, check whether a firewall silently drops the "
        "traffic, the proxy setting (HTTPS_PROXY) and the line's load."
    )


class NetworkResetError(NetworkError):
    code = "network_reset"
    message_ja = "{host} との接続が途中で切断されました。"
    message_en = "The connection to {host} was cut off."
    hint_ja = (
        "自動的に再試行します。続く場合は、プロキシや通信を検査する機器が接続を切断していないか確認し、"
        "必要なら {host} を検査の対象外にしてください。"
    )
    hint_en = (
        "It is retried automatically. If it continues, check whether a proxy or an inspection "
        "appliance cuts the connection, and exclude {host} from inspection if needed."
    )


NETWORK_KINDS: dict[str, type[NetworkError]] = {
    "dns": NetworkDnsError,
    "tls": NetworkTlsError,
    "refused": NetworkRefusedError,
    "timeout": NetworkTimeoutError,
    "reset": NetworkResetError,
}
"""``NetworkError(kind=...)``: the subclass of each kind of connection failure."""


class ThrottledError(TransientError):
    code = "throttled"
    message_ja = "Microsoft 365 の要求数制限に達しました（429）。{retry_after_ja}"
    message_en = "Microsoft 365 throttled the requests (429). {retry_after_en}"
    hint_ja = (
        "対処は不要です。指定された待ち時間の後に自動的に再試行します。頻発する場合は、同じアプリを使う"
        "他のツールが同じメールボックスに大量の要求を送っていないか、一括同期の時間帯を確認してください。"
    )
    hint_en = (
        "No action needed: requests are retried after the requested wait. If it happens often, check "
        "whether other tools using the same app send many requests to the same mailboxes, and when "
        "bulk syncs run."
    )

    def __init__(self, detail: str = "", *, retry_after: float | None = None, **kwargs: Any) -> None:
        kwargs.pop("retry_after_ja", None)
        kwargs.pop("retry_after_en", None)
        if retry_after is not None:
            retry_after = max(0.0, float(retry_after))
            wait_ja = f"{retry_after:g} 秒後に再試行します。"
            wait_en = f"Retrying in {retry_after:g} s."
            kwargs["retry_after"] = f"{retry_after:g}"
        else:
            wait_ja = "しばらく待ってから再試行します。"
            wait_en = "Retrying after a pause."
        super().__init__(detail, retry_after_ja=wait_ja, retry_after_en=wait_en, **kwargs)
        self.retry_after: float | None = retry_after

    @classmethod
    def from_params(cls, params: Mapping[str, str], detail: str = "") -> SfacalError:
        rest: dict[str, Any] = {k: v for k, v in params.items() if k != "retry_after" and k not in _RESERVED}
        raw = params.get("retry_after")
        try:
            retry_after = float(raw) if raw is not None else None
        except ValueError:
            retry_after = None
        return cls(detail, retry_after=retry_after, **rest)


class SourceRateLimitedError(SourceError, ThrottledError):
    code = "source_rate_limited"
    message_ja = "SFA（{source}）の API 要求数の上限に達しました。{retry_after_ja}"
    message_en = "The SFA ({source}) API request limit was reached. {retry_after_en}"
    hint_ja = (
        "対処は不要です。上限が回復した後に自動的に再試行します。頻発する場合は、JUST.SFA の Webhook で"
        "レコード全体を送信する設定にすると API 呼び出しを減らせます。SFA 連携設定の1分・1日あたりの"
        "上限値が契約内容と合っているかも確認してください。"
    )
    hint_en = (
        "No action needed: it is retried once the budget recovers. If frequent, let the JUST.SFA "
        "webhook send whole records (fewer API calls) and check that the per-minute and per-day limits "
        "in the SFA settings match your contract."
    )


class ServiceUnavailableError(TransientError):
    code = "service_unavailable"
    message_ja = "サービスが一時的に利用できません（{status}）。"
    message_en = "The service is temporarily unavailable ({status})."
    hint_ja = "対処は不要です。自動的に再試行します。長く続く場合は Microsoft 365 管理センターのサービス正常性を確認してください。"
    hint_en = "No action needed; it is retried. If it lasts, check Service health in the Microsoft 365 admin center."


class ResyncRequiredError(TransientError):
    code = "resync_required"
    message_ja = "変更の追跡情報が失効したため、予定表を再同期します。"
    message_en = "The change-tracking token expired; the calendar will be re-read."
    hint_ja = "対処は不要です。次回の同期で予定表全体を読み直します。"
    hint_en = "No action needed; the next sync reads the whole calendar again."


# --------------------------------------------------------------------------------------------
# Push write-back callbacks (T1): the receiver behind the push connection's callback URL.


class WriteBackUnsupportedError(ConfigurationError):
    """The record's source cannot take write-backs (a CSV import, a push connection without a
    callback URL, a connection switched off or removed)."""

    code = "write_back_unsupported"
    message_ja = "連携元「{source}」には予定表での変更を書き戻せません。SFA の内容に戻しました。"
    message_en = (
        'Calendar edits cannot be written back to the source "{source}"; the SFA version was restored.'
    )
    hint_ja = (
        "双方向連携では、JUST.SFA 接続（有効）か、書き戻し先 URL を設定したプッシュ API 接続が必要です。"
        "書き戻さない運用なら、基本設定の連携方向を「片方向」にしてください。"
    )
    hint_en = (
        "Two-way sync needs an enabled JUST.SFA connection, or a push connection with a write-back "
        "callback URL. If edits should not be written back, set the direction to one-way."
    )


class CallbackError(SourceError):
    code = "callback_error"
    message_ja = "書き戻し先 URL（{host}）への書き戻しに失敗しました。"
    message_en = "The write-back to the callback URL ({host}) failed."
    hint_ja = (
        "接続設定 › プッシュ API の書き戻し先 URL と署名シークレットを確認し、「テスト」で受信側に届くことを"
        "確認してください。受信側のログも確認してください。"
    )
    hint_en = (
        'Check the callback URL and signing secret under Connections › Push API and use "Test" to '
        "see that the receiver gets it. Also check the receiver's log."
    )


class CallbackNotConfiguredError(CallbackError, ConfigurationError):
    code = "callback_not_configured"
    message_ja = "プッシュ API 接続に書き戻し先 URL が設定されていません。"
    message_en = "No write-back callback URL is set for the push connection."
    hint_ja = (
        "接続設定 › プッシュ API で書き戻し先 URL と署名シークレットを登録し、「テスト」で受信側に届くことを"
        "確認してください。書き戻さない運用なら、基本設定の連携方向を「片方向」にしてください。"
    )
    hint_en = (
        'Enter the callback URL and signing secret under Connections › Push API and use "Test" to '
        "see that the receiver gets it. If edits should not be written back, set the direction to "
        "one-way in the company settings."
    )


class CallbackRejectedError(CallbackError, ConfigurationError):
    code = "callback_rejected"
    message_ja = "書き戻し先 URL（{host}）が書き戻しを受け付けませんでした（{status}）。"
    message_en = "The callback URL ({host}) refused the write-back ({status})."
    hint_ja = (
        "書き戻し先 URL（パスを含む）が正しいか、リダイレクトされない最終的な URL を登録しているかを"
        "確認してください。受け付けない理由は受信側のログで確認してください（本文は JSON、"
        "イベントは X-Sfacal-Event ヘッダー）。"
    )
    hint_en = (
        "Check that the callback URL (with its path) is right and is the final URL (redirects are "
        "not followed). See the receiver's log for why it refused (the body is JSON; the event is "
        "in the X-Sfacal-Event header)."
    )


class CallbackUnauthorizedError(CallbackRejectedError):
    code = "callback_unauthorized"
    message_ja = "書き戻し先 URL（{host}）が署名または認証を拒否しました（{status}）。"
    message_en = "The callback URL ({host}) refused the signature or authentication ({status})."
    hint_ja = (
        "受信側が X-Sfacal-Signature の検証に使うシークレットと、接続設定 › プッシュ API の署名シークレットが"
        "同じか確認してください（不明な場合は新しい値に置き換えて両方に設定してください）。受信側は"
        "X-Sfacal-Timestamp が5分以内であることも確かめるため、双方のサーバーの時刻も確認してください。"
    )
    hint_en = (
        "Check that the secret the receiver uses to verify X-Sfacal-Signature is the signing secret "
        "under Connections › Push API (if unsure, replace it with a new value on both sides). The "
        "receiver also checks that X-Sfacal-Timestamp is within 5 minutes: check both servers' clocks."
    )


class CallbackUnreachableError(CallbackError, NetworkError):
    code = "callback_unreachable"
    message_ja = "書き戻し先 URL（{host}）に接続できません。"
    message_en = "Cannot connect to the callback URL ({host})."
    hint_ja = (
        "自動的に再試行します。続く場合は、書き戻し先 URL のホスト名とポート、受信側のサーバーが"
        "起動しているか、sfacal のサーバーからその URL に接続できるか（ファイアウォール、プロキシ、"
        "TLS 証明書）を確認してください。"
    )
    hint_en = (
        "It is retried automatically. If it continues, check the callback URL's host name and port, "
        "that the receiving server is running, and that the sfacal server can reach it (firewall, "
        "proxy, TLS certificate)."
    )


class CallbackUnavailableError(CallbackError, ServiceUnavailableError):
    code = "callback_unavailable"
    message_ja = "書き戻し先 URL（{host}）が一時的なエラーを返しました（{status}）。"
    message_en = "The callback URL ({host}) answered with a temporary error ({status})."
    hint_ja = "自動的に再試行します。続く場合は、受信側のアプリケーションのログで原因を確認してください。"
    hint_en = "It is retried automatically. If it continues, check the receiving application's log."


class CallbackRateLimitedError(CallbackError, ThrottledError):
    code = "callback_rate_limited"
    message_ja = "書き戻し先 URL（{host}）が要求数の制限を返しました（429）。{retry_after_ja}"
    message_en = "The callback URL ({host}) limited the requests (429). {retry_after_en}"
    hint_ja = (
        "対処は不要です。待ち時間の後に自動的に再試行します。頻発する場合は受信側の制限値を確認してください。"
    )
    hint_en = "No action needed: it is retried after the wait. If frequent, check the receiver's rate limit."


class ConflictError(SfacalError):
    code = "conflict"
    retryable = True
    message_ja = "予定が同時に更新されました（412 変更キーの不一致）。"
    message_en = "The event was changed concurrently (412 stale change key)."
    hint_ja = "対処は不要です。最新の内容を読み直して再試行します（SFA の内容が優先されます）。"
    hint_en = "No action needed; the latest version is re-read and the change retried (the SFA wins)."


class NotFoundError(SfacalError):
    code = "not_found"
    message_ja = "対象の予定が見つかりません（404）。"
    message_en = "The item was not found (404)."
    hint_ja = (
        "予定表で予定が削除された可能性があります。次回の SFA 側の変更で予定を作り直します。"
        "繰り返し発生する場合は連携先カレンダーの設定を確認してください。"
    )
    hint_en = (
        "The event was probably deleted in the calendar; it is re-created at the schedule's next SFA "
        "change. If it repeats, check the target calendar setting."
    )


def _all_subclasses(cls: type[SfacalError]) -> list[type[SfacalError]]:
    out: list[type[SfacalError]] = [cls]
    for sub in cls.__subclasses__():
        for found in _all_subclasses(sub):
            if found not in out:
                out.append(found)
    return out


ERROR_TYPES: dict[str, type[SfacalError]] = {cls.code: cls for cls in _all_subclasses(SfacalError)}
"""Every error class by its stable ``code``."""


def error_from_code(code: str, params: Mapping[str, str] | None = None, detail: str = "") -> SfacalError:
    """Re-hydrate an error stored in the log; an unknown code gives the generic error."""
    cls = ERROR_TYPES.get(code, SfacalError)
    return cls.from_params(params or {}, detail)


LOG_PARAM_MAX = 500
"""The longest parameter value :func:`log_params` keeps (a log line stays small)."""


def log_params(params: SfacalError | Mapping[str, object] | None) -> dict[str, str]:
    """An error's ``params`` as stored with a log line, for :func:`error_from_code` to re-hydrate.

    JSON-safe (string keys and values, ``None`` dropped), without the reserved keys, each value
    passed through :func:`redact` once more (a secret-looking ``key=value`` or bearer token never
    reaches the log even when the raiser forgot to list the secret) and cut to
    :data:`LOG_PARAM_MAX` characters.
    """
    if params is None:
        return {}
    values = params.params if isinstance(params, SfacalError) else params
    return {
        str(key): redact(str(value))[:LOG_PARAM_MAX]
        for key, value in values.items()
        if value is not None and str(key) not in _RESERVED
    }
