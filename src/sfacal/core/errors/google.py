"""Errors particular to Google Workspace (service account with domain-wide delegation), each with
what a Workspace administrator checks and where (L2)."""

from __future__ import annotations

from .configuration import ConfigurationError, CredentialError, MailboxError
from .transient import ThrottledError

__all__ = [
    "GoogleApiDisabledError",
    "GoogleDelegationMissingError",
    "GoogleKeyInvalidError",
    "GoogleThrottledError",
    "GoogleUserNotFoundError",
]


class GoogleKeyInvalidError(CredentialError):
    code = "google_key_invalid"
    message_ja = "サービスアカウントの鍵が使えません（{reason}）。"
    message_en = "The service account key cannot be used ({reason})."
    hint_ja = (
        "Google Cloud コンソール › IAM と管理 › サービスアカウント › 鍵 で JSON 形式の鍵を作成し直し、"
        "ダウンロードした JSON ファイルの中身をそのまま会社設定に貼り付けてください。鍵が削除・無効化"
        "されていないこと、サーバーの時刻が正しいこと（NTP）も確認してください。"
    )
    hint_en = (
        "Create a new JSON key under Google Cloud console › IAM & Admin › Service accounts › Keys and "
        "paste the downloaded file's content unchanged into the company settings. Also check that "
        "the key was not deleted or disabled and that the server clock is right (NTP)."
    )


class GoogleDelegationMissingError(CredentialError):
    code = "google_delegation_missing"
    message_ja = "ドメイン全体の委任が許可されていません（unauthorized_client）。"
    message_en = "Domain-wide delegation is not granted (unauthorized_client)."
    hint_ja = (
        "Google 管理コンソール › セキュリティ › アクセスとデータ管理 › API の制御 › ドメイン全体の委任 で、"
        "サービスアカウントのクライアント ID（{client_id}）に次のスコープを追加してください: "
        "https://www.googleapis.com/auth/calendar.events, "
        "https://www.googleapis.com/auth/calendar.calendarlist.readonly 。反映まで数分かかることがあります。"
    )
    hint_en = (
        "In the Google Admin console › Security › Access and data control › API controls › "
        "Domain-wide delegation, add the service account's client ID ({client_id}) with the scopes "
        "https://www.googleapis.com/auth/calendar.events and "
        "https://www.googleapis.com/auth/calendar.calendarlist.readonly. It can take a few minutes to apply."
    )


class GoogleApiDisabledError(ConfigurationError):
    code = "google_api_disabled"
    message_ja = "Google Calendar API が有効になっていません（プロジェクト {project}）。"
    message_en = "The Google Calendar API is not enabled (project {project})."
    hint_ja = (
        "Google Cloud コンソールでサービスアカウントのプロジェクトを選び、API とサービス › ライブラリ で"
        "「Google Calendar API」を有効にしてください。有効にしてから数分後に再試行してください。"
    )
    hint_en = (
        "In the Google Cloud console select the service account's project and enable 'Google Calendar "
        "API' under APIs & Services › Library. Retry a few minutes after enabling it."
    )


class GoogleUserNotFoundError(MailboxError):
    code = "google_user_not_found"
    message_ja = "Google Workspace のユーザー {mailbox} が見つかりません（Invalid email or User ID）。"
    message_en = "The Google Workspace user {mailbox} was not found (Invalid email or User ID)."
    hint_ja = (
        "社員設定（または個人オプション設定）の連携ユーザーID（「社員ログインID@ドメイン名」を使う場合は"
        "基本設定のドメイン名）を確認し、Google 管理コンソール › ユーザー でそのユーザーが存在し、"
        "停止されていないことを確認してください。"
    )
    hint_en = (
        "Check the user ID in the employee (or personal) settings (with 'login ID @ domain', the "
        "domain in the company settings), and check in the Google Admin console › Users that the "
        "user exists and is not suspended."
    )


class GoogleThrottledError(ThrottledError):
    code = "google_throttled"
    message_ja = "Google カレンダーの要求数の上限に達しました（403/429 rateLimitExceeded）。{retry_after_ja}"
    message_en = "Google Calendar's request quota was reached (403/429 rateLimitExceeded). {retry_after_en}"
    hint_ja = (
        "対処は不要です。待ってから自動的に再試行します。頻発する場合は、Google Cloud コンソール › "
        "API とサービス › Google Calendar API › 割り当て でプロジェクトとユーザーごとの上限を確認し、"
        "同じサービスアカウントを使う他のツールがないか確認してください。"
    )
    hint_en = (
        "No action needed: requests are retried after a pause. If it happens often, check the "
        "per-project and per-user quotas under Google Cloud console › APIs & Services › Google "
        "Calendar API › Quotas, and whether other tools use the same service account."
    )
