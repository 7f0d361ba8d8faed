"""Forms of the JUST.SFA connection (J1–J3), the push API tokens and the push write-back callback."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from sfacal.core.errors import InputError, normalize_lang
from sfacal.directory.companies.models import new_token
from sfacal.directory.connections.models import SourceConnection, UserMapping
from sfacal.engine.models import StoredSchedule
from sfacal.sources.justsfa.settings import JustSfaSettings, source_name

IDENTIFIER_FIELDS: list[tuple[str, Any, str]] = [
    ("table", _("Data table identifier"), "table_162331777"),
    ("panel", _("Panel identifier"), "panel_1638871430"),
    ("schedule_field", _("Schedule field identifier"), "field_1638871621"),
    ("title_field", _("Title (見出し) field identifier"), "field_1638871565"),
    ("location_field", _("Location (場所) field identifier"), "field_1638871584"),
    ("content_field", _("Content (内容) field identifier"), "field_1638871597"),
    ("filter", _("Participant filter identifier"), "filter_1650278004"),
]
OPTIONAL_FIELDS: list[tuple[str, Any]] = [
    ("status_field", _("Status (予定/実績) field identifier")),
    ("kind_field", _("Kind (商談/業務) field identifier")),
    ("purpose_field", _("Purpose (商談目的) field identifier")),
    ("business_field", _("Business name (業務名) field identifier")),
    ("customer_field", _("Customer name field identifier")),
    ("address_field", _("Customer address field identifier")),
    ("key_field", _("Record key field identifier")),
    ("updated_field", _("Updated-at field identifier")),
    ("record_id_field", _("Record-ID field identifier (when JUST.SFA sends no recordId)")),
    ("all_day_field", _("All-day flag field identifier")),
]
ELEMENT_CHOICES = [
    ("auto", _("Automatic (selects: 1st element, lookups: last)")),
    ("1", _("1st element")),
    ("2", _("2nd element")),
    ("3", _("3rd element")),
    ("4", _("4th element")),
    ("last", _("Last element")),
    ("join", _("All elements joined with “, ”")),
]
ELEMENT_FIELDS: list[tuple[str, Any, Any]] = [
    ("status_element", _("Status: array value read as"), _("Example: [Plan] → Plan (1st element)")),
    ("kind_element", _("Kind: array value read as"), _("Example: [Meeting] → Meeting (1st element)")),
    (
        "purpose_element",
        _("Purpose: array value read as"),
        _("Example: [New business] → New business (1st element)"),
    ),
    (
        "business_element",
        _("Business name: array value read as"),
        _("Example: [Meeting] → Meeting (1st element)"),
    ),
    (
        "customer_element",
        _("Customer name: array value read as"),
        _("Example: [12, C-001, , ACME Inc.] → ACME Inc. (last element)"),
    ),
    (
        "address_element",
        _("Customer address: array value read as"),
        _("Example: [12, C-001, , 1-1 Marunouchi] → 1-1 Marunouchi (last element)"),
    ),
]
PARTICIPANT_CHOICES = [
    ("1", _("1st element: [user ID, name]")),
    ("2", _("2nd element: [name, user ID]")),
]
WRITEBACK_FORM_CHOICES = [
    ("recordId", _("recordId (the form seen in public code)")),
    ("recordKey", _("recordKey (by the record key field)")),
]
LIST_FIELDS: list[tuple[str, Any, str]] = [
    ("plan_values", _("Status values meaning a plan"), "予定"),
    ("actual_values", _("Status values meaning an actual"), "実績"),
]
SECRET_FIELDS = ("api_key", "webhook_header_value")
# What the connection test (J1) proves: a change to any of these (or to the API key) is tested
# before it is stored. The request limits and the status values are not tested.
CONNECTION_KEYS = (
    "tenant",
    "base_url",
    *[k for k, *_r in IDENTIFIER_FIELDS],
    *[k for k, _l in OPTIONAL_FIELDS],
    *[k for k, *_r in ELEMENT_FIELDS],
    "participant_element",
)


class JustSfaForm(forms.Form):
    """J1: tenant, API key, identifiers, limits and the webhook's secret header.

    Connection settings are tested before they replace stored ones (see the view):
    :meth:`candidate` gives an unsaved copy of the connection with this form's values,
    :meth:`changes` names what differs, and secrets of a refused submission come back
    as ``held`` and stand in for empty secret fields.
    """

    enabled = forms.BooleanField(label=_("Use this connection"), required=False)
    tenant = forms.CharField(label=_("Tenant"), max_length=255)
    api_key = forms.CharField(
        label=_("API key"),
        required=False,
        strip=True,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    base_url = forms.CharField(label=_("API base URL"), max_length=500, required=False)
    requests_per_minute = forms.IntegerField(
        label=_("API requests per minute (limit)"), min_value=1, max_value=10_000
    )
    requests_per_day = forms.IntegerField(
        label=_("API requests per day (limit)"), min_value=1, max_value=10_000_000
    )
    webhook_header_name = forms.CharField(label=_("Secret header name"), max_length=100, required=False)
    webhook_header_value = forms.CharField(
        label=_("Secret header value"),
        required=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    remove_header = forms.BooleanField(label=_("Do not require a secret header"), required=False)
    participant_element = forms.ChoiceField(
        label=_("Which element of a participant is the user ID"),
        choices=PARTICIPANT_CHOICES,
        initial="1",
        required=False,
    )
    midnight_all_day = forms.BooleanField(
        label=_("Read a period from midnight to a later midnight as all-day"), required=False, initial=True
    )
    writeback_form = forms.ChoiceField(
        label=_("How write-back names the record"),
        choices=WRITEBACK_FORM_CHOICES,
        initial="recordId",
        required=False,
    )

    def __init__(
        self,
        *args: Any,
        source: SourceConnection,
        held: Mapping[str, str | bytes] | None = None,
        **kwargs: Any,
    ) -> None:
        self.source = source
        self.held = dict(held or {})
        config = source.config or {}
        if not args and "data" not in kwargs:
            initial: dict[str, Any] = {
                "enabled": source.enabled,
                "webhook_header_name": source.webhook_header_name,
                "requests_per_minute": config.get("requests_per_minute", 50),
                "requests_per_day": config.get("requests_per_day", 15000),
            }
            for key in (
                "tenant",
                "base_url",
                *[k for k, *_r in IDENTIFIER_FIELDS],
                *[k for k, _l in OPTIONAL_FIELDS],
            ):
                initial[key] = config.get(key, "")
            for key, *_r in ELEMENT_FIELDS:
                initial[key] = config.get(key, "auto")
            initial["participant_element"] = str(config.get("participant_element", "1"))
            initial["midnight_all_day"] = config.get("midnight_all_day", True) is not False
            initial["writeback_form"] = config.get("writeback_form", "recordId")
            for key, _label, default in LIST_FIELDS:
                value = config.get(key)
                # A list is shown with the reader's separator; both are read back (config()).
                separator = "、" if get_language() == "ja" else ", "
                initial[key] = separator.join(value) if isinstance(value, list) else (value or default)
            kwargs["initial"] = initial
        super().__init__(*args, **kwargs)
        for key, label, example in IDENTIFIER_FIELDS:
            self.fields[key] = forms.CharField(label=label, max_length=40)
            self.fields[key].widget.attrs.update({"placeholder": example, "spellcheck": "false"})
        for key, label in OPTIONAL_FIELDS:
            self.fields[key] = forms.CharField(label=label, max_length=40, required=False)
            self.fields[key].widget.attrs.update({"placeholder": "field_…", "spellcheck": "false"})
        for key, label, default in LIST_FIELDS:
            self.fields[key] = forms.CharField(label=label, max_length=200, required=False)
            self.fields[key].widget.attrs["placeholder"] = default
        for key, label, sample in ELEMENT_FIELDS:
            self.fields[key] = forms.ChoiceField(
                label=label, choices=ELEMENT_CHOICES, initial="auto", required=False
            )
            self.fields[key].help_text = sample
        self.fields["tenant"].widget.attrs.update({"placeholder": "fsz2", "spellcheck": "false"})

    def config(self) -> dict[str, Any]:
        data = self.cleaned_data
        config = dict(self.source.config or {})
        for key in (
            "tenant",
            "base_url",
            *[k for k, *_r in IDENTIFIER_FIELDS],
            *[k for k, _l in OPTIONAL_FIELDS],
        ):
            value = (data.get(key) or "").strip()
            if value:
                config[key] = value
            else:
                config.pop(key, None)
        for key, _label, _default in LIST_FIELDS:
            raw = (data.get(key) or "").replace("、", ",")
            values = [v.strip() for v in raw.split(",") if v.strip()]
            if values:
                config[key] = values
            else:
                config.pop(key, None)
        for key, *_r in ELEMENT_FIELDS:
            if data.get(key) and data[key] != "auto":
                config[key] = data[key]
            else:
                config.pop(key, None)
        for key, default in (("participant_element", "1"), ("writeback_form", "recordId")):
            if data.get(key) and data[key] != default:
                config[key] = data[key]
            else:
                config.pop(key, None)
        if data.get("midnight_all_day", True):
            config.pop("midnight_all_day", None)
        else:
            config["midnight_all_day"] = False
        config["requests_per_minute"] = data.get("requests_per_minute")
        config["requests_per_day"] = data.get("requests_per_day")
        return config

    def api_key_value(self) -> str:
        return (self.cleaned_data.get("api_key") or "").strip() or (self.source.api_key or "")

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or {}
        for secret in SECRET_FIELDS:
            if not data.get(secret) and isinstance(self.held.get(secret), str):
                data[secret] = self.held[secret]
        if self.errors:
            return data
        try:
            JustSfaSettings.from_config(
                self.config(), self.api_key_value(), timezone=self.source.company.timezone
            )
        except InputError as exc:
            lang = normalize_lang(get_language())
            reason = exc.params.get("reason_ja" if lang == "ja" else "reason", "")
            name = exc.field if exc.field in self.fields else None
            self.add_error(name, reason or str(exc))
        self._check_record_id_field()
        name = (data.get("webhook_header_name") or "").strip()
        if name and not all(c.isalnum() or c in "-_" for c in name):
            self.add_error(
                "webhook_header_name", _("Use letters, digits, - and _ only (e.g. X-Sfacal-Secret).")
            )
        if name and not (data.get("webhook_header_value") or self.source.webhook_header_value):
            self.add_error("webhook_header_value", _("Enter the value JUST.SFA sends in this header."))
        return data

    def _check_record_id_field(self) -> None:
        """The record-ID field decides under which ID every schedule is stored: changing it once
        schedules are stored would store them all again under new IDs (duplicates)."""
        old = (self.source.config or {}).get("record_id_field") or ""
        new = (self.cleaned_data.get("record_id_field") or "").strip()
        if old == new or "record_id_field" in self.errors:
            return
        stored = StoredSchedule.objects.filter(
            company=self.source.company, source=source_name(self.source.name), deleted=False
        ).exists()
        if stored:
            self.add_error(
                "record_id_field",
                _(
                    "Schedules from JUST.SFA are already stored under their record IDs; changing "
                    "this field would store them again under new IDs. Set it before the first sync."
                ),
            )

    def candidate(self) -> SourceConnection:
        """An unsaved copy of the stored connection with this form's values applied (for the
        connection test only; never saved)."""
        candidate = copy.copy(self.source)
        candidate.company = self.source.company
        self._apply(candidate)
        return candidate

    def changes(self, candidate: SourceConnection) -> list[str]:
        """What the connection test proves and ``candidate`` changes: the API key and
        :data:`CONNECTION_KEYS`."""
        old, new = self.source.config or {}, candidate.config or {}
        changed = [key for key in CONNECTION_KEYS if old.get(key) != new.get(key)]
        if (candidate.api_key or "") != (self.source.api_key or ""):
            changed.insert(0, "api_key")
        return changed

    def secrets_entered(self) -> dict[str, str | bytes | None]:
        """The secrets of this submission (typed or held), to hold when it is refused."""
        data = self.cleaned_data
        return {
            "api_key": data.get("api_key"),
            "webhook_header_value": None if data.get("remove_header") else data.get("webhook_header_value"),
        }

    def save(self) -> SourceConnection:
        self._apply(self.source)
        self.source.save()
        return self.source

    def _apply(self, s: SourceConnection) -> None:
        """Set this form's values on ``s`` (the stored connection or a candidate); saves nothing."""
        data = self.cleaned_data
        s.enabled = bool(data["enabled"])
        s.config = self.config()
        if data.get("api_key"):
            s.api_key = data["api_key"].strip()
        if data.get("remove_header"):
            s.webhook_header_name = ""
            s.webhook_header_value = ""
        else:
            s.webhook_header_name = (data.get("webhook_header_name") or "").strip()
            if data.get("webhook_header_value"):
                s.webhook_header_value = data["webhook_header_value"]


