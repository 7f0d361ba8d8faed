"""Forms of the company screens: basic settings (C1–C8), masters (C9), new company (U1)."""

from __future__ import annotations

import copy
import re
import zoneinfo
from collections.abc import Mapping
from datetime import datetime, time
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils.translation import gettext_lazy as _

from sfacal.calendars.google import ServiceAccountKey, parse_key
from sfacal.core.errors import InputError, PfxUnreadableError, SfacalError
from sfacal.core.windows_zones import require_windows_zone
from sfacal.directory.companies.certs import PfxInfo, parse_thumbprint, read_pfx
from sfacal.directory.companies.models import (
    AuthMethod,
    CalendarService,
    Company,
    CompanySettings,
    Direction,
)
from sfacal.directory.connections.models import SourceConnection, SourceKind
from sfacal.sources.justsfa.settings import JustSfaSettings

TOKEN_ENDPOINT = re.compile(
    r"^https://[^/\s]+/(?P<tenant>[^/\s]+)/oauth2/(?P<v2>v2\.0/)?token/?$", re.IGNORECASE
)
GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
DOMAIN = re.compile(r"^(?=.{1,253}$)([a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]{2,63}$")
MAX_PFX_BYTES = 200 * 1024
MAX_KEY_BYTES = 20 * 1024


class SecretTextarea(forms.Textarea):
    """A text area that never writes its value back into the page (a pasted key is a secret)."""

    def format_value(self, value: Any) -> str | None:
        return None


ON_OFF = [("1", _("Sync")), ("0", _("Do not sync"))]
ALLOW = [("1", _("Allow")), ("0", _("Do not allow"))]
USE = [("1", _("Use")), ("0", _("Do not use"))]


def token_endpoint_tenant(url: str) -> tuple[str, str] | None:
    """(tenant, "v1"|"v2") of a token endpoint URL, or ``None`` when it is not one."""
    match = TOKEN_ENDPOINT.match(url.strip())
    if not match:
        return None
    return match.group("tenant"), "v2" if match.group("v2") else "v1"


def clean_company_timezone(value: str, *, windows_zone_required: bool = True) -> str:
    """A company time zone (S5): a tz database name; for Microsoft 365 one it has a zone for (its
    Windows name, CLDR), so that every event can be written in it (Google takes every tz name)."""
    value = value.strip()
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValidationError(_("Enter a time zone name such as Asia/Tokyo.")) from None
    if not windows_zone_required:
        return value
    try:
        return require_windows_zone(value)
    except InputError:
        raise ValidationError(
            _(
                "Microsoft 365 has no time zone for %(zone)s. Enter the time zone of a nearby city "
                "(for example Europe/Berlin or Asia/Tokyo)."
            ),
            params={"zone": value},
        ) from None


def _bool_field(label: Any, choices: list[tuple[str, Any]]) -> forms.TypedChoiceField:
    return forms.TypedChoiceField(
        label=label,
        choices=choices,
        coerce=lambda v: v in ("1", "True", "true", True),
        widget=forms.RadioSelect,
    )


