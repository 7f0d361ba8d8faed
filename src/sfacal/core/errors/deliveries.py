"""Deliveries refused at the door: what the JUST.SFA webhook answered a request it did not take.

The webhook writes a refused delivery to the company's sync log with the code it answered
(``unauthorized``, ``body_too_large`` ...) and the reason as the line's detail (the header or
setting it concerns). These classes give those codes their message and hint, so the log screen
explains the refusal instead of showing an unexpected error.
"""

from __future__ import annotations

from .base import SfacalError
from .configuration import ConfigurationError


class DeliveryRefusedError(SfacalError):
    """A delivery the door refused; the sender was told why (HTTP 4xx with a JSON error)."""

    code = "delivery_refused"
    message_ja = "SFA からの通知を受け付けませんでした。"
    message_en = "A notification from the SFA was refused."
    hint_ja = "ログの詳細に拒否した理由があります。SFA 側の Webhook 設定と送信内容を確認してください。"
    hint_en = "The log detail says why. Check the SFA's webhook settings and what it sends."


class DeliveryUnauthorizedError(DeliveryRefusedError, ConfigurationError):
    code = "unauthorized"
    message_ja = "JUST.SFA からの通知を拒否しました：認証用のリクエストヘッダがないか、値が正しくありません。"
    message_en = "A JUST.SFA notification was refused: the secret request header is missing or wrong."
    hint_ja = (
        "JUST.SFA の Webhook 設定に追加したリクエストヘッダ（名前と値）が、sfacal の JUST.SFA 連携画面に"
        "表示されているものと同じか確認してください。値を再発行した場合は JUST.SFA 側も更新してください。"
    )
    hint_en = (
        "Check that the request header added in JUST.SFA's webhook settings (name and value) is the one "
        "shown on sfacal's JUST.SFA screen. If you issued a new value, update it in JUST.SFA too."
    )


class DeliveryTooLargeError(DeliveryRefusedError):
    code = "body_too_large"
    message_ja = "JUST.SFA からの通知が大きすぎるため拒否しました。"
    message_en = "A JUST.SFA notification was refused because it is too large."
    hint_ja = (
        "1 件のレコードとしては大きすぎます。内容欄などに大きなデータが入っていないか JUST.SFA 側の"
        "レコードを確認してください。"
    )
    hint_en = (
        "It is too large for one record. Check the JUST.SFA record for very large data (in the content "
        "field, for example)."
    )


class DeliveryInvalidJsonError(DeliveryRefusedError):
    code = "invalid_json"
    message_ja = "JUST.SFA からの通知の本文が正しい JSON ではないため拒否しました。"
    message_en = "A JUST.SFA notification was refused: its body is not valid JSON."
    hint_ja = (
        "JUST.SFA の Webhook 設定で、送信形式が JSON（レコード情報を含む）になっているか確認してください。"
        "中継サーバーを経由している場合は、本文を書き換えていないか確認してください。"
    )
    hint_en = (
        "Check that JUST.SFA's webhook sends JSON (with the record). If a relay sits in between, check "
        "that it does not rewrite the body."
    )


class DeliveryInvalidBodyError(DeliveryRefusedError):
    code = "invalid_body"
    message_ja = "JUST.SFA からの通知の本文が JSON オブジェクトではないため拒否しました。"
    message_en = "A JUST.SFA notification was refused: its body is not a JSON object."
    hint_ja = DeliveryInvalidJsonError.hint_ja
    hint_en = DeliveryInvalidJsonError.hint_en


class DeliveryUnknownTypeError(DeliveryRefusedError):
    code = "unknown_type"
    message_ja = "JUST.SFA からの通知の種類（type）が不明なため拒否しました。"
    message_en = "A JUST.SFA notification was refused: its type is not one sfacal knows."
    hint_ja = (
        "JUST.SFA の Webhook 設定で、通知するイベントを「レコードの登録・更新・削除」にしてください。"
        "sfacal が受け付けるのは ADD_RECORD、UPDATE_RECORD、DELETE_RECORD とテスト送信です。"
    )
    hint_en = (
        "In JUST.SFA's webhook settings, notify record creation, update and deletion. sfacal takes "
        "ADD_RECORD, UPDATE_RECORD, DELETE_RECORD and the test send."
    )


class DeliverySettingsIncompleteError(DeliveryRefusedError, ConfigurationError):
    code = "settings_incomplete"
    message_ja = "JUST.SFA 連携設定が未完了のため、通知を処理できませんでした。"
    message_en = "A JUST.SFA notification could not be processed: the JUST.SFA settings are incomplete."
    hint_ja = (
        "システム設定 › JUST.SFA 連携で、未入力の項目（ログの詳細に表示）を入力して「登録して接続をテスト」を実行して"
        "ください。JUST.SFA は失敗した通知を再送しませんが、設定が完了すると定期バッチの取得（ポーリング）で"
        "取り込まれます。"
    )
    hint_en = (
        'Fill in the missing setting (named in the log detail) on the JUST.SFA screen and use "Save and test". JUST.SFA '
        "does not resend failed notifications, but once the settings are complete the periodic poll "
        "picks the records up."
    )
