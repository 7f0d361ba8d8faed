"""The planner's view of a stored mirror row (the table of states is in :mod:`sfacal.engine.mirrors`).

Kept apart from :mod:`sfacal.engine.mirrors` (which records calendar writes) so that readers of the
mirror table -- the explainer, the push API's explanation -- reach no calendar connector.
"""

from __future__ import annotations

from typing import Protocol

from sfacal.core.errors import InputError
from sfacal.core.planner import MirrorRow, MirrorStatus
from sfacal.core.schedule import SourceRef
from sfacal.engine.models import MirrorState

__all__ = ["StoredMirror", "mirror_row"]


class StoredMirror(Protocol):
    """The columns of a mirror row the planner needs (a model instance or the values a pass reads)."""

    @property
    def source(self) -> str: ...
    @property
    def record_id(self) -> str: ...
    @property
    def login_id(self) -> str: ...
    @property
    def mailbox(self) -> str: ...
    @property
    def calendar_name(self) -> str: ...
    @property
    def event_id(self) -> str: ...
    @property
    def transaction_id(self) -> str: ...
    @property
    def content_hash(self) -> str: ...
    @property
    def change_key(self) -> str: ...
    @property
    def generation(self) -> int: ...
    @property
    def synced_version(self) -> str: ...
    @property
    def state(self) -> str: ...


def mirror_row(row: StoredMirror, company_slug: str) -> MirrorRow | None:
    """The planner's view of a stored row (``None`` when the row is unusable)."""
    event_id = row.event_id or None
    state = row.state
    if state == MirrorState.SYNCED:
        status = MirrorStatus.ACTIVE if event_id else MirrorStatus.PENDING
    elif state == MirrorState.PENDING_CREATE:
        status = MirrorStatus.PENDING
    elif state == MirrorState.LOST:
        status = MirrorStatus.LOST
    elif state == MirrorState.FAILED:
        status = MirrorStatus.ACTIVE if event_id else MirrorStatus.REMOVED
    else:
        status = MirrorStatus.REMOVED
    try:
        return MirrorRow(
            ref=SourceRef(company_slug, row.source, row.record_id),
            login_id=row.login_id,
            mailbox=row.mailbox,
            calendar_name=row.calendar_name or None,
            transaction_id=row.transaction_id,
            generation=row.generation,
            event_id=event_id if status in (MirrorStatus.ACTIVE,) else None,
            content_hash=row.content_hash or None,
            change_key=row.change_key or None,
            synced_revision=row.synced_version or None,
            status=status,
        )
    except InputError:
        return None
