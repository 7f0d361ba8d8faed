"""Errors about the choice of calendar service (C2)."""

from __future__ import annotations

from .configuration import ConfigurationError

__all__ = ["CalendarServiceUnavailableError"]


class CalendarServiceUnavailableError(ConfigurationError):
    code = "calendar_service_unavailable"
    message_ja = "連携先サービス「{service}」はこのバージョンでは利用できません。"
    message_en = 'The calendar service "{service}" is not available in this version.'
    hint_ja = (
        "システム設定 › スケジュール連携 › 基本設定 の「連携先サービス」で利用できるサービスを選び直すか、"
        "そのサービスに対応したバージョンに更新してください。"
    )
    hint_en = (
        "Choose an available calendar service under Settings › Schedule sync › Basic settings, or "
        "update to a version that supports this service."
    )
