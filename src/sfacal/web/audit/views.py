"""The audit trail (``AuditEntry``) on screen, for company administrators.

* Only a company's administrators see its entries (U1); entries of another company are never
  listed (U2, :meth:`CompanyScopedManager.for_company`).
* Each row says who changed which setting of the company, an employee or a connection, when
  (company time zone), from what to what. A secret (client secret, certificate and its password,
  JUST.SFA API key, webhook header value and URL, API tokens) is shown only as "changed": the
  recorded value is never displayed nor exported, whatever was stored.
* Filters: who (user name), what (company / employees / connections), and a date range; a bad
  filter is a form error naming the field and lists nothing.
* The CSV export is the filtered list, written like the log's export
  (:func:`sfacal.web.logs.views.stream_csv`): UTF-8 with a BOM, formula-like cells neutralised by
  :func:`sfacal.core.spreadsheet.csv_writer`.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, cast

from django import forms
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from sfacal.directory.companies.models import AuditEntry
from sfacal.directory.employees.models import Employee
from sfacal.web.companies.permissions import company_admin_required, ctx_of
from sfacal.web.dateranges import DateRangeForm, company_zone, day_bounds
from sfacal.web.logs.views import stream_csv

__all__ = ["AREAS", "SECRET_FIELDS", "AuditFilterForm", "AuditRow", "audit_export", "audit_list"]

PAGE_SIZE = 50
EXPORT_LIMIT = 100_000

# What an entry is about -> (label, the recorded object types).
AREAS: dict[str, tuple[Promise, tuple[str, ...]]] = {
    "company": (
        gettext_lazy("Company settings and masters"),
        ("company", "company_settings", "purpose", "business", "companies.companysettings", "auth.user"),
    ),
    "employee": (gettext_lazy("Employees"), ("employee", "employees.employee")),
    "connection": (
        gettext_lazy("Connections"),
        ("justsfa", "push_connection", "api_token", "user_mapping", "connections.sourceconnection"),
    ),
}
_AREA_OF = {kind: area for area, (_label, kinds) in AREAS.items() for kind in kinds}

SECRET_FIELDS = frozenset(
    {
        "client_secret",
        "certificate_pfx",
        "certificate_password",
        "api_key",
        "webhook_header_value",
        "webhook_token",
        "token",
        "token_hash",
        "password",
    }
)


class AuditFilterForm(DateRangeForm):
    who = forms.CharField(label=gettext_lazy("Who"), required=False, max_length=150)
    what = forms.ChoiceField(label=gettext_lazy("What"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["what"]).choices = [
            ("", gettext_lazy("All")),
            *((key, label) for key, (label, _kinds) in AREAS.items()),
        ]
        self.fields["who"].widget.attrs["placeholder"] = gettext_lazy("User name")


@dataclass(frozen=True)
class AuditRow:
    entry: AuditEntry
    who: str
    area: str  # translated
    target: str  # the employee's login ID, or the object's id
    old: str
    new: str


def _is_secret(entry: AuditEntry) -> bool:
    return entry.field in SECRET_FIELDS


def audit_rows(entries: Iterable[AuditEntry], company_id: int) -> list[AuditRow]:
    page = list(entries)
    employee_ids = {
        int(e.object_id) for e in page if _AREA_OF.get(e.object_type) == "employee" and e.object_id.isdigit()
    }
    logins = dict(
        Employee.objects.for_company(company_id).filter(pk__in=employee_ids).values_list("pk", "login_id")
    )
    rows: list[AuditRow] = []
    for entry in page:
        area = _AREA_OF.get(entry.object_type, "company")
        target = entry.object_id
        if area == "employee" and entry.object_id.isdigit():
            target = logins.get(int(entry.object_id), entry.object_id)
        if _is_secret(entry):
            old, new = "", str(_("changed"))
        else:
            old, new = entry.old_value, entry.new_value
        rows.append(
            AuditRow(
                entry=entry,
                who=entry.user.get_username() if entry.user is not None else str(_("(system or API)")),
                area=str(AREAS[area][0]),
                target=target,
                old=old,
                new=new,
            )
        )
    return rows


def filtered_audit(request: HttpRequest) -> tuple[AuditFilterForm, QuerySet[AuditEntry], zoneinfo.ZoneInfo]:
    ctx = ctx_of(request)
    assert ctx.company is not None
    zone = company_zone(ctx.company.timezone)
    qs = AuditEntry.objects.for_company(ctx.company).select_related("user")
    form = AuditFilterForm(request.GET or None)
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        start, end = day_bounds(data.get("date_from"), data.get("date_to"), zone)
        if start is not None:
            qs = qs.filter(at__gte=start)
        if end is not None:
            qs = qs.filter(at__lt=end)
        who = (data.get("who") or "").strip()
        if who:
            qs = qs.filter(user__username__icontains=who)
        if data.get("what"):
            qs = qs.filter(object_type__in=AREAS[data["what"]][1])
    elif form.is_bound:
        qs = qs.none()
    return form, qs.order_by("-at", "-id"), zone


@company_admin_required
def audit_list(request: HttpRequest) -> HttpResponse:
    form, qs, _zone = filtered_audit(request)
    ctx = ctx_of(request)
    assert ctx.company is not None
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    return render(
        request,
        "audit/list.html",
        {
            "form": form,
            "page": page,
            "rows": audit_rows(page.object_list, int(ctx.company.pk)),
            "query": params.urlencode(),
        },
    )


def _csv_rows(qs: QuerySet[AuditEntry], company_id: int, tz: zoneinfo.ZoneInfo) -> Iterator[list[str]]:
    yield [_("Time"), _("Who"), _("What"), _("Object"), _("Setting"), _("Before"), _("After")]
    chunk: list[AuditEntry] = []
    for entry in qs[:EXPORT_LIMIT].iterator(chunk_size=2000):
        chunk.append(entry)
        if len(chunk) >= 2000:
            yield from _csv_chunk(chunk, company_id, tz)
            chunk = []
    yield from _csv_chunk(chunk, company_id, tz)


def _csv_chunk(chunk: list[AuditEntry], company_id: int, tz: zoneinfo.ZoneInfo) -> Iterator[list[str]]:
    for row in audit_rows(chunk, company_id):
        yield [
            row.entry.at.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S"),
            row.who,
            row.area,
            row.target,
            row.entry.field,
            row.old,
            row.new,
        ]


@company_admin_required
def audit_export(request: HttpRequest) -> StreamingHttpResponse:
    """The filtered audit trail as CSV (see the module docstring)."""
    _form, qs, zone = filtered_audit(request)
    ctx = ctx_of(request)
    assert ctx.company is not None
    return stream_csv(_csv_rows(qs, int(ctx.company.pk), zone), "sfacal-audit", zone)
