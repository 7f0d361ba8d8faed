"""Employee screens (E1–E6) and the personal sync settings (P1–P4)."""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from sfacal.core.errors import normalize_lang
from sfacal.directory.companies.audit import record_event
from sfacal.directory.companies.models import Role
from sfacal.directory.connections.models import EmployeeCalDavAccount
from sfacal.directory.employees.models import Employee, SyncState
from sfacal.directory.employees.services import (
    apply_change,
    audit,
    before_change,
    mailbox_of,
    resolve_mailbox,
)
from sfacal.sources.csv import ImportReport, import_employees, preview_employees
from sfacal.web import checks
from sfacal.web.accounts.invitations import create_account, invitation_url
from sfacal.web.companies.permissions import (
    company_admin_required,
    company_of,
    ctx_of,
    personal_settings_required,
)
from sfacal.web.employees.feeds import live_feed
from sfacal.web.employees.forms import BulkForm, EmployeeForm, ImportUploadForm, PersonalSettingsForm
from sfacal.web.employees.target_check import TargetCheck, verify_target

PAGE_SIZE = 25
IMPORT_SESSION_KEY = "sfacal_employee_import"


def _lang() -> str:
    return normalize_lang(get_language())


def _domain(request: HttpRequest) -> str:
    return ctx_of(request).settings.domain or ""


@company_admin_required
def employee_list(request: HttpRequest) -> HttpResponse:
    company = company_of(request)
    domain = _domain(request)
    qs = Employee.objects.for_company(company).order_by("login_id")
    q = request.GET.get("q", "").strip()
    if q:
        qs = qs.filter(
            Q(login_id__icontains=q) | Q(name__icontains=q) | Q(user_id__icontains=q) | Q(email__icontains=q)
        )
    state = request.GET.get("state", "")
    if state in SyncState.values:
        qs = qs.filter(state=state)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [{"e": e, "mailbox": mailbox_of(e, domain)} for e in page.object_list]
    bulk = BulkForm(company=company)
    return render(
        request,
        "employees/list.html",
        {"page": page, "rows": rows, "q": q, "state": state, "states": SyncState.choices, "bulk": bulk},
    )


@require_POST
@company_admin_required
def employee_bulk(request: HttpRequest) -> HttpResponse:
    company = company_of(request)
    form = BulkForm(request.POST, company=company)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, str(error))
        return redirect("employees")
    data = form.cleaned_data
    changed = 0
    backfills = 0
    with transaction.atomic():
        for employee in Employee.objects.for_company(company).filter(pk__in=data["ids"]):
            before = before_change(employee)
            if data.get("state"):
                employee.state = data["state"]
            if data.get("user_id_mode"):
                employee.user_id_mode = data["user_id_mode"]
            if before_change(employee) == before:
                continue
            backfills += apply_change(employee, before, personal=False)
            audit(employee, before, request.user)
            changed += 1
    messages.success(request, _("%(n)d employees were changed.") % {"n": changed})
    return redirect("employees")


def _picker(found: TargetCheck | None) -> dict[str, Any]:
    """Template context of the calendar field after a refused save: the mailbox's calendars as
    choices, and "save without checking" when the check could not be made."""
    if found is None:
        return {}
    return {
        "calendar_choices": checks.CheckResult(True, "", "", data=found.calendars)
        if found.calendars
        else None,
        "can_skip_calendar_check": found.can_skip,
    }


def _employee_page(
    request: HttpRequest,
    form: EmployeeForm,
    employee: Employee | None,
    result: checks.CheckResult | None = None,
    saved: bool = False,
    invitation: str | None = None,
    refused: TargetCheck | None = None,
) -> HttpResponse:
    domain = _domain(request)
    mailbox = mailbox_of(employee, domain) if employee else None
    return render(
        request,
        "employees/edit.html",
        {
            "form": form,
            "employee": employee,
            "mailbox": mailbox,
            "result": result,
            "saved": saved,
            "domain": domain,
            "invitation": invitation,
            "feed": live_feed(employee) if employee else None,
            "caldav_account": EmployeeCalDavAccount.objects.filter(employee=employee).first()
            if employee
            else None,
            **_picker(refused),
        },
    )


