"""Mirrored events: the schedules mirrored into one employee's calendar (rows: :mod:`.mirror_rows`).

* ``employees/<pk>/events/``: company administrators, for any employee of their own company; an
  employee of another company is not found (404, U2) and an employee gets 403 (U1).
* ``me/events/``: a signed-in employee, their own rows only; a member without an employee record
  gets 404.
* Filters: the schedule's start date (from / to, in the company's time zone) and the state; a bad
  filter is a form error naming the field, and lists nothing.
* Each row links to its log lines (the log screen filtered to the schedule, and for an
  administrator to the employee); in the demo the page links to the emulated mailbox.
"""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.translation import get_language, gettext_lazy
from django.views.decorators.http import require_GET

from sfacal.core.errors import normalize_lang
from sfacal.directory.employees.models import Employee
from sfacal.directory.employees.services import mailbox_of
from sfacal.web.companies.permissions import company_admin_required, ctx_of, member_required
from sfacal.web.dateranges import DateRangeForm, company_zone
from sfacal.web.employees.demo_links import mailbox_view_url
from sfacal.web.employees.mirror_rows import STATES, mirror_rows, mirrors_of, state_counts

__all__ = ["MirrorFilterForm", "employee_events", "my_events"]

PAGE_SIZE = 25


class MirrorFilterForm(DateRangeForm):
    """The schedule's start date (from / to) and the state."""

    state = forms.ChoiceField(label=gettext_lazy("State"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["date_from"].label = gettext_lazy("Starts on or after")
        self.fields["date_to"].label = gettext_lazy("Starts on or before")
        cast(forms.ChoiceField, self.fields["state"]).choices = [
            ("", gettext_lazy("All")),
            *((key, label) for key, (label, _covered) in STATES.items()),
        ]


def _page(request: HttpRequest, employee: Employee, *, own: bool) -> HttpResponse:
    ctx = ctx_of(request)
    company = employee.company
    zone = company_zone(company.timezone)
    form = MirrorFilterForm(request.GET or None)
    filters: dict[str, Any] = {}
    if form.is_bound and form.is_valid():
        filters = {k: v for k, v in form.cleaned_data.items() if v}
    qs = mirrors_of(employee, zone, **filters)
    if form.is_bound and not form.is_valid():
        qs = qs.none()
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    lang = normalize_lang(get_language())
    mailbox = mailbox_of(employee, ctx.settings.domain or "")
    return render(
        request,
        "employees/mirrored.html",
        {
            "employee": employee,
            "own": own,
            "form": form,
            "page": page,
            "rows": mirror_rows(employee, page.object_list, company.timezone, lang),
            "summary": [
                {"key": key, "label": STATES[key][0], "n": n}
                for key, n in state_counts(mirrors_of(employee, zone)).items()
            ],
            "mailbox": mailbox,
            "mailbox_view": mailbox_view_url(mailbox),
        },
    )


@require_GET
@company_admin_required
def employee_events(request: HttpRequest, pk: int) -> HttpResponse:
    """An administrator's view of one employee of their company."""
    company = ctx_of(request).company
    assert company is not None
    employee = get_object_or_404(Employee.objects.for_company(company).select_related("company"), pk=pk)
    return _page(request, employee, own=False)


@require_GET
@member_required
def my_events(request: HttpRequest) -> HttpResponse:
    """The signed-in employee's own rows."""
    employee = ctx_of(request).employee
    if employee is None:
        raise Http404
    return _page(request, employee, own=True)
