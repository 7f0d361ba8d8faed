"""Desired state vs the mirror table -> calendar operations.

:func:`plan` takes one change (a :class:`Schedule` or a :class:`ScheduleDeletion`), the employees'
settings, the mirror rows of that schedule, the company policy and the masters, and returns a
:class:`Plan`: the operations to run per mailbox, in order, and one :class:`Outcome` per employee
(also for "nothing to do", with its reason) for the log.

Guarantees (each has a test):

* **No duplicates.** At most one live event per (schedule, employee); a create is always sent with
  a ``transactionId`` derived from (schedule, employee, mailbox, calendar, generation)
  (:func:`transaction_id`), so re-sending it after a crash between "sent" and "recorded" is
  de-duplicated by the calendar. A pending create (``MirrorStatus.PENDING``) is re-sent with the same
  id; an event we removed or that the user deleted is re-created with the next generation.
* **Moves are make-before-break** (P4, E2, E3). When the employee's mailbox or calendar changed, an
  event is created in the new place first; our events in the old place are deleted only by a plan
  that finds the new place holding the event (its row ACTIVE). Until then the plan leaves them and
  counts them (:attr:`Plan.waiting`): the engine plans the record again once this plan's writes
  succeeded. A switch whose new calendar cannot be written (missing, renamed, no permission) thus
  never leaves the employee with fewer mirrored plans than before. Within a plan, deletes come
  before updates and creates.
* **Unchanged content is not re-sent.** An update is planned only when the rendered content's hash
  differs from the hash recorded when it was last written (or the row's hash was cleared, e.g. to
  restore the SFA version after a calendar edit, T2).
* **Company switches.** With sync off (C1) or calendar writes off (C4) the plan has no operations and
  ``blocked`` names the reason: the engine keeps the change and applies it when switched on.

The engine records results with :func:`pending_row` (before sending a create), :func:`row_after`
(after success), :func:`lost_row` (the event was found deleted in the calendar) and
:meth:`Operation.recreate` (an update answered 404: re-create with the next generation, S9).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from sfacal.core.errors import InputError
from sfacal.core.frozen import quick_init
from sfacal.core.policy import Action, Check, Reason, decide
from sfacal.core.render import FieldMapping, RenderedEvent, content_hash, render
from sfacal.core.schedule import AllDaySpan, Change, Schedule, SourceRef, zone
from sfacal.core.settings import (
    CompanyPolicy,
    EmployeeSettings,
    Masters,
    normalize_calendar,
    normalize_mailbox,
)

__all__ = [
    "MirrorRow",
    "MirrorStatus",
    "OpKind",
    "Operation",
    "Outcome",
    "Plan",
    "backfill",
    "backfill_window_start",
    "lost_row",
    "pending_row",
    "plan",
    "row_after",
    "transaction_id",
]

_TX_NAMESPACE = uuid.UUID("5b0c7a52-3f4e-4d1a-9a55-0c1f5e7d2b10")


def transaction_id(
    ref: SourceRef, login_id: str, mailbox: str, calendar_name: str | None, generation: int
) -> str:
    """The deterministic Graph ``transactionId`` of a create (a UUID string)."""
    name = "\x1f".join(
        (str(ref), login_id, normalize_mailbox(mailbox) or "", calendar_name or "", str(generation))
    )
    return uuid5_text(_TX_NAMESPACE_BYTES, name)


_TX_NAMESPACE_BYTES = _TX_NAMESPACE.bytes


def uuid5_text(namespace: bytes, name: str) -> str:
    """``str(uuid.uuid5(UUID(bytes=namespace), name))`` without building UUID objects."""
    digest = bytearray(hashlib.sha1(namespace + name.encode("utf-8"), usedforsecurity=False).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = digest.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


class MirrorStatus(StrEnum):
    PENDING = "pending"  # a create was (or is about to be) sent; its event id is not recorded yet
    ACTIVE = "active"  # the event exists, as far as we know
    REMOVED = "removed"  # we deleted it; the row stays as a tombstone so the generation goes on
    LOST = "lost"  # it was deleted in the calendar; re-created at the next SFA change (S9)


@quick_init
@dataclass(frozen=True)
class MirrorRow:
    """One row of the mirror table; unique on (ref, login_id, mailbox, calendar_name)."""

    ref: SourceRef
    login_id: str
    mailbox: str
    calendar_name: str | None
    transaction_id: str
    generation: int = 0
    event_id: str | None = None
    content_hash: str | None = None
    change_key: str | None = None
    synced_revision: str | None = None
    status: MirrorStatus | None = None  # default: ACTIVE with an event id, PENDING without

    def __post_init__(self) -> None:
        mailbox = normalize_mailbox(self.mailbox)
        if mailbox is None:
            raise InputError("mailbox", "must not be empty", reason_ja="メールボックスは必須です")
        object.__setattr__(self, "mailbox", mailbox)
        object.__setattr__(self, "calendar_name", normalize_calendar(self.calendar_name))
        if self.generation < 0:
            raise InputError("generation", "must not be negative", reason_ja="0以上にしてください")
        if self.status is None:
            object.__setattr__(self, "status", MirrorStatus.ACTIVE if self.event_id else MirrorStatus.PENDING)
        else:
            object.__setattr__(self, "status", MirrorStatus(self.status))

    @property
    def location(self) -> tuple[str, str | None]:
        return (self.mailbox, self.calendar_name)

    @property
    def is_live(self) -> bool:
        """Whether an event of ours may exist for this row."""
        return self.status in (MirrorStatus.PENDING, MirrorStatus.ACTIVE)

    @property
    def needs_cleanup(self) -> bool:
        """Whether an unwanted row still needs a DELETE: live rows, and LOST rows (the DELETE finds
        nothing and turns them into tombstones, so a later wish re-creates the event)."""
        return self.status is not MirrorStatus.REMOVED


class OpKind(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


@quick_init
@dataclass(frozen=True)
class Operation:
    """One calendar write.

    * CREATE: ``event`` in (``mailbox``, ``calendar_name``) with ``transaction_id``.
    * UPDATE: ``event_id`` gets ``event`` (all fields, including ``is_all_day``: S7); ``change_key``
      is what we last saw (use it for ``If-Match`` in two-way mode). A 404 means the user deleted the
      event: run :meth:`recreate` instead.
    * DELETE: ``event_id``; when ``None`` (an unconfirmed create), find our event by its tag (S6)
      or ``transaction_id`` in that calendar. A 404 counts as done.
    """

    kind: OpKind
    ref: SourceRef
    login_id: str
    mailbox: str
    calendar_name: str | None
    transaction_id: str
    generation: int
    reason: Reason
    event: RenderedEvent | None = None
    event_id: str | None = None
    content_hash: str | None = None
    change_key: str | None = None
    revision: str | None = None

    def recreate(self) -> Operation:
        """The CREATE replacing an UPDATE that found its event deleted (next generation, S9)."""
        generation = self.generation + 1
        return replace(
            self,
            kind=OpKind.CREATE,
            generation=generation,
            transaction_id=transaction_id(
                self.ref, self.login_id, self.mailbox, self.calendar_name, generation
            ),
            event_id=None,
            change_key=None,
            reason=Reason.RECREATE_LOST,
        )


@quick_init
@dataclass(frozen=True)
class Outcome:
    """What the plan means for one employee (for the log, L1)."""

    login_id: str
    reason: Reason
    kinds: tuple[OpKind, ...] = ()  # empty: nothing to do
    mailbox: str | None = None
    calendar_name: str | None = None


@quick_init
@dataclass(frozen=True)
class Plan:
    ref: SourceRef
    operations: tuple[Operation, ...] = ()
    outcomes: tuple[Outcome, ...] = ()
    blocked: Reason | None = None  # SYNC_DISABLED (C1) / WRITE_DISABLED (C4): keep the change
    # Our events (rows) in an old place left until the new place holds ours (make-before-break):
    # plan the record again once these operations succeeded, and they will be deleted.
    waiting: int = 0

    @property
    def follow_up(self) -> bool:
        """Whether the record must be planned again once this plan's operations succeeded."""
        return self.waiting > 0

    def by_mailbox(self) -> dict[str, tuple[Operation, ...]]:
        """Operations grouped per mailbox, each group in execution order."""
        groups: dict[str, list[Operation]] = {}
        for op in self.operations:
            groups.setdefault(op.mailbox, []).append(op)
        return {mailbox: tuple(ops) for mailbox, ops in groups.items()}


