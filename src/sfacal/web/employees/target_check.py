"""E3 / P4: a target calendar is checked against the mailbox when it is saved.

Order of checks, when an employee's settings are saved (administrator's screen, personal screen):

1. Only a save that would write somewhere new is checked: sync on, a named calendar, and the
   place (mailbox, calendar) differs from the stored one or sync is being turned on. The default
   calendar always exists and is not read.
2. The calendar service is asked for the mailbox and the calendar (the same call as the
   連携確認 button, :func:`sfacal.web.checks.check_mailbox`, recorded in the sync log).
3. The calendar does not exist (or cannot be edited): the save is refused, with an inline error
   on the calendar field naming the calendars the mailbox does have, offered in the picker. This
   cannot be overridden: a name that is known to be wrong is never saved.
4. The check could not be made (the mailbox is not found, the credentials or the network fail): the
   save is refused with the check's message and hint, and the form offers "save without checking"
   (the engine's switches are make-before-break, so an unreachable calendar loses nothing).
"""

from __future__ import annotations

from dataclasses import dataclass

from django import forms
from django.utils.translation import gettext as _

from sfacal.core.settings import normalize_calendar, normalize_mailbox
from sfacal.directory.companies.models import CompanySettings
from sfacal.directory.employees.models import Employee, SyncState
from sfacal.directory.employees.services import mailbox_of
from sfacal.web import checks

__all__ = ["TargetCheck", "verify_target"]

# Errors that say the calendar itself is wrong (not that it could not be checked).
CALENDAR_WRONG = frozenset({"calendar_not_found", "calendar_read_only"})


@dataclass(frozen=True)
class TargetCheck:
    """What the check at save found: ``result`` (``None``: nothing needed checking) and whether the
    save may go on. ``stored`` is the employee as saved before this change (``None``: new)."""

    result: checks.CheckResult | None
    allowed: bool
    can_skip: bool = False  # the failure was "could not check": the form offers to save anyway

    @property
    def calendars(self) -> tuple[str, ...]:
        return self.result.data if self.result is not None else ()


def _needs_check(
    employee: Employee | None, domain: str, state: str, mailbox: str | None, calendar: str | None
) -> bool:
    if state != SyncState.ON or normalize_calendar(calendar) is None:
        return False
    if employee is None or employee.state != SyncState.ON:
        return True
    before_box = normalize_mailbox(mailbox_of(employee, domain))
    return (before_box, normalize_calendar(employee.calendar_name)) != (
        normalize_mailbox(mailbox),
        normalize_calendar(calendar),
    )


def verify_target(
    form: forms.Form,
    settings: CompanySettings,
    *,
    stored: Employee | None,
    state: str,
    mailbox: str | None,
    calendar: str | None,
    who: checks.Who,
    lang: str,
    skip: bool = False,
) -> TargetCheck:
    """Check the place an employee is about to be saved with (see the module docstring); errors
    are added to ``form``."""
    if not _needs_check(stored, settings.domain or "", state, mailbox, calendar):
        return TargetCheck(None, True)
    result = checks.check_mailbox(settings, mailbox, calendar, lang, who=who)
    if result.ok:
        return TargetCheck(result, True)
    if result.code in CALENDAR_WRONG:
        message = result.message
        if result.data:
            message = _("%(message)s The mailbox has these calendars: %(names)s.") % {
                "message": message,
                "names": "、".join(result.data) if lang == "ja" else ", ".join(result.data),
            }
        form.add_error("calendar_name", f"{message} {result.hint}".strip())
        return TargetCheck(result, False)
    if skip:
        return TargetCheck(result, True)
    form.add_error(
        "calendar_name",
        _("The calendar could not be checked: %(message)s %(hint)s")
        % {"message": result.message, "hint": result.hint},
    )
    return TargetCheck(result, False, can_skip=True)
