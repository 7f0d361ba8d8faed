"""Data model of the JUST.SFA emulator: tables, fields, panels, filters, users, keys, records.

Field values are validated and normalised here, exactly once, on every write (API or
control). What is stored is the normalised value; what is returned is rendered from it.
See ``docs/justsfa.md`` for which formats are confirmed from public client code and
which are inferred.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

IDENTIFIER_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,39}$")
TENANT_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")

FIELD_TYPES = ("text", "textarea", "number", "datetime", "date", "select", "user", "schedule", "autonumber")
PERMISSIONS = ("read", "add", "edit", "delete")
WEBHOOK_EVENTS = ("add", "update", "delete")

_DT_RE = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})[T ](?P<h>\d{2}):(?P<m>\d{2})(?::(?P<s>\d{2})(?:\.\d+)?)?"
    r"(?P<tz>Z|[+-]\d{2}:?\d{2})?$"
)
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class ApiError(Exception):
    """An error answered as JSON ``{"code", "message"}`` (+ ``target`` naming the culprit)."""

    status = 400

    def __init__(
        self, code: str, message: str, *, target: str | None = None, status: int | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.target = target
        if status is not None:
            self.status = status


class ValueError400(ApiError):
    """A client-side mistake in a request: HTTP 400."""

    status = 400


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_json(raw: bytes) -> Any:
    """Strict JSON: UTF-8, no NaN/Infinity (they could not be answered back as JSON)."""
    try:
        return json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ValueError400("INVALID_JSON", f"the body is not valid JSON: {exc}") from None


@dataclass
class User:
    user_id: str
    name: str


@dataclass
class Field:
    field_id: str
    name: str
    type: str
    options: list[str] = field(default_factory=list)  # select
    required: bool = False
    unique: bool = False
    max_length: int | None = None
    # schedule fields: which fields the calendar view uses as heading / location / content
    calendar_title_field: str | None = None
    calendar_location_field: str | None = None
    calendar_content_field: str | None = None

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "fieldId": self.field_id,
            "name": self.name,
            "type": self.type,
            "required": self.required,
            "unique": self.unique,
        }
        if self.type == "select":
            out["options"] = list(self.options)
        if self.max_length is not None:
            out["maxLength"] = self.max_length
        if self.type == "schedule":
            out["calendarTitleField"] = self.calendar_title_field
            out["calendarLocationField"] = self.calendar_location_field
            out["calendarContentField"] = self.calendar_content_field
        return out


@dataclass
class Panel:
    panel_id: str
    name: str
    field_ids: list[str]


@dataclass
class Condition:
    """One filter condition. ``value`` None means *dynamic*: taken from the query string."""

    field_id: str
    op: str  # eq | ne | contains | gte | lte | empty | not_empty
    value: Any = None

    def describe(self) -> dict[str, Any]:
        return {"field": self.field_id, "op": self.op, "value": self.value}


@dataclass
class Filter:
    filter_id: str
    name: str
    conditions: list[Condition]


@dataclass
class Record:
    record_id: int
    values: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    revision: int = 1


@dataclass
class Table:
    table_id: str
    name: str
    fields: dict[str, Field] = field(default_factory=dict)
    panels: dict[str, Panel] = field(default_factory=dict)
    filters: dict[str, Filter] = field(default_factory=dict)
    records: dict[int, Record] = field(default_factory=dict)
    next_autonumber: int = 1


@dataclass
class ApiKey:
    key: str
    title: str
    tables: list[str]
    permissions: set[str]
    enabled: bool = True
    expires_at: datetime | None = None


@dataclass
class Webhook:
    webhook_id: str
    title: str
    url: str
    headers: dict[str, str]
    events: set[str]
    fields: list[str] | None = None  # None: every field is sent
    enabled: bool = True

    def describe(self) -> dict[str, Any]:
        return {
            "webhookId": self.webhook_id,
            "title": self.title,
            "url": self.url,
            "headers": dict(self.headers),
            "events": sorted(self.events),
            "fields": None if self.fields is None else list(self.fields),
            "enabled": self.enabled,
        }


@dataclass
class Tenant:
    name: str
    utc_offset_minutes: int = 9 * 60
    users: dict[str, User] = field(default_factory=dict)
    tables: dict[str, Table] = field(default_factory=dict)
    api_keys: dict[str, ApiKey] = field(default_factory=dict)
    webhooks: dict[str, dict[str, Webhook]] = field(default_factory=dict)  # table_id -> id -> hook

    @property
    def tz(self) -> timezone:
        return timezone(timedelta(minutes=self.utc_offset_minutes))


# ----------------------------------------------------------------------------- values


def format_datetime(value: datetime) -> str:
    """``2025-12-30T09:00+09:00``: minute precision with a ``+HH:MM`` offset (confirmed format)."""
    off = value.utcoffset() or timedelta(0)
    total = int(off.total_seconds() // 60)
    sign = "+" if total >= 0 else "-"
    total = abs(total)
    return f"{value:%Y-%m-%dT%H:%M}{sign}{total // 60:02d}:{total % 60:02d}"


def parse_datetime(text: Any, tz: timezone, *, target: str) -> datetime:
    if not isinstance(text, str):
        raise ValueError400("INVALID_FIELD_VALUE", f"{target}: a datetime string is required", target=target)
    m = _DT_RE.match(text.strip())
    if not m:
        raise ValueError400(
            "INVALID_FIELD_VALUE",
            f"{target}: '{text}' is not a datetime like 2025-12-30T09:00+09:00",
            target=target,
        )
    try:
        d = date.fromisoformat(m["date"])
        naive = datetime(d.year, d.month, d.day, int(m["h"]), int(m["m"]), int(m["s"] or 0))
    except ValueError:
        raise ValueError400(
            "INVALID_FIELD_VALUE", f"{target}: '{text}' is not a valid date/time", target=target
        ) from None
    tzs = m["tz"]
    if tzs is None:
        aware = naive.replace(tzinfo=tz)
    elif tzs == "Z":
        aware = naive.replace(tzinfo=UTC)
    else:
        digits = tzs.replace(":", "")
        minutes = int(digits[1:3]) * 60 + int(digits[3:5])
        if minutes > 14 * 60:
            raise ValueError400("INVALID_FIELD_VALUE", f"{target}: bad UTC offset in '{text}'", target=target)
        aware = naive.replace(tzinfo=timezone(timedelta(minutes=minutes if tzs[0] == "+" else -minutes)))
    return aware.astimezone(tz).replace(second=0, microsecond=0)


def _parse_date(text: Any, *, target: str) -> date:
    if not isinstance(text, str) or not _DATE_RE.match(text.strip()):
        raise ValueError400(
            "INVALID_FIELD_VALUE", f"{target}: '{text}' is not a date like 2025-12-30", target=target
        )
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError400(
            "INVALID_FIELD_VALUE", f"{target}: '{text}' is not a valid date", target=target
        ) from None


def _user_list(value: Any, tenant: Tenant, *, target: str) -> list[str]:
    """Participants / user values: ``[["<userId>", "<name>"?], ...]`` -> list of user IDs."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError400(
            "INVALID_FIELD_VALUE", f"{target}: a list of [userId, name] pairs is required", target=target
        )
    out: list[str] = []
    for item in value:
        if not isinstance(item, list) or not item or not isinstance(item[0], str):
            raise ValueError400(
                "INVALID_FIELD_VALUE",
                f"{target}: each participant must be a list whose first item is a user ID, got {item!r}",
                target=target,
            )
        uid = item[0]
        if uid not in tenant.users:
            raise ValueError400("UNKNOWN_USER", f"{target}: user '{uid}' does not exist", target=target)
        if uid not in out:
            out.append(uid)
    return out


