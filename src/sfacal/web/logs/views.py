"""The sync log (L1/L2): filters, hints in the reader's language, CSV export, live refresh.

The CSV export is UTF-8 with a BOM (for Excel) and written through
:func:`sfacal.core.spreadsheet.csv_writer`: a schedule title, name or message that starts like a
formula (``=``, ``+``, ``-``, ``@``, tab, carriage return) gets an apostrophe in front, so no SFA
text becomes a formula in the administrator's spreadsheet.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable, Iterator
from typing import Any, cast

from django import forms
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from sfacal.core.errors import normalize_lang
from sfacal.core.spreadsheet import csv_writer
from sfacal.engine.models import LogResult, SyncLogEntry, Trigger
from sfacal.web.companies.permissions import AccessContext, ctx_of, member_required
from sfacal.web.dateranges import DateRangeForm, company_zone, day_bounds
from sfacal.web.logs.presenters import describe

PAGE_SIZE = 50
EXPORT_LIMIT = 100_000


class LogFilterForm(DateRangeForm):
    employee = forms.CharField(label=gettext_lazy("Employee"), required=False, max_length=150)
    result = forms.ChoiceField(label=gettext_lazy("Result"), required=False)
    trigger = forms.ChoiceField(label=gettext_lazy("Trigger"), required=False)
    # One schedule's lines (the mirrored-events page links here): its ID, and the source it came
    # from when the link knows it.
    record = forms.CharField(label=gettext_lazy("Schedule ID"), required=False, max_length=200)
    source = forms.CharField(
        label=gettext_lazy("Source"), required=False, max_length=64, widget=forms.HiddenInput
    )

    def __init__(self, *args: Any, show_employee: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["result"]).choices = [
            ("", gettext_lazy("All")),
            *LogResult.choices,
        ]
        cast(forms.ChoiceField, self.fields["trigger"]).choices = [
            ("", gettext_lazy("All")),
            *Trigger.choices,
        ]
        self.fields["employee"].widget.attrs["placeholder"] = gettext_lazy("Login ID or name")
        if not show_employee:
            del self.fields["employee"]


def _zone(ctx: AccessContext) -> zoneinfo.ZoneInfo:
    assert ctx.company is not None
    return company_zone(ctx.company.timezone)


def filtered_entries(request: HttpRequest) -> tuple[LogFilterForm, QuerySet[SyncLogEntry]]:
    """The entries this user may see (U1: an employee only their own), narrowed by the filters."""
    ctx = ctx_of(request)
    assert ctx.company is not None
    qs = SyncLogEntry.objects.for_company(ctx.company).select_related("employee")
    if not ctx.is_company_admin:
        qs = qs.filter(employee=ctx.employee) if ctx.employee is not None else qs.none()
    form = LogFilterForm(request.GET or None, show_employee=ctx.is_company_admin)
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        start, end = day_bounds(data.get("date_from"), data.get("date_to"), _zone(ctx))
        if start is not None:
            qs = qs.filter(at__gte=start)
        if end is not None:
            qs = qs.filter(at__lt=end)
        who = (data.get("employee") or "").strip()
        if who:
            qs = qs.filter(
                Q(login_id__icontains=who) | Q(employee__name__icontains=who) | Q(mailbox__icontains=who)
            )
        if data.get("result"):
            qs = qs.filter(result=data["result"])
        if data.get("trigger"):
            qs = qs.filter(trigger=data["trigger"])
        if data.get("record"):
            qs = qs.filter(record_id=data["record"].strip())
        if data.get("source"):
            qs = qs.filter(source=data["source"])
    elif form.is_bound:
        qs = qs.none()
    return form, qs


@member_required
def log_list(request: HttpRequest) -> HttpResponse:
    form, qs = filtered_entries(request)
    lang = normalize_lang(get_language())
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    lines = [describe(e, lang) for e in page.object_list]
    params = request.GET.copy()
    params.pop("page", None)
    params.pop("fragment", None)
    context = {
        "form": form,
        "page": page,
        "lines": lines,
        "live": request.GET.get("live") == "1" and page.number == 1,
        "query": params.urlencode(),
        "now": timezone.now(),
    }
    if request.GET.get("fragment") == "rows":
        return render(request, "logs/rows.html", context)
    return render(request, "logs/list.html", context)


def _csv_rows(qs: QuerySet[SyncLogEntry], lang: str, tz: zoneinfo.ZoneInfo) -> Iterator[list[str]]:
    yield [
        _("Time"),
        _("Login ID"),
        _("Employee"),
        _("Mailbox"),
        _("Calendar"),
        _("Trigger"),
        _("Operation"),
        _("Result"),
        _("Error code"),
        _("Message"),
        _("Hint"),
        _("Source"),
        _("Record ID"),
        _("Subject"),
        _("Next attempt"),
    ]
    for entry in qs[:EXPORT_LIMIT].iterator(chunk_size=2000):
        line = describe(entry, lang)
        yield [
            entry.at.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S"),
            entry.login_id,
            entry.employee.name if entry.employee else "",
            entry.mailbox,
            entry.calendar_name,
            str(entry.get_trigger_display()),
            line.operation,
            str(entry.get_result_display()),
            entry.error_code,
            " ".join(p for p in (line.message, *line.notes, line.detail) if p),
            line.hint,
            entry.source,
            entry.record_id,
            entry.subject,
            entry.next_attempt_at.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")
            if entry.next_attempt_at
            else "",
        ]


class _Echo:
    def write(self, value: str) -> str:
        return value


@member_required
def log_export(request: HttpRequest) -> StreamingHttpResponse:
    """The filtered log as CSV, UTF-8 with a BOM so that Excel opens it correctly; formula-like
    cells neutralised (see the module docstring)."""
    _form, qs = filtered_entries(request)
    ctx = ctx_of(request)
    lang = normalize_lang(get_language())
    tz = _zone(ctx)
    return stream_csv(_csv_rows(qs, lang, tz), "sfacal-log", tz)


def stream_csv(rows: Iterable[list[str]], name: str, tz: zoneinfo.ZoneInfo) -> StreamingHttpResponse:
    """``rows`` as a streamed CSV download ``{name}-{time}.csv``: UTF-8 with a BOM so that Excel
    opens it correctly, formula-like cells neutralised (see the module docstring). The log's and
    the audit trail's exports both go through here."""
    writer = csv_writer(_Echo())

    def stream() -> Iterator[str]:
        yield "\ufeff"
        for row in rows:
            yield writer.writerow(row)

    stamp = timezone.now().astimezone(tz).strftime("%Y%m%d-%H%M")
    response = StreamingHttpResponse(stream(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}-{stamp}.csv"'
    return response
