"""Company screens: basic settings with "save and test" (C1–C8), masters (C9), companies (U1)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from sfacal.calendars.google import ServiceAccountKey, parse_key
from sfacal.core.errors import InputError, normalize_lang
from sfacal.core.expiry import CredentialKind, credential_expiry_warning
from sfacal.directory.companies.audit import record_changes, record_event, snapshot
from sfacal.directory.companies.models import (
    AuthMethod,
    BusinessName,
    CalendarService,
    Company,
    CompanySettings,
    Membership,
    Purpose,
    Role,
)
from sfacal.directory.companies.provisioning import ensure_company
from sfacal.directory.employees.models import Employee
from sfacal.engine.sync import on_calendar_service_changed, on_company_settings_changed
from sfacal.web import checks
from sfacal.web.accounts.invitations import create_account, invitation_url
from sfacal.web.companies import held_secrets, tested_first
from sfacal.web.companies.forms import (
    BusinessNameForm,
    CompanySettingsForm,
    NewCompanyForm,
    PurposeForm,
    clean_master_name,
    token_endpoint_tenant,
)
from sfacal.web.companies.permissions import company_admin_required, company_of, super_admin_required


def expiry_warnings(settings: CompanySettings, lang: str) -> list[dict[str, str]]:
    """L3: certificate or client secret expiring within 30 days (or expired) -- of Microsoft 365,
    so only while it is the destination (a Google service-account key does not expire)."""
    now = timezone.now()
    tz = settings.company.timezone
    found = []
    if settings.calendar_service != CalendarService.MICROSOFT_365:
        return []
    if settings.auth_method == AuthMethod.CERTIFICATE:
        found.append(
            credential_expiry_warning(
                settings.certificate_expires_at, now, kind=CredentialKind.CERTIFICATE, timezone=tz
            )
        )
    else:
        found.append(
            credential_expiry_warning(
                settings.client_secret_expires_at, now, kind=CredentialKind.CLIENT_SECRET, timezone=tz
            )
        )
    return [
        {"message": w.user_message(lang), "hint": w.hint(lang), "expired": "1" if w.expired else ""}
        for w in found
        if w is not None
    ]


def _lang() -> str:
    return normalize_lang(get_language())


def is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


UNTESTED_SAVED = gettext_lazy(
    "The settings were saved without a successful connection test. Sync uses the new credentials from now on."
)


@company_admin_required
def company_settings(request: HttpRequest) -> HttpResponse:
    """C1–C8. Credentials that may be in use are replaced only by ones that pass the connection
    test, whichever button was pressed (:mod:`sfacal.web.companies.tested_first`)."""
    company = company_of(request)
    settings, _created = CompanySettings.objects.get_or_create(company=company)
    screen = _SettingsScreen(request, settings)
    if request.method != "POST":
        held_secrets.release(request, screen.form_name)
        return screen.page(screen.unbound())
    return tested_first.submit(request, screen, company)


class _SettingsScreen:
    """The company settings screen, for :func:`tested_first.submit`."""

    form_name = "company_settings"
    audit_type = "company_settings"

    def __init__(self, request: HttpRequest, settings: CompanySettings) -> None:
        self.request = request
        self.settings = settings

    def bind(self, held: Mapping[str, str | bytes]) -> CompanySettingsForm:
        return CompanySettingsForm(self.request.POST, self.request.FILES, instance=self.settings, held=held)

    def unbound(self) -> CompanySettingsForm:
        return CompanySettingsForm(instance=self.settings)

    def page(self, form: Any, **extra: Any) -> HttpResponse:
        return _settings_page(self.request, self.settings, form, **extra)

    def in_use(self) -> bool:
        return checks.credentials_complete(self.settings)

    def test(self, candidate: CompanySettings) -> checks.CheckResult:
        return checks.check_company_credentials(candidate, _lang())

    def test_stored(self) -> checks.CheckResult:
        return checks.check_company_connection(self.settings, _lang())

    def done(self, *, untested: bool) -> HttpResponse | None:
        if is_htmx(self.request):
            return None
        if untested:
            messages.warning(self.request, UNTESTED_SAVED)
        else:
            messages.success(self.request, _("The settings were saved."))
        return redirect("company_settings")

    def store(self, form: Any) -> CompanySettings:
        """Save the form with its audit trail (the time zone too); C1/C4 switched on apply the
        changes kept while they were off."""
        settings = self.settings
        company = settings.company
        before = snapshot(settings, (*CompanySettingsForm.AUDITED_FIELDS, *CompanySettingsForm.SECRET_FIELDS))
        old_tz = company.timezone
        old_service = settings.calendar_service
        form.save()
        record_changes(
            company=company,
            user=self.request.user,
            instance=settings,
            before=before,
            fields=CompanySettingsForm.AUDITED_FIELDS,
            secret_fields=CompanySettingsForm.SECRET_FIELDS,
            object_type=self.audit_type,
        )
        if old_tz != company.timezone:
            record_event(
                company=company,
                user=self.request.user,
                object_type="company",
                object_id=str(company.pk),
                field="timezone",
                new_value=company.timezone,
            )
        if old_service != settings.calendar_service:
            on_calendar_service_changed(company)
        on_company_settings_changed(company)
        return settings


def _stored_google_key(settings: CompanySettings) -> ServiceAccountKey | None:
    """The stored service-account key's public parts (client email and id, project) for the
    screen -- the administrator copies the client id into the Admin console -- or ``None``."""
    try:
        return parse_key(settings.google_service_account_key) if settings.google_service_account_key else None
    except InputError:
        return None


def _settings_page(
    request: HttpRequest,
    settings: CompanySettings,
    form: CompanySettingsForm,
    *,
    held: Mapping[str, object] | None = None,
    token: str = "",
    **extra: Any,
) -> HttpResponse:
    tenant = token_endpoint_tenant(settings.token_endpoint) if settings.token_endpoint else None
    context: dict[str, Any] = {
        "form": form,
        "s": settings,
        "result": None,
        "saved": False,
        "tenant": tenant,
        "warnings": expiry_warnings(settings, _lang()),
        "has_pfx": bool(settings.certificate_pfx),
        "has_secret": bool(settings.client_secret),
        "has_password": bool(settings.certificate_password),
        "google_key": _stored_google_key(settings),
        "held": sorted(held or ()),
        "held_token": token if held else "",
        **extra,
    }
    return render(request, "companies/settings.html", context)


# -- masters (C9) ------------------------------------------------------------------------------


def _masters_context(request: HttpRequest, **extra: Any) -> dict[str, Any]:
    company = company_of(request)
    return {
        "purposes": Purpose.objects.for_company(company).order_by("position", "id"),
        "business_names": BusinessName.objects.for_company(company).order_by("position", "id"),
        "purpose_form": extra.pop("purpose_form", PurposeForm(prefix="p")),
        "business_form": extra.pop("business_form", BusinessNameForm(prefix="b")),
        **extra,
    }


def _master_model(kind: str) -> type[Purpose] | type[BusinessName]:
    return Purpose if kind == "purpose" else BusinessName


def _rename_in_exclusions(company: Company, kind: str, old: str, new: str | None) -> None:
    """Keep employees' exclusions (P3) pointing at the renamed (or deleted) master entry."""
    attr = "excluded_purposes" if kind == "purpose" else "excluded_business_names"
    for employee in Employee.objects.for_company(company).only("id", attr):
        names: list[str] = list(getattr(employee, attr) or [])
        if old in names:
            names = [n for n in names if n != old]
            if new:
                names.append(new)
            setattr(employee, attr, names)
            employee.save(update_fields=[attr])


