"""Forms of the employee screens (E1–E6) and of the personal settings (P1–P3)."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext_lazy as _

from sfacal.core.settings import OUTSIDE_MASTER, UNSELECTED
from sfacal.directory.companies.models import BusinessName, Company, Purpose
from sfacal.directory.employees.models import Employee, SyncState, UserIdMode
from sfacal.directory.employees.services import resolve_mailbox
from sfacal.web.employees.exclusion_labels import exclusion_label


def _choice(form: forms.Form, name: str) -> forms.ChoiceField:
    return cast(forms.ChoiceField, form.fields[name])


STATE_LABELS = [
    (SyncState.ON, _("Sync")),
    (SyncState.OFF, _("Do not sync")),
    (SyncState.FORBIDDEN, _("Forbidden")),
]
MODE_LABELS = [
    (UserIdMode.EXPLICIT, _("Set the Microsoft 365 user ID individually")),
    (UserIdMode.LOGIN_AT_DOMAIN, _("Use the SFA login ID (login ID @ domain name)")),
]


class LinkFieldsMixin(forms.Form):
    """E2/E3 (and P2): user ID mode, user ID, target calendar."""

    user_id_mode = forms.ChoiceField(
        label=_("User ID setting"), choices=MODE_LABELS, widget=forms.RadioSelect
    )
    user_id = forms.CharField(label=_("Sync user ID"), max_length=254, required=False)
    calendar_name = forms.CharField(label=_("Target calendar"), max_length=255, required=False)

    company: Company
    domain: str

    def setup_link_fields(self) -> None:
        self.fields["user_id"].widget.attrs.update(
            {"placeholder": "xxxxxxxx@example.onmicrosoft.com", "autocomplete": "off", "spellcheck": "false"}
        )
        self.fields["calendar_name"].widget.attrs.update({"list": "calendar-options", "autocomplete": "off"})

    def clean_user_id(self) -> str:
        value: str = self.cleaned_data["user_id"].strip()
        if value:
            try:
                validate_email(value)
            except ValidationError:
                raise ValidationError(
                    _("Enter the Microsoft 365 user ID as a mail address, e.g. taro@example.onmicrosoft.com.")
                ) from None
        return value

    def check_link(self, data: dict[str, Any], state: str, login_id: str) -> None:
        """While on, the mailbox must be resolvable (E2)."""
        if state != SyncState.ON:
            return
        mode = data.get("user_id_mode")
        if mode == UserIdMode.EXPLICIT and not data.get("user_id") and "user_id" not in self.errors:
            self.add_error("user_id", _("Required while the sync is on."))
        if mode == UserIdMode.LOGIN_AT_DOMAIN and not self.domain and "@" not in (login_id or ""):
            self.add_error(
                "user_id_mode",
                _("The company has no domain name yet: set it in the basic settings, or enter the user ID."),
            )

    def mailbox(self) -> str | None:
        data = self.cleaned_data
        return resolve_mailbox(
            data.get("user_id_mode", ""), data.get("user_id", ""), self.login_id_for_mailbox(), self.domain
        )

    def login_id_for_mailbox(self) -> str:
        raise NotImplementedError


class EmployeeForm(LinkFieldsMixin):
    """The administrator's employee screen (社員 › スケジュール連携)."""

    login_id = forms.CharField(label=_("Login ID"), max_length=150)
    name = forms.CharField(label=_("Name"), max_length=200, required=False)
    email = forms.EmailField(label=_("Mail address"), required=False)
    state = forms.ChoiceField(label=_("Schedule sync"), choices=STATE_LABELS, widget=forms.RadioSelect)

    field_order = ["login_id", "name", "email", "state", "user_id_mode", "user_id", "calendar_name"]

    def __init__(self, *args: Any, company: Company, domain: str, instance: Employee | None, **kwargs: Any):
        self.company = company
        self.domain = domain
        self.instance = instance
        if instance is not None and not args and "data" not in kwargs:
            kwargs["initial"] = {
                name: getattr(instance, name)
                for name in ("login_id", "name", "email", "state", "user_id_mode", "user_id", "calendar_name")
            }
        elif instance is None and not args:
            kwargs.setdefault("initial", {"state": SyncState.OFF, "user_id_mode": UserIdMode.EXPLICIT})
        super().__init__(*args, **kwargs)
        self.setup_link_fields()

    def login_id_for_mailbox(self) -> str:
        return str(self.cleaned_data.get("login_id", ""))

    def clean_login_id(self) -> str:
        value: str = self.cleaned_data["login_id"].strip()
        clash = Employee.objects.for_company(self.company).filter(login_id=value)
        if self.instance is not None:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise ValidationError(_("Another employee already has this login ID."))
        return value

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or {}
        self.check_link(data, data.get("state", ""), data.get("login_id", ""))
        return data

    def apply(self, employee: Employee) -> Employee:
        for name in ("login_id", "name", "email", "state", "user_id_mode", "user_id", "calendar_name"):
            setattr(employee, name, self.cleaned_data[name])
        return employee


