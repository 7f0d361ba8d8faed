"""Request and response bodies of the push API (pydantic models, published in the OpenAPI document)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from ninja import Schema
from pydantic import AfterValidator, BeforeValidator, ConfigDict, Field, WithJsonSchema

from sfacal.core.text import MAX_TEXT

MAX_SOURCE_ID = 200
MAX_LOGIN_ID = 150
MAX_BATCH_ITEMS = 500
MAX_PARTICIPANTS = 500
MAX_MASTER_ITEMS = 1000


def check_text(value: str) -> str:
    """Reject text a database cannot store: NUL characters and lone surrogates."""
    if "\x00" in value:
        raise ValueError("NUL characters are not allowed")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError("the text is not valid Unicode (lone surrogate)") from exc
    return value


def _lower_ascii(value: Any) -> Any:
    if isinstance(value, str) and value.isascii():
        return value.strip().lower()
    if isinstance(value, str):
        return value.strip()
    return value


Text = Annotated[str, AfterValidator(check_text)]
"""An identifier or a setting: refused with NUL characters or lone surrogates."""

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


def _int_to_str(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


VersionValue = Annotated[
    Text,
    BeforeValidator(_int_to_str),
    Field(max_length=128),
    WithJsonSchema({"anyOf": [{"type": "string", "maxLength": 128}, {"type": "integer"}]}),
]

KindValue = Annotated[
    Literal["商談", "業務", "meeting", "task"],
    BeforeValidator(_lower_ascii),
    Field(description="商談 (business talk; alias `meeting`) or 業務 (business task; alias `task`)."),
]
StatusValue = Annotated[
    Literal["予定", "実績", "plan", "actual"],
    BeforeValidator(_lower_ascii),
    Field(
        description="予定 (plan; alias `plan`) or 実績 (actual result; alias `actual`). Only plans are synced."
    ),
]
DateOrDateTime = Annotated[
    Text,
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "format": "date-time"},
                {"type": "string", "format": "date"},
            ],
            "description": (
                "ISO 8601. Timed: a date and time with an offset (`2026-11-24T10:00:00+09:00`), or "
                "without one, read in `timezone`. All-day: a date (`2026-11-24`); the end date is the "
                "last day, included."
            ),
        }
    ),
]


class ScheduleIn(Schema):
    """A schedule as the SFA sends it (the path gives its ID)."""

    model_config = ConfigDict(extra="forbid")

    kind: KindValue
    status: StatusValue
    start: DateOrDateTime
    end: DateOrDateTime
    all_day: bool | None = Field(
        None, description="All-day schedule. Default: true when start and end are both dates."
    )
    timezone: Annotated[Text, Field(max_length=64)] | None = Field(
        None, description="IANA time zone (e.g. `Asia/Tokyo`). Default: the company's time zone."
    )
    title: FreeText | None = Field(None, description="件名")
    content: FreeText | None = Field(None, description="内容 (memo)")
    purpose: FreeText | None = Field(None, description="商談目的")
    business_name: FreeText | None = Field(None, description="業務名")
    customer_name: FreeText | None = Field(None, description="顧客名")
    customer_address: FreeText | None = Field(None, description="顧客住所")
    participants: list[Annotated[Text, Field(max_length=MAX_LOGIN_ID)]] = Field(
        default_factory=list,
        max_length=MAX_PARTICIPANTS,
        description="Login IDs (社員ログインID) of the participating employees.",
    )
    updated_at: datetime | None = Field(
        None,
        description="When the SFA last changed the record (with an offset). Default: now. "
        "A write older than the stored one is rejected with 412.",
    )
    version: VersionValue | None = Field(
        None,
        description="The SFA's revision of the record. When numeric, a lower number than the stored "
        "one is rejected with 412.",
    )


class ApiWarning(Schema):
    code: str
    field: str
    message: str
    message_ja: str
    value: str | None = None


class ScheduleOut(Schema):
    source_id: str
    kind: str
    status: str
    all_day: bool
    start: str
    end: str
    timezone: str
    title: str
    content: str
    purpose: str | None
    business_name: str | None
    customer_name: str | None
    customer_address: str | None
    participants: list[str]
    updated_at: str
    version: str | None
    etag: str
    outcome: Literal["accepted", "duplicate", "stored"] = Field(
        description="accepted: a new state queued for sync; duplicate: same content as stored; "
        "stored: read back."
    )
    warnings: list[ApiWarning] = Field(default_factory=list)


class ErrorItem(Schema):
    field: str | None
    message: str
    message_ja: str


class ErrorBody(Schema):
    code: str
    field: str | None
    message: str
    message_ja: str
    errors: list[ErrorItem]


class ErrorOut(Schema):
    error: ErrorBody


class BatchItem(Schema):
    """One operation of a batch: ``upsert`` (with ``schedule``) or ``delete``."""

    model_config = ConfigDict(extra="forbid")

    op: Literal["upsert", "delete"]
    source_id: Annotated[Text, Field(min_length=1, max_length=MAX_SOURCE_ID)]
    schedule: ScheduleIn | None = Field(None, description="Required for `upsert`.")
    if_match: Annotated[Text, Field(max_length=200)] | None = Field(
        None, description="Like the If-Match header: the ETag the write expects."
    )
    updated_at: datetime | None = Field(None, description="`delete` only: when the SFA deleted it.")


class BatchRequest(Schema):
    items: list[BatchItem] = Field(min_length=1, max_length=MAX_BATCH_ITEMS)


class BatchResult(Schema):
    index: int
    source_id: str | None
    op: str | None
    status: int = Field(description="The HTTP status this item would have had on its own.")
    outcome: str | None = Field(None, description="accepted, duplicate or deleted")
    etag: str | None = None
    error: ErrorBody | None = None
    warnings: list[ApiWarning] = Field(default_factory=list)


class BatchResponse(Schema):
    succeeded: int
    failed: int
    results: list[BatchResult]


class ErrorInfo(Schema):
    code: str
    message_ja: str
    message_en: str
    hint_ja: str
    hint_en: str


class ParticipantStatus(Schema):
    login_id: str
    state: str = Field(
        description="synced, pending_create, failed (mirror rows), or not_mirrored with a reason"
    )
    reason: str | None = Field(
        None, description="not_mirrored: unknown_employee, sync_off, forbidden, waiting"
    )
    mailbox: str | None = None
    calendar_name: str | None = None
    event_created: bool = False
    updated_at: str | None = None
    last_error: ErrorInfo | None = None


class InboxStatus(Schema):
    state: str
    trigger: str
    received_at: str
    processed_at: str | None
    attempts: int
    error: str


class ScheduleStatus(Schema):
    source_id: str
    deleted: bool
    etag: str | None
    inbox: InboxStatus | None
    participants: list[ParticipantStatus]


StateValue = Annotated[
    Literal["on", "off", "forbidden", "連携する", "連携しない", "使用禁止"],
    BeforeValidator(_lower_ascii),
]
ModeValue = Annotated[Literal["explicit", "login_at_domain"], BeforeValidator(_lower_ascii)]


class EmployeeIn(Schema):
    """Fields left out keep their current value (or the default for a new employee)."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[Text, Field(max_length=200)] | None = None
    email: Annotated[Text, Field(max_length=254)] | None = None
    state: StateValue | None = Field(
        None, description="on (連携する), off (連携しない), forbidden (使用禁止)"
    )
    user_id_mode: ModeValue | None = Field(
        None, description="explicit (the user_id) or login_at_domain (login ID @ company domain)"
    )
    user_id: Annotated[Text, Field(max_length=254)] | None = Field(
        None, description="Mailbox user ID (UPN / SMTP address)"
    )
    calendar_name: Annotated[Text, Field(max_length=255)] | None = Field(
        None, description="Target calendar name; empty = the default calendar"
    )


class EmployeeOut(Schema):
    login_id: str
    name: str
    email: str
    state: str
    user_id_mode: str
    user_id: str
    calendar_name: str
    sync_start: str | None
    last_result: str
    last_error_code: str
    last_synced_at: str | None
    created: bool = False


class EmployeeList(Schema):
    count: int
    items: list[EmployeeOut]


class PurposeIn(Schema):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[Text, Field(min_length=1, max_length=100)]
    counted_as_visit: bool = True


class PurposeOut(Schema):
    name: str
    counted_as_visit: bool


class BusinessNameIn(Schema):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[Text, Field(min_length=1, max_length=100)]


class BusinessNameOut(Schema):
    name: str
