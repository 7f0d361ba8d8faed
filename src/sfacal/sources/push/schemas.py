"""Request and response bodies of the push API (pydantic models, published in the OpenAPI document).

The value types (and so the document's lengths, enums and patterns) are :mod:`.fields`; a body
that the document allows is refused only for a rule between its fields (422, named in the
operation's description), or, with 412, for the stored state (``If-Match``, ``version``,
``updated_at``).
"""

from __future__ import annotations

from typing import Any, Literal

from ninja import Schema
from pydantic import ConfigDict, Field

from sfacal.sources.push.fields import (
    MAX_LOGIN_ID,
    MAX_SOURCE_ID,
    DateOrDateTime,
    EmailOrEmpty,
    FreeText,
    IfMatchValue,
    KindValue,
    MasterName,
    ModeValue,
    Moment,
    SourceId,
    StateValue,
    StatusValue,
    StrictBool,
    TimeZoneName,
    VersionValue,
    check_text,
    setting,
)

__all__ = ["MAX_LOGIN_ID", "MAX_SOURCE_ID", "check_text"]

MAX_BATCH_ITEMS = 500
MAX_PARTICIPANTS = 500
MAX_MASTER_ITEMS = 1000


class ScheduleIn(Schema):
    """A schedule as the SFA sends it (the path gives its ID)."""

    model_config = ConfigDict(extra="forbid")

    kind: KindValue
    status: StatusValue
    start: DateOrDateTime
    end: DateOrDateTime
    all_day: StrictBool | None = Field(
        None, description="All-day schedule. Default: true when start and end are both dates."
    )
    timezone: TimeZoneName | None = Field(
        None, description="IANA time zone (e.g. `Asia/Tokyo`). Default (null or empty): the company's."
    )
    title: FreeText | None = Field(None, description="件名")
    content: FreeText | None = Field(None, description="内容 (memo)")
    purpose: FreeText | None = Field(None, description="商談目的")
    business_name: FreeText | None = Field(None, description="業務名")
    customer_name: FreeText | None = Field(None, description="顧客名")
    customer_address: FreeText | None = Field(None, description="顧客住所")
    participants: list[setting(MAX_LOGIN_ID)] = Field(  # type: ignore[valid-type]
        default_factory=list,
        max_length=MAX_PARTICIPANTS,
        description="Login IDs (社員ログインID) of the participating employees.",
    )
    updated_at: Moment | None = Field(
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
    source_id: SourceId  # type: ignore[valid-type]
    schedule: ScheduleIn | None = Field(None, description="Required for `upsert`.")
    if_match: IfMatchValue | None = Field(
        None, description="Like the If-Match header: the ETag the write expects."
    )
    updated_at: Moment | None = Field(None, description="`delete` only: when the SFA deleted it.")


BATCH_REQUEST_SCHEMA: dict[str, Any] = {
    "title": "BatchRequest",
    "description": (
        "The body of `POST /schedules:batch`: 1-500 items. Any item is taken into the batch and "
        "gets its own result; an item that is not a valid BatchItem is answered in `results` "
        "(422 naming `items[i]...`), never by refusing the batch."
    ),
    "type": "object",
    "additionalProperties": False,
    "required": ["items"],
    "properties": {
        "items": {
            "type": "array",
            "minItems": 1,
            "maxItems": MAX_BATCH_ITEMS,
            "items": {"anyOf": [{"$ref": "#/components/schemas/BatchItem"}, {}]},
        }
    },
}
"""The batch envelope as the OpenAPI document publishes it (the endpoint reads the body itself,
item by item: :func:`sfacal.sources.push.service.batch_items`)."""


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


class ExplainStep(Schema):
    rule: str = Field(description="The rule behind the step (S1, P3, E4 ... of the specification) or hint")
    code: str = Field(description="What was found, e.g. frozen_actual, excluded, before_sync_start, create")
    passed: bool = Field(description="true: the schedule went on past this step; false: this step decided")
    values: dict[str, str] = Field(description="The values the step names (times in ISO 8601)")
    message: str
    message_ja: str


class ExplainedEvent(Schema):
    subject: str
    location: str
    start: str
    end: str
    is_all_day: bool
    timezone: str


class ExplainedParticipant(Schema):
    login_id: str
    decision: str | None = Field(
        None, description="sync, remove or leave; null while the company holds changes back"
    )
    reason: str = Field(description="The planner's reason, as in the log (sync, up_to_date, excluded ...)")
    writes: list[str] = Field(description="The calendar writes the next run makes: create, update, delete")
    mailbox: str | None = None
    calendar_name: str | None = None
    steps: list[ExplainStep]


class ScheduleExplanation(Schema):
    source_id: str
    deleted: bool
    held_back: str | None = Field(None, description="sync_disabled (C1) or write_disabled (C4)")
    event: ExplainedEvent | None = Field(None, description="The event as written (null for a deletion)")
    participants: list[ExplainedParticipant]


class EmployeeIn(Schema):
    """Fields left out keep their current value (or the default for a new employee)."""

    model_config = ConfigDict(extra="forbid")

    name: setting(200) | None = None  # type: ignore[valid-type]
    email: EmailOrEmpty | None = None
    state: StateValue | None = Field(
        None, description="on (連携する), off (連携しない), forbidden (使用禁止)"
    )
    user_id_mode: ModeValue | None = Field(
        None, description="explicit (the user_id) or login_at_domain (login ID @ company domain)"
    )
    user_id: EmailOrEmpty | None = Field(None, description="Mailbox user ID (UPN / SMTP address)")
    calendar_name: setting(255) | None = Field(  # type: ignore[valid-type]
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

    name: MasterName
    counted_as_visit: StrictBool = True


class PurposeOut(Schema):
    name: str
    counted_as_visit: bool