@company_admin_required
def masters(request: HttpRequest) -> HttpResponse:
    company = company_of(request)
    extra: dict[str, Any] = {}
    if request.method == "POST":
        kind = request.POST.get("kind", "")
        if kind == "purpose":
            form: PurposeForm | BusinessNameForm = PurposeForm(request.POST, prefix="p")
            extra["purpose_form"] = form
        else:
            kind = "business"
            form = BusinessNameForm(request.POST, prefix="b")
            extra["business_form"] = form
        if form.is_valid():
            model = _master_model(kind)
            try:
                name = form.cleaned_data["name"]
                last = model.objects.for_company(company).order_by("-position").first()
                fields: dict[str, Any] = {"name": name, "position": (last.position + 1) if last else 0}
                if kind == "purpose":
                    fields["counted_as_visit"] = form.cleaned_data["counted_as_visit"]
                with transaction.atomic():
                    row = model.objects.create(company=company, **fields)
                    record_event(
                        company=company,
                        user=request.user,
                        object_type=kind,
                        object_id=str(row.pk),
                        field="created",
                        new_value=name,
                    )
                messages.success(request, _("“%(name)s” was added.") % {"name": name})
                return redirect("masters")
            except IntegrityError:
                form.add_error("name", _("This name is already in the list."))
    return render(request, "companies/masters.html", _masters_context(request, **extra))


