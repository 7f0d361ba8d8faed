"""Template helpers of the screens: form fields with errors, error hints, navigation, expiry days."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django import forms, template
from django.core.exceptions import NON_FIELD_ERRORS
from django.http import HttpRequest
from django.utils.translation import get_language

from sfacal.core.errors import error_from_code, normalize_lang
from sfacal.core.expiry import expiry_day
from sfacal.web.companies.permissions import AccessContext, access_context

register = template.Library()


@register.inclusion_tag("partials/field.html")
def field(bound: forms.BoundField, help_text: str = "", show_if: str = "", css: str = "") -> dict[str, Any]:
    """One form field: label, widget, help and errors (the errors name the field)."""
    widget = bound.field.widget
    is_choice_list = isinstance(widget, forms.RadioSelect | forms.CheckboxSelectMultiple)
    return {
        "f": bound,
        "help": help_text or bound.help_text,
        "show_if": show_if,
        "css": css,
        "is_choice_list": is_choice_list,
        "is_checkbox": isinstance(widget, forms.CheckboxInput),
    }


@register.inclusion_tag("partials/error_summary.html")
def error_summary(form: forms.BaseForm) -> dict[str, Any]:
    """Every error at the top of the form, each prefixed with its field's label."""
    items: list[str] = []
    if form.is_bound:
        for name, errors in form.errors.items():
            if name == NON_FIELD_ERRORS:
                items.extend(str(e) for e in errors)
                continue
            label = form.fields[name].label if name in form.fields else name
            items.extend(f"{label}: {e}" for e in errors)
    return {"items": items}


def _lang() -> str:
    return normalize_lang(get_language())


@register.filter
def error_message(code: str, params: Mapping[str, str] | None = None) -> str:
    """The user message of an error code (with its stored parameters) in the active language."""
    return error_from_code(code, params or None).user_message(_lang()) if code else ""


@register.filter
def error_hint(code: str, params: Mapping[str, str] | None = None) -> str:
    """The hint (L2) of an error code (with its stored parameters) in the active language."""
    return error_from_code(code, params or None).hint(_lang()) if code else ""


@register.filter(name="expiry_day")
def expiry_day_filter(expires_at: datetime | None, timezone: str) -> str:
    """An expiry as the day in the company's time zone, as warnings and the command line show it."""
    return expiry_day(expires_at, timezone) if expires_at else ""


@register.simple_tag(takes_context=True)
def sfa_context(context: dict[str, Any]) -> AccessContext | None:
    request: HttpRequest | None = context.get("request")
    return access_context(request) if request is not None else None


@register.simple_tag(takes_context=True)
def current(context: dict[str, Any], *names: str) -> str:
    """``aria-current="page"`` when the current URL name is one of ``names``."""
    request: HttpRequest | None = context.get("request")
    match = getattr(request, "resolver_match", None)
    if match is not None and match.url_name in names:
        return "aria-current=page"
    return ""


@register.simple_tag(takes_context=True)
def query_with(context: dict[str, Any], **changes: Any) -> str:
    """The current query string with some parameters replaced (pagination links)."""
    request: HttpRequest | None = context.get("request")
    params = request.GET.copy() if request is not None else None
    if params is None:
        return ""
    for key, value in changes.items():
        if value in (None, ""):
            params.pop(key, None)
        else:
            params[key] = str(value)
    return "?" + params.urlencode() if params else "?"
