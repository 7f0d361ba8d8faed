"""Sign-in (throttled: :mod:`sfacal.web.accounts.throttle`), sign-out, and accepting an invitation."""

from __future__ import annotations

from django.contrib.auth import authenticate, get_user_model, login, logout
from django.contrib.auth.forms import SetPasswordForm
from django.contrib.auth.tokens import default_token_generator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.encoding import force_str
from django.utils.http import url_has_allowed_host_and_scheme, urlsafe_base64_decode
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from sfacal.directory.companies.audit import record_event
from sfacal.directory.companies.models import Membership
from sfacal.web.accounts import throttle
from sfacal.web.accounts.forms import SignInForm
from sfacal.web.companies.permissions import access_context, landing_url_name


def _safe_next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse(landing_url_name(access_context(request)))


def _paused_message() -> str:
    return _(
        "Sign-in is paused after too many failed attempts from this network or with this user name. "
        "Try again in %(minutes)d minutes, or ask your administrator to lift the pause."
    ) % {"minutes": throttle.cool_off_minutes()}


@sensitive_post_parameters("password")
@csrf_protect
@never_cache
def sign_in(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated and request.method == "GET":
        return redirect(_safe_next(request))
    form = SignInForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        user = authenticate(
            request, username=form.cleaned_data["username"], password=form.cleaned_data["password"]
        )
        if user is not None:
            login(request, user)
            return HttpResponseRedirect(_safe_next(request))
        # The same words and status whether the name exists or not.
        if throttle.is_paused(request):
            form.add_error(None, _paused_message())
            status = 429
        else:
            form.add_error(None, _("The user name or the password is wrong."))
            status = 401
    response = render(
        request,
        "accounts/sign_in.html",
        {"form": form, "next": request.GET.get("next", request.POST.get("next", ""))},
        status=status,
    )
    if status == 429:
        response["Retry-After"] = str(throttle.cool_off_minutes() * 60)
    return response


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("login")


@sensitive_post_parameters("new_password1", "new_password2")
@never_cache
def accept_invitation(request: HttpRequest, uidb64: str, token: str) -> HttpResponse:
    user_model = get_user_model()
    try:
        uid = force_str(urlsafe_base64_decode(uidb64))
        user = user_model.objects.get(pk=uid)
    except (TypeError, ValueError, OverflowError, user_model.DoesNotExist):
        raise Http404 from None
    if not default_token_generator.check_token(user, token):
        return render(request, "accounts/invitation_invalid.html", status=410)
    form = SetPasswordForm(user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        form.save()
        membership = Membership.objects.filter(user=user).first()
        record_event(
            company=membership.company if membership else None,
            user=user,
            object_type="auth.user",
            object_id=str(user.pk),
            field="password",
            new_value="set",
        )
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect(landing_url_name(access_context(request)))
    return render(request, "accounts/accept_invitation.html", {"form": form, "invited": user})
