"""How a log line (L1) is shown: its message and hint (L2) in the reader's language.

A line with an error code re-hydrates the error's message and hint. A line without one carries
what the engine wrote: a planner reason code (``sync``, ``excluded`` ...: :class:`Reason`) or a
short English text of a known shape (reconciliation, two-way sync, webhook, push API). Both are
turned into a sentence in the reader's language here; only a text of an unknown shape is shown as
it was written. The operation column (``create``, ``skip`` ...) gets a label the same way.

Besides its message a line may carry notes (:attr:`LogLine.notes`, from the parameters the engine
stored): a subject cut to fit the calendar (its whole text opens the event's body), wall-clock times
read as RFC 5545 reads a time that does not exist or occurs twice (what was received, what was
written, why), how many postponed writes a warning stands for. :attr:`LogLine.retry` says when a
postponed write is tried again (``next_attempt_at``) or that a failed one is not retried by itself.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from django.utils import formats, timezone
from django.utils.functional import Promise
from django.utils.translation import gettext, ngettext, override
from django.utils.translation import gettext_lazy as _

from sfacal.core.errors import error_from_code, log_params
from sfacal.core.policy import Reason
from sfacal.engine.models import LogResult, SyncLogEntry
from sfacal.web.employees.exclusion_labels import exclusion_label

# What the operation column says (every ``operation`` the engine and the sources write).
OPERATIONS: dict[str, Promise] = {
    "create": _("Create event"),
    "update": _("Update event"),
    "delete": _("Delete event"),
    "recreate": _("Re-create event"),
    "skip": _("No calendar write"),
    "resolve": _("Find the employee"),
    "plan": _("Plan"),
    "adopt": _("Take over an event"),
    "moved": _("Moved in the calendar"),
    "lost": _("Deleted in the calendar"),
    "remove_duplicate": _("Remove duplicates"),
    "remove_orphan": _("Remove stray events"),
    "write_back": _("Write back to the SFA"),
    "writeback": _("Write back to the SFA"),
    "conflict": _("Conflict"),
    "restore": _("Restore"),
    "read_changes": _("Read calendar changes"),
    "receive": _("Receive"),
    "test": _("Test send"),
    "detect_deletions": _("Detect deletions"),
    "accept": _("Accept"),
    "move": _("Move to the new calendar"),
    "check_connection": _("Check the Microsoft 365 connection"),
    "check_mailbox": _("Check the mailbox"),
    "list_calendars": _("Load calendars"),
    "check_source": _("Check the SFA connection"),
    "check_push": _("Check the write-back address"),
}

# A calendar write that succeeded, with its reason in brackets: "Created (sync)".
DONE: dict[str, Promise] = {
    "create": _("Created (%(reason)s)"),
    "update": _("Updated (%(reason)s)"),
    "delete": _("Deleted (%(reason)s)"),
    "recreate": _("Re-created (%(reason)s)"),
}

# Every planner reason, short enough to stand in brackets after an action.
REASONS: dict[Reason, Promise] = {
    Reason.SYNC: _("sync"),
    Reason.UP_TO_DATE: _("already up to date"),
    Reason.CALENDAR_CHANGED: _("the target calendar changed"),
    Reason.DUPLICATE: _("duplicate"),
    Reason.RECREATE_LOST: _("deleted in the calendar, changed in the SFA since"),
    Reason.LOST_UNCHANGED: _("deleted in the calendar"),
    Reason.SCHEDULE_DELETED: _("deleted in the SFA"),
    Reason.FROZEN_ACTUAL: _("the plan became an actual (実績)"),
    Reason.ACTUAL_NOT_SYNCED: _("an actual (実績)"),
    Reason.NOT_PARTICIPANT: _("no longer a participant"),
    Reason.EXCLUDED: _("excluded by the exclusion rules"),
    Reason.BEFORE_SYNC_START: _("changed before the sync start"),
    Reason.EMPLOYEE_OFF: _("sync is off for the employee"),
    Reason.EMPLOYEE_FORBIDDEN: _("sync is forbidden for the employee"),
    Reason.UNKNOWN_EMPLOYEE: _("not a registered employee"),
    Reason.MAILBOX_UNRESOLVED: _("the mailbox is unknown"),
    Reason.SYNC_DISABLED: _("sync is off for the company"),
    Reason.WRITE_DISABLED: _("calendar writes are off"),
}

# A skip line (nothing written for the employee), as a whole sentence.
SKIPPED: dict[Reason, Promise] = {
    Reason.EXCLUDED: _("Not synced: excluded by the exclusion rules"),
    Reason.FROZEN_ACTUAL: _("Not updated: the plan became an actual (実績); its event stays as it was"),
    Reason.ACTUAL_NOT_SYNCED: _("Not synced: actuals (実績) are not synced"),
    Reason.BEFORE_SYNC_START: _("Not synced: last changed before the sync start"),
    Reason.LOST_UNCHANGED: _(
        "Not re-created: the event was deleted in the calendar; it is re-created at the schedule's "
        "next change in the SFA"
    ),
}

# The excluded value (商談目的 or 業務名) when the line names it (``error_params``).
EXCLUDED_BY: dict[str, Promise] = {
    "purpose": _("Not synced: excluded by the exclusion rules (purpose %(value)s)"),
    "business_name": _("Not synced: excluded by the exclusion rules (business name %(value)s)"),
}

# The event fields a two-way write-back names (``TwoWayEdit.changed_fields``).
FIELDS: dict[str, Promise] = {
    "subject": _("subject"),
    "location": _("location"),
    "body": _("body"),
    "span": _("date and time"),
}

# JUST.SFA webhook kinds and what the inbox made of them.
RECORD_KINDS: dict[str, Promise] = {
    "ADD_RECORD": _("new record"),
    "UPDATE_RECORD": _("record changed"),
    "DELETE_RECORD": _("record deleted"),
}
RECEIVED: dict[str, Promise] = {
    "accepted": _("Change received (%(kind)s)"),
    "duplicate": _("Same content received again; nothing to do (%(kind)s)"),
    "stale": _("Older than the change already received; ignored (%(kind)s)"),
}

REASON_VALUES = frozenset(reason.value for reason in Reason)

# Wall-clock times read as RFC 5545 reads them (``LocalTimeNote.log_params``), per end of the span.
ENDS: dict[str, Promise] = {"start": _("start"), "end": _("end")}
TIME_NOTES: dict[str, Promise] = {
    "gap": _(
        "The %(end)s %(received)s does not exist in %(zone)s (the clocks move forward): written as "
        "%(written)s, as RFC 5545 prescribes"
    ),
    "fold": _(
        "The %(end)s %(received)s occurs twice in %(zone)s (the clocks move back): written as the first "
        "occurrence, %(written)s, as RFC 5545 prescribes"
    ),
    "length_kept": _(
        "The %(end)s %(received)s would have left the event without length once its start moved: "
        "written as %(written)s, keeping the length received"
    ),
}

# The calendar writes whose failure the engine does not retry by itself (it waits for a person).
WRITES = frozenset({"create", "update", "delete", "recreate"})


@dataclass(frozen=True)
class LogLine:
    entry: SyncLogEntry
    message: str
    hint: str
    detail: str
    operation: str = ""
    notes: tuple[str, ...] = ()
    retry: str = ""

    @property
    def failed(self) -> bool:
        return self.entry.result == LogResult.FAILURE


def error_params(entry: SyncLogEntry) -> dict[str, str]:
    """The parameters that re-hydrate ``entry``'s error: the stored ``error_params``, completed by
    the line's own columns (all that lines written before ``error_params`` existed have)."""
    stored = entry.error_params if isinstance(entry.error_params, dict) else {}
    params = log_params(stored)
    columns = {
        "mailbox": entry.mailbox,
        "calendar": entry.calendar_name,
        "source": entry.source,
        "login_id": entry.login_id,
    }
    for key, value in columns.items():
        if value and not params.get(key):
            params[key] = value
    return params


