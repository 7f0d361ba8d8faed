"""Company, its sync settings (C1–C8), masters (C9), memberships (U1) and audit trail.

Every row that belongs to a company carries a ``company`` foreign key, and every
query made on behalf of a user goes through ``CompanyScopedManager.for_company``
(U2): no view reads another company's rows by accident.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from sfacal.directory.fields import EncryptedBinaryField, EncryptedTextField

DEFAULT_TIMEZONE = "Asia/Tokyo"
DEFAULT_TOKEN_ENDPOINT_HOST = "https://login.microsoftonline.com"
DEFAULT_GRAPH_BASE_URL = "https://graph.microsoft.com/v1.0"


class CompanyScopedQuerySet(models.QuerySet[Any]):
    def for_company(self, company: Company | int) -> CompanyScopedQuerySet:
        company_id = company if isinstance(company, int) else company.pk
        return self.filter(company_id=company_id)


CompanyScopedManager = models.Manager.from_queryset(CompanyScopedQuerySet)


class Company(models.Model):
    slug = models.SlugField(_("company code"), max_length=64, unique=True)
    name = models.CharField(_("company name"), max_length=200)
    timezone = models.CharField(_("time zone"), max_length=64, default=DEFAULT_TIMEZONE)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("company")
        verbose_name_plural = _("companies")
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.name


class Direction(models.TextChoices):
    ONE_WAY = "one_way", _("One-way (SFA → calendar)")
    TWO_WAY = "two_way", _("Two-way")


class AuthMethod(models.TextChoices):
    CERTIFICATE = "certificate", _("Certificate (.pfx)")
    SECRET = "secret", _("Client secret")


class CalendarService(models.TextChoices):
    MICROSOFT_365 = "m365", _("Microsoft 365 (Exchange Online)")
    GOOGLE = "google", _("Google Calendar (Google Workspace)")
    CALDAV = "caldav", _("CalDAV")


class CompanySettings(models.Model):
    """The first manual's 基本設定 screen, plus direction and auth method."""

    company = models.OneToOneField(Company, on_delete=models.CASCADE, related_name="sync_settings")
    sync_enabled = models.BooleanField(_("sync"), default=False)  # C1
    calendar_service = models.CharField(  # C2
        _("calendar service"),
        max_length=16,
        choices=CalendarService.choices,
        default=CalendarService.MICROSOFT_365,
    )
    personal_settings_allowed = models.BooleanField(_("allow personal settings"), default=True)  # C3
    write_to_calendar = models.BooleanField(
        _("register schedules in the calendar service"), default=True
    )  # C4
    direction = models.CharField(  # C5
        _("direction"), max_length=16, choices=Direction.choices, default=Direction.ONE_WAY
    )
    # C6 shared credentials
    client_id = models.CharField(_("client ID"), max_length=64, blank=True)
    auth_method = models.CharField(
        _("authentication method"), max_length=16, choices=AuthMethod.choices, default=AuthMethod.CERTIFICATE
    )
    certificate_pfx = EncryptedBinaryField(_("certificate (.pfx)"), blank=True, null=True)
    certificate_password = EncryptedTextField(_("certificate password"), blank=True, default="")
    certificate_thumbprint = models.CharField(_("thumbprint"), max_length=128, blank=True)
    certificate_expires_at = models.DateTimeField(_("certificate expiry"), null=True, blank=True)
    client_secret = EncryptedTextField(_("client secret"), blank=True, default="")
    client_secret_expires_at = models.DateTimeField(_("client secret expiry"), null=True, blank=True)
    domain = models.CharField(_("domain name"), max_length=255, blank=True)
    token_endpoint = models.URLField(_("OAuth 2.0 token endpoint"), max_length=500, blank=True)
    graph_base_url = models.URLField(_("Microsoft Graph URL"), max_length=500, default=DEFAULT_GRAPH_BASE_URL)
    # Google Calendar: the service account's JSON key (domain-wide delegation); ``domain`` above
    # is the Workspace domain.
    google_service_account_key = EncryptedTextField(_("service account key (JSON)"), blank=True, default="")
    batch_interval_minutes = models.PositiveIntegerField(_("batch interval (minutes)"), default=5)  # C8
    log_retention_days = models.PositiveIntegerField(_("log retention (days)"), default=92)
    # Result of the last "save and test" (C7)
    last_test_at = models.DateTimeField(null=True, blank=True)
    last_test_ok = models.BooleanField(null=True)
    last_test_code = models.CharField(max_length=64, blank=True)
    last_test_message = models.TextField(blank=True)
    last_test_params = models.JSONField(default=dict, blank=True)  # the error's non-secret parameters
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("company sync settings")

    def __str__(self) -> str:
        return f"settings of {self.company}"


class Purpose(models.Model):
    """商談目的 master (C9)."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="purposes")
    name = models.CharField(_("purpose"), max_length=100)
    counted_as_visit = models.BooleanField(_("counted as a visit"), default=True)
    position = models.PositiveIntegerField(default=0)

    objects = CompanyScopedManager()

    class Meta:
        ordering = ["company", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["company", "name"], name="purpose_unique_per_company")]

    def __str__(self) -> str:
        return self.name


class BusinessName(models.Model):
    """業務名 master (C9)."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="business_names")
    name = models.CharField(_("business name"), max_length=100)
    position = models.PositiveIntegerField(default=0)

    objects = CompanyScopedManager()

    class Meta:
        ordering = ["company", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["company", "name"], name="business_name_unique_per_company")
        ]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    SUPER_ADMIN = "super_admin", _("Super-administrator")
    COMPANY_ADMIN = "company_admin", _("Company administrator")
    EMPLOYEE = "employee", _("Employee")


class Membership(models.Model):
    """Which company a sign-in account belongs to, and in which role (U1)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="membership")
    company = models.ForeignKey(
        Company, on_delete=models.CASCADE, related_name="memberships", null=True, blank=True
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.EMPLOYEE)
    # The language of the account's last sign-in: e-mail notices are written in it (ja by default).
    language = models.CharField(_("language"), max_length=8, default="ja", blank=True)

    objects = CompanyScopedManager()

    def __str__(self) -> str:
        return f"{self.user} ({self.role})"


class AuditEntry(models.Model):
    """Who changed which setting when. Never the value of a secret."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="audit_entries", null=True)
    at = models.DateTimeField(auto_now_add=True, db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    object_type = models.CharField(max_length=64)
    object_id = models.CharField(max_length=64, blank=True)
    field = models.CharField(max_length=100)
    old_value = models.TextField(blank=True)
    new_value = models.TextField(blank=True)

    objects = CompanyScopedManager()

    class Meta:
        ordering = ["-at", "-id"]


def new_token(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)