@require_POST
@company_admin_required
def master_row(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    """Rename, flag, move up/down or delete one master entry."""
    company = company_of(request)
    if kind not in ("purpose", "business"):
        kind = "business"
    model = _master_model(kind)
    row = get_object_or_404(model.objects.for_company(company), pk=pk)
    action = request.POST.get("action", "save")
    rows = list(model.objects.for_company(company).order_by("position", "id"))
    if action in ("up", "down"):
        index = rows.index(row)
        other = index - 1 if action == "up" else index + 1
        if 0 <= other < len(rows):
            rows[index], rows[other] = rows[other], rows[index]
            with transaction.atomic():
                for position, item in enumerate(rows):
                    if item.position != position:
                        item.position = position
                        item.save(update_fields=["position"])
                record_event(
                    company=company,
                    user=request.user,
                    object_type=kind,
                    object_id=str(row.pk),
                    field="position",
                )
    elif action == "delete":
        with transaction.atomic():
            name = row.name
            row.delete()
            _rename_in_exclusions(company, "purpose" if kind == "purpose" else "business", name, None)
            record_event(
                company=company,
                user=request.user,
                object_type=kind,
                object_id=str(pk),
                field="deleted",
                new_value=name,
            )
        messages.success(request, _("“%(name)s” was deleted.") % {"name": name})
    else:
        new_name = request.POST.get("name", "").strip()
        try:
            new_name = clean_master_name(new_name)
            before = snapshot(row, ["name", "counted_as_visit"] if kind == "purpose" else ["name"])
            old_name = row.name
            row.name = new_name
            if kind == "purpose":
                row.counted_as_visit = request.POST.get("counted_as_visit") == "on"  # type: ignore[union-attr]
            with transaction.atomic():
                row.save()
                record_changes(
                    company=company,
                    user=request.user,
                    instance=row,
                    before=before,
                    fields=list(before),
                    object_type=kind,
                )
                if old_name != new_name:
                    _rename_in_exclusions(company, kind, old_name, new_name)
            messages.success(request, _("“%(name)s” was saved.") % {"name": new_name})
        except ValidationError as exc:
            messages.error(request, "{}: {}".format(_("Name"), " ".join(exc.messages)))
        except IntegrityError:
            messages.error(request, "{}: {}".format(_("Name"), _("This name is already in the list.")))
    return redirect("masters")


# -- companies (super-administrator) -----------------------------------------------------------


@super_admin_required
def companies(request: HttpRequest) -> HttpResponse:
    rows = Company.objects.order_by("slug")
    admins: dict[int, list[str]] = {}
    for m in Membership.objects.filter(role=Role.COMPANY_ADMIN).select_related("user"):
        if m.company_id is not None:
            admins.setdefault(m.company_id, []).append(m.user.get_username())
    listing = [
        {
            "company": c,
            "admins": admins.get(c.pk, []),
            "employees": Employee.objects.for_company(c).count(),
            "sync_enabled": CompanySettings.objects.filter(company=c, sync_enabled=True).exists(),
        }
        for c in rows
    ]
    return render(request, "companies/companies.html", {"rows": listing})


@super_admin_required
def company_new(request: HttpRequest) -> HttpResponse:
    form = NewCompanyForm(request.POST or None)
    invitation: str | None = None
    created: Company | None = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        with transaction.atomic():
            created = ensure_company(data["slug"], data["name"])
            created.timezone = data["timezone"]
            created.save(update_fields=["timezone"])
            user = create_account(created, data["admin_username"], data["admin_email"], Role.COMPANY_ADMIN)
            record_event(
                company=created,
                user=request.user,
                object_type="company",
                object_id=str(created.pk),
                field="created",
                new_value=created.slug,
            )
        invitation = invitation_url(request, user)
        form = NewCompanyForm()
    return render(
        request, "companies/company_new.html", {"form": form, "invitation": invitation, "created": created}
    )
