"""Bad input: a value the product refuses, naming the field."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .base import RESERVED_PARAMS, SfacalError

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
            if k not in ("field", "reason", "reason_ja") and k not in RESERVED_PARAMS
        }
        return cls(
            params.get("field", "?"),
            params.get("reason", ""),
            reason_ja=params.get("reason_ja"),
            detail=detail,
            **rest,
        )
