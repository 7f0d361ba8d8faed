"""Connection settings are tested before they replace stored ones (C7, J1).

One flow, :func:`submit`, serves the settings screens whose credentials the engine or a source
uses (the company's Microsoft 365 credentials, the JUST.SFA connection); each screen adapts to
it with a :class:`Screen`.

Guarantees (each has a test):

* When a submission changes connection settings (:meth:`CandidateForm.changes`) while the stored
  ones may be in use (:meth:`Screen.in_use`), the change is tested on an unsaved candidate first,
  whichever button was pressed. When the test fails nothing at all is saved -- the stored
  settings stay in force -- and the page is shown again with what was typed; the submission's
  secrets are held encrypted in the session (:mod:`.held_secrets`), never echoed into the page.
  When it passes, the settings are saved and the test is recorded as the last one. A
  submission that counts on held secrets no longer held (expired, dropped) is refused with a
  form error, never saved without them.
* Only the explicit "save without testing" (:data:`SAVE_UNTESTED`) stores changed connection
  settings without a successful test. That save is audited as one entry (:data:`AUDIT_FIELD`)
  naming the fields (never a value), and the last test result, which described the previous
  settings, is cleared ("not tested yet").
* Everything else is saved as before: other settings without a test; settings entered where none
  that could be in use were stored (first set-up); "save and test" of unchanged settings saves,
  then tests and records.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy

from sfacal.directory.companies.audit import record_event
from sfacal.directory.companies.models import AuditEntry, Company, CompanySettings
from sfacal.web import checks
from sfacal.web.companies import held_secrets

if TYPE_CHECKING:
    from sfacal.directory.connections.models import SourceConnection

__all__ = ["AUDIT_FIELD", "SAVE_UNTESTED", "CandidateForm", "Screen", "record_untested_save", "submit"]

SAVE_UNTESTED = "save_untested"
AUDIT_FIELD = "saved_without_test"
HELD_EXPIRED = gettext_lazy(
    "The secrets you entered are no longer kept (at most 30 minutes, and not once the page was opened "
    "again): enter them again."
)

_LAST_TEST_FIELDS = (
    "last_test_at",
    "last_test_ok",
    "last_test_code",
    "last_test_message",
    "last_test_params",
)


class CandidateForm(Protocol):
    """A settings form that can describe its submission before saving it."""

    def is_valid(self) -> bool: ...

    def add_error(self, field: str | None, error: Any) -> None: ...

    def candidate(self) -> Any:
        """An unsaved copy of the stored row with the submitted values applied."""

    def changes(self, candidate: Any) -> list[str]:
        """The connection settings ``candidate`` changes (names only)."""

    def secrets_entered(self) -> Mapping[str, str | bytes | None]:
        """The secrets of the submission, to hold when it is refused."""


class Screen(Protocol):
    """What :func:`submit` needs from a settings screen."""

    form_name: str  # names the held secrets in the session
    audit_type: str  # the audit trail's object type

    def bind(self, held: Mapping[str, str | bytes]) -> CandidateForm: ...

    def unbound(self) -> CandidateForm: ...

    def page(self, form: CandidateForm, **extra: Any) -> HttpResponse: ...

    def in_use(self) -> bool:
        """Whether the stored settings may be in use (complete), so a change needs a test."""

    def test(self, candidate: Any) -> checks.CheckResult:
        """Test an unsaved candidate; records nothing."""

    def store(self, form: CandidateForm) -> CompanySettings | SourceConnection:
        """Save the form with its audit trail (in the caller's transaction); returns the row."""

    def test_stored(self) -> checks.CheckResult:
        """Test the stored settings and record the result."""

    def done(self, *, untested: bool) -> HttpResponse | None:
        """The answer after a save that ran no test (a redirect), or ``None`` for the page."""


def submit(request: HttpRequest, screen: Screen, company: Company) -> HttpResponse:
    """Handle a POST of ``screen``'s settings form (see the module's guarantees)."""
    action = request.POST.get("action", "save")
    token = request.POST.get("held", "")
    held = held_secrets.held(request, screen.form_name, company.pk, token)
    form = screen.bind(held)
    valid = form.is_valid()
    if token and not held:
        # The page counts on secrets that are no longer held: saving without them would store
        # something other than what the administrator sees.
        form.add_error(None, HELD_EXPIRED)
        valid = False
    if not valid:
        return screen.page(form, held=held, token=token)
    candidate = form.candidate()
    changed = form.changes(candidate)
    result: checks.CheckResult | None = None
    if changed and action != SAVE_UNTESTED and screen.in_use():
        result = screen.test(candidate)
        if not result.ok:
            entered = form.secrets_entered()
            token = held_secrets.hold(request, screen.form_name, company.pk, entered)
            kept = {name: value for name, value in entered.items() if value}
            return screen.page(form, result=result, refused=True, held=kept, token=token)
    untested = changed if action == SAVE_UNTESTED else []
    with transaction.atomic():
        row = screen.store(form)
        if untested:
            record_untested_save(
                company=company,
                user=request.user,
                instance=row,
                object_type=screen.audit_type,
                fields=untested,
            )
    held_secrets.release(request, screen.form_name)
    if result is not None:
        checks.record_result(row, result)
    elif action == "test":
        result = screen.test_stored()
    else:
        answer = screen.done(untested=bool(untested))
        if answer is not None:
            return answer
    return screen.page(screen.unbound(), result=result, saved=True, untested=bool(untested))


def record_untested_save(
    *,
    company: Company,
    user: Any,
    instance: CompanySettings | SourceConnection,
    object_type: str,
    fields: Sequence[str],
) -> AuditEntry:
    """Audit the untested save of ``fields`` of ``instance`` and clear its last test result."""
    instance.last_test_at = None
    instance.last_test_ok = None
    instance.last_test_code = ""
    instance.last_test_message = ""
    instance.last_test_params = {}
    instance.save(update_fields=list(_LAST_TEST_FIELDS))
    return record_event(
        company=company,
        user=user,
        object_type=object_type,
        object_id=str(instance.pk),
        field=AUDIT_FIELD,
        new_value=", ".join(fields),
    )
