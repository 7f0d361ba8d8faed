"""Where schedules come from: a JUST.SFA connection or the push API (one row per source)."""

from __future__ import annotations

import hashlib
from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from sfacal.directory.companies.models import Company, CompanyScopedManager, new_token
from sfacal.directory.employees.models import Employee
from sfacal.directory.fields import EncryptedTextField


class SourceKind(models.TextChoices):
    JUSTSFA = "justsfa", _("JUST.SFA")
    PUSH = "push", _("Push API (Sales Force Assistant and other SFAs)")
    CSV = "csv", _("CSV import")


class SourceConnection(models.Model):
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="sources")
    kind = models.CharField(_("kind"), max_length=16, choices=SourceKind.choices)
    name = models.CharField(_("name"), max_length=100, default="default")
    enabled = models.BooleanField(_("enabled"), default=True)
    # Non-secret settings (JUST.SFA: tenant, table, panel, field identifiers...)
    config = models.JSONField(default=dict, blank=True)
    # Secret settings (JUST.SFA API key), encrypted as one JSON document
    api_key = EncryptedTextField(_("API key"), blank=True, default="")
    # J2: the unguessable part of the webhook URL, and an optional secret header
    webhook_token = models.CharField(max_length=64, unique=True, default=new_token)
    webhook_header_name = models.CharField(_("secret header name"), max_length=100, blank=True)
    webhook_header_value = EncryptedTextField(_("secret header value"), blank=True, default="")
    # Two-way for push sources: where write-backs are delivered
    callback_url = models.URLField(_("write-back callback URL"), max_length=500, blank=True)
    callback_secret = EncryptedTextField(_("callback signing secret"), blank=True, default="")
    # Periodic poll position (records API)
    poll_state = models.JSONField(default=dict, blank=True)
    last_test_at = models.DateTimeField(null=True, blank=True)
    last_test_ok = models.BooleanField(null=True)
    last_test_code = models.CharField(max_length=64, blank=True)
    last_test_message = models.TextField(blank=True)
    last_test_params = models.JSONField(default=dict, blank=True)  # the error's non-secret parameters
    created_at = models.DateTimeField(auto_now_add=True)

    objects = CompanyScopedManager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["company", "kind", "name"], name="source_unique_name")]

    def __str__(self) -> str:
        return f"{self.company.slug}:{self.kind}:{self.name}"


class UserMapping(models.Model):
    """J3: a JUST.SFA user and the Outlook mailbox their schedules go to."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="user_mappings")
    source = models.ForeignKey(SourceConnection, on_delete=models.CASCADE, related_name="user_mappings")
    name = models.CharField(_("name"), max_length=200)
    external_user_id = models.CharField(_("JUST.SFA user ID"), max_length=200)
    mail_address = models.EmailField(_("Outlook mail address"))
    enabled = models.BooleanField(_("sync"), default=True)
    employee = models.ForeignKey(Employee, on_delete=models.SET_NULL, null=True, blank=True)
    last_test_ok = models.BooleanField(null=True)
    last_test_code = models.CharField(max_length=64, blank=True)

    objects = CompanyScopedManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "external_user_id"], name="mapping_unique_user")
        ]

    def __str__(self) -> str:
        return f"{self.name} <{self.mail_address}>"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class ApiToken(models.Model):
    """A push-API token. Only its hash is stored; the token is shown once."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(max_length=12)
    token_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = CompanyScopedManager()

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @classmethod
    def issue(cls, company: Company, name: str, user: Any = None) -> tuple[ApiToken, str]:
        token = "sfa_" + new_token(30)
        row = cls.objects.create(
            company=company, name=name, prefix=token[:10], token_hash=hash_token(token), created_by=user
        )
        return row, token


# ------------------------------------------------------------------------------------------------
# CalDAV as the destination calendar, and the ICS feed


class CalDavConnection(models.Model):
    """The company's CalDAV server: a service account and the path of each employee's calendar
    home (``{mailbox}`` is the employee's user ID), or -- with an empty pattern -- discovery from
    the URL. The password is encrypted at rest."""

    company = models.OneToOneField(Company, on_delete=models.CASCADE, related_name="caldav")
    base_url = models.URLField(_("CalDAV server URL"), max_length=500, blank=True)
    username = models.CharField(_("user name"), max_length=200, blank=True)
    password = EncryptedTextField(_("password"), blank=True, default="")
    home_pattern = models.CharField(_("calendar home path"), max_length=300, blank=True, default="{mailbox}/")
    default_calendar = models.CharField(_("default calendar name"), max_length=255, blank=True)
    last_test_at = models.DateTimeField(null=True, blank=True)
    last_test_ok = models.BooleanField(null=True)
    last_test_code = models.CharField(max_length=64, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CompanyScopedManager()

    def __str__(self) -> str:
        return f"{self.company.slug}:caldav"


class EmployeeCalDavAccount(models.Model):
    """An employee's own CalDAV account (used instead of the company's service account); the
    calendar home is discovered from the URL. The password is encrypted at rest."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="caldav_accounts")
    employee = models.OneToOneField(Employee, on_delete=models.CASCADE, related_name="caldav_account")
    url = models.URLField(_("CalDAV URL"), max_length=500)
    username = models.CharField(_("user name"), max_length=200)
    password = EncryptedTextField(_("password"), blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)

    objects = CompanyScopedManager()

    def __str__(self) -> str:
        return f"{self.employee}:caldav"


class IcsFeed(models.Model):
    """An employee's private iCalendar subscription URL. Only the token's hash is stored: the
    URL is shown once, when it is made; revoking sets ``revoked_at`` and the URL answers 404."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="ics_feeds")
    employee = models.ForeignKey(Employee, on_delete=models.CASCADE, related_name="ics_feeds")
    token_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=12)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = CompanyScopedManager()

    def __str__(self) -> str:
        return f"{self.employee}:feed:{self.prefix}"

    @classmethod
    def issue(cls, employee: Employee, user: Any = None) -> tuple[IcsFeed, str]:
        """A new feed for ``employee`` (any earlier one is revoked) and its token, to show once."""
        from django.utils import timezone

        cls.objects.filter(employee=employee, revoked_at__isnull=True).update(revoked_at=timezone.now())
        token = new_token(32)
        row = cls.objects.create(
            company=employee.company,
            employee=employee,
            token_hash=hash_token(token),
            prefix=token[:8],
            created_by=user,
        )
        return row, token
