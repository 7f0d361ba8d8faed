"""The value types of the push API's bodies, path, query and headers (pydantic ``Annotated`` types).

Guarantees: each type's JSON Schema (what the OpenAPI document publishes) and its validation say
the same thing -- the same lengths, the same enum, the same pattern (:mod:`.formats`, checked with
``re.search`` as Python JSON Schema validators do) -- so a value the document allows is never
refused for its own sake, and a value it forbids is never accepted. A refusal names the field, in
English and Japanese (``ctx["ja"]`` of the pydantic error, read by :mod:`.errors`).

What the document cannot express is said in its descriptions and refused with 422 all the same: a
lone surrogate in an identifier (free text has it removed), and the rules between fields (an end
before its start, duplicate master names, sync on with an explicit user ID but none given).
"""

from __future__ import annotations

import math
from datetime import datetime
from functools import cache
from typing import Annotated, Any, Literal
from zoneinfo import available_timezones

from pydantic import AfterValidator, BeforeValidator, Field, StrictBool, WithJsonSchema
from pydantic_core import PydanticCustomError

from sfacal.core.errors import InputError
from sfacal.core.settings import OUTSIDE_MASTER, UNSELECTED
from sfacal.core.text import MAX_TEXT, check_storable, clean_text
from sfacal.sources.push import formats

__all__ = [
    "INT64",
    "MAX_LOGIN_ID",
    "MAX_SOURCE_ID",
    "DateOrDateTime",
    "EmailOrEmpty",
    "FreeText",
    "IfMatchValue",
    "KindValue",
    "LoginId",
    "MasterName",
    "ModeValue",
    "Moment",
    "SourceId",
    "StateValue",
    "StatusValue",
    "StrictBool",
    "TimeZoneName",
    "VersionValue",
    "check_text",
    "setting",
    "time_zone_names",
]

MAX_SOURCE_ID = 200
MAX_LOGIN_ID = 150
INT64 = 2**63
RESERVED_MASTER_NAMES = (UNSELECTED, OUTSIDE_MASTER)


def _invalid(message: str, message_ja: str) -> PydanticCustomError:
    """A refusal with its Japanese text (messages never quote a lone surrogate: pydantic could not
    encode them)."""
    return PydanticCustomError("sfacal_invalid", message, {"ja": message_ja})


def check_text(value: str) -> str:
    """``value``, refused (``ValueError``) with a NUL character or a lone surrogate, which no
    database stores (:func:`sfacal.core.text.check_storable`)."""
    try:
        return check_storable(value, "value")
    except InputError as exc:
        raise _invalid(exc.params["reason"], exc.params["reason_ja"]) from exc


def _pattern(pattern: str, message: str, message_ja: str) -> AfterValidator:
    def check(value: str) -> str:
        check_text(value)
        if not formats.matches(pattern, value):
            raise _invalid(message, message_ja)
        return value

    return AfterValidator(check)


def setting(max_length: int, description: str = "") -> Any:
    """Text without NUL characters (a name, a calendar, a login ID in a list), at most
    ``max_length`` characters."""
    schema = formats.pattern_schema(formats.NO_NUL, maxLength=max_length)
    if description:
        schema["description"] = description
    return Annotated[
        str,
        Field(max_length=max_length),
        _pattern(formats.NO_NUL, "NUL characters are not allowed", "NUL 文字は使用できません"),
        WithJsonSchema(schema),
    ]


def _identifier(max_length: int, what: str) -> Any:
    description = (
        f"{what}: at most {max_length} characters, at least one of them not white space; no NUL, no "
        "`/`, not `.` or `..`; a lone surrogate is refused. White space at either end is ignored."
    )
    return Annotated[
        str,
        Field(max_length=max_length),
        _pattern(
            formats.IDENTIFIER,
            "must contain a character other than white space, and no NUL, '/' or a lone '.' or '..'",
            "空白以外の文字が必要です（NUL 文字・「/」・「.」「..」だけは使用できません）",
        ),
        WithJsonSchema(
            formats.pattern_schema(formats.IDENTIFIER, maxLength=max_length, description=description)
        ),
    ]


SourceId = _identifier(MAX_SOURCE_ID, "The SFA's schedule ID")
LoginId = _identifier(MAX_LOGIN_ID, "The employee's login ID (社員ログインID)")

FreeText = Annotated[
    str,
    WithJsonSchema(
        {
            "type": "string",
            "maxLength": MAX_TEXT,
            "description": f"At most {MAX_TEXT:,} characters. Control characters (NUL included) and "
            "lone surrogates are removed, newlines normalised (the JUST.SFA webhook does the same).",
        }
    ),
]
"""A schedule's free text: length-checked and cleaned by ``convert.to_schedule`` with
:func:`sfacal.core.text.incoming_text`, the same function every source uses (the error then names
the field with a message about characters)."""


def _not_reserved(value: str) -> str:
    if value in RESERVED_MASTER_NAMES:
        raise _invalid(f"{value!r} is a reserved pseudo-entry", f"「{value}」は予約された名前です")
    return value


