"""``sfacal check --connections``: every company's outside connections, tested as the screens test them.

Guarantees:

- One block per company, in code order: its Microsoft 365 app (the C7 check), each enabled JUST.SFA
  connection (the J1 check), and the push API's write-back callback where one is configured. A
  disabled JUST.SFA connection, and the app of a company that has neither sync on nor a client ID
  (not set up yet), are listed as not tested; they are not problems.
- Each test is the screen button's own (:mod:`sfacal.web.checks`), so the outcome is recorded on the
  row exactly as a press of the button records it.
- A problem prints the check's message and hint, and its further notes; never a secret: the raw
  detail of a failure (which may quote a server's answer) is not printed, only the texts the screens
  show.
- Text is in the run's language; :func:`report` returns the number of problems.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from django.utils.translation import get_language
from django.utils.translation import gettext as _

from sfacal.core.errors import normalize_lang
from sfacal.directory.companies.models import Company, CompanySettings
from sfacal.directory.connections.models import SourceConnection, SourceKind
from sfacal.web import checks


@dataclass(frozen=True)
class Line:
    """One tested (or skipped) connection of a company."""

    label: str
    result: checks.CheckResult | None  # None: not tested
    why_not: str = ""


def company_lines(company: Company, lang: str) -> Iterator[Line]:
    settings, _created = CompanySettings.objects.get_or_create(company=company)
    if not settings.sync_enabled and not settings.client_id:
        yield Line(_("Microsoft 365 app"), None, _("not set up and sync is off, not tested"))
    else:
        yield Line(_("Microsoft 365 app"), checks.check_company_connection(settings, lang))
    sources = SourceConnection.objects.for_company(company).order_by("kind", "name")
    for source in sources:
        if source.kind == SourceKind.JUSTSFA:
            label = _("JUST.SFA connection “%(name)s”") % {"name": source.name}
            if not source.enabled:
                yield Line(label, None, _("turned off, not tested"))
            else:
                yield Line(label, checks.check_source(source, lang))
        elif source.kind == SourceKind.PUSH and source.callback_url:
            yield Line(_("Push API write-back callback"), checks.check_push_connection(source, lang))


def _format(line: Line) -> list[str]:
    if line.result is None:
        return [f"  - {line.label}: {line.why_not}"]
    mark = "✓" if line.result.ok else "✗"
    lines = [f"  {mark} {line.label}: {line.result.message}"]
    if not line.result.ok and line.result.hint:
        lines.append("      " + _("What to do: %(hint)s") % {"hint": line.result.hint})
    lines += [f"      {note}" for note in line.result.notes]
    return lines


def report(write: Callable[[str], None]) -> int:
    """Test every company's connections, writing one block per company; the number of problems."""
    lang = normalize_lang(get_language())
    problems = 0
    companies = list(Company.objects.order_by("slug"))
    if not companies:
        write(_("No company yet: no connection to test."))
        return 0
    for company in companies:
        if company.name and company.name != company.slug:
            write(_("Company %(code)s (%(name)s)") % {"code": company.slug, "name": company.name})
        else:
            write(_("Company %(code)s") % {"code": company.slug})
        for line in company_lines(company, lang):
            if line.result is not None and not line.result.ok:
                problems += 1
            for text in _format(line):
                write(text)
    return problems