_ORDER = {OpKind.DELETE: 0, OpKind.UPDATE: 1, OpKind.CREATE: 2}


def _delete(row: MirrorRow, reason: Reason) -> Operation:
    return Operation(
        kind=OpKind.DELETE,
        ref=row.ref,
        login_id=row.login_id,
        mailbox=row.mailbox,
        calendar_name=row.calendar_name,
        transaction_id=row.transaction_id,
        generation=row.generation,
        reason=reason,
        event_id=row.event_id,
    )


def plan(
    change: Change,
    employees: Mapping[str, EmployeeSettings],
    mirrors: Sequence[MirrorRow],
    policy: CompanyPolicy,
    masters: Masters,
    *,
    backfill: bool = False,
    mapping: FieldMapping | None = None,
    only: Collection[str] | None = None,
    trail: dict[str, list[Check]] | None = None,
) -> Plan:
    """Plan the calendar writes for one change (see the module docstring).

    ``mirrors`` may hold rows of other schedules; they are ignored. ``only`` restricts the plan to
    some login IDs (back-fill of one employee). ``backfill`` lifts S8 (sync start). ``trail``, when
    given, receives per login ID the rules :func:`~sfacal.core.policy.decide` looked at (for the
    explainer, :mod:`sfacal.core.explain`).
    """
    ref = change.ref
    if not policy.sync_enabled:
        return Plan(ref, blocked=Reason.SYNC_DISABLED)
    if not policy.write_enabled:
        return Plan(ref, blocked=Reason.WRITE_DISABLED)
    rows = [row for row in mirrors if row.ref == ref]
    logins: dict[str, None] = {}
    if isinstance(change, Schedule):
        logins.update(dict.fromkeys(change.participants))
    logins.update(dict.fromkeys(sorted({row.login_id for row in rows})))
    rendered = render(change, policy.timezone, mapping) if isinstance(change, Schedule) else None
    digest = content_hash(rendered) if rendered is not None else None
    revision = change.revision
    ops: list[Operation] = []
    outcomes: list[Outcome] = []
    mine_ops: list[Operation]
    waiting = 0
    for login in logins:
        if only is not None and login not in only:
            continue
        employee = employees.get(login)
        mine = [row for row in rows if row.login_id == login] if rows else []
        live = [row for row in mine if row.is_live]
        unwanted = [row for row in mine if row.needs_cleanup]
        # A create that was started (say by a P4 back-fill, which lifts S8) and then cut short by a
        # crash is finished, not left half-done: S8 was settled when it was planned (S11). So is a
        # move whose new place already holds our event: its old events must go (no duplicate).
        started = (
            any(row.status is MirrorStatus.PENDING for row in mine) or _moved_in(mine, employee, policy)
            if mine
            else False
        )
        decision = decide(
            change,
            login,
            employee,
            masters,
            backfill=backfill or started,
            mirrored=bool(live),
            trail=trail.setdefault(login, []) if trail is not None else None,
        )
        if decision.action is Action.LEAVE:
            outcomes.append(Outcome(login, decision.reason))
            continue
        if decision.action is Action.REMOVE:
            mine_ops = [_delete(row, decision.reason) for row in unwanted]
            ops.extend(mine_ops)
            outcomes.append(Outcome(login, decision.reason, tuple(op.kind for op in mine_ops)))
            continue
        assert employee is not None and rendered is not None and digest is not None
        mailbox = employee.mailbox(policy.domain)
        if mailbox is None:
            outcomes.append(Outcome(login, Reason.MAILBOX_UNRESOLVED))
            continue
        target = (mailbox, employee.calendar_name)
        mine_ops = []
        current: MirrorRow | None = None
        elsewhere: list[MirrorRow] = []
        if mine:  # (an employee's first write skips this)
            elsewhere = [row for row in unwanted if row.location != target]
            here = sorted((row for row in mine if row.location == target), key=lambda r: r.generation)
            current = here[-1] if here else None
            mine_ops = [_delete(row, Reason.DUPLICATE) for row in here[:-1] if row.is_live]
        write = _write(
            ref,
            login,
            target,
            current,
            rendered,
            digest,
            revision,
            backfill,
            moved=bool(elsewhere or mine_ops),
        )
        if elsewhere:
            held = current is not None and current.status is MirrorStatus.ACTIVE
            if held or not any(row.is_live for row in elsewhere):
                mine_ops[:0] = [_delete(row, Reason.CALENDAR_CHANGED) for row in elsewhere]
            else:  # make-before-break: the old events stay until the new place holds ours
                waiting += len(elsewhere)
        if isinstance(write, Operation):
            mine_ops.append(write)
            reason = write.reason
        elif write is not None:
            reason = write
        else:
            reason = mine_ops[0].reason if mine_ops else Reason.UP_TO_DATE
        ops.extend(mine_ops)
        outcomes.append(
            Outcome(login, reason, tuple([op.kind for op in mine_ops]), mailbox, employee.calendar_name)
        )
    if len(ops) > 1:
        ops.sort(key=lambda op: _ORDER[op.kind])
    return Plan(ref, tuple(ops), tuple(outcomes), waiting=waiting if ops else 0)


