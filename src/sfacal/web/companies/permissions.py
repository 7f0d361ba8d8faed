"""Who may open which screen (U1) and which company a request works on (U2).

Every company-scoped view is wrapped in one of the decorators below. They resolve the
company from the signed-in user's membership (never from the URL), activate the company's
time zone for dates shown on the page, and put an :class:`AccessContext` on
``request.sfa``. Views then query with ``Model.objects.for_company(request.sfa.company)``,
so an object of another company is simply not found (404).
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar, cast

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase
from django.utils import timezone

from sfacal.directory.companies.models import Company, CompanySettings, Membership, Role
from sfacal.directory.employees.models import Employee, SyncState

V = TypeVar("V", bound=Callable[..., HttpResponseBase])


@dataclass
class AccessContext:
    """The signed-in user's place: role, company, settings and own employee record."""

    membership: Membership | None
    company: Company | None
    role: str
    employee: Employee | None

    @property
    def is_super_admin(self) -> bool:
        return self.role == Role.SUPER_ADMIN

    @property
    def is_company_admin(self) -> bool:
        return self.role == Role.COMPANY_ADMIN and self.company is not None

    @property
    def settings(self) -> CompanySettings:
        assert self.company is not None
        settings, _created = CompanySettings.objects.get_or_create(company=self.company)
        return settings

    @property
    def personal_settings_available(self) -> bool:
        """P: only when C3 allows it and the employee is not forbidden (E1)."""
        if self.company is None or self.employee is None:
            return False
        if self.employee.state == SyncState.FORBIDDEN:
            return False
        return bool(self.settings.personal_settings_allowed)


def access_context(request: HttpRequest) -> AccessContext | None:
    """The context of an authenticated request, or ``None`` for an anonymous one."""
    cached = getattr(request, "sfa", None)
    if isinstance(cached, AccessContext):
        return cached
    user = request.user
    if not user.is_authenticated:
        return None
    membership = Membership.objects.select_related("company").filter(user=user).first()
    if membership is None:
        role = Role.SUPER_ADMIN if user.is_superuser else ""
        ctx = AccessContext(None, None, role, None)
    else:
        employee = None
        if membership.company_id is not None:
            employee = Employee.objects.for_company(membership.company_id).filter(account=user).first()
        ctx = AccessContext(membership, membership.company, membership.role, employee)
    request.sfa = ctx  # type: ignore[attr-defined]
    if ctx.company is not None:
        try:
            timezone.activate(zoneinfo.ZoneInfo(ctx.company.timezone))
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            timezone.deactivate()
    return ctx


def landing_url_name(ctx: AccessContext | None) -> str:
    """Where an account lands (after sign-in, on ``/``): a company's members on their dashboard, a
    super-administrator (who has no company, so no dashboard) on the companies list."""
    if ctx is None:
        return "login"
    if ctx.company is None and ctx.is_super_admin:
        return "companies"
    return "dashboard"


def _guard(check: Callable[[AccessContext], bool]) -> Callable[[V], V]:
    def decorator(view: V) -> V:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            ctx = access_context(request)
            if ctx is None:
                return redirect_to_login(request.get_full_path())
            if not check(ctx):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return cast(V, wrapped)

    return decorator


member_required = _guard(lambda ctx: ctx.company is not None)
"""Any member of a company (administrator or employee)."""

company_admin_required = _guard(lambda ctx: ctx.is_company_admin)
"""Company administrators only (C, E, J screens and the whole company's log)."""

super_admin_required = _guard(lambda ctx: ctx.is_super_admin)
"""Super-administrators only (companies)."""


def personal_settings_required(view: V) -> V:
    """P screens: a 404 when C3 forbids them or the employee is forbidden (E1)."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        ctx = access_context(request)
        if ctx is None:
            return redirect_to_login(request.get_full_path())
        if not ctx.personal_settings_available:
            raise Http404
        return view(request, *args, **kwargs)

    return cast(V, wrapped)


def ctx_of(request: HttpRequest) -> AccessContext:
    """The context set by one of the decorators (for typed access in views)."""
    ctx = access_context(request)
    assert ctx is not None
    return ctx


def company_of(request: HttpRequest) -> Company:
    company = ctx_of(request).company
    assert company is not None
    return company
