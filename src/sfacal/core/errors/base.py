"""The base of the error tree: :class:`SfacalError`, secret redaction, languages, log parameters."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar
from urllib.parse import quote, quote_plus

LANGS = ("ja", "en")
REDACTED = "***"

RESERVED_PARAMS = frozenset({"detail", "secrets", "upstream_code", "http_status"})
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
        kwargs: dict[str, Any] = {k: v for k, v in params.items() if k not in RESERVED_PARAMS}
        return cls(detail, **kwargs)


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
        if value is not None and str(key) not in RESERVED_PARAMS
    }