class MappingForm(forms.Form):
    """J3: one row of the user mapping table."""

    name = forms.CharField(label=_("Name"), max_length=200)
    external_user_id = forms.CharField(label=_("JUST.SFA user ID"), max_length=200)
    mail_address = forms.EmailField(label=_("Outlook mail address"))
    enabled = forms.BooleanField(label=_("Sync"), required=False)

    def __init__(
        self, *args: Any, source: SourceConnection, instance: UserMapping | None = None, **kwargs: Any
    ):
        self.source = source
        self.instance = instance
        if instance is not None and not args and "data" not in kwargs:
            kwargs["initial"] = {
                "name": instance.name,
                "external_user_id": instance.external_user_id,
                "mail_address": instance.mail_address,
                "enabled": instance.enabled,
            }
        super().__init__(*args, **kwargs)

    def clean_external_user_id(self) -> str:
        value: str = self.cleaned_data["external_user_id"].strip()
        clash = UserMapping.objects.for_company(self.source.company_id).filter(
            source=self.source, external_user_id=value
        )
        if self.instance is not None:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise ValidationError(_("This JUST.SFA user ID is already mapped."))
        return value


class TokenForm(forms.Form):
    name = forms.CharField(label=_("Token name"), max_length=100)


MIN_CALLBACK_SECRET = 16