@company_admin_required
def employee_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    company = company_of(request)
    settings = ctx_of(request).settings
    employee = get_object_or_404(Employee.objects.for_company(company), pk=pk) if pk is not None else None
    if request.method != "POST":
        return _employee_page(
            request, EmployeeForm(company=company, domain=settings.domain, instance=employee), employee
        )
    form = EmployeeForm(request.POST, company=company, domain=settings.domain, instance=employee)
    if not form.is_valid():
        return _employee_page(request, form, employee)
    found = verify_target(
        form,
        settings,
        stored=employee,
        state=form.cleaned_data["state"],
        mailbox=form.mailbox(),
        calendar=form.cleaned_data["calendar_name"],
        who=checks.Who(employee.pk if employee else None, form.cleaned_data["login_id"]),
        lang=_lang(),
        skip=request.POST.get("skip_calendar_check") == "1",
    )
    if not found.allowed:  # "check" also shows the check's answer where it always appears
        shown = found.result if request.POST.get("action") == "check" else None
        return _employee_page(request, form, employee, result=shown, refused=found)
    target = employee or Employee(company=company)
    before = before_change(target) if employee else {}
    with transaction.atomic():
        form.apply(target)
        backfill = apply_change(target, before, personal=False)
        if employee is None:
            record_event(
                company=company,
                user=request.user,
                object_type="employee",
                object_id=str(target.pk),
                field="created",
                new_value=target.login_id,
            )
        else:
            audit(target, before, request.user)
    if backfill:
        messages.info(
            request,
            _("The calendar changed: the events from the first day of the previous month are being moved."),
        )
    result = None
    if request.POST.get("action") == "check":
        result = found.result or checks.check_mailbox(
            settings,
            mailbox_of(target, settings.domain),
            target.calendar_name,
            _lang(),
            who=checks.Who(target.pk, target.login_id),
        )
    elif not getattr(request, "htmx", False):
        messages.success(request, _("The employee was saved."))
        return redirect("employee_edit", pk=target.pk)
    fresh = EmployeeForm(company=company, domain=settings.domain, instance=target)
    return _employee_page(request, fresh, target, result=result, saved=True)


@require_POST
@company_admin_required
def employee_invite(request: HttpRequest, pk: int) -> HttpResponse:
    """U1: an invitation link with which the employee sets a password and signs in."""
    company = company_of(request)
    settings = ctx_of(request).settings
    employee = get_object_or_404(Employee.objects.for_company(company), pk=pk)
    with transaction.atomic():
        if employee.account is None:
            username = employee.login_id
            if get_user_model().objects.filter(username=username).exists():
                username = f"{company.slug}.{employee.login_id}"
            if get_user_model().objects.filter(username=username).exists():
                messages.error(request, _("The user name %(name)s is already taken.") % {"name": username})
                return redirect("employee_edit", pk=pk)
            employee.account = create_account(company, username, employee.email, Role.EMPLOYEE)
            employee.save(update_fields=["account"])
        record_event(
            company=company,
            user=request.user,
            object_type="employee",
            object_id=str(pk),
            field="invitation",
            new_value="issued",
        )
    link = invitation_url(request, employee.account)
    form = EmployeeForm(company=company, domain=settings.domain, instance=employee)
    return _employee_page(request, form, employee, invitation=link)


@require_GET
@company_admin_required
def employee_calendars(request: HttpRequest) -> HttpResponse:
    """The "load calendars" button: the calendar names of the mailbox being edited."""
    settings = ctx_of(request).settings
    mailbox = resolve_mailbox(
        request.GET.get("user_id_mode", ""),
        request.GET.get("user_id", "").strip(),
        request.GET.get("login_id", "").strip(),
        settings.domain,
    )
    login_id = request.GET.get("login_id", "").strip()
    result = checks.list_calendars(settings, mailbox, _lang(), who=checks.Who(None, login_id))
    return render(request, "employees/calendars.html", {"result": result, "mailbox": mailbox})


# -- CSV import (E6) ---------------------------------------------------------------------------
# The same importer as ``sfacal import employees`` (sfacal.sources.csv): a dry run for the
# preview, the real import on confirmation. The file waits in the session in between.

MAX_UPLOAD_BYTES = 2 * 1024 * 1024
IMPORT_ACTIONS = {"created": "create", "updated": "update", "unchanged": "unchanged"}


@dataclass(frozen=True)
class ImportRow:
    """One row of the preview: what importing it would do, or why it cannot be imported."""

    line: int
    login_id: str
    action: str  # "create" | "update" | "unchanged" | "" (the row has errors)
    errors: tuple[str, ...] = ()


def _preview_rows(report: ImportReport, lang: str) -> list[ImportRow]:
    errors: dict[int, list[str]] = {}
    for error in report.errors:
        errors.setdefault(error.line, []).append(error.message(lang))
    return [
        ImportRow(c.line, c.key, IMPORT_ACTIONS.get(c.action, ""), tuple(errors.get(c.line, ())))
        for c in report.changes
    ]


@company_admin_required
def employee_import(request: HttpRequest) -> HttpResponse:
    company = company_of(request)
    form = ImportUploadForm(request.POST or None, request.FILES or None)
    context: dict[str, Any] = {"form": form}
    if request.method == "POST" and request.POST.get("action") == "confirm":
        return _import_confirm(request)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data["file"].read(MAX_UPLOAD_BYTES + 1)
        report = preview_employees(data, company) if len(data) <= MAX_UPLOAD_BYTES else None
        if report is None:
            form.add_error("file", _("The file is too large (at most 2 MB)."))
        elif report.file_error is not None:
            form.add_error("file", report.file_error.message(_lang()))
        else:
            rows = _preview_rows(report, _lang())
            token = secrets.token_urlsafe(12)
            request.session[IMPORT_SESSION_KEY] = {
                "token": token,
                "data": base64.b64encode(data).decode("ascii"),
                "create_accounts": bool(form.cleaned_data["create_accounts"]),
            }
            context.update(
                {
                    "rows": rows,
                    "token": token,
                    "valid": sum(1 for r in rows if not r.errors),
                    "invalid": sum(1 for r in rows if r.errors),
                    "to_change": sum(1 for r in rows if r.action in ("create", "update")),
                }
            )
    return render(request, "employees/import.html", context)


