"""Employees › CSV download (E6): the company's employees, or an empty template, to edit in Excel
and import again through *Import CSV* or ``sfacal import employees``.

* Company administrators only; only the signed-in administrator's company (U2).
* Shift_JIS (Excel's default in Japan) or UTF-8 with a BOM; headers and values in the page's
  language; the file itself is made by :func:`sfacal.sources.csv.employees_csv` (the columns the
  importer reads, formula-like cells neutralised).
* Names Shift_JIS cannot hold never turn into ``?``: the screen says which employees they are
  and offers UTF-8 instead.
* Every download of the employees is recorded in the audit trail.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from sfacal.core.errors import normalize_lang
from sfacal.directory.companies.audit import record_event
from sfacal.directory.employees.models import Employee
from sfacal.sources.csv import EmployeeRow, UnencodableError, employees_csv
from sfacal.web.companies.permissions import company_admin_required, company_of

__all__ = ["EXPORT_ENCODINGS", "ExportForm", "employee_export"]

EXPORT_ENCODINGS = [
    ("cp932", gettext_lazy("Shift_JIS (Excel)")),
    ("utf-8-sig", gettext_lazy("UTF-8 (with BOM)")),
]
_FIELDS = ("login_id", "name", "email", "state", "user_id_mode", "user_id", "calendar_name")


class ExportForm(forms.Form):
    """What to download: the employees or an empty template, and in which encoding."""

    what = forms.ChoiceField(
        label=gettext_lazy("Download"),
        choices=[("employees", gettext_lazy("Employees")), ("template", gettext_lazy("Empty template"))],
    )
    encoding = forms.ChoiceField(label=gettext_lazy("Character encoding"), choices=EXPORT_ENCODINGS)


def _filename(slug: str, what: str, encoding: str) -> str:
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    suffix = "sjis" if encoding == "cp932" else "utf8"
    if what == "template":
        return f"sfacal-employees-template-{suffix}.csv"
    return f"sfacal-employees-{slug}-{stamp}-{suffix}.csv"


@require_GET
@company_admin_required
def employee_export(request: HttpRequest) -> HttpResponse:
    """The CSV file (``?what=employees|template&encoding=cp932|utf-8-sig``)."""
    company = company_of(request)
    form = ExportForm(request.GET)
    if not form.is_valid():
        for name, errors in form.errors.items():
            label = form.fields[name].label if name in form.fields else name
            for error in errors:
                messages.error(request, f"{label}: {error}")
        return redirect("employees")
    what, encoding = form.cleaned_data["what"], form.cleaned_data["encoding"]
    lang = normalize_lang(get_language())
    rows: list[EmployeeRow] = []
    if what == "employees":
        values = Employee.objects.for_company(company).order_by("login_id").values_list(*_FIELDS)
        rows = [EmployeeRow(*row) for row in values.iterator(chunk_size=2000)]
    try:
        data = employees_csv(rows, lang=lang, encoding=encoding)
    except UnencodableError as exc:
        shown = ", ".join(exc.login_ids[:10]) + (" …" if len(exc.login_ids) > 10 else "")
        messages.error(
            request,
            _(
                "Shift_JIS cannot hold some characters of these employees: %(logins)s. "
                "Download in UTF-8 instead (Excel opens it as well)."
            )
            % {"logins": shown},
        )
        return redirect("employees")
    if what == "employees":
        record_event(
            company=company,
            user=request.user,
            object_type="employee",
            object_id="",
            field="csv_export",
            new_value=f"{len(rows)} rows, {encoding}",
        )
    charset = "shift_jis" if encoding == "cp932" else "utf-8"
    response = HttpResponse(data, content_type=f"text/csv; charset={charset}")
    response["Content-Disposition"] = f'attachment; filename="{_filename(company.slug, what, encoding)}"'
    response["Cache-Control"] = "no-store"
    return response
