"""Errors only a CalDAV server gives (the CalDAV connector, ``sfacal.calendars.caldav``)."""

from __future__ import annotations

from .configuration import ConfigurationError, CredentialError

__all__ = ["CalDavAuthError", "CalDavForbiddenError", "CalDavNotConfiguredError"]


class CalDavAuthError(CredentialError):
    code = "caldav_auth_failed"
    message_ja = "CalDAV サーバー {host} がユーザー名またはパスワードを受け付けませんでした（401）。"
    message_en = "The CalDAV server {host} did not accept the user name or password (401)."
    hint_ja = (
        "設定 › CalDAV で、サーバーの URL・ユーザー名・パスワード（社員ごとのアカウントを使う場合は"
        "社員の CalDAV アカウント）を確認してください。アプリ専用パスワードが必要なサーバーでは、"
        "通常のパスワードではなくアプリパスワードを入力してください。"
    )
    hint_en = (
        "In Settings › CalDAV check the server URL, user name and password (or the employee's own "
        "CalDAV account). Servers that need an app password do not take the normal password."
    )


class CalDavForbiddenError(ConfigurationError):
    code = "caldav_forbidden"
    message_ja = "CalDAV サーバー {host} が {mailbox} の予定表への書き込みを許可していません（403）。"
    message_en = "The CalDAV server {host} does not allow writing to the calendars of {mailbox} (403)."
    hint_ja = (
        "サービスアカウントを使う場合は、そのアカウントに社員の予定表の読み書き権限（委任・共有）を"
        "与えてください。予定表ホームのパターン（設定 › CalDAV）が正しいパスを指しているかも確認してください。"
    )
    hint_en = (
        "With a service account, give it read-write access (delegation or sharing) to the employee's "
        "calendars, and check that the calendar home pattern (Settings › CalDAV) names the right path."
    )


class CalDavNotConfiguredError(ConfigurationError):
    code = "caldav_not_configured"
    message_ja = "CalDAV サーバーが設定されていません。"
    message_en = "No CalDAV server is set up."
    hint_ja = (
        "CalDAV 画面でサーバーの URL とアカウント（ユーザー名・パスワード）を入力し、「保存してテスト」で"
        "確認してください。社員ごとのアカウントを使う場合は、社員の画面の「個別の CalDAV アカウント」を入力してください。"
    )
    hint_en = (
        "Enter the server URL and the account (user name, password) on the CalDAV screen and use "
        "“Save and test”; for an employee's own account, fill in “Own CalDAV account” on the employee's page."
    )
