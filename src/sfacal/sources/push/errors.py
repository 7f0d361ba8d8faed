"""Errors of the push API and the one JSON shape they all answer with.

Every error response is::

    {"error": {"code": "input_invalid", "field": "end", "message": "...", "message_ja": "...",
               "errors": [{"field": "end", "message": "...", "message_ja": "..."}]}}

``field`` names the first offending field (``null`` when the error is not about one field);
``errors`` lists every field problem found (at least the first). Codes:

=====================  ======  ==========================================================
code                   status  meaning
=====================  ======  ==========================================================
malformed_json         400     the body is not JSON (or not UTF-8)
unauthorized           401     token missing, unknown or revoked
not_found              404     no such schedule / employee
precondition_failed    412     ``If-Match``, ``version`` or ``updated_at`` says the write is stale
payload_too_large      413     the body is over the limit
input_invalid          422     a field is missing, mistyped or has a value that is not allowed
internal_error         500     a bug; logged with a traceback (never expected)
unavailable            503     the database cannot take the request now; ``Retry-After`` says when
=====================  ======  ==========================================================
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sfacal.core.errors import InputError


@dataclass(frozen=True)
class FieldProblem:
    field: str | None
    message: str
    message_ja: str

    def to_dict(self) -> dict[str, Any]:
        return {"field": self.field, "message": self.message, "message_ja": self.message_ja}


class ApiError(Exception):
    """An error answered to the client as the documented JSON shape."""

    def __init__(
        self,
        status: int,
        code: str,
        problems: list[FieldProblem] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(code)
        self.status = status
        self.code = code
        self.problems: list[FieldProblem] = list(problems or [])
        self.headers: dict[str, str] = dict(headers or {})

    @classmethod
    def single(
        cls, status: int, code: str, field_name: str | None, message: str, message_ja: str
    ) -> ApiError:
        return cls(status, code, [FieldProblem(field_name, message, message_ja)])

    @property
    def field_name(self) -> str | None:
        return self.problems[0].field if self.problems else None

    def body(self) -> dict[str, Any]:
        first = self.problems[0] if self.problems else FieldProblem(None, self.code, self.code)
        return {
            "error": {
                "code": self.code,
                "field": first.field,
                "message": first.message,
                "message_ja": first.message_ja,
                "errors": [p.to_dict() for p in self.problems] or [first.to_dict()],
            }
        }


def unauthorized() -> ApiError:
    # The same answer for a missing, malformed, unknown or revoked token: nothing is revealed.
    error = ApiError.single(
        401,
        "unauthorized",
        None,
        "A valid API token is required: send 'Authorization: Bearer sfa_…'.",
        "有効な API トークンが必要です（Authorization: Bearer sfa_…）。",
    )
    error.headers["WWW-Authenticate"] = 'Bearer realm="sfacal"'
    return error


def not_found(what: str, what_ja: str, field_name: str) -> ApiError:
    return ApiError.single(404, "not_found", field_name, f"No such {what}.", f"{what_ja}が見つかりません。")


def malformed_json(detail: str = "") -> ApiError:
    suffix = f" ({detail})" if detail else ""
    return ApiError.single(
        400,
        "malformed_json",
        None,
        "The request body is not valid JSON in UTF-8" + suffix + ".",
        "リクエスト本文が UTF-8 の正しい JSON ではありません。",
    )


def payload_too_large(limit: int) -> ApiError:
    return ApiError.single(
        413,
        "payload_too_large",
        None,
        f"The request body is larger than {limit} bytes.",
        f"リクエスト本文が上限（{limit} バイト）を超えています。",
    )


def precondition_failed(field_name: str, message: str, message_ja: str) -> ApiError:
    return ApiError.single(412, "precondition_failed", field_name, message, message_ja)


def unavailable(retry_after: int) -> ApiError:
    """503: the database cannot take the request now (locked past its busy timeout, unreachable);
    nothing was stored. ``Retry-After`` says when to send it again."""
    error = ApiError.single(
        503,
        "unavailable",
        None,
        "The request could not be stored now (the database is busy or unreachable); nothing was "
        f"changed. Send it again in {retry_after} seconds.",
        f"データベースが混み合っているか接続できないため、保存できませんでした（何も変更されていません）。{retry_after} 秒後に再送してください。",
    )
    error.headers["Retry-After"] = str(retry_after)
    return error


def internal_error() -> ApiError:
    return ApiError.single(
        500,
        "internal_error",
        None,
        "An unexpected error occurred; it has been logged.",
        "予期しないエラーが発生しました（記録済み）。",
    )


def from_input_error(
    exc: InputError, *, rename: Mapping[str, str] | None = None, prefix: str = ""
) -> ApiError:
    """A core :class:`InputError` as a 422, its field renamed to the API's name."""
    return ApiError(422, "input_invalid", [problem_from_input_error(exc, rename=rename, prefix=prefix)])


