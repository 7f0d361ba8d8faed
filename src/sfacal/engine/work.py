"""What a pass works on and what it reports: :class:`WorkItem` in, :class:`PassSummary` out."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import NamedTuple

from sfacal.engine.context import RecordKey

__all__ = ["FollowUp", "ItemState", "PassSummary", "WorkItem"]


class WorkItem(NamedTuple):
    """One record to plan. ``only`` limits the plan to some login IDs; ``backfill`` lifts S8.
    (A named tuple: a pass makes one per record, tens of thousands in a back-fill.)"""

    key: RecordKey
    trigger: str
    backfill: bool = False
    only: frozenset[str] | None = None


class FollowUp(NamedTuple):
    """A record whose plan left events in an old place until the new place holds ours (a calendar
    or mailbox switch, make-before-break): the item to plan again and where its creates went --
    ``(login ID, mailbox, calendar name or None)``."""

    item: WorkItem
    places: frozenset[tuple[str, str, str | None]]


class ItemState(StrEnum):
    DONE = "done"
    RETRY = "retry"
    DEFERRED = "deferred"  # C1 / C4 off: kept until switched on
    BROKEN = "broken"  # the stored record cannot be read


@dataclass
class PassSummary:
    records: int = 0
    operations: int = 0
    succeeded: int = 0
    failed: int = 0
    postponed: int = 0
    busy: int = 0
    states: dict[RecordKey, ItemState] = field(default_factory=dict)
    retry_at: dict[RecordKey, datetime] = field(default_factory=dict)
    errors: dict[RecordKey, str] = field(default_factory=dict)
    # Records to plan again once their writes succeeded (make-before-break moves, see run_items).
    follow_up: dict[RecordKey, FollowUp] = field(default_factory=dict)

    def merge(self, other: PassSummary) -> None:
        self.records += other.records
        self.operations += other.operations
        self.succeeded += other.succeeded
        self.failed += other.failed
        self.postponed += other.postponed
        self.busy += other.busy
        self.states.update(other.states)
        self.retry_at.update(other.retry_at)
        self.errors.update(other.errors)
        self.follow_up.update(other.follow_up)

    def as_dict(self) -> dict[str, int]:
        return {
            "records": self.records,
            "operations": self.operations,
            "succeeded": self.succeeded,
            "failed": self.failed,
            "postponed": self.postponed,
            "busy": self.busy,
            "deferred": sum(1 for s in self.states.values() if s is ItemState.DEFERRED),
        }
