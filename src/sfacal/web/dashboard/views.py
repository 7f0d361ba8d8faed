"""Dashboard (L3): sync state, this month's numbers, recent failures, connection health, expiry."""

from __future__ import annotations

from typing import Any

from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import get_language

from sfacal.core.errors import normalize_lang
from sfacal.engine.models import LogResult, SyncLogEntry
from sfacal.web.companies.permissions import access_context, landing_url_name, member_required
from sfacal.web.companies.views import expiry_warnings
from sfacal.web.connections.models import ApiToken, SourceConnection, SourceKind
from sfacal.web.employees.models import Employee, SyncState
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
    }
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
                "sources": SourceConnection.objects.for_company(company).exclude(kind=SourceKind.CSV),
                "tokens": ApiToken.objects.for_company(company).filter(revoked_at=None).count(),
                "warnings": expiry_warnings(settings, lang),
            }
        )
    return render(request, "dashboard/dashboard.html", context)
