"""What every calendar backend offers: the :class:`CalendarService` protocol and its plain data.

A backend (Microsoft Graph today; Google Calendar or CalDAV later) implements the protocol with
``async`` methods, so the engine can keep many mailboxes busy at once; a blocking facade for web
buttons lives with each backend.

The product finds its own events again through an :class:`EventTag` stored on each event (S6):
company, source and schedule id (the :class:`~sfacal.core.schedule.SourceRef`) plus the employee's
login id. Every create carries a deterministic ``transaction_id`` chosen by the caller, so sending
the same create twice makes one event.

Failures are always :class:`~sfacal.core.errors.SfacalError` subclasses carrying a hint (L2).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable
from urllib.parse import quote, unquote

from sfacal.core.errors import InputError, SfacalError, normalize_lang
from sfacal.core.expiry import ExpiringCredentialWarning
from sfacal.core.frozen import quick_init
from sfacal.core.planner import Operation, OpKind
from sfacal.core.render import RenderedEvent
from sfacal.core.schedule import SourceRef
from sfacal.core.twoway import CalendarSnapshot

__all__ = [
    "CalendarInfo",
    "CalendarService",
    "ChangePage",
    "CheckResult",
    "CreateEvent",
    "DeleteEvent",
    "EventSnapshot",
    "EventTag",
    "EventWrite",
    "UpdateEvent",
    "WriteOutcome",
    "calendar_name_key",
    "find_calendar",
    "write_for_operation",
]

_TAG_SEP = ":"


@quick_init
@dataclass(frozen=True, order=True)
class EventTag:
    """The product's mark on a mirrored event: which schedule, for which employee (S6).

    Its :meth:`value` is ``company:source:record_id:login_id``, each part percent-encoded (so the
    separator never appears inside a part); :meth:`parse` reverses it.
    """

    ref: SourceRef
    login_id: str

    def __post_init__(self) -> None:
        if not isinstance(self.login_id, str) or not self.login_id.strip():
            raise InputError("login_id", "must not be empty", reason_ja="社員ログインIDは必須です")
        object.__setattr__(self, "login_id", self.login_id.strip())

    @property
    def value(self) -> str:
        return f"{self.ref}{_TAG_SEP}{quote(self.login_id, safe='')}"

    @classmethod
    def parse(cls, value: str | None) -> EventTag | None:
        """The tag a stored value names, or ``None`` when it is not one of ours."""
        if not value or not isinstance(value, str):
            return None
        head, sep, login = value.rpartition(_TAG_SEP)
        if not sep:
            return None
        try:
            return cls(SourceRef.parse(head), unquote(login))
        except InputError:
            return None

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class CalendarInfo:
    """One calendar of a mailbox."""

    id: str
    name: str
    is_default: bool = False
    can_edit: bool = True
    owner: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "is_default": self.is_default,
            "can_edit": self.can_edit,
            "owner": self.owner,
        }


@dataclass(frozen=True)
class EventSnapshot:
    """An event as the calendar shows it.

    ``start``/``end`` are wall-clock times (naive) in ``timezone`` (IANA when the backend could map
    the zone it was read in, else the backend's own zone name). ``deleted`` marks a delta removal;
    then only ``id`` is meaningful.
    """

    id: str
    change_key: str | None = None
    subject: str = ""
    start: datetime | None = None
    end: datetime | None = None
    timezone: str = "UTC"
    is_all_day: bool = False
    location: str = ""
    body: str = ""
    body_type: str = "text"
    tag: EventTag | None = None
    tag_value: str | None = None
    transaction_id: str | None = None
    calendar_id: str | None = None
    last_modified: datetime | None = None
    deleted: bool = False

    def to_core(self) -> CalendarSnapshot:
        """The core two-way rules' view of this event (:mod:`sfacal.core.twoway`)."""
        return CalendarSnapshot(
            event_id=self.id,
            tag=self.tag.ref if self.tag is not None else None,
            deleted=self.deleted,
            subject=self.subject,
            location=self.location,
            body=self.body,
            start=self.start,
            end=self.end,
            timezone=self.timezone,
            is_all_day=self.is_all_day,
            change_key=self.change_key,
        )


@dataclass(frozen=True)
class ChangePage:
    """The result of reading calendar changes (delta): the changed events (``deleted`` ones
    included) and the token to pass next time."""

    events: tuple[EventSnapshot, ...]
    delta_token: str


# ------------------------------------------------------------------------------------------------
# Writes


@quick_init
@dataclass(frozen=True)
class CreateEvent:
    """Create ``event`` tagged ``tag`` in ``calendar_name`` (``None``: default calendar)."""

    event: RenderedEvent
    tag: EventTag
    transaction_id: str
    calendar_name: str | None = None


@quick_init
@dataclass(frozen=True)
class UpdateEvent:
    """Overwrite event ``event_id`` with ``event`` (every field, S7).

    ``change_key``: send as ``If-Match`` (a stale key is re-read and retried). When the event is
    gone (deleted in the calendar) and ``recreate_transaction_id`` is given, the event is created
    again in ``calendar_name`` with that transaction id (S9); otherwise the outcome is
    :class:`~sfacal.core.errors.NotFoundError`.
    """

    event_id: str
    event: RenderedEvent
    tag: EventTag
    change_key: str | None = None
    calendar_name: str | None = None
    recreate_transaction_id: str | None = None


@quick_init
@dataclass(frozen=True)
class DeleteEvent:
    """Delete event ``event_id``; when it is ``None`` (an unconfirmed create), every event tagged
    ``tag`` in ``calendar_name`` is deleted. An event already gone counts as deleted."""

    event_id: str | None
    tag: EventTag | None = None
    calendar_name: str | None = None

    def __post_init__(self) -> None:
        if self.event_id is None and self.tag is None:
            raise InputError(
                "event_id", "an event id or a tag is required", reason_ja="イベントIDかタグが必要です"
            )


EventWrite = CreateEvent | UpdateEvent | DeleteEvent


@quick_init
@dataclass(frozen=True)
class WriteOutcome:
    """What happened to one write. ``error`` is ``None`` on success.

    * create/update: ``event_id`` and ``change_key`` of the event now holding the content;
      ``recreated`` when an update found its event gone and created it again;
    * delete: ``deleted_ids`` lists what was removed; ``already_gone`` when nothing was there.
    """

    write: EventWrite
    event_id: str | None = None
    change_key: str | None = None
    recreated: bool = False
    already_gone: bool = False
    deleted_ids: tuple[str, ...] = ()
    error: SfacalError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def write_for_operation(op: Operation) -> EventWrite:
    """The calendar write for a planner :class:`~sfacal.core.planner.Operation`."""
    tag = EventTag(op.ref, op.login_id)
    if op.kind is OpKind.DELETE:
        return DeleteEvent(op.event_id, tag, op.calendar_name)
    if op.event is None:
        raise InputError(
            "event", "a create or update needs the rendered event", reason_ja="予定の内容が必要です"
        )
    if op.kind is OpKind.CREATE:
        return CreateEvent(op.event, tag, op.transaction_id, op.calendar_name)
    if op.event_id is None:
        raise InputError("event_id", "an update needs the event id", reason_ja="イベントIDが必要です")
    return UpdateEvent(op.event_id, op.event, tag, op.change_key, op.calendar_name)


# ------------------------------------------------------------------------------------------------
# Checks


@dataclass(frozen=True)
class CheckResult:
    """The result of "save and test" (C7) or the mailbox check (E5), for an administrator.

    ``error`` carries message and hint in both languages; ``details`` holds what was found (for
    the mailbox check: the calendars); ``warnings`` lists credentials expiring soon.
    """

    ok: bool
    error: SfacalError | None = None
    details: Mapping[str, Any] = field(default_factory=dict)
    warnings: tuple[ExpiringCredentialWarning, ...] = ()

    @property
    def code(self) -> str:
        return "ok" if self.error is None else self.error.code

    def message(self, lang: str = "ja") -> str:
        if self.error is not None:
            return self.error.user_message(lang)
        check = str(self.details.get("check", "connection"))
        if check == "connection" and self.details.get("service") == "google":
            check = "connection_google"
        return _OK_MESSAGES[normalize_lang(lang)][check]

    def hint(self, lang: str = "ja") -> str:
        return self.error.hint(lang) if self.error is not None else ""

    def to_dict(self, lang: str = "ja") -> dict[str, Any]:
        return {
            "ok": self.ok,
            "code": self.code,
            "message": self.message(lang),
            "hint": self.hint(lang),
            "details": dict(self.details),
            "error": self.error.to_dict() if self.error is not None else None,
            "warnings": [
                {**w.to_dict(), "message": w.user_message(lang), "hint": w.hint(lang)} for w in self.warnings
            ],
        }


_OK_MESSAGES = {
    "ja": {
        "connection": "Microsoft 365 に接続できました（トークンを取得し、Microsoft Graph を呼び出しました）。",
        "connection_google": "Google Workspace に接続できました（サービスアカウントでトークンを取得し、Google Calendar API を呼び出しました）。",
        "mailbox": "メールボックスと連携先カレンダーを確認できました。",
        "caldav_connection": "CalDAV サーバーに接続できました（認証を通り、予定表を読み取れました）。",
    },
    "en": {
        "connection": "Connected to Microsoft 365 (a token was acquired and Microsoft Graph answered).",
        "connection_google": (
            "Connected to Google Workspace (the service account got a token and the Google Calendar API answered)."
        ),
        "mailbox": "The mailbox and the target calendar are reachable.",
        "caldav_connection": "Connected to the CalDAV server (signed in and read the calendars).",
    },
}


# ------------------------------------------------------------------------------------------------
# The protocol


@runtime_checkable
class CalendarService(Protocol):
    """A calendar backend. All methods raise only :class:`~sfacal.core.errors.SfacalError`s
    (except :meth:`apply`, which reports per write and never raises for one write's failure)."""

    async def list_calendars(self, mailbox: str) -> list[CalendarInfo]: ...

    async def resolve_calendar(self, mailbox: str, calendar_name: str | None) -> CalendarInfo:
        """The calendar named ``calendar_name`` (``None``/empty: the default calendar), or
        :class:`~sfacal.core.errors.CalendarNotFoundError`."""
        ...

    async def create_event(
        self,
        mailbox: str,
        event: RenderedEvent,
        tag: EventTag,
        transaction_id: str,
        calendar_name: str | None = None,
    ) -> EventSnapshot: ...

    async def update_event(
        self,
        mailbox: str,
        event_id: str,
        event: RenderedEvent,
        tag: EventTag,
        *,
        change_key: str | None = None,
        calendar_name: str | None = None,
        recreate_transaction_id: str | None = None,
    ) -> WriteOutcome: ...

    async def delete_event(self, mailbox: str, event_id: str) -> bool:
        """``True`` when deleted, ``False`` when it was already gone."""
        ...

    async def get_event(
        self, mailbox: str, event_id: str, timezone: str | None = None
    ) -> EventSnapshot | None:
        """The event, or ``None`` when it does not exist."""
        ...

    async def find_by_tag(
        self, mailbox: str, tag: EventTag, calendar_name: str | None = None, timezone: str | None = None
    ) -> list[EventSnapshot]: ...

    async def list_tagged(
        self, mailbox: str, calendar_name: str | None = None, timezone: str | None = None
    ) -> list[EventSnapshot]:
        """Every event of ours in the calendar (reconciliation)."""
        ...

    async def read_changes(
        self,
        mailbox: str,
        *,
        start: datetime,
        end: datetime,
        delta_token: str | None = None,
        timezone: str | None = None,
    ) -> ChangePage:
        """Changes of the default calendar in [start, end) since ``delta_token`` (``None``: all).
        An expired token raises :class:`~sfacal.core.errors.ResyncRequiredError`."""
        ...

    async def apply(self, mailbox: str, writes: Sequence[EventWrite]) -> list[WriteOutcome]:
        """Run ``writes`` against one mailbox, as fast as the service allows; one outcome each,
        in order."""
        ...

    async def check_connection(self, probe_mailbox: str | None = None) -> CheckResult: ...

    async def check_mailbox(self, user_id: str, calendar_name: str | None = None) -> CheckResult: ...

    async def aclose(self) -> None: ...


def calendar_name_key(name: str) -> str:
    """Calendar names compared ignoring case and full/half width (``ＶＩＳＩＴＳ`` = ``visits``)."""
    return unicodedata.normalize("NFKC", name).strip().casefold()


def find_calendar(calendars: Sequence[CalendarInfo], name: str) -> CalendarInfo | None:
    """The calendar called ``name``: exact match first, then ignoring case and width (E3)."""
    for cal in calendars:
        if cal.name == name:
            return cal
    key = calendar_name_key(name)
    for cal in calendars:
        if calendar_name_key(cal.name) == key:
            return cal
    return None
