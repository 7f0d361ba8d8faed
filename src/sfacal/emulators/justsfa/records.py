"""Record-level rules shared by the API and the control API: normalising a record payload,
uniqueness (重複禁止), and finding the record an update/delete item names."""

from __future__ import annotations

from typing import Any

from .model import ApiError, Record, Table, Tenant, ValueError400, key_matches, normalize_value


def not_found(code: str, message: str, target: str | None = None) -> ApiError:
    return ApiError(code, message, target=target, status=404)


def check_unique(tbl: Table, values: dict[str, Any], tenant: Tenant, skip: int | None) -> None:
    for fid, v in values.items():
        fld = tbl.fields[fid]
        if not fld.unique or v is None or fld.type == "autonumber":
            continue
        for rec in tbl.records.values():
            if rec.record_id != skip and rec.values.get(fid) == v:
                raise ValueError400("DUPLICATE_VALUE", f"{fid}: the value '{v}' is already used", target=fid)


def normalize_record(tbl: Table, tenant: Tenant, raw: Any, *, creating: bool) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise ValueError400("INVALID_REQUEST", "'record' must be an object of field identifiers to values")
    out: dict[str, Any] = {}
    for fid, value in raw.items():
        fld = tbl.fields.get(fid)
        if fld is None:
            raise ValueError400(
                "UNKNOWN_FIELD", f"field '{fid}' does not exist in table {tbl.table_id}", target=fid
            )
        out[fid] = normalize_value(fld, value, tenant)
    for fld in tbl.fields.values():
        if fld.required and (fld.field_id in out or creating) and out.get(fld.field_id) in (None, ""):
            raise ValueError400("REQUIRED_FIELD", f"{fld.field_id}: a value is required", target=fld.field_id)
    return out


def locate(tbl: Table, tenant: Tenant, item: Any) -> Record:
    """Find the record an update/delete item names, by ``recordId`` or ``recordKey``."""
    if not isinstance(item, dict):
        raise ValueError400("INVALID_REQUEST", "each item of 'records' must be an object")
    if "recordId" in item:
        rid = item["recordId"]
        try:
            if isinstance(rid, bool) or not isinstance(rid, int | str):
                raise TypeError
            rid_int = int(rid)
        except (TypeError, ValueError):
            raise ValueError400(
                "INVALID_REQUEST", f"recordId '{rid}' is not an integer", target="recordId"
            ) from None
        rec = tbl.records.get(rid_int)
        if rec is None:
            raise not_found("RECORD_NOT_FOUND", f"record {rid_int} does not exist", str(rid_int))
        return rec
    key = item.get("recordKey")
    if not isinstance(key, dict) or len(key) != 1:
        raise ValueError400(
            "INVALID_REQUEST", "each item needs 'recordKey': {\"<field>\": \"<value>\"} or 'recordId'"
        )
    ((fid, wanted),) = key.items()
    fld = tbl.fields.get(fid)
    if fld is None:
        raise ValueError400(
            "UNKNOWN_FIELD", f"recordKey field '{fid}' does not exist in {tbl.table_id}", target=fid
        )
    hits = [r for r in tbl.records.values() if key_matches(fld, r.values.get(fid), wanted, tenant)]
    if not hits:
        raise not_found("RECORD_NOT_FOUND", f"no record has {fid} = '{wanted}'", fid)
    if len(hits) > 1:
        raise ValueError400("KEY_NOT_UNIQUE", f"{len(hits)} records have {fid} = '{wanted}'", target=fid)
    return hits[0]
