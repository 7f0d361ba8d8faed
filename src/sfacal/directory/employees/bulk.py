"""Changes to many employees at once (E1-E4, E6): the push API and the CSV import (command and
upload screen) go through here, so they follow the same rules as each other; the engine's side of
every change (E4 sync start, P3/S2, E2, P4, a new employee's catch-up) is
:func:`sfacal.directory.employees.changes.settings_changed` (the engine's rules), as for the
employee screens.

* A field given as ``None`` keeps its current value (a new employee gets the default).
* A new employee without an explicit user ID mode uses "login ID @ domain" unless a user ID is
  given (E2).
* Sync on with an explicit user ID mode needs a user ID.
* Values may be written in Japanese or English (:func:`parse_state`, :func:`parse_user_id_mode`).
* Many changes are written in short transactions (:mod:`sfacal.directory.writes`): another writer (a
  webhook) never waits for a long import, and an import that stops midway keeps what it wrote
  (:class:`ChangesInterrupted` says where it stopped).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, cast

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from sfacal.core.errors import InputError
from sfacal.directory import writes
from sfacal.directory.companies.models import AuditEntry, Company
from sfacal.directory.employees import changes
from sfacal.directory.employees.models import Employee, SyncState, UserIdMode

__all__ = [
    "ChangesInterrupted",
    "EmployeeChange",
    "EmployeeOutcome",
    "apply_employee_changes",
    "check_address",
    "check_login_id",
    "parse_state",
    "parse_user_id_mode",
]

_STATE_ALIASES: dict[str, SyncState] = {
    "on": SyncState.ON,
    "off": SyncState.OFF,
    "forbidden": SyncState.FORBIDDEN,
    "連携する": SyncState.ON,
    "連携しない": SyncState.OFF,
    "使用禁止": SyncState.FORBIDDEN,
    "する": SyncState.ON,
    "しない": SyncState.OFF,
    "禁止": SyncState.FORBIDDEN,
    "true": SyncState.ON,
    "false": SyncState.OFF,
    "yes": SyncState.ON,
    "no": SyncState.OFF,
    "1": SyncState.ON,
    "0": SyncState.OFF,
    "○": SyncState.ON,
    "×": SyncState.OFF,
}
_MODE_ALIASES: dict[str, UserIdMode] = {
    "explicit": UserIdMode.EXPLICIT,
    "指定": UserIdMode.EXPLICIT,
    "ログインid": UserIdMode.LOGIN_AT_DOMAIN,
    "login_at_domain": UserIdMode.LOGIN_AT_DOMAIN,
    "user_id": UserIdMode.EXPLICIT,
    "login@domain": UserIdMode.LOGIN_AT_DOMAIN,
    "個別": UserIdMode.EXPLICIT,
    "個別に指定": UserIdMode.EXPLICIT,
    "個別に設定": UserIdMode.EXPLICIT,
    "ユーザーidを指定": UserIdMode.EXPLICIT,
    "連携ユーザーid": UserIdMode.EXPLICIT,
    "社員ログインid@ドメイン名": UserIdMode.LOGIN_AT_DOMAIN,
    "ログインid@ドメイン名": UserIdMode.LOGIN_AT_DOMAIN,
    "社員ログインid@ドメイン": UserIdMode.LOGIN_AT_DOMAIN,
    "ログインid@ドメイン": UserIdMode.LOGIN_AT_DOMAIN,
}


def _key(value: str) -> str:
    return value.strip().lower().replace("＠", "@").replace("ＩＤ", "id").replace(" ", "")


def parse_state(value: str, field_name: str = "state") -> SyncState:
    """E1 state from ``on``/``off``/``forbidden`` or 連携する/連携しない/使用禁止 (and a few more)."""
    found = _STATE_ALIASES.get(_key(value))
    if found is None:
        raise InputError(
            field_name,
            f"unknown state {value!r} (allowed: on, off, forbidden)",
            reason_ja=f"不明な値です: {value}（連携する・連携しない・使用禁止 のいずれか）",
        )
    return found


def parse_user_id_mode(value: str, field_name: str = "user_id_mode") -> UserIdMode:
    """E2 mode from ``explicit``/``login_at_domain`` or 個別に指定/社員ログインID@ドメイン名."""
    found = _MODE_ALIASES.get(_key(value))
    if found is None:
        raise InputError(
            field_name,
            f"unknown user ID mode {value!r} (allowed: explicit, login_at_domain)",
            reason_ja=f"不明な値です: {value}（個別に指定・社員ログインID@ドメイン名 のいずれか）",
        )
    return found


def check_address(value: str, field_name: str) -> str:
    """A mail address / user principal name, or :class:`InputError`; empty stays empty."""
    text = value.strip()
    if not text:
        return ""
    try:
        validate_email(text)
    except ValidationError as exc:
        raise InputError(
            field_name,
            f"not a mail address: {text[:60]!r}",
            reason_ja=f"メールアドレスの形式ではありません: {text[:60]}",
        ) from exc
    return text


def check_login_id(value: str, field_name: str = "login_id") -> str:
    text = value.strip()
    if not text:
        raise InputError(field_name, "must not be empty", reason_ja="社員ログインIDは必須です")
    if len(text) > 150:
        raise InputError(field_name, "longer than 150 characters", reason_ja="150文字以内にしてください")
    if "\x00" in text:
        raise InputError(field_name, "contains a NUL character", reason_ja="使用できない文字があります")
    return text


@dataclass(frozen=True)
class EmployeeChange:
    """What to set on one employee; ``None`` keeps the current value."""

    login_id: str
    name: str | None = None
    email: str | None = None
    state: SyncState | None = None
    user_id_mode: UserIdMode | None = None
    user_id: str | None = None
    calendar_name: str | None = None
    ref: int = 0  # the caller's reference (a CSV line number), echoed in the outcome


Action = Literal["created", "updated", "unchanged", "error", "not_imported"]


@dataclass
class EmployeeOutcome:
    login_id: str
    action: Action
    ref: int = 0
    employee: Employee | None = None
    error: InputError | None = None


class ChangesInterrupted(Exception):
    """:func:`apply_employee_changes` stopped while writing: the chunks before are committed.
    ``outcomes`` is complete (the rows whose write did not commit are ``not_imported``),
    ``first`` is the outcome of the first row not written, ``cause`` what stopped it."""

    def __init__(self, outcomes: list[EmployeeOutcome], first: EmployeeOutcome, cause: BaseException) -> None:
        super().__init__(f"stopped at {first.login_id!r}: {type(cause).__name__}: {cause}")
        self.outcomes = outcomes
        self.first = first
        self.cause = cause


_FIELDS = ("name", "email", "state", "user_id_mode", "user_id", "calendar_name")


def _merge(employee: Employee, change: EmployeeChange, *, is_new: bool) -> list[str]:
    """Apply ``change`` to ``employee`` in memory; the names of the changed fields."""
    before = {name: getattr(employee, name) for name in _FIELDS}
    if change.name is not None:
        employee.name = change.name.strip()[:200]
    if change.email is not None:
        employee.email = check_address(change.email, "email")
    if change.user_id is not None:
        employee.user_id = check_address(change.user_id, "user_id")
    if change.calendar_name is not None:
        employee.calendar_name = change.calendar_name.strip()[:255]
    if change.user_id_mode is not None:
        employee.user_id_mode = change.user_id_mode
    elif is_new:
        employee.user_id_mode = UserIdMode.EXPLICIT if employee.user_id else UserIdMode.LOGIN_AT_DOMAIN
    if change.state is not None:
        employee.state = change.state
    if (
        employee.state == SyncState.ON
        and employee.user_id_mode == UserIdMode.EXPLICIT
        and not employee.user_id
    ):
        raise InputError(
            "user_id",
            "a user ID is required to turn sync on with an explicit user ID",
            reason_ja="連携する場合は連携ユーザーIDが必要です（または「社員ログインID@ドメイン名」を選択）",
        )
    return [name for name in _FIELDS if getattr(employee, name) != before[name]]


_AUDITED = ("name", "email", "state", "user_id_mode", "user_id", "calendar_name")


def _audit_entries(
    company: Company, employee: Employee, before: dict[str, object], actor: object
) -> list[AuditEntry]:
    user = cast(Any, actor) if getattr(actor, "is_authenticated", False) else None
    return [
        AuditEntry(
            company=company,
            user=user,
            object_type="employee",
            object_id=str(employee.pk),
            field=name,
            old_value=str(before.get(name) or ""),
            new_value=str(getattr(employee, name) or ""),
        )
        for name in _AUDITED
        if (before.get(name) or "") != (getattr(employee, name) or "")
    ]


@dataclass
class _Write:
    """One employee to write: its outcome, its state before (``None`` values when new), the
    fields that changed."""

    outcome: EmployeeOutcome
    employee: Employee
    before: dict[str, object]
    is_new: bool
    changed: list[str]
    position: int  # 1-based, in ``changes``


def apply_employee_changes(
    company: Company,
    changes: Sequence[EmployeeChange],
    *,
    now: datetime,
    dry_run: bool = False,
    batch_size: int = 2000,
    actor: object = None,
    progress: Callable[[int], None] | None = None,
) -> list[EmployeeOutcome]:
    """Create or update many employees; a bad change is reported and never stops the others.

    Reads the company's employees once and checks every change first; then writes new ones with
    ``bulk_create`` and changed ones with ``bulk_update``, in short transactions
    (:func:`sfacal.directory.writes.write_in_chunks`: at most ``batch_size`` employees and under a
    second each, so no other writer waits long), with an audit entry per changed field
    (``actor``: the signed-in user, if any). Each written employee then goes through
    :func:`~sfacal.directory.employees.changes.settings_changed` (the engine's E4 with ``now`` as the sync start, P4,
    S2, E2, a new employee's catch-up); its background work starts after its chunk commits.
    ``dry_run`` checks and compares without writing. ``progress(rows)`` follows the writes.

    :class:`ChangesInterrupted` when a write fails midway: the chunks before it are committed.
    """
    logins = [c.login_id.strip() for c in changes]
    existing: dict[str, Employee] = {}
    for start in range(0, len(logins), 900):
        chunk = logins[start : start + 900]
        for row in Employee.objects.filter(company=company, login_id__in=chunk):
            existing[row.login_id] = row
    outcomes: list[EmployeeOutcome] = []
    pending: list[_Write] = []
    seen: set[str] = set()

    for position, change in enumerate(changes, 1):
        try:
            login = check_login_id(change.login_id)
            if login in seen:
                raise InputError(
                    "login_id",
                    f"{login!r} appears twice",
                    reason_ja=f"社員ログインID「{login}」が重複しています",
                )
            seen.add(login)
            current = existing.get(login)
            is_new = current is None
            employee = current if current is not None else Employee(company=company, login_id=login)
            snapshot: dict[str, object] = {name: getattr(employee, name) for name in _FIELDS}
            if is_new:
                snapshot = {name: None for name in _FIELDS}
            try:
                changed = _merge(employee, change, is_new=is_new)
            except InputError:
                if not is_new:
                    for name, value in snapshot.items():  # leave the cached row untouched
                        setattr(employee, name, value)
                raise
        except InputError as exc:
            outcomes.append(EmployeeOutcome(change.login_id, "error", change.ref, error=exc))
            continue
        action: Action = "created" if is_new else "updated" if changed else "unchanged"
        outcome = EmployeeOutcome(login, action, change.ref, employee)
        outcomes.append(outcome)
        if action != "unchanged":
            employee.updated_at = now
            pending.append(_Write(outcome, employee, snapshot, is_new, changed, position))
            existing[login] = employee
    if not dry_run and pending:
        _write(company, pending, outcomes, now=now, actor=actor, batch_size=batch_size, progress=progress)
    if progress is not None:
        progress(len(changes))
    return outcomes


def _write(
    company: Company,
    pending: list[_Write],
    outcomes: list[EmployeeOutcome],
    *,
    now: datetime,
    actor: object,
    batch_size: int,
    progress: Callable[[int], None] | None,
) -> None:
    def write(chunk: Sequence[_Write]) -> None:
        new = [w.employee for w in chunk if w.is_new]
        updated = [w.employee for w in chunk if not w.is_new]
        if new:
            Employee.objects.bulk_create(new)
        if updated:
            fields = sorted({name for w in chunk if not w.is_new for name in w.changed})
            Employee.objects.bulk_update(updated, [*fields, "updated_at"])
        entries = [entry for w in chunk for entry in _audit_entries(company, w.employee, w.before, actor)]
        AuditEntry.objects.bulk_create(entries, batch_size=1000)
        for w in chunk:
            changes.settings_changed(w.employee, {} if w.is_new else w.before, now=now)

    def committed(done: int) -> None:
        if progress is not None:
            progress(pending[done - 1].position)

    try:
        writes.write_in_chunks(pending, write, most=batch_size, on_commit=committed)
    except writes.Interrupted as exc:
        for w in pending[exc.done :]:
            w.outcome.action = "not_imported"
        raise ChangesInterrupted(outcomes, pending[exc.done].outcome, exc.cause) from exc