MasterName = Annotated[
    str,
    Field(min_length=1, max_length=100),
    _pattern(
        formats.TRIMMED,
        "must not be empty or start or end with white space, and holds no NUL",
        "空にしたり、前後に空白を入れたりできません（NUL 文字も使用できません）",
    ),
    AfterValidator(_not_reserved),
    WithJsonSchema(
        {
            **formats.pattern_schema(formats.TRIMMED, minLength=1, maxLength=100),
            "not": {"enum": list(RESERVED_MASTER_NAMES)},
            "description": "1-100 characters, no white space at either end; the pseudo-entries "
            f"{UNSELECTED} and {OUTSIDE_MASTER} are reserved.",
        }
    ),
]

EmailOrEmpty = Annotated[
    str,
    Field(max_length=254),
    _pattern(
        formats.EMAIL_OR_EMPTY,
        "not a mail address (name@example.com, ASCII)",
        "メールアドレスの形式ではありません（name@example.com、半角英数字）",
    ),
    WithJsonSchema(
        formats.pattern_schema(
            formats.EMAIL_OR_EMPTY,
            maxLength=254,
            description="A mail address (ASCII, `name@example.com`), or empty.",
        )
    ),
]

IfMatchValue = Annotated[
    str,
    Field(max_length=200),
    _pattern(
        formats.IF_MATCH,
        'must be * or entity tags such as "3f1c…" (with the double quotes, as ETag gives them)',
        '* または ETag の値（"3f1c…" のように二重引用符付き）を指定してください',
    ),
    WithJsonSchema(
        formats.pattern_schema(
            formats.IF_MATCH,
            maxLength=200,
            description='An ETag from an earlier answer (`"3f1c…"`), several separated by commas, or `*`.',
        )
    ),
]


def _date_or_date_time(value: Any) -> Any:
    if isinstance(value, str) and not formats.matches(formats.DATE_OR_DATE_TIME, value):
        raise _invalid(
            "not a date (2026-11-24) or a date and time (2026-11-24T10:00:00+09:00) of a year 1900-2200",
            "日付（2026-11-24）または日時（2026-11-24T10:00:00+09:00）、1900〜2200年で指定してください",
        )
    return value


DateOrDateTime = Annotated[
    str,
    AfterValidator(_date_or_date_time),
    WithJsonSchema(
        formats.pattern_schema(
            formats.DATE_OR_DATE_TIME,
            description=(
                "Timed: a date and time (`2026-11-24T10:00:00+09:00`; seconds and up to six decimals "
                "optional); without an offset it is read in `timezone`. All-day: a date "
                "(`2026-11-24`); the end date is the last day, included. Years 1900-2200."
            ),
        )
    ),
]


def _moment(value: Any) -> Any:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not formats.matches(formats.DATE_TIME, value):
        raise _invalid(
            "not a date and time with an offset (2026-11-24T10:00:00+09:00) of a year 1900-2200",
            "オフセット付きの日時（2026-11-24T10:00:00+09:00）、1900〜2200年で指定してください",
        )
    return datetime.fromisoformat(value.strip())


Moment = Annotated[
    datetime,
    BeforeValidator(_moment),
    WithJsonSchema(
        formats.pattern_schema(
            formats.DATE_TIME,
            format="date-time",
            description="RFC 3339 with an offset: `2026-11-24T10:00:00+09:00` (or `Z`). Years 1900-2200.",
        )
    ),
]
"""An instant (``updated_at``): only a date and time with an offset, as written (no Unix times)."""


@cache
def time_zone_names() -> tuple[str, ...]:
    """The IANA zones this installation knows, sorted (the ``timezone`` enum)."""
    return tuple(sorted(available_timezones()))


def _time_zone(value: str) -> str:
    if value and value not in frozenset(time_zone_names()):
        shown = clean_text(value)[:64]  # quoted in the message: no lone surrogate may reach it
        raise _invalid(f"unknown time zone {shown!r}", f"不明なタイムゾーンです: {shown}")
    return value


TimeZoneName = Annotated[
    str,
    AfterValidator(_time_zone),
    WithJsonSchema(
        {
            "type": "string",
            "enum": ["", *time_zone_names()],
            "description": "An IANA time zone name (e.g. `Asia/Tokyo`); empty: the company's.",
        }
    ),
]


def _version(value: Any) -> Any:
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        if not -INT64 <= value < INT64:
            raise _invalid(
                "a numeric version must fit in 64 bits", "数値の version は 64 ビットの範囲にしてください"
            )
        return str(value)
    return value


VersionValue = Annotated[
    str,
    BeforeValidator(_version),
    Field(max_length=128),
    _pattern(formats.NO_NUL, "NUL characters are not allowed", "NUL 文字は使用できません"),
    WithJsonSchema(
        {
            "anyOf": [
                formats.pattern_schema(formats.NO_NUL, maxLength=128),
                {"type": "integer", "minimum": -INT64, "maximum": INT64 - 1},
            ]
        }
    ),
]

KindValue = Annotated[
    Literal["商談", "業務", "meeting", "task"],
    Field(description="商談 (business talk; alias `meeting`) or 業務 (business task; alias `task`)."),
]
StatusValue = Annotated[
    Literal["予定", "実績", "plan", "actual"],
    Field(
        description="予定 (plan; alias `plan`) or 実績 (actual result; alias `actual`). Only plans are synced."
    ),
]
StateValue = Literal["on", "off", "forbidden", "連携する", "連携しない", "使用禁止"]
ModeValue = Literal["explicit", "login_at_domain"]
