"""The JUST.SFA source: the :class:`~sfacal.sources.base.Source` protocol for one connection, with
write-back (T1).

Write-back maps a calendar-side :class:`~sfacal.core.twoway.ScheduleEdit` to the configured fields:
subject → 見出し (title field), location → 場所, body → 内容, times / all-day → the schedule field's
period (``YYYY-MM-DDTHH:MM+09:00`` in the company's zone; an all-day span as two dates, the last day
included). The period is sent together with the current participants, so that they are kept.

The record is addressed in the update form chosen in the settings (``writeback_form``):
``{"recordId": N}`` (the default: the only form seen in public code) or
``{"recordKey": {key_field: value}}``. Neither is documented by the vendor, so nothing is written
until the write-back test (:mod:`.writeback_test`) has passed with the current tenant, table and
form: until then :meth:`JustSfaSource.write_back` raises
:class:`~sfacal.core.errors.WriteBackUnprovenError` and the engine restores the SFA version.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sfacal.core.errors import InputError, WriteBackUnprovenError
from sfacal.core.schedule import AllDaySpan, Schedule
from sfacal.core.twoway import ScheduleEdit

from ..base import CheckResult
from .check import check_connection
from .client import RecordsClient
from .parse import EXTRA_RECORD_KEY, format_datetime
from .settings import JustSfaSettings

__all__ = ["JustSfaSource", "address_item", "write_back_item"]


def write_back_item(settings: JustSfaSettings, schedule: Schedule, edit: ScheduleEdit) -> dict[str, Any]:
    """The ``PUT …/records/`` item for ``edit`` of ``schedule`` (see the module doc)."""
    record: dict[str, Any] = {}
    if edit.subject is not None:
        record[settings.title_field] = edit.subject
    if edit.location is not None:
        record[settings.location_field] = edit.location
    if edit.body is not None:
        record[settings.content_field] = edit.body
    if edit.span is not None:
        span = edit.span
        if isinstance(span, AllDaySpan):
            period = [span.start.isoformat(), (span.end - timedelta(days=1)).isoformat()]
        else:
            period = [
                format_datetime(span.start, settings.timezone),
                format_datetime(span.end, settings.timezone),
            ]
        sf = settings.schedule_field
        record[sf] = {
            f"{sf}_period": period,
            f"{sf}_participants": [[uid] for uid in schedule.participants],
        }
    if not record:
        raise InputError("edit", "nothing to write back", reason_ja="書き戻す変更がありません")
    return {
        **address_item(settings, schedule.ref.record_id, schedule.extra.get(EXTRA_RECORD_KEY, "")),
        "record": record,
    }


def address_item(settings: JustSfaSettings, record_id: str, key: str) -> dict[str, Any]:
    """How a ``PUT`` item names its record, in the configured update form."""
    if settings.writeback_form == "recordKey":
        if not (settings.key_field and key):
            raise InputError(
                "key_field",
                "the record has no record key value to address it by",
                reason_ja="レコードキーの値がないため、レコードを指定できません",
            )
        return {"recordKey": {settings.key_field: key}}
    return {"recordId": int(record_id) if record_id.isdigit() else record_id}


class JustSfaSource:
    """One JUST.SFA connection as a :class:`~sfacal.sources.base.Source`.

    ``client_factory`` builds the records client (tests pass one that trusts the emulator's CA).
    """

    kind = "justsfa"
    supports_poll = True
    supports_write_back = True

    def __init__(
        self,
        settings: JustSfaSettings,
        *,
        connection: Any = None,
        client_factory: Callable[[JustSfaSettings], RecordsClient] | None = None,
    ) -> None:
        self.settings = settings
        self.connection = connection
        self._client_factory = client_factory or (lambda s: RecordsClient(s))

    @classmethod
    def from_connection(cls, connection: Any, **kwargs: Any) -> JustSfaSource:
        return cls(JustSfaSettings.from_connection(connection), connection=connection, **kwargs)

    def client(self) -> RecordsClient:
        return self._client_factory(self.settings)

    def check_connection(self) -> CheckResult:
        with self.client() as client:
            return check_connection(self.settings, client=client)

    def write_back(self, schedule: Schedule, edit: ScheduleEdit) -> None:
        """T1: ``PUT`` the edit to the record; raises a typed error if JUST.SFA refuses, and
        :class:`WriteBackUnprovenError` (nothing sent) until the write-back test has passed."""
        if not self.settings.writeback_proven:
            raise WriteBackUnprovenError(
                "JUST.SFA write-back has not passed the write-back test with the current settings",
                source=self.settings.source,
            )
        item = write_back_item(self.settings, schedule, edit)
        with self.client() as client:
            client.update_records([item])

    def poll(self) -> int:
        if self.connection is None:
            raise InputError("connection", "poll needs the stored connection", reason_ja="接続設定が必要です")
        from .polling import poll

        with self.client() as client:
            return poll(self.connection, client=client)
