"""The CalDAV settings screen (``settings/caldav/``) and an employee's own CalDAV account
(``employees/<pk>/caldav/``), for company administrators.

* The company's server URL, service account, calendar home path pattern (``{mailbox}`` is the
  employee's user ID; empty: discovery) and default calendar name. Passwords are write-only: an
  empty field keeps the stored one, the page only says whether one is set; stored encrypted.
* "Save and test" saves, then signs in to the server and reads the calendars of the probe user ID
  (or the URL itself without one) through the connector the engine uses; the answer (with a hint)
  is shown and kept on the row.
* Every save marks the company settings changed, so the engine rebuilds its connector; every change
  is in the audit trail (the password as "changed", never its value).
* An employee's own account (URL, user name, password) replaces the service account for that
  employee; "remove" goes back to the service account.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from django import forms
from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from sfacal.calendars.base import CheckResult as ServiceCheckResult
from sfacal.calendars.caldav import CalDavCalendar, CalDavSettings
from sfacal.core.errors import InputError, NetworkError, SfacalError, normalize_lang
from sfacal.directory.companies.audit import record_event
from sfacal.directory.connections.models import CalDavConnection, EmployeeCalDavAccount
from sfacal.directory.employees.models import Employee
from sfacal.engine.caldav_settings import caldav_settings, touch_company_settings
from sfacal.web import checks
from sfacal.web.companies.permissions import company_admin_required, company_of, ctx_of

__all__ = ["CalDavForm", "caldav_settings_view", "employee_caldav"]

CHECK_TIMEOUT_S = 60


class CalDavForm(forms.Form):
    base_url = forms.URLField(label=gettext_lazy("CalDAV server URL"), max_length=500, assume_scheme="https")
    username = forms.CharField(label=gettext_lazy("User name"), max_length=200, required=False)
    password = forms.CharField(
        label=gettext_lazy("Password"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    home_pattern = forms.CharField(label=gettext_lazy("Calendar home path"), max_length=300, required=False)
    default_calendar = forms.CharField(
        label=gettext_lazy("Default calendar name"), max_length=255, required=False
    )
    probe = forms.CharField(label=gettext_lazy("User ID to test with"), max_length=254, required=False)

    def clean_home_pattern(self) -> str:
        value = (self.cleaned_data.get("home_pattern") or "").strip()
        if value and "{mailbox}" not in value:
            raise forms.ValidationError(
                _("Include {mailbox} where the employee's user ID goes, or leave it empty.")
            )
        return value


class EmployeeCalDavForm(forms.Form):
    url = forms.URLField(label=gettext_lazy("CalDAV URL"), max_length=500, assume_scheme="https")
    username = forms.CharField(label=gettext_lazy("User name"), max_length=200)
    password = forms.CharField(
        label=gettext_lazy("Password"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )


def _lang() -> str:
    return normalize_lang(get_language())


def _run_check(settings: CalDavSettings, probe: str | None) -> ServiceCheckResult:
    """The connector's connection check, on a private loop in its own thread (the caller may be
    inside an event loop; no database access happens there)."""

    async def run() -> ServiceCheckResult:
        async with CalDavCalendar(settings) as cal:
            return await cal.check_connection(probe or None)

    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = asyncio.run(run())
        except BaseException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=target, name="sfacal-caldav-check", daemon=True)
    thread.start()
    thread.join(CHECK_TIMEOUT_S)
    if thread.is_alive():
        return ServiceCheckResult(
            ok=False, error=NetworkError("the check did not finish in time", host=settings.base_url)
        )
    if "error" in outcome:
        error = outcome["error"]
        return ServiceCheckResult(
            ok=False,
            error=error if isinstance(error, SfacalError) else checks.unexpected(error, "CalDAV check"),
        )
    value: ServiceCheckResult = outcome["value"]
    return value


def _screen_result(found: ServiceCheckResult, lang: str) -> checks.CheckResult:
    if found.ok:
        names = tuple(str(c.get("name", "")) for c in found.details.get("calendars", []) if c.get("name"))
        return checks.CheckResult(True, "", found.message(lang), data=names)
    assert found.error is not None
    return checks.CheckResult.failure(found.error, lang)


@company_admin_required
def caldav_settings_view(request: HttpRequest) -> HttpResponse:
    company = company_of(request)
    row, _created = CalDavConnection.objects.get_or_create(company=company)
    result: checks.CheckResult | None = None
    if request.method == "POST":
        form = CalDavForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            changed = [
                f
                for f in ("base_url", "username", "home_pattern", "default_calendar")
                if getattr(row, f) != data[f]
            ]
            with transaction.atomic():
                for name in ("base_url", "username", "home_pattern", "default_calendar"):
                    setattr(row, name, data[name])
                if data["password"]:
                    row.password = data["password"]
                    changed.append("password")
                row.save()
                touch_company_settings(company.pk)
                for name in changed:
                    record_event(
                        company=company,
                        user=request.user,
                        object_type="caldav",
                        object_id=str(row.pk),
                        field=name,
                        new_value="(changed)" if name == "password" else str(data[name]),
                    )
            if request.POST.get("action") == "test":
                try:
                    settings = caldav_settings(ctx_of(request).settings)
                    found = _run_check(settings, data["probe"] or None)
                except InputError as exc:
                    found = ServiceCheckResult(ok=False, error=exc)
                result = _screen_result(found, _lang())
                row.last_test_at, row.last_test_ok, row.last_test_code = (
                    timezone.now(),
                    result.ok,
                    result.code,
                )
                row.save(update_fields=["last_test_at", "last_test_ok", "last_test_code"])
                checks.record_check(company.pk, "check_caldav", result, mailbox=data["probe"] or None)
            else:
                messages.success(request, _("The CalDAV settings were saved."))
                return redirect("caldav_settings")
    else:
        form = CalDavForm(
            initial={
                "base_url": row.base_url,
                "username": row.username,
                "home_pattern": row.home_pattern,
                "default_calendar": row.default_calendar,
            }
        )
    return render(
        request,
        "connections/caldav.html",
        {"form": form, "row": row, "has_password": bool(row.password), "result": result},
    )


@require_POST
@company_admin_required
def employee_caldav(request: HttpRequest, pk: int) -> HttpResponse:
    company = company_of(request)
    employee = get_object_or_404(Employee.objects.for_company(company), pk=pk)
    existing = EmployeeCalDavAccount.objects.filter(employee=employee).first()
    if request.POST.get("action") == "remove":
        if existing is not None:
            existing.delete()
            touch_company_settings(company.pk)
            record_event(
                company=company,
                user=request.user,
                object_type="caldav_account",
                object_id=str(employee.pk),
                field="removed",
            )
        messages.success(
            request, _("The employee's own CalDAV account was removed; the company's account is used.")
        )
        return redirect("employee_edit", pk=employee.pk)
    form = EmployeeCalDavForm(request.POST)
    if not form.is_valid():
        for field, errors in form.errors.items():
            label = form.fields[field].label if field in form.fields else field
            messages.error(request, f"{label}: {' '.join(str(e) for e in errors)}")
        return redirect("employee_edit", pk=employee.pk)
    data = form.cleaned_data
    account = existing or EmployeeCalDavAccount(company=company, employee=employee)
    account.url, account.username = data["url"], data["username"]
    if data["password"]:
        account.password = data["password"]
    account.save()
    touch_company_settings(company.pk)
    record_event(
        company=company,
        user=request.user,
        object_type="caldav_account",
        object_id=str(employee.pk),
        field="saved",
        new_value=f"{data['url']} {data['username']}",
    )
    messages.success(request, _("The employee's own CalDAV account was saved."))
    return redirect("employee_edit", pk=employee.pk)
