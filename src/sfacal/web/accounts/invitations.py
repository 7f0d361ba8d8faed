"""Invitations (U1): a link with which an employee or administrator sets their password.

The link carries Django's password-reset token: it stops working once the password is set
(the token covers the password hash and the last sign-in) or after
``PASSWORD_RESET_TIMEOUT`` (three days by default).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.http import HttpRequest
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from sfacal.directory.companies.models import Company, Membership, Role


def invitation_path(user: Any) -> str:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    return reverse("accept_invitation", kwargs={"uidb64": uid, "token": token})


def absolute_url(request: HttpRequest, path: str) -> str:
    public = getattr(settings, "PUBLIC_URL", "")
    if public:
        return public.rstrip("/") + path
    return request.build_absolute_uri(path)


def invitation_url(request: HttpRequest, user: Any) -> str:
    return absolute_url(request, invitation_path(user))


def create_account(company: Company, username: str, email: str = "", role: str = Role.EMPLOYEE) -> Any:
    """A sign-in account without a usable password (set through the invitation link)."""
    user_model = get_user_model()
    user = user_model.objects.create_user(username=username, email=email or "")
    user.set_unusable_password()
    user.save(update_fields=["password"])
    Membership.objects.create(user=user, company=company, role=role)
    return user
