"""Variants: the forms of JUST.SFA's answers that public clients show or allow for, played on demand.

JUST.SFA publishes no specification, and public clients disagree on a few shapes (see
``docs/justsfa.md``). Each knob here switches the emulator to one of them, so the product's
tests can run as a matrix over every form a real tenant may use:

* ``select_form`` ``string`` | ``array``: a select value as ``"予定"`` or ``["予定"]``;
* ``lookup_fields`` (field identifiers): those text values are sent as a 4-element lookup array
  ``["<recordId>", "C-<recordId>", "", "<value>"]`` (public code reads lookups at ``[1]``/``[3]``);
* ``participant_form`` ``id_name`` | ``name_id`` | ``id``: a participant (and a user-field value)
  as ``[userId, name]``, ``[name, userId]`` or ``[userId]``;
* ``list_form`` ``array`` | ``wrapped`` | ``bare``: a list answer as ``[{"recordId", "record"}]``,
  ``{"records": [...]}`` of the same items, or an array of bare records (the values at the item's
  top level, with ``recordId`` among them);
* ``list_record_id`` (bool): whether list items carry ``recordId`` at all;
* ``webhook_form`` ``object`` | ``array_body``: a delivery as ``{...}`` or ``[{"body": {...}}]``;
* ``all_day_form`` ``date`` | ``midnight``: an all-day period as two dates (the last day
  included) or as local midnight to the midnight after the last day;
* ``test_send_form`` ``test`` | ``sample``: the test send as ``{"type": "TEST", "recordId": 0,
  "record": {}}`` or as an ordinary ``ADD_RECORD`` body with sample values and ``recordId`` 0;
* ``update_status`` 200 | 204: what a successful PUT answers (204: no body);
* ``update_forms``: which PUT item forms (``recordId``, ``recordKey``) are accepted; an item in
  another form is refused with 400 ``UNSUPPORTED_UPDATE_FORM``.

The stored state never changes with a variant: only what goes over the wire does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from .model import Table, Tenant, ValueError400, format_datetime

__all__ = ["VARIANT_CHOICES", "Variants", "present_items", "present_record", "present_webhook"]

VARIANT_CHOICES: dict[str, tuple[Any, ...]] = {
    "select_form": ("string", "array"),
    "participant_form": ("id_name", "name_id", "id"),
    "list_form": ("array", "wrapped", "bare"),
    "webhook_form": ("object", "array_body"),
    "all_day_form": ("date", "midnight"),
    "test_send_form": ("test", "sample"),
    "update_status": (200, 204),
}
UPDATE_FORMS = ("recordId", "recordKey")


@dataclass
class Variants:
    select_form: str = "string"
    lookup_fields: list[str] = field(default_factory=list)
    participant_form: str = "id_name"
    list_form: str = "array"
    list_record_id: bool = True
    webhook_form: str = "object"
    all_day_form: str = "date"
    test_send_form: str = "test"
    update_status: int = 200
    update_forms: list[str] = field(default_factory=lambda: list(UPDATE_FORMS))


def coerce_variant(name: str, value: Any) -> Any:
    """A variant knob's value, or 400 naming it."""

    def bad() -> ValueError400:
        return ValueError400("INVALID_PARAMETER", f"knob '{name}': bad value {value!r}", target=name)

    if name in VARIANT_CHOICES:
        if isinstance(value, bool) or value not in VARIANT_CHOICES[name]:
            raise bad()
        return value
    if name == "list_record_id":
        if not isinstance(value, bool):
            raise bad()
        return value
    if name == "lookup_fields":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise bad()
        return list(value)
    if name == "update_forms":
        if not isinstance(value, list) or not all(v in UPDATE_FORMS for v in value):
            raise bad()
        return list(dict.fromkeys(value))
    raise bad()


def _participant(pair: Any, form: str) -> Any:
    if not isinstance(pair, list) or len(pair) != 2:
        return pair
    uid, name = pair
    if form == "name_id":
        return [name, uid]
    if form == "id":
        return [uid]
    return pair


def _midnight(day: str, tenant: Tenant, *, plus_one: bool) -> str:
    d = date.fromisoformat(day) + timedelta(days=1 if plus_one else 0)
    return format_datetime(datetime.combine(d, time(), tzinfo=tenant.tz))


def present_record(
    table: Table, record: dict[str, Any], record_id: int, tenant: Tenant, v: Variants
) -> dict[str, Any]:
    """``record`` (the rendered values of one record) in the variant forms."""
    out = dict(record)
    for fid, value in record.items():
        fld = table.fields.get(fid)
        if fld is None:
            continue
        if fld.type == "select" and v.select_form == "array":
            out[fid] = [value] if value not in (None, "") else []
        elif fid in v.lookup_fields and isinstance(value, str):
            out[fid] = [str(record_id), f"C-{record_id:03d}", "", value] if value else []
        elif fld.type == "user" and isinstance(value, list):
            out[fid] = [_participant(p, v.participant_form) for p in value]
        elif fld.type == "schedule" and isinstance(value, dict):
            pkey, ukey = f"{fid}_period", f"{fid}_participants"
            period = value.get(pkey) or []
            if v.all_day_form == "midnight" and len(period) == 2 and "T" not in str(period[0]):
                period = [
                    _midnight(period[0], tenant, plus_one=False),
                    _midnight(period[1], tenant, plus_one=True),
                ]
            out[fid] = {
                pkey: period,
                ukey: [_participant(p, v.participant_form) for p in value.get(ukey) or []],
            }
    return out


def present_items(items: list[tuple[int, dict[str, Any]]], v: Variants) -> Any:
    """A list answer of ``(recordId, presented record)`` pairs in the variant form."""
    if v.list_form == "bare":
        return [{**({"recordId": rid} if v.list_record_id else {}), **rec} for rid, rec in items]
    out = [{"recordId": rid, "record": rec} if v.list_record_id else {"record": rec} for rid, rec in items]
    return {"records": out} if v.list_form == "wrapped" else out


def present_webhook(body: dict[str, Any], v: Variants) -> Any:
    """A webhook delivery body in the variant form."""
    return [{"body": body}] if v.webhook_form == "array_body" else body


def check_update_form(item: Any, v: Variants) -> None:
    """Refuse a PUT item whose addressing form this tenant does not accept."""
    if not isinstance(item, dict):
        return
    form = "recordId" if "recordId" in item else "recordKey" if "recordKey" in item else None
    if form is not None and form not in v.update_forms:
        raise ValueError400(
            "UNSUPPORTED_UPDATE_FORM",
            f"'{form}' items are not accepted; use one of {v.update_forms}",
            target=form,
        )
