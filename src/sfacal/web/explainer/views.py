"""The explainer screens: "why is this schedule not in my calendar?"

* ``explain/``: find a schedule of the company by SFA record ID, customer, title (or purpose /
  business name) and start date. An employee finds only schedules that name them or were mirrored
  to them (U1); an administrator any schedule of their own company (U2).
* ``explain/schedule/?source=…&record=…``: the schedule as the calendar gets it (S5), and for each
  employee it concerns the decision of the core and why, as a chain of rules
  (:func:`sfacal.engine.explaining.explain_record`, which runs the planner); the mirror rows and
  the log lines of the schedule. An employee sees only their own verdict, rows and lines, and gets
  404 for a schedule that does not concern them; a schedule of another company is never found.
* ``explain/sync/`` (POST): "sync this schedule now" re-plans the schedule (an employee: only
  their own calendar) and returns to the explanation with what was done.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from sfacal.core.errors import normalize_lang
from sfacal.engine.explaining import RecordReport, explain_record, find_records
from sfacal.engine.models import StoredSchedule
from sfacal.engine.sync import sync_record
from sfacal.web.companies.permissions import AccessContext, ctx_of, member_required
from sfacal.web.dateranges import company_zone
from sfacal.web.logs.presenters import OPERATIONS, describe

__all__ = ["explain_schedule", "explain_search", "explain_sync"]


class ExplainSearchForm(forms.Form):
    q = forms.CharField(label=gettext_lazy("Record ID, customer or title"), required=False, max_length=200)
    on = forms.DateField(
        label=gettext_lazy("Starts on"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


class RecordForm(forms.Form):
    source = forms.CharField(max_length=64)
    record = forms.CharField(max_length=200)


def _own_login(ctx: AccessContext) -> str | None:
    """``None`` for an administrator (everyone of the company); an employee's own login ID."""
    if ctx.is_company_admin:
        return None
    if ctx.employee is None:
        raise Http404
    return str(ctx.employee.login_id)


def _concerns(report: RecordReport, login_id: str) -> bool:
    participants = getattr(report.change, "participants", ())
    return (
        login_id in participants
        or bool(report.mirrors)
        or any(v.login_id == login_id for v in report.verdicts)
    )


def _report(request: HttpRequest, source: str, record: str) -> RecordReport:
    ctx = ctx_of(request)
    assert ctx.company is not None
    login = _own_login(ctx)
    report = explain_record(ctx.company, source, record, login_id=login)
    if login is not None and not _concerns(report, login):
        raise Http404
    return report


@require_GET
@member_required
def explain_search(request: HttpRequest) -> HttpResponse:
    ctx = ctx_of(request)
    assert ctx.company is not None
    login = _own_login(ctx)
    form = ExplainSearchForm(request.GET or None)
    results = None
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        results = find_records(
            ctx.company,
            company_zone(ctx.company.timezone),
            text=data.get("q") or "",
            on=data.get("on"),
            login_id=login,
        )
    rows = None if results is None else [_found(row) for row in results]
    return render(request, "explainer/search.html", {"form": form, "results": rows})


def _found(row: StoredSchedule) -> dict[str, object]:
    """What a search result shows: the schedule's name (customer, title, or for a deletion the last
    subject its events had), its purpose or business name."""
    payload = row.payload if isinstance(row.payload, dict) else {}

    def text(key: str) -> str:
        value = payload.get(key)
        return value if isinstance(value, str) else ""

    return {
        "row": row,
        "name": text("customer_name") or text("title") or text("subject") or row.record_id,
        "what": text("purpose") or text("business_name"),
    }


@require_GET
@member_required
def explain_schedule(request: HttpRequest) -> HttpResponse:
    form = RecordForm(request.GET)
    if not form.is_valid():
        raise Http404
    report = _report(request, form.cleaned_data["source"], form.cleaned_data["record"])
    lang = normalize_lang(get_language())
    return render(
        request,
        "explainer/schedule.html",
        {
            "report": report,
            "lang": lang,
            "verdicts": [
                {
                    "verdict": v,
                    "writes": [str(OPERATIONS.get(kind.value, kind.value)) for kind in v.kinds],
                    "steps": [(s, s.text(lang)) for s in v.steps],
                }
                for v in report.verdicts
            ],
            "problem": report.problem.text(lang) if report.problem is not None else "",
            "lines": [describe(e, lang) for e in report.log],
            "own": not ctx_of(request).is_company_admin,
        },
    )


@require_POST
@member_required
def explain_sync(request: HttpRequest) -> HttpResponse:
    form = RecordForm(request.POST)
    if not form.is_valid():
        raise Http404
    source, record = form.cleaned_data["source"], form.cleaned_data["record"]
    report = _report(request, source, record)  # 404 for a schedule the reader may not see
    ctx = ctx_of(request)
    assert ctx.company is not None
    summary = sync_record(ctx.company, source, record, login_id=_own_login(ctx))
    if report.stored is None:
        messages.warning(request, _("No schedule with this ID has been received from the SFA."))
    elif summary.failed or summary.errors:
        messages.error(request, _("Synced with failures: see the log lines below."))
    elif summary.busy or summary.postponed or any(state == "retry" for state in summary.states.values()):
        messages.warning(request, _("Another sync is writing this calendar now; try again in a moment."))
    else:
        messages.success(request, _("Synced now: %(n)d calendar write(s).") % {"n": summary.operations})
    return HttpResponseRedirect(
        reverse("explain_schedule") + "?" + urlencode({"source": source, "record": record})
    )