def _moved_in(mine: Sequence[MirrorRow], employee: EmployeeSettings | None, policy: CompanyPolicy) -> bool:
    """Whether the employee's current place holds our event while live events remain elsewhere
    (the second step of a make-before-break move is due)."""
    if len(mine) < 2 or employee is None:
        return False
    mailbox = employee.mailbox(policy.domain)
    if mailbox is None:
        return False
    target = (mailbox, employee.calendar_name)
    held = any(row.location == target and row.status is MirrorStatus.ACTIVE for row in mine)
    return held and any(row.location != target and row.is_live for row in mine)


def _write(
    ref: SourceRef,
    login: str,
    target: tuple[str, str | None],
    current: MirrorRow | None,
    rendered: RenderedEvent,
    digest: str,
    revision: str,
    backfill: bool,
    moved: bool,
) -> Operation | Reason | None:
    """The create/update for the target location, or the reason why none is needed."""
    mailbox, calendar = target

    def make(
        kind: OpKind, generation: int, tx: str, reason: Reason, row: MirrorRow | None = None
    ) -> Operation:
        return Operation(
            kind=kind,
            ref=ref,
            login_id=login,
            mailbox=mailbox,
            calendar_name=calendar,
            transaction_id=tx,
            generation=generation,
            reason=reason,
            event=rendered,
            event_id=row.event_id if row else None,
            content_hash=digest,
            change_key=row.change_key if row else None,
            revision=revision,
        )

    create_reason = Reason.CALENDAR_CHANGED if moved else Reason.SYNC
    if current is None:
        return make(OpKind.CREATE, 0, transaction_id(ref, login, mailbox, calendar, 0), create_reason)
    if current.status is MirrorStatus.PENDING:
        return make(OpKind.CREATE, current.generation, current.transaction_id, create_reason)
    if current.status is MirrorStatus.ACTIVE:
        if current.content_hash == digest:
            return None
        return make(OpKind.UPDATE, current.generation, current.transaction_id, Reason.SYNC, current)
    if current.status is MirrorStatus.LOST:
        changed = backfill or moved or current.synced_revision != revision or current.content_hash != digest
        if not changed:
            return Reason.LOST_UNCHANGED
        create_reason = Reason.RECREATE_LOST
    generation = current.generation + 1
    return make(
        OpKind.CREATE, generation, transaction_id(ref, login, mailbox, calendar, generation), create_reason
    )


