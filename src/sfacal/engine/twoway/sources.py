"""Which source a calendar edit goes back to (T1), and the error when none can take it."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import cast

from sfacal.core.schedule import Schedule
from sfacal.core.twoway import ScheduleEdit
from sfacal.directory.companies.models import Company
from sfacal.engine.models import MirrorEvent
from sfacal.sources.base import Source

PUSH_ATTEMPTS = 3


SourceFactory = Callable[[Company, str], Source | None]
_source_factory: SourceFactory | None = None


def set_source_factory(factory: SourceFactory | None) -> None:
    """Install (``None``: remove) what builds the :class:`Source` of a record's source name."""
    global _source_factory
    _source_factory = factory


def source_for(company: Company, source_name: str) -> Source | None:
    """The enabled connection behind ``source_name`` (``StoredSchedule.source``), or ``None``.
    Raises :class:`SfacalError` when its stored settings are unusable."""
    if _source_factory is not None:
        return _source_factory(company, source_name)
    from sfacal.directory.connections.models import SourceConnection, SourceKind

    for conn in SourceConnection.objects.filter(company=company, enabled=True).order_by("pk"):
        if conn.kind == SourceKind.JUSTSFA:
            from sfacal.sources.justsfa.settings import source_name as justsfa_name

            if justsfa_name(conn.name) == source_name:
                from sfacal.sources.justsfa import JustSfaSource

                return JustSfaSource.from_connection(conn)
        elif conn.kind == SourceKind.PUSH and source_name == "push":
            from sfacal.sources.push.source import PushSource

            return cast(Source, PushSource(conn, max_attempts=PUSH_ATTEMPTS))
    return None


def call_write_back(source: Source, schedule: Schedule, edit: ScheduleEdit, row: MirrorEvent) -> None:
    """``source.write_back``, with the event's identity for sources that take it (push)."""
    params = inspect.signature(source.write_back).parameters
    extra = {"event_id": row.event_id, "mailbox": row.mailbox, "login_id": row.login_id}
    kwargs = {k: v for k, v in extra.items() if k in params}
    source.write_back(schedule, edit, **kwargs)  # type: ignore[call-arg]