def exclusion_choices(company: Company) -> dict[str, list[tuple[str, str]]]:
    """P3: the three lists, each with the pseudo-entries as the first manual shows them."""
    purposes = list(Purpose.objects.for_company(company).order_by("position", "id"))
    counted = [(p.name, p.name) for p in purposes if p.counted_as_visit]
    uncounted = [(p.name, p.name) for p in purposes if not p.counted_as_visit]
    business = [
        (b.name, b.name) for b in BusinessName.objects.for_company(company).order_by("position", "id")
    ]
    unselected = (UNSELECTED, exclusion_label(UNSELECTED))
    outside = (OUTSIDE_MASTER, exclusion_label(OUTSIDE_MASTER))
    return {
        "counted": counted,
        "uncounted": [*uncounted, outside, unselected],
        "business": [*business, outside, unselected],
    }


class PersonalSettingsForm(LinkFieldsMixin):
    """オプション設定 › スケジュール連携設定 (P1–P3)."""

    sync = forms.TypedChoiceField(
        label=_("Schedule sync settings"),
        choices=[("1", _("Sync")), ("0", _("Do not sync"))],
        coerce=lambda v: v == "1",
        widget=forms.RadioSelect,
    )
    excluded_counted = forms.MultipleChoiceField(
        label=_("Meeting sync settings"), required=False, widget=forms.CheckboxSelectMultiple
    )
    excluded_uncounted = forms.MultipleChoiceField(
        label=_("Meeting sync settings (not counted as visits)"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    excluded_business = forms.MultipleChoiceField(
        label=_("Task sync settings"), required=False, widget=forms.CheckboxSelectMultiple
    )

    field_order = ["sync", "user_id_mode", "user_id", "calendar_name"]

    def __init__(self, *args: Any, employee: Employee, domain: str, **kwargs: Any) -> None:
        self.company = employee.company
        self.domain = domain
        self.employee = employee
        choices = exclusion_choices(self.company)
        if not args and "data" not in kwargs:
            purposes = set(employee.excluded_purposes or [])
            counted_names = {c for c, _label in choices["counted"]}
            kwargs["initial"] = {
                "sync": "1" if employee.state == SyncState.ON else "0",
                "user_id_mode": employee.user_id_mode,
                "user_id": employee.user_id,
                "calendar_name": employee.calendar_name,
                "excluded_counted": [p for p in purposes if p in counted_names],
                "excluded_uncounted": [p for p in purposes if p not in counted_names],
                "excluded_business": list(employee.excluded_business_names or []),
            }
        super().__init__(*args, **kwargs)
        self.setup_link_fields()
        _choice(self, "excluded_counted").choices = choices["counted"]
        _choice(self, "excluded_uncounted").choices = choices["uncounted"]
        _choice(self, "excluded_business").choices = choices["business"]

    def login_id_for_mailbox(self) -> str:
        return self.employee.login_id

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or {}
        state = SyncState.ON if data.get("sync") else SyncState.OFF
        self.check_link(data, state, self.employee.login_id)
        return data

    def apply(self, employee: Employee) -> Employee:
        data = self.cleaned_data
        employee.state = SyncState.ON if data["sync"] else SyncState.OFF
        employee.user_id_mode = data["user_id_mode"]
        employee.user_id = data["user_id"]
        employee.calendar_name = data["calendar_name"]
        employee.excluded_purposes = list(
            dict.fromkeys([*data["excluded_counted"], *data["excluded_uncounted"]])
        )
        employee.excluded_business_names = list(dict.fromkeys(data["excluded_business"]))
        return employee


class BulkForm(forms.Form):
    """E6: set the state (and optionally the user ID mode) of many employees at once."""

    ids = forms.TypedMultipleChoiceField(coerce=int, required=True, label=_("Employees"))
    state = forms.ChoiceField(
        label=_("Schedule sync"), choices=[("", _("Unchanged")), *STATE_LABELS], required=False
    )
    user_id_mode = forms.ChoiceField(
        label=_("User ID setting"), choices=[("", _("Unchanged")), *MODE_LABELS], required=False
    )

    def __init__(self, *args: Any, company: Company, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choice(self, "ids").choices = [
            (pk, str(pk)) for pk in Employee.objects.for_company(company).values_list("pk", flat=True)
        ]
        self.fields["ids"].error_messages["required"] = _("Select at least one employee.")

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or {}
        if not data.get("state") and not data.get("user_id_mode"):
            raise ValidationError(_("Choose what to change."))
        return data


class ImportUploadForm(forms.Form):
    file = forms.FileField(label=_("CSV file"))
    create_accounts = forms.BooleanField(
        label=_("Create sign-in accounts for new employees (invitation links are listed after the import)"),
        required=False,
    )