def operation_label(operation: str) -> str:
    """The operation column in the active language (the stored word when it is unknown)."""
    label = OPERATIONS.get(operation)
    return str(label) if label is not None else operation


def _both(first: str, second: str) -> str:
    return gettext("%(first)s; %(second)s") % {"first": first, "second": second}


def _fields(names: str) -> str:
    shown = [str(FIELDS[n]) if n in FIELDS else n for n in (p.strip() for p in names.split(",")) if n]
    return gettext(", ").join(shown)


def _received(m: re.Match[str]) -> str:
    text = str(RECEIVED[m["outcome"]]) % {"kind": RECORD_KINDS[m["kind"]]}
    if m["unmapped"]:
        text = _both(
            text,
            gettext("participants without a user mapping are kept and synced once mapped: %(names)s")
            % {"names": m["unmapped"]},
        )
    if m["absent"]:
        text = _both(
            text,
            gettext("configured fields the webhook did not send are read as empty: %(fields)s")
            % {"fields": m["absent"]},
        )
    return text


def _written_back(m: re.Match[str]) -> str:
    text = gettext("Written back to the SFA: %(fields)s") % {"fields": _fields(m["fields"])}
    if m["stale"]:
        text = _both(text, gettext("the SFA had a newer change meanwhile"))
    return text