def problem_from_input_error(
    exc: InputError, *, rename: Mapping[str, str] | None = None, prefix: str = ""
) -> FieldProblem:
    name = exc.field
    if rename and name in rename:
        name = rename[name]
    reason = exc.params.get("reason", str(exc))
    reason_ja = exc.params.get("reason_ja", reason)
    return FieldProblem(prefix + name, f"{name}: {reason}", f"{name}: {reason_ja}")


_JA_BY_TYPE = {
    "missing": "必須項目です",
    "extra_forbidden": "不明な項目です（項目名を確認してください）",
    "string_type": "文字列が必要です",
    "string_too_long": "長すぎます",
    "string_too_short": "空にできません",
    "too_long": "要素が多すぎます",
    "too_short": "要素が足りません",
    "literal_error": "許可されていない値です",
    "enum": "許可されていない値です",
    "bool_type": "true か false が必要です",
    "bool_parsing": "true か false が必要です",
    "int_type": "整数が必要です",
    "int_parsing": "整数が必要です",
    "list_type": "配列が必要です",
    "dict_type": "オブジェクトが必要です",
    "model_type": "オブジェクトが必要です",
    "model_attributes_type": "オブジェクトが必要です",
    "datetime_type": "日時が必要です",
    "datetime_parsing": "日時の形式が正しくありません",
    "datetime_from_date_parsing": "日時の形式が正しくありません",
    "value_error": "値が正しくありません",
}

_SOURCES = ("body", "query", "path", "header", "cookie", "form", "file")


_TYPE_TAGS = frozenset({"str", "int", "bool", "float", "list", "dict", "none", "date", "datetime"})


def _is_union_tag(part: str) -> bool:
    """Pydantic names the member of a union in ``loc`` (``str``, ``function-after[...]``)."""
    return part in _TYPE_TAGS or "[" in part or "(" in part


def loc_to_field(loc: Sequence[Any], param_names: Iterable[str] = ("payload",)) -> str:
    """``("body", "payload", "participants", 3)`` -> ``"participants[3]"``."""
    parts = list(loc)
    if parts and parts[0] in _SOURCES:
        parts = parts[1:]
    names = set(param_names)
    if parts and parts[0] in names:
        parts = parts[1:]
    out = ""
    for part in parts:
        if isinstance(part, str) and _is_union_tag(part):
            continue
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "body"


def problems_from_pydantic(errors: Iterable[Mapping[str, Any]], *, prefix: str = "") -> list[FieldProblem]:
    """Pydantic / ninja validation errors as field problems (English and Japanese)."""
    problems: list[FieldProblem] = []
    for err in errors:
        name = prefix + loc_to_field(err.get("loc", ()))
        if prefix and name.endswith("body"):
            name = prefix.rstrip(".") or "body"
        msg = str(err.get("msg", "invalid value"))
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        ja = _JA_BY_TYPE.get(str(err.get("type", "")), "値が正しくありません")
        ctx = err.get("ctx") or {}
        if isinstance(ctx, Mapping):
            if "ja" in ctx:  # our own checks (fields.py) say it in Japanese themselves
                ja = str(ctx["ja"])
            elif "expected" in ctx:
                ja += f"（{ctx['expected']}）"
            elif "max_length" in ctx:
                ja += f"（最大 {ctx['max_length']}）"
        if any(p.field == name for p in problems):
            continue  # one problem per field (a union reports each of its members)
        problems.append(FieldProblem(name, f"{name}: {msg}", f"{name}: {ja}"))
    return problems