def normalize_value(fld: Field, value: Any, tenant: Tenant) -> Any:
    """Validate one incoming field value and return its stored form."""
    fid = fld.field_id
    t = fld.type
    if t == "autonumber":
        raise ValueError400("READ_ONLY_FIELD", f"{fid}: an autonumber field cannot be written", target=fid)
    if value is None or (value == "" and t not in ("text", "textarea")):
        return None
    if t in ("text", "textarea"):
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ValueError400("INVALID_FIELD_VALUE", f"{fid}: a string is required", target=fid)
        s = str(value)
        if t == "text" and ("\n" in s or "\r" in s):
            raise ValueError400(
                "INVALID_FIELD_VALUE", f"{fid}: a one-line text field cannot hold line breaks", target=fid
            )
        if fld.max_length is not None and len(s) > fld.max_length:
            raise ValueError400(
                "INVALID_FIELD_VALUE", f"{fid}: longer than {fld.max_length} characters", target=fid
            )
        return s
    if t == "number":
        if isinstance(value, bool):
            raise ValueError400("INVALID_FIELD_VALUE", f"{fid}: a number is required", target=fid)
        if isinstance(value, int | float):
            num: float = value
        elif isinstance(value, str):
            try:
                num = float(value.replace(",", ""))
            except ValueError:
                raise ValueError400(
                    "INVALID_FIELD_VALUE", f"{fid}: '{value}' is not a number", target=fid
                ) from None
        else:
            raise ValueError400("INVALID_FIELD_VALUE", f"{fid}: a number is required", target=fid)
        if num != num or num in (float("inf"), float("-inf")):
            raise ValueError400("INVALID_FIELD_VALUE", f"{fid}: not a finite number", target=fid)
        return int(num) if float(num).is_integer() else float(num)
    if t == "datetime":
        return parse_datetime(value, tenant.tz, target=fid)
    if t == "date":
        return _parse_date(value, target=fid)
    if t == "select":
        if not isinstance(value, str):
            raise ValueError400(
                "INVALID_FIELD_VALUE", f"{fid}: an option label (string) is required", target=fid
            )
        if value not in fld.options:
            raise ValueError400(
                "INVALID_FIELD_VALUE", f"{fid}: '{value}' is not one of the options {fld.options}", target=fid
            )
        return value
    if t == "user":
        return _user_list(value, tenant, target=fid) or None
    if t == "schedule":
        return _normalize_schedule(fld, value, tenant)
    raise ValueError400("INVALID_FIELD_VALUE", f"{fid}: unsupported field type {t}", target=fid)