# ------------------------------------------------------------------------------------------------
# Recording results


def pending_row(op: Operation, previous: MirrorRow | None = None) -> MirrorRow:
    """The row to persist *before* sending a CREATE (so a crash leaves a PENDING row)."""
    return MirrorRow(
        ref=op.ref,
        login_id=op.login_id,
        mailbox=op.mailbox,
        calendar_name=op.calendar_name,
        transaction_id=op.transaction_id,
        generation=op.generation,
        status=MirrorStatus.PENDING,
        synced_revision=previous.synced_revision if previous else None,
    )


def row_after(op: Operation, *, event_id: str | None = None, change_key: str | None = None) -> MirrorRow:
    """The row once ``op`` succeeded (CREATE/UPDATE: ACTIVE; DELETE: a REMOVED tombstone)."""
    row = MirrorRow(
        ref=op.ref,
        login_id=op.login_id,
        mailbox=op.mailbox,
        calendar_name=op.calendar_name,
        transaction_id=op.transaction_id,
        generation=op.generation,
        status=MirrorStatus.REMOVED,
    )
    if op.kind is OpKind.DELETE:
        return row
    event_id = event_id or op.event_id
    if not event_id:
        raise InputError("event_id", "a created or updated event has an id", reason_ja="イベントIDが必要です")
    return replace(
        row,
        event_id=event_id,
        content_hash=op.content_hash,
        change_key=change_key,
        synced_revision=op.revision,
        status=MirrorStatus.ACTIVE,
    )


