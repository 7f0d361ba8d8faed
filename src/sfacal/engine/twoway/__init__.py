"""Two-way sync (C5 = two-way; T1-T5): calendar edits of mirrored events, found and written back.

:func:`poll_calendar_changes` runs per company (a periodic task; see ``docs/two-way.md``). For
every employee whose sync is on and who has mirrored events, in the mailbox and calendar the
employee syncs to now:

1. **Find changes.** The default calendar is read with Graph delta
   (``/users/{id}/calendarView/delta``, a window from the first day of the previous month to about
   a year ahead); the delta link is kept in :class:`~sfacal.engine.models.DeltaState` (as a small
   JSON document with the mailbox and the window, so a new mailbox or an old window starts a fresh
   round). Graph v1.0 has delta only for the default calendar, so a named calendar (E3) is listed
   with :meth:`~sfacal.calendars.base.CalendarService.list_tagged` and compared with the mirror
   table instead. An expired delta link (``ResyncRequiredError``) starts a fresh round.
2. **Filter.** Only events of our mirror rows count (T3: events created in the calendar are never
   looked at). An event whose change key is the one we recorded is unchanged (our own writes come
   back through delta that way). Every other one is read again with its tag (delta's ``@removed``
   also means "left the window" or "moved to another calendar", so a removal is confirmed by a
   404). One that still answers to its id but is not in the calendar any more was moved by the
   user: it is looked for in the mailbox's calendars (:mod:`sfacal.engine.relocation`; found in
   none, it counts as deleted).
3. **Decide** with :func:`sfacal.core.twoway.decide_calendar_change`. "The SFA changed since the
   last sync" (T5) means: the latest stored SFA state no longer renders to the content hash
   recorded for the event -- an SFA change not (yet) in the calendar. A revision that moved
   without changing the event (a field the calendar does not show) is not a conflict.
4. **Act** (one log line each, trigger ``writeback``):

   * T1 write-back: through the record's source (JUST.SFA ``PUT …/records/``; push: the signed
     callback). Then, in one transaction, the edited schedule is stored and queued through
     :func:`sfacal.engine.inbox.accept` (trigger ``writeback``) and the mirror row takes the
     calendar's content hash and change key -- so the planner sends nothing back (no ping-pong)
     unless part of the edit cannot be represented in the SFA (then the planner re-renders it).
   * T2 (several participants) and T5 (conflict, SFA wins): the row's content hash is cleared
     and the schedule re-planned at once: the SFA version is restored.
   * T4: the row becomes LOST; the SFA record is not touched (S9 re-creates the event at the
     next SFA change).
   * Moved to another calendar: its content is judged as above, then it is followed and put back
     into the employee's target calendar (the target calendar is a setting, E3/P2, not a field
     the T rules write back): :mod:`sfacal.engine.relocation`.
   * A write-back the SFA refuses for good, or a source that cannot write back: logged with its
     hint, and the SFA version is restored. A retryable failure (throttling, outage) keeps the old
     delta link, so the same change is read and tried again at the next poll (S11).

In one-way mode nothing is done here (S9; reconciliation restores edits and finds deletions).

Modules: :mod:`.run` (the pass, leases, delta state), :mod:`.reads` (the delta cursor and the
calendar reads, on the engine loop), :mod:`.actions` (one decision and its effects and log line),
:mod:`.sources` (which source takes a write-back).
"""

from __future__ import annotations

from sfacal.core.errors import WriteBackUnsupportedError
from sfacal.engine.twoway.actions import TwoWayReport
from sfacal.engine.twoway.reads import DeltaCursor, fresh_window
from sfacal.engine.twoway.run import poll_calendar_changes
from sfacal.engine.twoway.sources import SourceFactory, set_source_factory, source_for

__all__ = [
    "DeltaCursor",
    "SourceFactory",
    "TwoWayReport",
    "WriteBackUnsupportedError",
    "fresh_window",
    "poll_calendar_changes",
    "set_source_factory",
    "source_for",
]
