"""List queries: filters (with dynamic values), field value search, panels and paging."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from .model import (
    Condition,
    Field,
    Filter,
    Record,
    Table,
    Tenant,
    ValueError400,
    comparable,
    key_matches,
    parse_datetime,
)

CONDITION_OPS = ("eq", "ne", "contains", "gte", "lte", "empty", "not_empty")
DEFAULT_LIMIT = 10
MAX_LIMIT = 100


def dynamic_values(flt: Filter, params: Mapping[str, str]) -> list[Any]:
    """Resolve each condition's value: fixed, or ``_<field>-<n>`` from the query (n counts per field)."""
    seen: dict[str, int] = {}
    out: list[Any] = []
    for cond in flt.conditions:
        n = seen.get(cond.field_id, 0)
        seen[cond.field_id] = n + 1
        if cond.value is not None or cond.op in ("empty", "not_empty"):
            out.append(cond.value)
        else:
            out.append(params.get(f"_{cond.field_id}-{n}"))
    return out


def _bound(fld: Field, raw: Any, tenant: Tenant, target: str) -> Any:
    if fld.type in ("datetime", "schedule"):
        return parse_datetime(raw, tenant.tz, target=target)
    if fld.type == "date":
        try:
            return date.fromisoformat(str(raw))
        except ValueError:
            raise ValueError400(
                "INVALID_PARAMETER", f"{target}: '{raw}' is not a date", target=target
            ) from None
    if fld.type in ("number", "autonumber"):
        try:
            return float(raw)
        except (TypeError, ValueError):
            raise ValueError400(
                "INVALID_PARAMETER", f"{target}: '{raw}' is not a number", target=target
            ) from None
    return str(raw)


def _matches(fld: Field, cond: Condition, value: Any, stored: Any, tenant: Tenant) -> bool:
    op = cond.op
    if op == "empty":
        return stored in (None, "", []) or (fld.type == "schedule" and not stored)
    if op == "not_empty":
        return stored not in (None, "", [])
    if value is None or value == "" or value == []:
        return True  # a dynamic condition that was not given does not restrict
    wanted = value if isinstance(value, list) else [value]
    if op == "contains":
        if fld.type == "schedule":
            have = set(stored["participants"]) if stored else set()
            return any(str(w) in have for w in wanted)
        if fld.type == "user":
            return any(str(w) in (stored or []) for w in wanted)
        return stored is not None and any(str(w) in str(stored) for w in wanted)
    if op in ("eq", "ne"):
        hit = any(key_matches(fld, stored, w, tenant) for w in wanted)
        return hit if op == "eq" else not hit
    left = comparable(fld, stored)
    if left is None:
        return False
    right = _bound(fld, wanted[0], tenant, cond.field_id)
    if isinstance(left, date) and not isinstance(left, datetime) and isinstance(right, datetime):
        right = right.date()
    if isinstance(left, int | float):
        left = float(left)
    if isinstance(left, str) and not isinstance(right, str):
        right = str(right)
    try:
        return bool(left >= right) if op == "gte" else bool(left <= right)
    except TypeError:
        return False


def select_records(
    table: Table,
    tenant: Tenant,
    flt: Filter | None,
    params: Mapping[str, str],
) -> list[Record]:
    """Records matching the filter and any ``_<field>=value`` searches, in record ID order."""
    values = dynamic_values(flt, params) if flt else []
    searches: list[tuple[Field, str]] = []
    for name, raw in params.items():
        if not name.startswith("_") or "-" in name:
            continue
        fid = name[1:]
        fld = table.fields.get(fid)
        if fld is None:
            raise ValueError400(
                "UNKNOWN_FIELD", f"field '{fid}' does not exist in table {table.table_id}", target=fid
            )
        if fld.type in ("schedule", "user", "datetime", "date"):
            raise ValueError400(
                "INVALID_PARAMETER",
                f"field '{fid}' ({fld.type}) cannot be used for a value search",
                target=fid,
            )
        searches.append((fld, raw))
    if flt:
        for cond in flt.conditions:
            if cond.field_id not in table.fields:
                raise ValueError400(
                    "UNKNOWN_FIELD",
                    f"filter {flt.filter_id} refers to missing field '{cond.field_id}'",
                    target=cond.field_id,
                )
    out: list[Record] = []
    for rid in sorted(table.records):
        rec = table.records[rid]
        ok = True
        if flt:
            for cond, value in zip(flt.conditions, values, strict=True):
                if not _matches(
                    table.fields[cond.field_id], cond, value, rec.values.get(cond.field_id), tenant
                ):
                    ok = False
                    break
        if ok:
            for fld, raw in searches:
                if not key_matches(fld, rec.values.get(fld.field_id), raw, tenant):
                    ok = False
                    break
        if ok:
            out.append(rec)
    return out


def parse_paging(params: Mapping[str, str]) -> tuple[int, int]:
    def number(name: str, default: int) -> int:
        raw = params.get(name)
        if raw is None or raw == "":
            return default
        try:
            n = int(raw)
        except ValueError:
            raise ValueError400(
                "INVALID_PARAMETER", f"{name}: '{raw}' is not an integer", target=name
            ) from None
        if n < 0:
            raise ValueError400("INVALID_PARAMETER", f"{name}: must not be negative", target=name)
        return n

    limit = number("limit", DEFAULT_LIMIT)
    offset = number("offset", 0)
    if limit == 0:
        raise ValueError400("INVALID_PARAMETER", "limit: must be at least 1", target="limit")
    return min(limit, MAX_LIMIT), offset