def lost_row(row: MirrorRow) -> MirrorRow:
    """The row once its event was found deleted in the calendar (404, delta ``@removed``, reconcile)."""
    return replace(row, status=MirrorStatus.LOST, event_id=None, change_key=None)


# ------------------------------------------------------------------------------------------------
# P4 back-fill


def backfill_window_start(now: datetime, timezone: str) -> datetime:
    """P4: the first day of the previous month, 00:00 in ``timezone`` (aware)."""
    tz = zone(timezone)
    local = now.astimezone(tz)
    year, month = (local.year, local.month - 1) if local.month > 1 else (local.year - 1, 12)
    return datetime(year, month, 1, tzinfo=tz)


def _in_window(schedule: Schedule, window: datetime) -> bool:
    if isinstance(schedule.span, AllDaySpan):
        return schedule.span.start >= window.date()
    return schedule.span.start >= window


def backfill(
    employee: EmployeeSettings,
    schedules: Iterable[Schedule],
    mirrors: Sequence[MirrorRow],
    policy: CompanyPolicy,
    masters: Masters,
    *,
    now: datetime,
    mapping: FieldMapping | None = None,
) -> tuple[Plan, ...]:
    """P4: after the employee's target calendar (or mailbox) changed, re-sync every planned
    schedule starting on or after :func:`backfill_window_start` into the new place and remove our
    events from the old one (nothing duplicated). S8 is lifted for these. Schedules starting before
    the window are not part of the back-fill: their events move whenever that schedule is next
    planned (any :func:`plan` converges a pair to the employee's current mailbox and calendar).

    Returns the non-empty plans (one per schedule), ordered by schedule.
    """
    window = backfill_window_start(now, policy.timezone)
    login = employee.login_id
    by_ref: dict[SourceRef, list[MirrorRow]] = {}
    for row in mirrors:
        if row.login_id == login:
            by_ref.setdefault(row.ref, []).append(row)
    plans: list[Plan] = []
    for schedule in sorted(schedules, key=lambda s: s.ref):
        if not _in_window(schedule, window):
            continue
        result = plan(
            schedule,
            {login: employee},
            by_ref.get(schedule.ref, []),
            policy,
            masters,
            backfill=True,
            mapping=mapping,
            only=(login,),
        )
        if result.operations or result.blocked:
            plans.append(result)
    return tuple(plans)
