"""The ICS feed: the private subscription URL and the screens that turn it on and off.

* ``feeds/<token>.ics`` (no sign-in: the token is the key): ``GET``/``HEAD`` the employee's feed
  (:mod:`sfacal.engine.icsfeed`) as ``text/calendar`` with a strong ``ETag``; ``If-None-Match``
  that matches answers 304 without building the feed; an unknown or revoked token is 404.
* ``me/feed/``: the signed-in employee's page. "Turn on" (or "Make a new URL") issues a new token,
  revokes the previous one, and shows the URL once -- only its hash is stored. "Turn off" revokes.
* ``employees/<pk>/feed/revoke/``: a company administrator revokes an employee's feed (U1, U2: an
  employee of another company is 404). Every issue and revocation is in the audit trail.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotModified
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from sfacal.directory.companies.audit import record_event
from sfacal.directory.connections.models import IcsFeed
from sfacal.directory.employees.models import Employee, SyncState
from sfacal.engine.icsfeed import build_feed, feed_etag, feed_for_token
from sfacal.web.companies.permissions import company_admin_required, ctx_of, member_required

__all__ = ["employee_feed_revoke", "ics_feed", "live_feed", "my_feed"]

_USED_EVERY_S = 60  # last_used_at is written at most this often (polling clients)


def _etag_matches(header: str, etag: str) -> bool:
    wanted = {t.strip().removeprefix("W/") for t in header.split(",")}
    return "*" in wanted or etag in wanted


@csrf_exempt
@require_http_methods(["GET", "HEAD"])
def ics_feed(request: HttpRequest, token: str) -> HttpResponse:
    feed = feed_for_token(token)
    if feed is None:
        raise Http404
    now = timezone.now()
    if feed.last_used_at is None or (now - feed.last_used_at).total_seconds() > _USED_EVERY_S:
        IcsFeed.objects.filter(pk=feed.pk).update(last_used_at=now)
    etag = feed_etag(feed, now)
    headers = {"ETag": etag, "Cache-Control": "private, max-age=300", "X-Robots-Tag": "noindex"}
    if _etag_matches(request.headers.get("If-None-Match", ""), etag):
        response: HttpResponse = HttpResponseNotModified(headers=headers)
        return response
    body = build_feed(feed, now)
    response = HttpResponse(body.body, content_type="text/calendar; charset=utf-8", headers=headers)
    response["Content-Disposition"] = 'inline; filename="sfacal.ics"'
    return response


def live_feed(employee: Employee) -> IcsFeed | None:
    return IcsFeed.objects.filter(employee=employee, revoked_at__isnull=True).order_by("-created_at").first()


def _revoke(employee: Employee) -> int:
    return IcsFeed.objects.filter(employee=employee, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )


@member_required
def my_feed(request: HttpRequest) -> HttpResponse:
    ctx = ctx_of(request)
    employee = ctx.employee
    if employee is None:
        raise Http404
    new_url = ""
    forbidden = employee.state == SyncState.FORBIDDEN
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "issue" and not forbidden:
            row, token = IcsFeed.issue(employee, request.user)
            record_event(
                company=employee.company,
                user=request.user,
                object_type="ics_feed",
                object_id=str(employee.pk),
                field="issued",
                new_value=row.prefix + "…",
            )
            new_url = request.build_absolute_uri(f"/feeds/{token}.ics")
        elif action == "revoke":
            if _revoke(employee):
                record_event(
                    company=employee.company,
                    user=request.user,
                    object_type="ics_feed",
                    object_id=str(employee.pk),
                    field="revoked",
                )
            messages.success(request, _("The calendar feed was turned off. Its URL no longer works."))
            return redirect("my_feed")
        else:
            messages.error(request, _("Unknown action."))
            return redirect("my_feed")
    response = render(
        request,
        "employees/feed.html",
        {"employee": employee, "feed": live_feed(employee), "new_url": new_url, "forbidden": forbidden},
    )
    response["Cache-Control"] = "no-store"  # the URL is shown once and never cached
    return response


@require_POST
@company_admin_required
def employee_feed_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    company = ctx_of(request).company
    assert company is not None
    employee = get_object_or_404(Employee.objects.for_company(company), pk=pk)
    if _revoke(employee):
        record_event(
            company=company,
            user=request.user,
            object_type="ics_feed",
            object_id=str(employee.pk),
            field="revoked",
        )
    messages.success(request, _("The employee's calendar feed was turned off. Its URL no longer works."))
    return redirect("employee_edit", pk=employee.pk)