# The free texts of known shape (``operation`` or ``None`` for any) and their sentence.
_TEXTS: tuple[tuple[str | None, re.Pattern[str], Callable[[re.Match[str]], str]], ...] = (
    (
        "receive",
        re.compile(
            r"(?P<kind>ADD_RECORD|UPDATE_RECORD|DELETE_RECORD) (?P<outcome>accepted|duplicate|stale)"
            r"(?:; participants without a user mapping \(kept, synced once mapped\): (?P<unmapped>.+?))?"
            r"(?:; configured fields not sent by the webhook \(read as empty\): (?P<absent>.+))?",
            re.S,
        ),
        _received,
    ),
    ("test", re.compile(r"test send received"), lambda m: gettext("Test send received")),
    (
        None,
        re.compile(r"check succeeded(?:; calendars: (?P<found>.+))?", re.S),
        lambda m: (
            gettext("Check succeeded; calendars: %(names)s") % {"names": m["found"]}
            if m["found"]
            else gettext("Check succeeded")
        ),
    ),
    (
        "accept",
        re.compile(r"Unknown participant\(s\) kept; they sync once the employee exists: (?P<names>.+)", re.S),
        lambda m: (
            gettext(
                "Participants who are not registered employees were kept; they sync once the employee is "
                "registered: %(names)s"
            )
            % {"names": m["names"]}
        ),
    ),
    (
        "writeback",
        re.compile(r"delivery \S+ attempt (?P<n>\d+)/(?P<of>\d+): HTTP 2\d\d"),
        lambda m: (
            gettext("Delivered to the write-back address (attempt %(n)s of %(of)s)")
            % {"n": m["n"], "of": m["of"]}
        ),
    ),
    (
        "adopt",
        re.compile(r"found event \S+ in the calendar"),
        lambda m: gettext("The event was found in the calendar and taken over"),
    ),
    (
        "moved",
        re.compile(
            r"moved to the calendar (?P<calendar>.+) in Outlook: put back into the target calendar", re.S
        ),
        lambda m: (
            gettext(
                "Moved to the calendar %(calendar)s in Outlook: the event is put back into the target calendar"
            )
            % {"calendar": m["calendar"]}
        ),
    ),
    (
        "lost",
        re.compile(r"deleted in the calendar: re-created at the next change"),
        lambda m: gettext(
            "Deleted in the calendar; the event is re-created at the schedule's next change in the SFA"
        ),
    ),
    (
        "lost",
        re.compile(
            r"T4: deleted in the calendar; the SFA record is kept and the event is re-created at its next change"
        ),
        lambda m: gettext(
            "Deleted in the calendar; the SFA schedule is kept and the event is re-created at its next change"
        ),
    ),
    (
        "remove_duplicate",
        re.compile(r"(?P<n>\d+) duplicate\(s\) removed"),
        lambda m: (
            ngettext("%(n)s duplicate event removed", "%(n)s duplicate events removed", int(m["n"]))
            % {"n": int(m["n"])}
        ),
    ),
    (
        "remove_orphan",
        re.compile(r"(?P<n>\d+) event\(s\) of (?P<record>.+) with no mirror row removed", re.S),
        lambda m: (
            ngettext(
                "%(n)s event of %(record)s without a sync record removed",
                "%(n)s events of %(record)s without a sync record removed",
                int(m["n"]),
            )
            % {"n": int(m["n"]), "record": m["record"]}
        ),
    ),
    (
        "conflict",
        re.compile(r"T5: changed in the SFA and in the calendar since the last sync; .*", re.S),
        lambda m: gettext(
            "Changed in the SFA and in the calendar since the last sync; the SFA version wins and is "
            "restored in the calendar"
        ),
    ),
    (
        "restore",
        re.compile(r"T2: the schedule has several participants; .*", re.S),
        lambda m: gettext(
            "The schedule has several participants: calendar edits are not written back and the SFA "
            "version is restored"
        ),
    ),
    (
        "write_back",
        re.compile(
            r"T1: (?P<fields>[a-z_, ]+) written back to the SFA record"
            r"(?P<stale> \(the SFA had a newer change meanwhile\))?"
        ),
        _written_back,
    ),
)


