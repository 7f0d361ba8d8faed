"""An SFA user (社員) and how their schedules are mirrored (E1–E4, P1–P3)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from sfacal.directory.companies.models import Company, CompanyScopedManager


class SyncState(models.TextChoices):
    ON = "on", _("Sync")
    OFF = "off", _("Do not sync")
    FORBIDDEN = "forbidden", _("Forbidden")


class UserIdMode(models.TextChoices):
    EXPLICIT = "explicit", _("Specify the user ID")
    LOGIN_AT_DOMAIN = "login_at_domain", _("Login ID @ company domain")


class LastResult(models.TextChoices):
    NONE = "", _("Not synced yet")
    OK = "ok", _("Success")
    FAILED = "failed", _("Failure")


class Employee(models.Model):
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="employees")
    login_id = models.CharField(_("login ID"), max_length=150)
    name = models.CharField(_("name"), max_length=200, blank=True)
    email = models.EmailField(_("mail address"), blank=True)
    # The sign-in account of this employee (U1), if they may sign in.
    account = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="employee"
    )
    # E1 / P1
    state = models.CharField(_("sync state"), max_length=16, choices=SyncState.choices, default=SyncState.OFF)
    # E2 / P2
    user_id_mode = models.CharField(
        _("user ID mode"), max_length=20, choices=UserIdMode.choices, default=UserIdMode.EXPLICIT
    )
    user_id = models.CharField(_("user ID"), max_length=254, blank=True)
    # E3 / P2: empty = the mailbox's default calendar
    calendar_name = models.CharField(_("calendar"), max_length=255, blank=True)
    # E4: only schedules registered or updated after this moment are sent
    sync_start = models.DateTimeField(_("sync start"), null=True, blank=True)
    # P3: names from the masters, or the pseudo entries 未選択 / マスタ設定値以外
    excluded_purposes = models.JSONField(_("excluded purposes"), default=list, blank=True)
    excluded_business_names = models.JSONField(_("excluded business names"), default=list, blank=True)
    # Last outcome, for the employee list and the dashboard
    last_result = models.CharField(
        max_length=8, choices=LastResult.choices, default=LastResult.NONE, blank=True
    )
    last_error_code = models.CharField(max_length=64, blank=True)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    # Progress of a P4 back-fill (calendar change)
    backfill_total = models.PositiveIntegerField(default=0)
    backfill_done = models.PositiveIntegerField(default=0)
    # Set while a back-fill is wanted and not finished (renewed as it runs, cleared at its end): a
    # back-fill whose worker died is started again by the periodic sweep (S11).
    backfill_wanted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CompanyScopedManager()

    class Meta:
        verbose_name = _("employee")
        verbose_name_plural = _("employees")
        ordering = ["company", "login_id"]
        constraints = [models.UniqueConstraint(fields=["company", "login_id"], name="employee_login_unique")]
        indexes = [models.Index(fields=["company", "state"])]

    def __str__(self) -> str:
        return f"{self.name or self.login_id}"
