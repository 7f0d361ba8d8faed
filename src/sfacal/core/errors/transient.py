"""Transient errors: the same operation may succeed later (network, throttling, outages)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, cast

from .base import RESERVED_PARAMS, SfacalError

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
        rest: dict[str, Any] = {
            k: v for k, v in params.items() if k != "retry_after" and k not in RESERVED_PARAMS
        }
        raw = params.get("retry_after")
        try:
            retry_after = float(raw) if raw is not None else None
        except ValueError:
            retry_after = None
        return cls(detail, retry_after=retry_after, **rest)


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
