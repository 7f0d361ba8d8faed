"""JUST.SFA connection (J1–J3), push API tokens and the push write-back callback (T1)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings as django_settings
from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from sfacal.core.errors import SfacalError, normalize_lang
from sfacal.directory.companies.audit import record_changes, record_event, snapshot
from sfacal.directory.companies.models import Company, new_token
from sfacal.directory.connections.models import ApiToken, SourceConnection, SourceKind, UserMapping
from sfacal.sources.justsfa import webhook_path
from sfacal.sources.justsfa.mapping import sync_mapping_to_employee, unlink_mapping
from sfacal.sources.justsfa.settings import JustSfaSettings
from sfacal.sources.justsfa.writeback_test import record_writeback_test
from sfacal.web import checks
from sfacal.web.companies import held_secrets, tested_first
from sfacal.web.companies.permissions import company_admin_required, company_of, ctx_of
from sfacal.web.connections.forms import (
    ELEMENT_FIELDS,
    IDENTIFIER_FIELDS,
    LIST_FIELDS,
    OPTIONAL_FIELDS,
    SECRET_FIELDS,
    JustSfaForm,
    MappingForm,
    PushCallbackForm,
    TokenForm,
)

JUSTSFA_NAME = "default"
PUSH_NAME = "default"


def _lang() -> str:
    return normalize_lang(get_language())


def _is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def justsfa_source(company: Company) -> SourceConnection:
    source, _created = SourceConnection.objects.get_or_create(
        company=company, kind=SourceKind.JUSTSFA, name=JUSTSFA_NAME, defaults={"enabled": False}
    )
    return source


def webhook_url(request: HttpRequest, source: SourceConnection) -> str:
    """J2: SFACAL_PUBLIC_URL (or this request's host) + /hooks/justsfa/<token>."""
    path = webhook_path(source)
    public = getattr(django_settings, "PUBLIC_URL", "")
    return public.rstrip("/") + path if public else request.build_absolute_uri(path)


def _page(
    request: HttpRequest,
    source: SourceConnection,
    form: JustSfaForm,
    *,
    held: Mapping[str, object] | None = None,
    token: str = "",
    **extra: Any,
) -> HttpResponse:
    context = {
        "source": source,
        "form": form,
        "element_fields": [form[k] for k, *_r in ELEMENT_FIELDS],
        "writeback": _writeback_state(source),
        "webhook_url": webhook_url(request, source),
        "identifier_fields": [form[k] for k, *_r in IDENTIFIER_FIELDS],
        "optional_fields": [form[k] for k, _l in OPTIONAL_FIELDS] + [form[k] for k, *_r in LIST_FIELDS],
        "has_api_key": bool(source.api_key),
        "has_header_value": bool(source.webhook_header_value),
        "held": sorted(held or ()),
        "held_token": token if held else "",
        **extra,
    }
    return render(request, "connections/justsfa.html", context)


def _writeback_state(source: SourceConnection) -> dict[str, Any]:
    """The last write-back test and whether it proves the current settings."""
    last = (source.config or {}).get("writeback_test") or {}
    try:
        settings = JustSfaSettings.from_connection(source)
    except SfacalError:
        return {
            "last": last,
            "proven": False,
            "form": (source.config or {}).get("writeback_form", "recordId"),
        }
    return {"last": last, "proven": settings.writeback_proven, "form": settings.writeback_form}


UNTESTED_SAVED = gettext_lazy(
    "The JUST.SFA settings were saved without a successful connection test. "
    "Polling and write-back use them from now on."
)


@company_admin_required
def justsfa(request: HttpRequest) -> HttpResponse:
    """J1. Connection settings that may be in use are replaced only by ones that pass the
    connection test, whichever button was pressed (:mod:`sfacal.web.companies.tested_first`):
    polling and write-back keep the stored settings until then."""
    company = company_of(request)
    screen = _JustSfaScreen(request, justsfa_source(company))
    if request.method != "POST":
        held_secrets.release(request, screen.form_name)
        return screen.page(screen.unbound())
    return tested_first.submit(request, screen, company)


class _JustSfaScreen:
    """The JUST.SFA connection screen, for :func:`tested_first.submit`."""

    form_name = "justsfa"
    audit_type = "justsfa"

    def __init__(self, request: HttpRequest, source: SourceConnection) -> None:
        self.request = request
        self.source = source

    def bind(self, held: Mapping[str, str | bytes]) -> JustSfaForm:
        return JustSfaForm(self.request.POST, source=self.source, held=held)

    def unbound(self) -> JustSfaForm:
        return JustSfaForm(source=self.source)

    def page(self, form: Any, **extra: Any) -> HttpResponse:
        return _page(self.request, self.source, form, **extra)

    def in_use(self) -> bool:
        return checks.source_settings_complete(self.source)

    def test(self, candidate: SourceConnection) -> checks.CheckResult:
        return checks.check_source_candidate(candidate, _lang())

    def test_stored(self) -> checks.CheckResult:
        return checks.check_source(self.source, _lang())

    def done(self, *, untested: bool) -> HttpResponse | None:
        if _is_htmx(self.request):
            return None
        if untested:
            messages.warning(self.request, UNTESTED_SAVED)
        else:
            messages.success(self.request, _("The JUST.SFA settings were saved."))
        return redirect("justsfa")

    def store(self, form: Any) -> SourceConnection:
        fields = ["enabled", "config", "webhook_header_name"]
        before = snapshot(self.source, [*fields, *SECRET_FIELDS])
        form.save()
        record_changes(
            company=self.source.company,
            user=self.request.user,
            instance=self.source,
            before=before,
            fields=fields,
            secret_fields=SECRET_FIELDS,
            object_type=self.audit_type,
        )
        return self.source


@require_POST
@company_admin_required
def writeback_test(request: HttpRequest) -> HttpResponse:
    """T1 proof: update the content field of the record the administrator names in the selected
    update form, read it back, restore it, and report what JUST.SFA answered; two-way is allowed
    only after it passed (:mod:`sfacal.sources.justsfa.writeback_test`)."""
    company = company_of(request)
    source = justsfa_source(company)
    record = (request.POST.get("record") or "").strip()[:100]
    lang = _lang()
    if not record:
        messages.error(request, _("Enter the record to test with."))
        return redirect("justsfa")
    try:
        report = record_writeback_test(source, record)
    except SfacalError as exc:
        messages.error(request, f"{exc.user_message(lang)} {exc.hint(lang)}")
        return redirect("justsfa")
    record_event(
        company=company,
        user=request.user,
        object_type="justsfa",
        object_id=str(source.pk),
        field="writeback_test",
        new_value=f"{'passed' if report.ok else 'failed'} ({report.form}, record {record})",
    )
    (messages.success if report.ok else messages.error)(request, report.message(lang))
    return redirect("justsfa")


@require_POST
@company_admin_required
def webhook_regenerate(request: HttpRequest) -> HttpResponse:
    """J2: a new unguessable webhook URL; the old one stops working at once."""
    company = company_of(request)
    source = justsfa_source(company)
    source.webhook_token = new_token()
    source.save(update_fields=["webhook_token"])
    record_event(
        company=company,
        user=request.user,
        object_type="justsfa",
        object_id=str(source.pk),
        field="webhook_token",
        new_value="replaced",
    )
    messages.success(request, _("A new webhook URL was made. Set it in JUST.SFA's Webhook settings."))
    return redirect("justsfa")


# -- user mapping (J3) -------------------------------------------------------------------------


@company_admin_required
def mappings(request: HttpRequest) -> HttpResponse:
    company = company_of(request)
    source = justsfa_source(company)
    rows = [
        {"m": m, "form": MappingForm(source=source, instance=m)}
        for m in UserMapping.objects.for_company(company).filter(source=source).order_by("name", "id")
    ]
    new_form = (
        MappingForm(source=source, initial={"enabled": True}) if request.GET.get("add") or not rows else None
    )
    return render(
        request, "connections/mappings.html", {"rows": rows, "new_form": new_form, "source": source}
    )


def _row(request: HttpRequest, mapping: UserMapping | None, form: MappingForm, **extra: Any) -> HttpResponse:
    return render(request, "connections/mapping_row.html", {"m": mapping, "form": form, **extra})


def _save_mapping(
    request: HttpRequest, source: SourceConnection, mapping: UserMapping | None
) -> HttpResponse:
    company = company_of(request)
    form = MappingForm(request.POST, source=source, instance=mapping)
    if not form.is_valid():
        if _is_htmx(request):
            return _row(request, mapping, form)
        for name, errors in form.errors.items():
            for error in errors:
                messages.error(request, f"{form.fields[name].label if name in form.fields else ''}: {error}")
        return redirect("mappings")
    fields = ["name", "external_user_id", "mail_address", "enabled"]
    target = mapping or UserMapping(company=company, source=source)
    before = snapshot(target, fields) if mapping else {}
    with transaction.atomic():
        for name in fields:
            setattr(target, name, form.cleaned_data[name])
        target.save()
        if mapping is None:
            record_event(
                company=company,
                user=request.user,
                object_type="user_mapping",
                object_id=str(target.pk),
                field="created",
                new_value=target.external_user_id,
            )
        else:
            record_changes(
                company=company,
                user=request.user,
                instance=target,
                before=before,
                fields=fields,
                object_type="user_mapping",
            )
        sync_mapping_to_employee(target)
    result = None
    if request.POST.get("action") == "test":
        result = checks.check_mailbox(
            ctx_of(request).settings,
            target.mail_address,
            None,
            _lang(),
            who=checks.Who(None, target.external_user_id),
        )
        target.last_test_ok = result.ok
        target.last_test_code = result.code
        target.save(update_fields=["last_test_ok", "last_test_code"])
    if not _is_htmx(request):
        if result is not None and not result.ok:
            messages.error(request, f"{target.name}: {result.message} {result.hint}")
        else:
            messages.success(request, _("“%(name)s” was saved.") % {"name": target.name})
        return redirect("mappings")
    return _row(request, target, MappingForm(source=source, instance=target), result=result, saved=True)


@require_POST
@company_admin_required
def mapping_new(request: HttpRequest) -> HttpResponse:
    return _save_mapping(request, justsfa_source(company_of(request)), None)


@require_POST
@company_admin_required
def mapping_row(request: HttpRequest, pk: int) -> HttpResponse:
    company = company_of(request)
    mapping = get_object_or_404(UserMapping.objects.for_company(company), pk=pk)
    if request.POST.get("action") == "delete":
        with transaction.atomic():
            record_event(
                company=company,
                user=request.user,
                object_type="user_mapping",
                object_id=str(pk),
                field="deleted",
                new_value=mapping.external_user_id,
            )
            unlink_mapping(mapping)
            mapping.delete()
        if _is_htmx(request):
            return HttpResponse("")
        messages.success(request, _("The row was deleted."))
        return redirect("mappings")
    return _save_mapping(request, mapping.source, mapping)


# -- push API tokens ---------------------------------------------------------------------------


@company_admin_required
def api_tokens(request: HttpRequest) -> HttpResponse:
    company = company_of(request)
    form = TokenForm(request.POST or None)
    issued: str | None = None
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            row, issued = ApiToken.issue(company, form.cleaned_data["name"], request.user)
            push_source(company)
            record_event(
                company=company,
                user=request.user,
                object_type="api_token",
                object_id=str(row.pk),
                field="created",
                new_value=row.name,
            )
        form = TokenForm()
    tokens = ApiToken.objects.for_company(company).order_by("revoked_at", "-created_at")
    return render(
        request,
        "connections/api_tokens.html",
        {"form": form, "tokens": tokens, "issued": issued, "docs_url": "/api/v1/docs"},
    )


@require_POST
@company_admin_required
def api_token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    company = company_of(request)
    token = get_object_or_404(ApiToken.objects.for_company(company), pk=pk)
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        record_event(
            company=company,
            user=request.user,
            object_type="api_token",
            object_id=str(pk),
            field="revoked",
            new_value=token.name,
        )
        messages.success(request, _("The token “%(name)s” was revoked.") % {"name": token.name})
    return redirect("api_tokens")


# -- push write-back callback (T1) ---------------------------------------------------------------


def push_source(company: Company) -> SourceConnection:
    source, _created = SourceConnection.objects.get_or_create(
        company=company, kind=SourceKind.PUSH, name=PUSH_NAME
    )
    return source


@company_admin_required
def push_connection(request: HttpRequest) -> HttpResponse:
    """Where calendar edits of pushed schedules are delivered, the signing secret, and "test"."""
    company = company_of(request)
    connection = push_source(company)
    result: checks.CheckResult | None = None
    generated: str | None = None
    saved = False
    if request.method == "POST":
        form = PushCallbackForm(request.POST, connection=connection)
        if form.is_valid():
            before = snapshot(connection, ["callback_url", "callback_secret"])
            with transaction.atomic():
                generated = form.save()
                record_changes(
                    company=company,
                    user=request.user,
                    instance=connection,
                    before=before,
                    fields=["callback_url"],
                    secret_fields=["callback_secret"],
                    object_type="push_connection",
                )
            saved = True
            if request.POST.get("action") == "test":
                result = checks.check_push_connection(connection, _lang())
            elif generated is None and not _is_htmx(request):
                messages.success(request, _("The write-back settings were saved."))
                return redirect("push_connection")
            form = PushCallbackForm(connection=connection)
    else:
        form = PushCallbackForm(connection=connection)
    return render(
        request,
        "connections/push.html",
        {
            "form": form,
            "source": connection,
            "result": result,
            "saved": saved,
            "generated": generated,
            "has_secret": bool(connection.callback_secret),
            "docs_url": "/api/v1/docs",
        },
    )
