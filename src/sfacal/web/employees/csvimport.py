"""E6: employees from a CSV file (UTF-8 or Shift_JIS/CP932), previewed row by row before import.

Columns are found by their header, in Japanese or English (any order; unknown columns are
ignored)::

    社員ログインID / login_id      required
    氏名 / name
    メールアドレス / email
    連携 / state                   連携する|連携しない|使用禁止  or  on|off|forbidden
    ユーザーID設定 / user_id_mode  指定|ログインID  or  explicit|login_at_domain
    連携ユーザーID / user_id
    連携先カレンダー / calendar

An empty cell leaves an existing employee's value unchanged.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _

from sfacal.web.companies.models import Company
from sfacal.web.employees.models import Employee, SyncState, UserIdMode

MAX_ROWS = 5000
MAX_BYTES = 2 * 1024 * 1024

HEADERS = {
    "login_id": ("社員ログインid", "ログインid", "login_id", "login id", "loginid"),
    "name": ("氏名", "名前", "社員名", "name"),
    "email": ("メールアドレス", "メール", "email", "mail"),
    "state": ("連携", "スケジュール連携", "state", "sync"),
    "user_id_mode": ("ユーザーid設定", "user_id_mode", "mode"),
    "user_id": ("連携ユーザーid", "ユーザーid", "user_id", "user id", "mailbox"),
    "calendar_name": ("連携先カレンダー", "カレンダー", "calendar", "calendar_name"),
}
STATES = {
    "連携する": SyncState.ON,
    "on": SyncState.ON,
    "連携しない": SyncState.OFF,
    "off": SyncState.OFF,
    "使用禁止": SyncState.FORBIDDEN,
    "forbidden": SyncState.FORBIDDEN,
}
MODES = {
    "指定": UserIdMode.EXPLICIT,
    "個別": UserIdMode.EXPLICIT,
    "explicit": UserIdMode.EXPLICIT,
    "ログインid": UserIdMode.LOGIN_AT_DOMAIN,
    "ログインid@ドメイン": UserIdMode.LOGIN_AT_DOMAIN,
    "login_at_domain": UserIdMode.LOGIN_AT_DOMAIN,
}


class CsvImportError(ValueError):
    """The file as a whole cannot be read (encoding, no header, too large)."""


@dataclass
class RowPreview:
    line: int
    values: dict[str, str]
    action: str = ""  # "create" | "update" | "unchanged"
    errors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"line": self.line, "values": self.values, "action": self.action, "errors": self.errors}


def decode(raw: bytes) -> str:
    if len(raw) > MAX_BYTES:
        raise CsvImportError(_("The file is too large (at most 2 MB)."))
    for encoding in ("utf-8-sig", "cp932"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise CsvImportError(_("The file is neither UTF-8 nor Shift_JIS (CP932) text."))


def _column_map(header: list[str]) -> dict[int, str]:
    found: dict[int, str] = {}
    for index, title in enumerate(header):
        key = title.strip().lower().replace("ｉｄ", "id").replace("ＩＤ", "id")
        for name, aliases in HEADERS.items():
            if key in aliases and name not in found.values():
                found[index] = name
    return found


def preview(company: Company, raw: bytes) -> list[RowPreview]:
    """Parse and validate every row against the company's employees, without saving."""
    text = decode(raw)
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        raise CsvImportError(_("The file is empty.")) from None
    columns = _column_map(header)
    if "login_id" not in columns.values():
        raise CsvImportError(_("The header has no login ID column (社員ログインID or login_id)."))
    existing = {e.login_id: e for e in Employee.objects.for_company(company)}
    seen: set[str] = set()
    rows: list[RowPreview] = []
    for line, record in enumerate(reader, start=2):
        if not any(cell.strip() for cell in record):
            continue
        if len(rows) >= MAX_ROWS:
            raise CsvImportError(_("The file has more than %(n)d rows.") % {"n": MAX_ROWS})
        values = {name: (record[i].strip() if i < len(record) else "") for i, name in columns.items()}
        row = RowPreview(line, values)
        _validate(row, seen)
        login = values.get("login_id", "")
        if not row.errors:
            current = existing.get(login)
            if current is None:
                row.action = "create"
            else:
                changes = _changes(current, normalized(values))
                row.action = "update" if changes else "unchanged"
        rows.append(row)
    return rows


def _validate(row: RowPreview, seen: set[str]) -> None:
    v = row.values
    login = v.get("login_id", "")
    if not login:
        row.errors.append(_("Login ID: required."))
    elif login in seen:
        row.errors.append(_("Login ID: appears twice in the file."))
    seen.add(login)
    if v.get("state") and v["state"].lower() not in STATES:
        row.errors.append(_("Sync: use 連携する, 連携しない or 使用禁止 (on, off, forbidden)."))
    if v.get("user_id_mode") and v["user_id_mode"].lower() not in MODES:
        row.errors.append(_("User ID setting: use 指定 or ログインID (explicit, login_at_domain)."))
    for key, label in (("email", _("Mail address")), ("user_id", _("Sync user ID"))):
        if v.get(key):
            try:
                validate_email(v[key])
            except ValidationError:
                row.errors.append(_("%(field)s: not a mail address.") % {"field": label})
    state = STATES.get(v.get("state", "").lower())
    mode = MODES.get(v.get("user_id_mode", "").lower())
    if state == SyncState.ON and mode in (None, UserIdMode.EXPLICIT) and not v.get("user_id") and mode:
        row.errors.append(_("Sync user ID: required while the sync is on."))


def normalized(values: dict[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in values.items():
        if not value:
            continue
        if key == "state":
            out[key] = STATES[value.lower()]
        elif key == "user_id_mode":
            out[key] = MODES[value.lower()]
        else:
            out[key] = value
    return out


def _changes(employee: Employee, values: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in values.items() if k != "login_id" and str(getattr(employee, k)) != v}
