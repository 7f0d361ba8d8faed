"""The language an account signed in with is remembered on its membership: e-mail notices to
company administrators are written in it (``sfacal.engine.notices``; Japanese until the first
sign-in, and for any language other than English)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest
from django.utils import translation

from sfacal.directory.companies.models import Membership


@receiver(user_logged_in, dispatch_uid="sfacal_remember_language")
def _remember_language(sender: object, request: HttpRequest | None, user: Any, **kwargs: object) -> None:
    if request is None:
        return
    lang = (
        "en"
        if (getattr(request, "LANGUAGE_CODE", "") or translation.get_language() or "").startswith("en")
        else "ja"
    )
    Membership.objects.filter(user=user).exclude(language=lang).update(language=lang)