def _reason_sentence(entry: SyncLogEntry, reason: Reason, params: Mapping[str, str]) -> str:
    """The sentence of a planner reason (``params``: what the line stored, e.g. the excluded value)."""
    if entry.operation == "skip" or entry.result == LogResult.SKIPPED:
        if reason is Reason.EXCLUDED:
            for key, sentence in EXCLUDED_BY.items():
                if params.get(key):
                    return str(sentence) % {"value": exclusion_label(params[key])}
        if reason in SKIPPED:
            return str(SKIPPED[reason])
        return gettext("Not synced (%(reason)s)") % {"reason": REASONS[reason]}
    done = DONE.get(entry.operation)
    if done is not None:
        return str(done) % {"reason": REASONS[reason]}
    action = operation_label(entry.operation)
    return gettext("%(action)s (%(reason)s)") % {"action": action, "reason": REASONS[reason]}


def explain(entry: SyncLogEntry) -> str:
    """The message of a line without an error code, in the active language (see the module docstring)."""
    text = (entry.message or "").strip()
    if text in REASON_VALUES:
        return _reason_sentence(entry, Reason(text), _stored_params(entry))
    for operation, pattern, render in _TEXTS:
        if operation is not None and operation != entry.operation:
            continue
        match = pattern.fullmatch(text)
        if match is not None:
            return render(match)
    return entry.message


def _stored_params(entry: SyncLogEntry) -> dict[str, str]:
    stored = entry.error_params if isinstance(entry.error_params, dict) else {}
    return {str(k): str(v) for k, v in stored.items()}


def line_notes(entry: SyncLogEntry) -> tuple[str, ...]:
    """The notes of a line in the active language (see the module docstring)."""
    params = _stored_params(entry)
    notes: list[str] = []
    if params.get("subject_shortened"):
        notes.append(
            gettext(
                "The subject was too long for the calendar and was shortened; its whole text is at the top "
                "of the event's body"
            )
        )
    for end, label in ENDS.items():
        sentence = TIME_NOTES.get(params.get(f"{end}_issue", ""))
        if sentence is not None:
            notes.append(
                str(sentence)
                % {
                    "end": label,
                    "received": params.get(f"{end}_received", "?"),
                    "written": params.get(f"{end}_written", "?"),
                    "zone": params.get("timezone", "?"),
                }
            )
    count = params.get("postponed", "")
    if count.isdigit() and int(count) > 1:
        n = int(count)
        notes.append(
            ngettext(
                "This line stands for %(n)s postponed write of this employee (the first is named)",
                "This line stands for %(n)s postponed writes of this employee (the first is named)",
                n,
            )
            % {"n": n}
        )
    return tuple(notes)


def retry_text(entry: SyncLogEntry) -> str:
    """When a postponed write is tried again (in the active time zone), or that a failed calendar
    write waits for a person; ``""`` for other lines."""
    if entry.next_attempt_at is not None:
        when = formats.date_format(timezone.localtime(entry.next_attempt_at), "Y-m-d H:i:s")
        return gettext("Tried again automatically at %(time)s") % {"time": when}
    if entry.result == LogResult.FAILURE and entry.operation in WRITES:
        return gettext(
            "Not retried automatically: it is tried again at the schedule's next change in the SFA, or by the "
            "periodic sync once the settings are corrected and saved"
        )
    return ""


def describe(entry: SyncLogEntry, lang: str) -> LogLine:
    """The line in ``lang``: a reason or known text as a sentence; a stored error code re-hydrated,
    with the stored message as the detail; its notes and when it is retried."""
    with override(lang):
        operation = operation_label(entry.operation)
        notes = line_notes(entry)
        retry = retry_text(entry)
        if not entry.error_code:
            return LogLine(entry, explain(entry), "", "", operation, notes, retry)
    error = error_from_code(entry.error_code, error_params(entry))
    message = error.user_message(lang)
    detail = entry.message if entry.message and entry.message != message else ""
    return LogLine(entry, message, error.hint(lang), detail, operation, notes, retry)


def month_start(tz_name: str, now: datetime | None = None) -> datetime:
    """The first instant of the current month in the company's time zone."""
    try:
        tz = zoneinfo.ZoneInfo(tz_name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        tz = zoneinfo.ZoneInfo("Asia/Tokyo")
    local = (now or timezone.now()).astimezone(tz)
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