def _import_confirm(request: HttpRequest) -> HttpResponse:
    company = company_of(request)
    stored = request.session.get(IMPORT_SESSION_KEY)
    if not stored or stored.get("token") != request.POST.get("token"):
        messages.error(request, _("The preview has expired: upload the file again."))
        return redirect("employee_import")
    data = base64.b64decode(stored["data"])
    invitations: list[tuple[str, str]] = []
    # The import writes in short transactions of its own (no webhook waits for it); each account
    # is created in one of its own.
    report = import_employees(company, data, actor=request.user)
    written = [c.key for c in report.changes if c.action in ("created", "updated")]
    if stored.get("create_accounts") and written:
        User = get_user_model()
        for target in Employee.objects.for_company(company).filter(
            login_id__in=written, account__isnull=True
        ):
            login = target.login_id
            username = (
                login if not User.objects.filter(username=login).exists() else f"{company.slug}.{login}"
            )
            if not User.objects.filter(username=username).exists():
                with transaction.atomic():
                    target.account = create_account(company, username, target.email, Role.EMPLOYEE)
                    target.save(update_fields=["account"])
                invitations.append((login, invitation_url(request, target.account)))
    del request.session[IMPORT_SESSION_KEY]
    if report.stopped is not None:
        messages.error(request, report.stopped.message(_lang()))
    counts = report.counts
    messages.success(
        request,
        _("Import finished: %(created)d created, %(updated)d updated.")
        % {"created": counts.get("created", 0), "updated": counts.get("updated", 0)},
    )
    if report.errors:
        messages.warning(
            request,
            _("%(n)d rows were not imported: %(first)s")
            % {"n": len(report.error_lines), "first": report.errors[0].message(_lang())},
        )
    if invitations:
        return render(request, "employees/import_done.html", {"invitations": invitations})
    return redirect("employees")


# -- personal settings (P1–P4) -----------------------------------------------------------------


@personal_settings_required
def personal_settings(request: HttpRequest) -> HttpResponse:
    ctx = ctx_of(request)
    employee = ctx.employee
    assert employee is not None
    settings = ctx.settings
    result = None
    saved = False
    backfill = False
    found: TargetCheck | None = None
    if request.method == "POST":
        form = PersonalSettingsForm(request.POST, employee=employee, domain=settings.domain)
        if form.is_valid():
            found = verify_target(
                form,
                settings,
                stored=employee,
                state=SyncState.ON if form.cleaned_data["sync"] else SyncState.OFF,
                mailbox=form.mailbox(),
                calendar=form.cleaned_data["calendar_name"],
                who=checks.Who(employee.pk, employee.login_id),
                lang=_lang(),
                skip=request.POST.get("skip_calendar_check") == "1",
            )
        if form.is_valid() and found is not None and found.allowed:
            before = before_change(employee)
            with transaction.atomic():
                form.apply(employee)
                backfill = apply_change(employee, before, personal=True)
                audit(employee, before, request.user)
            saved = True
            if request.POST.get("action") == "check":
                result = (found.result if found else None) or checks.check_mailbox(
                    settings,
                    mailbox_of(employee, settings.domain),
                    employee.calendar_name,
                    _lang(),
                    who=checks.Who(employee.pk, employee.login_id),
                )
            elif not getattr(request, "htmx", False):
                messages.success(request, _("Your settings were saved."))
                if backfill:
                    messages.info(
                        request,
                        _(
                            "The calendar changed: schedules from the first day of the previous month are being synced into it."
                        ),
                    )
                return redirect("personal_settings")
            form = PersonalSettingsForm(employee=employee, domain=settings.domain)
        elif found is not None and not found.allowed and request.POST.get("action") == "check":
            result = found.result  # "check" also shows the check's answer where it always appears
    else:
        form = PersonalSettingsForm(employee=employee, domain=settings.domain)
    return render(
        request,
        "employees/personal.html",
        {
            "form": form,
            "employee": employee,
            "mailbox": mailbox_of(employee, settings.domain),
            "domain": settings.domain,
            "result": result,
            "saved": saved,
            "backfill": backfill,
            **_picker(found if found is not None and not found.allowed else None),
        },
    )


@require_GET
@personal_settings_required
def personal_calendars(request: HttpRequest) -> HttpResponse:
    ctx = ctx_of(request)
    assert ctx.employee is not None
    settings = ctx.settings
    mailbox = resolve_mailbox(
        request.GET.get("user_id_mode", ""),
        request.GET.get("user_id", "").strip(),
        ctx.employee.login_id,
        settings.domain,
    )
    result = checks.list_calendars(
        settings, mailbox, _lang(), who=checks.Who(ctx.employee.pk, ctx.employee.login_id)
    )
    return render(request, "employees/calendars.html", {"result": result, "mailbox": mailbox})