class CompanySettingsForm(forms.Form):
    """The first manual's 基本設定 plus direction, auth method and the periodic batch.

    New credentials are tested before they are stored (C7): :meth:`candidate` gives an unsaved
    copy of the stored settings with this form's values, :meth:`changes` names what
    differs from the stored credentials, and :meth:`save` stores the values. Secrets of a
    submission whose test failed come back as ``held`` (see ``held_secrets``) and stand in for
    empty secret fields.
    """

    sync_enabled = _bool_field(_("Schedule sync"), ON_OFF)
    calendar_service = forms.ChoiceField(label=_("Calendar service"), choices=CalendarService.choices)
    personal_settings_allowed = _bool_field(_("Personal settings"), ALLOW)
    write_to_calendar = _bool_field(_("Register in the calendar service"), USE)
    direction = forms.ChoiceField(label=_("Direction"), choices=Direction.choices, widget=forms.RadioSelect)
    client_id = forms.CharField(label=_("Client ID"), max_length=64, required=False)
    auth_method = forms.ChoiceField(
        label=_("Authentication method"), choices=AuthMethod.choices, widget=forms.RadioSelect
    )
    certificate_file = forms.FileField(label=_("Certificate file (.pfx)"), required=False)
    certificate_password = forms.CharField(
        label=_("Password"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    remove_certificate = forms.BooleanField(label=_("Remove the stored certificate"), required=False)
    certificate_thumbprint = forms.CharField(label=_("Thumbprint"), max_length=128, required=False)
    client_secret = forms.CharField(
        label=_("Client secret"),
        required=False,
        strip=True,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    remove_client_secret = forms.BooleanField(label=_("Remove the stored client secret"), required=False)
    client_secret_expires_on = forms.DateField(
        label=_("Client secret expiry"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    domain = forms.CharField(label=_("Domain name"), max_length=255, required=False)
    google_service_account_key = forms.CharField(
        label=_("Service account key (JSON)"),
        required=False,
        strip=True,
        widget=SecretTextarea(attrs={"rows": 4, "autocomplete": "off", "spellcheck": "false"}),
    )
    google_key_file = forms.FileField(label=_("Key file (.json)"), required=False)
    remove_google_key = forms.BooleanField(label=_("Remove the stored service account key"), required=False)
    token_endpoint = forms.CharField(label=_("OAuth 2.0 token endpoint"), max_length=500, required=False)
    graph_base_url = forms.URLField(label=_("Microsoft Graph URL"), max_length=500, assume_scheme="https")
    batch_interval_minutes = forms.IntegerField(
        label=_("Batch interval (minutes)"), validators=[MinValueValidator(1), MaxValueValidator(1440)]
    )
    log_retention_days = forms.IntegerField(
        label=_("Log retention (days)"), validators=[MinValueValidator(7), MaxValueValidator(3660)]
    )
    timezone = forms.CharField(label=_("Time zone"), max_length=64)

    SECRET_FIELDS = ("certificate_pfx", "certificate_password", "client_secret", "google_service_account_key")
    # Everything the calendar connector depends on: a change is tested before it is stored.
    CREDENTIAL_FIELDS = (
        "calendar_service",
        "client_id",
        "auth_method",
        "certificate_pfx",
        "certificate_password",
        "certificate_thumbprint",
        "client_secret",
        "client_secret_expires_at",
        "domain",
        "token_endpoint",
        "graph_base_url",
        "google_service_account_key",
    )
    AUDITED_FIELDS = (
        "sync_enabled",
        "calendar_service",
        "personal_settings_allowed",
        "write_to_calendar",
        "direction",
        "client_id",
        "auth_method",
        "certificate_thumbprint",
        "certificate_expires_at",
        "client_secret_expires_at",
        "domain",
        "token_endpoint",
        "graph_base_url",
        "batch_interval_minutes",
        "log_retention_days",
    )

    def __init__(
        self,
        *args: Any,
        instance: CompanySettings,
        held: Mapping[str, str | bytes] | None = None,
        **kwargs: Any,
    ) -> None:
        self.instance = instance
        self.held = dict(held or {})
        company = instance.company
        if not args and "data" not in kwargs:
            expires = instance.client_secret_expires_at
            kwargs["initial"] = {
                "sync_enabled": "1" if instance.sync_enabled else "0",
                "calendar_service": instance.calendar_service,
                "personal_settings_allowed": "1" if instance.personal_settings_allowed else "0",
                "write_to_calendar": "1" if instance.write_to_calendar else "0",
                "direction": instance.direction,
                "client_id": instance.client_id,
                "auth_method": instance.auth_method,
                "certificate_thumbprint": instance.certificate_thumbprint,
                "client_secret_expires_on": _local_date(expires, company.timezone) if expires else None,
                "domain": instance.domain,
                "token_endpoint": instance.token_endpoint,
                "graph_base_url": instance.graph_base_url,
                "batch_interval_minutes": instance.batch_interval_minutes,
                "log_retention_days": instance.log_retention_days,
                "timezone": company.timezone,
            }
        super().__init__(*args, **kwargs)
        self.pfx_info: PfxInfo | None = None
        self.new_pfx: bytes | None = None
        self.google_key: ServiceAccountKey | None = None
        self.fields["google_key_file"].widget.attrs["accept"] = ".json,application/json"
        self.fields["certificate_file"].widget.attrs["accept"] = ".pfx,.p12,application/x-pkcs12"
        self.fields["client_id"].widget.attrs["placeholder"] = "XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX"
        self.fields["domain"].widget.attrs["placeholder"] = "example.onmicrosoft.com"
        self.fields["token_endpoint"].widget.attrs["placeholder"] = (
            "https://login.microsoftonline.com/xxxxx/oauth2/v2.0/token"
        )
        for name in ("client_id", "certificate_thumbprint", "token_endpoint", "domain"):
            self.fields[name].widget.attrs.update({"autocomplete": "off", "spellcheck": "false"})

    # -- field checks ---------------------------------------------------------------------------
    def clean_client_id(self) -> str:
        value = self.cleaned_data["client_id"].strip()
        if value and not GUID.match(value):
            raise ValidationError(
                _("Enter the application (client) ID as shown in the Azure portal, e.g. %(example)s."),
                params={"example": "1b1e6fd1-a18b-4e73-b37c-2d0125d25845"},
            )
        return value.lower()

    def clean_domain(self) -> str:
        value = self.cleaned_data["domain"].strip().lstrip("@").lower()
        if value and not DOMAIN.match(value):
            raise ValidationError(_("Enter a domain name such as example.onmicrosoft.com (without @)."))
        return value

    def clean_token_endpoint(self) -> str:
        value = self.cleaned_data["token_endpoint"].strip()
        if value and token_endpoint_tenant(value) is None:
            raise ValidationError(
                _(
                    "Enter the token endpoint copied from the Azure portal: "
                    "https://login.microsoftonline.com/<tenant>/oauth2/token (v1) or "
                    "…/oauth2/v2.0/token (v2)."
                )
            )
        return value

    def clean_certificate_thumbprint(self) -> str:
        value = self.cleaned_data["certificate_thumbprint"].strip()
        if not value:
            return ""
        try:
            return parse_thumbprint(value).hex().upper()
        except ValueError:
            raise ValidationError(
                _("Enter the thumbprint as 40 hexadecimal characters or as base64 (base64Thumbprint.txt).")
            ) from None

    def clean_timezone(self) -> str:
        service = self.cleaned_data.get("calendar_service", CalendarService.MICROSOFT_365)
        return clean_company_timezone(
            self.cleaned_data["timezone"], windows_zone_required=service == CalendarService.MICROSOFT_365
        )

    def clean_google_key_file(self) -> Any:
        upload = self.cleaned_data.get("google_key_file")
        if upload and upload.size > MAX_KEY_BYTES:
            raise ValidationError(_("The file is too large for a service account key (at most 20 KB)."))
        return upload

    def _clean_google_key(self, data: dict[str, Any]) -> None:
        """The key pasted, uploaded or held: read it (its errors name the field); the result
        stands in ``data["google_service_account_key"]``."""
        upload = data.get("google_key_file")
        text = data.get("google_service_account_key") or ""
        if upload and not text:
            text = upload.read().decode("utf-8-sig", errors="replace")
        if not text and isinstance(self.held.get("google_service_account_key"), str):
            text = str(self.held["google_service_account_key"])
        data["google_service_account_key"] = text.strip()
        if not text or data.get("remove_google_key"):
            return
        try:
            self.google_key = parse_key(text)
        except InputError:
            self.add_error(
                "google_service_account_key",
                _(
                    "This is not a service account key. Paste the whole JSON file downloaded from "
                    "Google Cloud console › IAM & Admin › Service accounts › Keys "
                    '(it contains "type": "service_account" and a private key).'
                ),
            )

    def clean_certificate_file(self) -> Any:
        upload = self.cleaned_data.get("certificate_file")
        if upload and upload.size > MAX_PFX_BYTES:
            raise ValidationError(_("The file is too large for a certificate (at most 200 KB)."))
        return upload

    # -- cross-field checks ---------------------------------------------------------------------
    def _check_two_way(self, data: Mapping[str, Any]) -> None:
        """Two-way is turned on only when every JUST.SFA connection in use has passed its
        write-back test (JUST.SFA's update form is not public: it must be proven first)."""
        if data.get("direction") != Direction.TWO_WAY or self.instance.direction == Direction.TWO_WAY:
            return
        for connection in SourceConnection.objects.filter(
            company=self.instance.company, kind=SourceKind.JUSTSFA, enabled=True
        ):
            try:
                proven = JustSfaSettings.from_connection(connection).writeback_proven
            except SfacalError:
                continue  # incomplete settings: nothing is read from or written to it
            if not proven:
                self.add_error(
                    "direction",
                    _(
                        "Two-way needs a passed JUST.SFA write-back test first: run it on "
                        "Connections › JUST.SFA (write-back test) with an existing record."
                    ),
                )
                return

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or {}
        self._check_two_way(data)
        self._clean_google_key(data)
        for name in ("client_secret", "certificate_password"):
            if not data.get(name) and isinstance(self.held.get(name), str):
                data[name] = self.held[name]
        upload = data.get("certificate_file")
        held_pfx = self.held.get("certificate_pfx")
        password = data.get("certificate_password") or ""
        remove = data.get("remove_certificate")
        if upload and not remove:
            raw = upload.read()
            self.new_pfx = raw
            self.pfx_info = self._open_pfx(raw, password, new_file=True)
        elif isinstance(held_pfx, bytes) and not remove:
            self.new_pfx = held_pfx
            self.pfx_info = self._open_pfx(held_pfx, password, new_file=True)
        elif password and not remove:
            stored = self.instance.certificate_pfx
            if not stored:
                self.add_error("certificate_password", _("Upload the .pfx file together with its password."))
            else:
                self.pfx_info = self._open_pfx(bytes(stored), password, new_file=False)
        elif self.instance.certificate_pfx and not remove:
            try:
                self.pfx_info = read_pfx(
                    bytes(self.instance.certificate_pfx), self.instance.certificate_password
                )
            except PfxUnreadableError:
                self.pfx_info = None
        thumb = data.get("certificate_thumbprint")
        if thumb and self.pfx_info is not None and bytes.fromhex(thumb) != self.pfx_info.thumbprint:
            self.add_error(
                "certificate_thumbprint",
                _(
                    "This thumbprint does not belong to the certificate in the .pfx file "
                    "(its thumbprint is %(hex)s, in base64 %(b64)s). Check that the .pfx and the "
                    "certificate uploaded to Azure are the same."
                )
                % {"hex": self.pfx_info.thumbprint_hex, "b64": self.pfx_info.thumbprint_base64},
            )
        if data.get("sync_enabled"):
            self._require_when_on(data)
        return data

    def _open_pfx(self, raw: bytes, password: str, *, new_file: bool) -> PfxInfo | None:
        try:
            return read_pfx(raw, password)
        except PfxUnreadableError:
            if new_file and not raw.startswith(b"\x30"):
                self.add_error("certificate_file", _("This file is not a PKCS#12 (.pfx) certificate file."))
            elif password:
                self.add_error(
                    "certificate_password",
                    _(
                        "This password does not open the .pfx file. Enter the password set when it was exported."
                    ),
                )
            else:
                self.add_error(
                    "certificate_password",
                    _("The .pfx file is protected by a password: enter it here."),
                )
            return None

    def _require_when_on(self, data: dict[str, Any]) -> None:
        missing = _("Required while schedule sync is on.")
        service = data.get("calendar_service")
        if service == CalendarService.GOOGLE:
            has_key = bool(data.get("google_service_account_key")) or (
                bool(self.instance.google_service_account_key) and not data.get("remove_google_key")
            )
            if not has_key and "google_service_account_key" not in self.errors:
                self.add_error("google_service_account_key", missing)
            return
        if service != CalendarService.MICROSOFT_365:
            return
        for name in ("client_id", "token_endpoint"):
            if not data.get(name) and name not in self.errors:
                self.add_error(name, missing)
        if data.get("auth_method") == AuthMethod.CERTIFICATE:
            has_pfx = (self.new_pfx is not None or bool(self.instance.certificate_pfx)) and not data.get(
                "remove_certificate"
            )
            if not has_pfx and "certificate_file" not in self.errors:
                self.add_error("certificate_file", missing)
        else:
            has_secret = bool(data.get("client_secret")) or (
                bool(self.instance.client_secret) and not data.get("remove_client_secret")
            )
            if not has_secret:
                self.add_error("client_secret", missing)

    # -- testing before saving ----------------------------------------------------------------
    def candidate(self) -> CompanySettings:
        """An unsaved copy of the stored settings with this form's values applied, its company
        (with the new time zone) attached so that building a connector from it reads nothing
        from the database. It is for testing only and never saved."""
        company = copy.copy(self.instance.company)
        company.timezone = self.cleaned_data["timezone"]
        candidate = copy.copy(self.instance)
        candidate.company = company
        self._apply(candidate)
        return candidate

    def changes(self, candidate: CompanySettings) -> list[str]:
        """The credential fields (:attr:`CREDENTIAL_FIELDS`) in which ``candidate`` differs from
        the stored settings."""
        return [
            name
            for name in self.CREDENTIAL_FIELDS
            if _comparable(getattr(candidate, name)) != _comparable(getattr(self.instance, name))
        ]

    def secrets_entered(self) -> dict[str, str | bytes | None]:
        """The secrets of this submission (typed, uploaded or held), to hold when it is refused."""
        data = self.cleaned_data
        return {
            "client_secret": None if data.get("remove_client_secret") else data.get("client_secret"),
            "certificate_pfx": None if data.get("remove_certificate") else self.new_pfx,
            "certificate_password": None
            if data.get("remove_certificate")
            else data.get("certificate_password"),
            "google_service_account_key": None
            if data.get("remove_google_key")
            else data.get("google_service_account_key") or None,
        }

    # -- saving ---------------------------------------------------------------------------------
    def save(self) -> CompanySettings:
        s = self.instance
        data = self.cleaned_data
        company = s.company
        self._apply(s)
        s.save()
        if company.timezone != data["timezone"]:
            company.timezone = data["timezone"]
            company.save(update_fields=["timezone"])
        return s

    def _apply(self, s: CompanySettings) -> None:
        """Set this form's values on ``s`` (the stored settings or a candidate); saves nothing."""
        data = self.cleaned_data
        for name in (
            "sync_enabled",
            "calendar_service",
            "personal_settings_allowed",
            "write_to_calendar",
            "direction",
            "client_id",
            "auth_method",
            "domain",
            "token_endpoint",
            "graph_base_url",
            "batch_interval_minutes",
            "log_retention_days",
        ):
            setattr(s, name, data[name])
        if data.get("remove_certificate"):
            s.certificate_pfx = None
            s.certificate_password = ""
            s.certificate_thumbprint = ""
            s.certificate_expires_at = None
        else:
            if self.new_pfx is not None:
                s.certificate_pfx = self.new_pfx
                s.certificate_password = data.get("certificate_password") or ""
            elif data.get("certificate_password"):
                s.certificate_password = data["certificate_password"]
            if self.pfx_info is not None:
                s.certificate_expires_at = self.pfx_info.not_after
                s.certificate_thumbprint = data.get("certificate_thumbprint") or self.pfx_info.thumbprint_hex
            else:
                s.certificate_thumbprint = data.get("certificate_thumbprint") or ""
        if data.get("remove_google_key"):
            s.google_service_account_key = ""
        elif data.get("google_service_account_key"):
            s.google_service_account_key = data["google_service_account_key"]
        if data.get("remove_client_secret"):
            s.client_secret = ""
        elif data.get("client_secret"):
            s.client_secret = data["client_secret"]
        expires_on = data.get("client_secret_expires_on")
        s.client_secret_expires_at = (
            datetime.combine(expires_on, time(0, 0), tzinfo=zoneinfo.ZoneInfo(data["timezone"]))
            if expires_on
            else None
        )


def _comparable(value: Any) -> Any:
    """A stored value and a form's value compare equal when they mean the same (bytes of a .pfx
    may come back from the database as a memoryview; empty means unset)."""
    if isinstance(value, memoryview | bytearray):
        value = bytes(value)
    return value or None


def _local_date(value: datetime, tz: str) -> Any:
    try:
        return value.astimezone(zoneinfo.ZoneInfo(tz)).date()
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return value.date()


RESERVED_MASTER_NAMES = ("未選択", "マスタ設定値以外")


def clean_master_name(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValidationError(_("Enter a name."))
    if value in RESERVED_MASTER_NAMES:
        raise ValidationError(_("“%(name)s” is reserved for the exclusion settings."), params={"name": value})
    return value


class PurposeForm(forms.Form):
    name = forms.CharField(label=_("Purpose"), max_length=100)
    counted_as_visit = forms.BooleanField(label=_("Counted as a visit"), required=False, initial=True)

    def clean_name(self) -> str:
        return clean_master_name(self.cleaned_data["name"])


class BusinessNameForm(forms.Form):
    name = forms.CharField(label=_("Business name"), max_length=100)

    def clean_name(self) -> str:
        return clean_master_name(self.cleaned_data["name"])


class NewCompanyForm(forms.Form):
    """U1: a super-administrator creates a company and its first administrator."""

    slug = forms.SlugField(label=_("Company code"), max_length=64)
    name = forms.CharField(label=_("Company name"), max_length=200)
    timezone = forms.CharField(label=_("Time zone"), max_length=64, initial="Asia/Tokyo")
    admin_username = forms.CharField(label=_("Administrator user name"), max_length=150)
    admin_email = forms.EmailField(label=_("Administrator mail address"), required=False)

    def clean_slug(self) -> str:
        slug = self.cleaned_data["slug"].lower()
        if Company.objects.filter(slug=slug).exists():
            raise ValidationError(_("A company with this code already exists."))
        return slug

    def clean_timezone(self) -> str:
        return clean_company_timezone(self.cleaned_data["timezone"])

    def clean_admin_username(self) -> str:
        value = self.cleaned_data["admin_username"].strip()
        if get_user_model().objects.filter(username=value).exists():
            raise ValidationError(_("This user name is already taken."))
        return value
