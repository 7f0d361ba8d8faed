"""The emulator's in-memory state: tenants and their records, knobs, limits, journal, webhooks.

Every public method takes the state lock, so the Starlette handlers, the control API and
direct callers in tests can share one instance across threads.
"""

from __future__ import annotations

import random
import secrets
import string
import threading
from collections import deque
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from .knobs import Knobs, coerce_knob, parse_permissions
from .limits import Clock, LimitSettings, RateLimiter
from .model import (
    FIELD_TYPES,
    IDENTIFIER_RE,
    TENANT_RE,
    ApiError,
    ApiKey,
    Condition,
    Field,
    Filter,
    Panel,
    Record,
    Table,
    Tenant,
    User,
    ValueError400,
    render_record,
)
from .query import CONDITION_OPS
from .records import check_unique, locate, normalize_record, not_found
from .variants import Variants, coerce_variant, present_record, present_webhook
from .webhooks import WebhookDispatcher, WebhookSettings

EVENT_TYPES = {"add": "ADD_RECORD", "update": "UPDATE_RECORD", "delete": "DELETE_RECORD"}
JOURNAL_MAX = 20000


@dataclass
class Event:
    tenant: str
    table_id: str
    kind: str  # add | update | delete
    record: Record


class EmulatorState:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.clock = Clock()
        self.knobs = Knobs()
        self.variants = Variants()
        self.limits = LimitSettings()
        self.limiter = RateLimiter(self.limits)
        self.webhook_settings = WebhookSettings()
        self.dispatcher = WebhookDispatcher(self.webhook_settings, clock=self.clock.time)
        self.tenants: dict[str, Tenant] = {}
        self.journal: deque[dict[str, Any]] = deque(maxlen=JOURNAL_MAX)
        self._journal_seq = 0
        self._ids = 1700000000
        self._record_ids = 0
        self._rng = random.Random()

    # ------------------------------------------------------------------ housekeeping
    def reset(self) -> None:
        with self.lock:
            self.tenants.clear()
            self.journal.clear()
            self._journal_seq = 0
            self.knobs = Knobs()
            self.variants = Variants()
            lim = LimitSettings()
            for k, v in asdict(lim).items():
                setattr(self.limits, k, v)
            self.limiter.clear()
            ws = WebhookSettings()
            for k, v in asdict(ws).items():
                setattr(self.webhook_settings, k, v)
            self.dispatcher.clear()
            self.clock.reset()
            self._rng = random.Random()

    def new_id(self, prefix: str) -> str:
        with self.lock:
            self._ids += 1
            return f"{prefix}_{self._ids}"

    def set_knobs(self, changes: dict[str, Any]) -> dict[str, Any]:
        """Apply knob changes (API knobs, limits, webhook delivery); unknown names are refused."""
        groups: list[Any] = [self.knobs, self.limits, self.webhook_settings, self.variants]
        with self.lock:
            checked: list[tuple[Any, str, Any]] = []
            for name, value in changes.items():  # all checked before any is applied
                target = next((g for g in groups if name in asdict(g)), None)
                if target is None:
                    raise ValueError400("UNKNOWN_KNOB", f"unknown knob '{name}'", target=name)
                if target is self.variants:
                    checked.append((target, name, coerce_variant(name, value)))
                else:
                    checked.append((target, name, coerce_knob(name, getattr(target, name), value)))
            for target, name, value in checked:
                setattr(target, name, value)
            if "seed" in changes:
                self._rng = random.Random(self.knobs.seed)
            return self.describe_knobs()

    def describe_knobs(self) -> dict[str, Any]:
        with self.lock:
            return {
                **asdict(self.knobs),
                **asdict(self.limits),
                **asdict(self.webhook_settings),
                **asdict(self.variants),
            }

    def random(self) -> float:
        with self.lock:
            return self._rng.random()

    # ------------------------------------------------------------------ tenants & schema
    def create_tenant(self, name: str, utc_offset_minutes: int = 540) -> Tenant:
        if not isinstance(name, str) or not TENANT_RE.match(name):
            raise ValueError400(
                "INVALID_PARAMETER", f"tenant name '{name}' must be lower-case letters, digits, '-'"
            )
        with self.lock:
            if name in self.tenants:
                raise ApiError("ALREADY_EXISTS", f"tenant '{name}' already exists", target=name, status=409)
            t = Tenant(name=name, utc_offset_minutes=int(utc_offset_minutes))
            self.tenants[name] = t
            return t

    def tenant(self, name: str) -> Tenant:
        with self.lock:
            t = self.tenants.get(name)
            if t is None:
                raise not_found("TENANT_NOT_FOUND", f"tenant '{name}' does not exist", name)
            return t

    def table(self, tenant: Tenant, table_id: str) -> Table:
        if not isinstance(table_id, str):
            raise ValueError400("INVALID_PARAMETER", f"table identifier {table_id!r} is not a string")
        tbl = tenant.tables.get(table_id)
        if tbl is None:
            raise not_found("TABLE_NOT_FOUND", f"table '{table_id}' does not exist", table_id)
        return tbl

    def add_user(self, tenant_name: str, user_id: str, name: str) -> User:
        if not isinstance(user_id, str) or not user_id.strip() or not isinstance(name, str):
            raise ValueError400("INVALID_PARAMETER", "userId and name are required strings")
        with self.lock:
            t = self.tenant(tenant_name)
            u = User(user_id, name)
            t.users[user_id] = u
            return u

    def _identifier(self, given: Any, prefix: str, taken: Any) -> str:
        if given is None:
            return self.new_id(prefix)
        if not isinstance(given, str) or not IDENTIFIER_RE.match(given):
            raise ValueError400(
                "INVALID_PARAMETER",
                f"identifier '{given}' must be letters, digits and '_' (at most 40)",
                target=str(given),
            )
        if given in taken:
            raise ApiError("ALREADY_EXISTS", f"identifier '{given}' already exists", target=given, status=409)
        return given

    def create_table(
        self,
        tenant_name: str,
        name: str,
        table_id: str | None = None,
        fields: list[dict[str, Any]] | None = None,
    ) -> Table:
        with self.lock:
            t = self.tenant(tenant_name)
            tid = self._identifier(table_id, "table", t.tables)
            tbl = Table(table_id=tid, name=str(name))
            t.tables[tid] = tbl
            t.webhooks[tid] = {}
            try:
                for spec in fields or []:
                    self.add_field(tenant_name, tid, spec)
            except ApiError:
                del t.tables[tid]
                del t.webhooks[tid]
                raise
            return tbl

    def add_field(self, tenant_name: str, table_id: str, spec: dict[str, Any]) -> Field:
        with self.lock:
            t = self.tenant(tenant_name)
            tbl = self.table(t, table_id)
            ftype = spec.get("type")
            if ftype not in FIELD_TYPES:
                raise ValueError400("INVALID_PARAMETER", f"field type '{ftype}' is not one of {FIELD_TYPES}")
            fid = self._identifier(spec.get("fieldId"), "field", tbl.fields)
            options = spec.get("options") or []
            if not isinstance(options, list) or not all(isinstance(o, str) for o in options):
                raise ValueError400("INVALID_PARAMETER", "options must be a list of strings")
            if ftype == "select" and not options:
                raise ValueError400("INVALID_PARAMETER", "a select field needs options")
            max_length = spec.get("maxLength")
            if max_length is not None and (not isinstance(max_length, int) or max_length < 1):
                raise ValueError400("INVALID_PARAMETER", "maxLength must be a positive integer")
            fld = Field(
                field_id=fid,
                name=str(spec.get("name", fid)),
                type=ftype,
                options=list(options),
                required=bool(spec.get("required", False)),
                unique=bool(spec.get("unique", False)) or ftype == "autonumber",
                max_length=max_length,
                calendar_title_field=spec.get("calendarTitleField"),
                calendar_location_field=spec.get("calendarLocationField"),
                calendar_content_field=spec.get("calendarContentField"),
            )
            tbl.fields[fid] = fld
            return fld

    def add_panel(
        self,
        tenant_name: str,
        table_id: str,
        name: str,
        field_ids: list[str] | None,
        panel_id: str | None = None,
    ) -> Panel:
        with self.lock:
            t = self.tenant(tenant_name)
            tbl = self.table(t, table_id)
            ids = list(tbl.fields) if field_ids is None else field_ids
            for fid in ids:
                if fid not in tbl.fields:
                    raise ValueError400(
                        "UNKNOWN_FIELD", f"field '{fid}' does not exist in {table_id}", target=fid
                    )
            taken = {p for tb in t.tables.values() for p in tb.panels}
            pid = self._identifier(panel_id, "panel", taken)
            panel = Panel(pid, str(name), list(ids))
            tbl.panels[pid] = panel
            return panel

    def add_filter(
        self,
        tenant_name: str,
        table_id: str,
        name: str,
        conditions: list[dict[str, Any]],
        filter_id: str | None = None,
    ) -> Filter:
        with self.lock:
            t = self.tenant(tenant_name)
            tbl = self.table(t, table_id)
            conds: list[Condition] = []
            for c in conditions:
                fid, op = c.get("field"), c.get("op")
                if not isinstance(fid, str) or fid not in tbl.fields:
                    raise ValueError400(
                        "UNKNOWN_FIELD", f"field '{fid}' does not exist in {table_id}", target=str(fid)
                    )
                if op not in CONDITION_OPS:
                    raise ValueError400(
                        "INVALID_PARAMETER", f"condition op '{op}' is not one of {CONDITION_OPS}"
                    )
                conds.append(Condition(fid, op, c.get("value")))
            taken = {f for tb in t.tables.values() for f in tb.filters}
            flt_id = self._identifier(filter_id, "filter", taken)
            flt = Filter(flt_id, str(name), conds)
            tbl.filters[flt_id] = flt
            return flt

    def create_api_key(
        self,
        tenant_name: str,
        title: str,
        tables: list[str],
        permissions: list[str],
        key: str | None = None,
        enabled: bool = True,
        expires_at: datetime | None = None,
    ) -> ApiKey:
        with self.lock:
            t = self.tenant(tenant_name)
            for tid in tables:
                self.table(t, tid)
            perms = parse_permissions(permissions)
            if key is None:
                alphabet = string.ascii_letters + string.digits
                key = "".join(secrets.choice(alphabet) for _ in range(32))
            elif not isinstance(key, str) or len(key) < 8 or any(c.isspace() for c in key):
                raise ValueError400(
                    "INVALID_PARAMETER", "an explicit key needs at least 8 non-space characters"
                )
            ak = ApiKey(
                key=key,
                title=str(title),
                tables=list(tables),
                permissions=perms,
                enabled=enabled,
                expires_at=expires_at,
            )
            t.api_keys[key] = ak
            return ak

    def update_api_key(self, tenant_name: str, key: str, changes: dict[str, Any]) -> ApiKey:
        with self.lock:
            t = self.tenant(tenant_name)
            ak = t.api_keys.get(key)
            if ak is None:
                raise not_found("API_KEY_NOT_FOUND", "no such API key")
            if "enabled" in changes:
                ak.enabled = bool(changes["enabled"])
            if "tables" in changes:
                if not isinstance(changes["tables"], list):
                    raise ValueError400("INVALID_PARAMETER", "tables must be a list", target="tables")
                for tid in changes["tables"]:
                    self.table(t, tid)
                ak.tables = list(changes["tables"])
            if "permissions" in changes:
                ak.permissions = parse_permissions(changes["permissions"])
            return ak

    # ------------------------------------------------------------------ records
    def create_records(
        self, tenant_name: str, table_id: str, raws: list[Any]
    ) -> tuple[list[int], list[Event]]:
        with self.lock:
            t = self.tenant(tenant_name)
            tbl = self.table(t, table_id)
            prepared = [normalize_record(tbl, t, raw, creating=True) for raw in raws]
            for i, vals in enumerate(prepared):
                check_unique(tbl, vals, t, None)
                for other in prepared[:i]:
                    for fid, v in vals.items():
                        if tbl.fields[fid].unique and v is not None and other.get(fid) == v:
                            raise ValueError400(
                                "DUPLICATE_VALUE", f"{fid}: '{v}' appears twice in the request", target=fid
                            )
            now = self.clock.now()
            ids: list[int] = []
            events: list[Event] = []
            for vals in prepared:
                for fld in tbl.fields.values():
                    if fld.type == "autonumber":
                        vals[fld.field_id] = str(tbl.next_autonumber)
                        tbl.next_autonumber += 1
                self._record_ids += 1
                rec = Record(self._record_ids, vals, now, now)
                tbl.records[rec.record_id] = rec
                ids.append(rec.record_id)
                events.append(Event(t.name, table_id, "add", rec))
            return ids, events

    def update_records(
        self, tenant_name: str, table_id: str, items: list[Any]
    ) -> tuple[list[int], list[Event]]:
        with self.lock:
            t = self.tenant(tenant_name)
            tbl = self.table(t, table_id)
            plan: list[tuple[Record, dict[str, Any]]] = []
            for item in items:
                rec = locate(tbl, t, item)
                vals = normalize_record(tbl, t, item.get("record"), creating=False)
                check_unique(tbl, vals, t, rec.record_id)
                plan.append((rec, vals))
            now = self.clock.now()
            events: list[Event] = []
            for rec, vals in plan:
                rec.values.update(vals)
                rec.updated_at = now
                rec.revision += 1
                events.append(Event(t.name, table_id, "update", rec))
            return [rec.record_id for rec, _ in plan], events

    def delete_records(
        self, tenant_name: str, table_id: str, items: list[Any]
    ) -> tuple[list[int], list[Event]]:
        with self.lock:
            t = self.tenant(tenant_name)
            tbl = self.table(t, table_id)
            recs = [locate(tbl, t, item) for item in items]
            events: list[Event] = []
            ids: list[int] = []
            for rec in recs:
                if tbl.records.pop(rec.record_id, None) is not None:
                    ids.append(rec.record_id)
                    events.append(Event(t.name, table_id, "delete", rec))
            return ids, events

    # ------------------------------------------------------------------ webhooks
    def fire(self, events: list[Event]) -> list[int]:
        """Queue one delivery per (event, matching webhook); returns the delivery IDs."""
        ids: list[int] = []
        with self.lock:
            for ev in events:
                t = self.tenants.get(ev.tenant)
                if t is None or ev.table_id not in t.tables:
                    continue
                tbl = t.tables[ev.table_id]
                for hook in t.webhooks.get(ev.table_id, {}).values():
                    if not hook.enabled or ev.kind not in hook.events:
                        continue
                    rendered = render_record(tbl, ev.record, t, hook.fields)
                    body = present_webhook(
                        {
                            "type": EVENT_TYPES[ev.kind],
                            "recordId": ev.record.record_id,
                            "record": present_record(tbl, rendered, ev.record.record_id, t, self.variants),
                        },
                        self.variants,
                    )
                    ids.append(
                        self.dispatcher.enqueue(
                            t.name, ev.table_id, hook.webhook_id, hook.url, hook.headers, body
                        )
                    )
        return ids

    def test_webhook(self, tenant_name: str, table_id: str, webhook_id: str) -> int:
        with self.lock:
            t = self.tenant(tenant_name)
            tbl = self.table(t, table_id)
            hook = t.webhooks[table_id].get(webhook_id)
            if hook is None:
                raise not_found("WEBHOOK_NOT_FOUND", f"webhook '{webhook_id}' does not exist", webhook_id)
            body: Any = {"type": "TEST", "recordId": 0, "record": {}}
            if self.variants.test_send_form == "sample":
                body = {"type": "ADD_RECORD", "recordId": 0, "record": self._sample_record(t, tbl)}
            body = present_webhook(body, self.variants)
            return self.dispatcher.enqueue(t.name, table_id, hook.webhook_id, hook.url, hook.headers, body)

    def _sample_record(self, t: Tenant, tbl: Table) -> dict[str, Any]:
        """What a test send with sample data may carry: every field with a made-up value."""
        now = self.clock.now().astimezone(t.tz).replace(second=0, microsecond=0)
        out: dict[str, Any] = {}
        for fld in tbl.fields.values():
            if fld.type == "schedule":
                start = now.isoformat(timespec="minutes")
                out[fld.field_id] = {
                    f"{fld.field_id}_period": [start, start],
                    f"{fld.field_id}_participants": [["sample", "サンプル"]],
                }
            elif fld.type == "select":
                out[fld.field_id] = fld.options[0] if fld.options else ""
            elif fld.type in ("text", "textarea"):
                out[fld.field_id] = "サンプル"
            elif fld.type == "autonumber":
                out[fld.field_id] = "0"
        return out

    # ------------------------------------------------------------------ journal
    def log_request(self, entry: dict[str, Any]) -> None:
        with self.lock:
            self._journal_seq += 1
            self.journal.append({"seq": self._journal_seq, **entry})

    def journal_since(self, since: int = 0, tenant: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            return [
                dict(e)
                for e in self.journal
                if e["seq"] > since and (tenant is None or e.get("tenant") == tenant)
            ]
