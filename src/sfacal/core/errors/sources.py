"""Errors of the SFA side: source connections, their rate limits and push write-back callbacks."""

from __future__ import annotations

from .base import SfacalError
from .configuration import ConfigurationError
from .transient import NetworkError, ServiceUnavailableError, ThrottledError

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


class WriteBackUnprovenError(WriteBackUnsupportedError):
    """A JUST.SFA connection whose write-back has not passed the write-back test with its current
    tenant, table and update form: nothing is sent to JUST.SFA."""

    code = "write_back_unproven"
    message_ja = "JUST.SFA への書き戻しはまだ確認されていないため、予定表での変更を書き戻しませんでした。SFA の内容に戻しました。"
    message_en = (
        "JUST.SFA write-back has not been proven yet, so the calendar edit was not written back; "
        "the SFA version was restored."
    )
    hint_ja = (
        "接続設定 › JUST.SFA の「書き戻しテスト」で、実在するレコードを1件指定してテストし、成功させてください"
        "（テナント・データテーブル・書き戻しのレコード指定方法を変えたときは再テストが必要です）。"
    )
    hint_en = (
        "On Connections › JUST.SFA run the write-back test with an existing record until it passes "
        "(run it again after changing the tenant, the data table or the update form)."
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
        "TLS 証明書）を確認してください。受信側が社内 CA の証明書を使っている場合は、その CA の"
        "証明書を含む PEM ファイルを環境変数 SFACAL_CA_BUNDLE に設定し、サービスを再起動してください。"
    )
    hint_en = (
        "It is retried automatically. If it continues, check the callback URL's host name and port, "
        "that the receiving server is running, and that the sfacal server can reach it (firewall, "
        "proxy, TLS certificate). If the receiver's certificate comes from an internal CA, put that "
        "CA's certificate in a PEM file, set the CA bundle (environment variable SFACAL_CA_BUNDLE) "
        "to that file and restart the service."
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
