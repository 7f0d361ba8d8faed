"""Dashboard (L3): sync state, this month's numbers, recent failures, connection health, expiry.

* Each connection is listed once: Microsoft 365, each SFA source (JUST.SFA), and the push API as
  one row with its active tokens and its write-back test (the push source is not listed again).
* An employee gets a link to the events mirrored into their calendar; in the demo, administrators
  and employees also get a link to the emulated mailboxes.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import get_language

from sfacal.core.errors import normalize_lang
from sfacal.directory.connections.models import ApiToken, SourceConnection, SourceKind
from sfacal.directory.employees.models import Employee, SyncState
from sfacal.directory.employees.services import mailbox_of
from sfacal.engine.models import LogResult, SyncLogEntry
from sfacal.web.companies.permissions import access_context, landing_url_name, member_required
from sfacal.web.companies.views import expiry_warnings
from sfacal.web.employees.demo_links import mailbox_view_url, mailboxes_view_url
from sfacal.web.logs.presenters import describe, month_start

RECENT_FAILURES = 10


def home(request: HttpRequest) -> HttpResponse:
    return redirect(landing_url_name(access_context(request)))


@member_required
def dashboard(request: HttpRequest) -> HttpResponse:
    ctx = access_context(request)
    assert ctx is not None and ctx.company is not None
    company = ctx.company
    lang = normalize_lang(get_language())
    settings = ctx.settings
    logs = SyncLogEntry.objects.for_company(company)
    if not ctx.is_company_admin:
        logs = logs.filter(employee=ctx.employee) if ctx.employee else logs.none()
    start = month_start(company.timezone)
    month = logs.filter(at__gte=start)
    synced_users = (
        month.filter(result=LogResult.SUCCESS).exclude(employee=None).values("employee").distinct().count()
    )
    failures = [
        describe(e, lang)
        for e in logs.filter(result=LogResult.FAILURE).select_related("employee")[:RECENT_FAILURES]
    ]
    context: dict[str, Any] = {
        "s": settings,
        "month_start": start,
        "synced_users": synced_users,
        "executions": month.count(),
        "failures_this_month": month.filter(result=LogResult.FAILURE).count(),
        "failures": failures,
        "demo_mailboxes": mailboxes_view_url(),
    }
    if ctx.employee is not None:
        context["demo_mailbox"] = mailbox_view_url(mailbox_of(ctx.employee, settings.domain or ""))
    if ctx.is_company_admin:
        states = dict(
            Employee.objects.for_company(company).values_list("state").annotate(n=Count("id")).order_by()
        )
        context.update(
            {
                "states": {
                    "on": states.get(SyncState.ON, 0),
                    "off": states.get(SyncState.OFF, 0),
                    "forbidden": states.get(SyncState.FORBIDDEN, 0),
                },
                "sources": SourceConnection.objects.for_company(company).exclude(
                    kind__in=(SourceKind.CSV, SourceKind.PUSH)
                ),
                "push": SourceConnection.objects.for_company(company).filter(kind=SourceKind.PUSH).first(),
                "tokens": ApiToken.objects.for_company(company).filter(revoked_at=None).count(),
                "warnings": expiry_warnings(settings, lang),
            }
        )
    return render(request, "dashboard/dashboard.html", context)