def _normalize_schedule(fld: Field, value: Any, tenant: Tenant) -> dict[str, Any]:
    fid = fld.field_id
    pkey, ukey = f"{fid}_period", f"{fid}_participants"
    if not isinstance(value, dict):
        raise ValueError400(
            "INVALID_FIELD_VALUE",
            f"{fid}: a schedule value {{'{pkey}': [...], '{ukey}': [...]}} is required",
            target=fid,
        )
    extra = sorted(set(value) - {pkey, ukey})
    if extra:
        raise ValueError400("UNKNOWN_FIELD", f"{fid}: unknown keys {extra} in schedule value", target=fid)
    period = value.get(pkey)
    if not isinstance(period, list) or len(period) != 2:
        raise ValueError400("INVALID_FIELD_VALUE", f"{pkey}: [start, end] is required", target=pkey)
    start_raw, end_raw = period
    all_day = isinstance(start_raw, str) and bool(_DATE_RE.match(start_raw.strip()))
    start: date | datetime
    end: date | datetime
    if all_day:
        start = _parse_date(start_raw, target=pkey)
        end = _parse_date(end_raw, target=pkey)
    else:
        start = parse_datetime(start_raw, tenant.tz, target=pkey)
        end = parse_datetime(end_raw, tenant.tz, target=pkey)
    if end < start:
        raise ValueError400("INVALID_FIELD_VALUE", f"{pkey}: the end is before the start", target=pkey)
    participants = _user_list(value.get(ukey), tenant, target=ukey)
    return {"start": start, "end": end, "all_day": all_day, "participants": participants}


def render_value(fld: Field, stored: Any, tenant: Tenant) -> Any:
    """The API form of a stored value."""
    t = fld.type
    if stored is None:
        if t == "schedule":
            return {f"{fld.field_id}_period": [], f"{fld.field_id}_participants": []}
        if t == "user":
            return []
        return "" if t in ("text", "textarea", "select", "datetime", "date", "autonumber") else None
    if t == "datetime":
        return format_datetime(stored)
    if t == "date":
        return stored.isoformat()
    if t == "user":
        return [[uid, tenant.users[uid].name if uid in tenant.users else ""] for uid in stored]
    if t == "schedule":
        if stored["all_day"]:
            period = [stored["start"].isoformat(), stored["end"].isoformat()]
        else:
            period = [format_datetime(stored["start"]), format_datetime(stored["end"])]
        parts = [
            [uid, tenant.users[uid].name if uid in tenant.users else ""] for uid in stored["participants"]
        ]
        return {f"{fld.field_id}_period": period, f"{fld.field_id}_participants": parts}
    return stored


def render_record(
    table: Table, rec: Record, tenant: Tenant, field_ids: list[str] | None = None
) -> dict[str, Any]:
    ids = list(table.fields) if field_ids is None else [f for f in field_ids if f in table.fields]
    return {fid: render_value(table.fields[fid], rec.values.get(fid), tenant) for fid in ids}


def comparable(fld: Field, stored: Any) -> Any:
    """A value that compares with ``<``/``==`` for filters and record keys."""
    if stored is None:
        return None
    if fld.type == "schedule":
        return (
            stored["start"]
            if not stored["all_day"]
            else datetime.combine(stored["start"], datetime.min.time())
        )
    return stored


def key_matches(fld: Field, stored: Any, wanted: Any, tenant: Tenant) -> bool:
    """``recordKey`` / ``_field=value`` equality: compare the rendered text forms."""
    if fld.type in ("schedule", "user"):
        return False
    rendered = render_value(fld, stored, tenant)
    if isinstance(wanted, list) and len(wanted) == 1:  # tolerate ["value"] (array-valued autonumber)
        wanted = wanted[0]
    if isinstance(rendered, bool) or isinstance(wanted, bool):
        return False
    if isinstance(rendered, int | float) and isinstance(wanted, int | float | str):
        try:
            return float(rendered) == float(wanted)
        except ValueError:
            return False
    return str(rendered) == str(wanted) and rendered != ""