class PushCallbackForm(forms.Form):
    """Two-way for push sources: where calendar edits are delivered, and the signing secret.

    The secret is write-only: an empty field keeps the stored one; "generate" makes a new random
    secret that the page shows once (to copy into the receiver)."""

    callback_url = forms.URLField(
        label=_("Write-back callback URL"), max_length=500, required=False, assume_scheme="https"
    )
    callback_secret = forms.CharField(
        label=_("Signing secret"),
        required=False,
        strip=True,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    generate_secret = forms.BooleanField(
        label=_("Generate a new signing secret (shown once)"), required=False
    )

    def __init__(self, *args: Any, connection: SourceConnection, **kwargs: Any) -> None:
        self.connection = connection
        if not args and "data" not in kwargs:
            kwargs["initial"] = {"callback_url": connection.callback_url}
        super().__init__(*args, **kwargs)
        self.fields["callback_url"].widget.attrs.update(
            {"placeholder": "https://sfa.example.com/sfacal/write-back", "spellcheck": "false"}
        )

    def clean_callback_url(self) -> str:
        value: str = (self.cleaned_data.get("callback_url") or "").strip()
        if not value:
            return ""
        parts = urlsplit(value)
        if parts.scheme not in ("https", "http"):
            raise ValidationError(_("Use an https:// (or http://) address."))
        if parts.username or parts.password:
            raise ValidationError(
                _("Put no user name or password in the URL: the receiver checks the signature instead.")
            )
        return value

    def clean_callback_secret(self) -> str:
        value: str = self.cleaned_data.get("callback_secret") or ""
        if value and len(value) < MIN_CALLBACK_SECRET:
            raise ValidationError(
                _("Use at least %(n)d characters (or generate one).") % {"n": MIN_CALLBACK_SECRET}
            )
        return value

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or {}
        has_secret = (
            data.get("callback_secret") or data.get("generate_secret") or self.connection.callback_secret
        )
        if data.get("callback_url") and not has_secret:
            self.add_error(
                "callback_secret", _("A callback URL needs a signing secret: enter one or generate one.")
            )
        return data

    def save(self) -> str | None:
        """Store the settings; returns a newly generated secret (to show once), else ``None``."""
        data = self.cleaned_data
        c = self.connection
        c.callback_url = data.get("callback_url") or ""
        generated = new_token(32) if data.get("generate_secret") else None
        if generated is not None:
            c.callback_secret = generated
        elif data.get("callback_secret"):
            c.callback_secret = data["callback_secret"]
        c.save(update_fields=["callback_url", "callback_secret"])
        return generated
