"""Staff two-factor sign-in (TOTP, django-otp).

- A staff member enrols a device at /accounts/2fa/setup/ (QR code and secret; confirmed by
  entering a code from the app).
- Whoever has a confirmed device is asked for its code after the password, on the hub's and
  the admin's sign-in alike: until the code is given, every page sends them to
  /accounts/2fa/verify/ (`TwoFactorMiddleware`).
- UTILIS_REQUIRE_2FA_ROLES (e.g. "administrator,billing") makes enrolment compulsory for those
  roles before any hub or admin page.
Wrong codes count toward the login lockout (django-axes), as wrong passwords do.
"""
from __future__ import annotations

import base64
import io
from collections.abc import Callable
from urllib.parse import quote

from axes.handlers.proxy import AxesProxyHandler
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.contrib.auth.signals import user_login_failed
from django.contrib.auth.views import LoginView as DjangoLoginView
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy
from django_otp import login as otp_login
from django_otp import user_has_device
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp.qr import write_qrcode_image

from core.auth import lockout_response
from core.roles import has_role

# Reachable while signed in but not yet verified: signing in/out, the 2FA pages, static files.
EXEMPT_PREFIXES = ("/accounts/", "/static/", "/healthz", "/admin/login/", "/admin/logout/", "/portal/two-factor/",
                   "/portal/logout/")
# The customer portal has its own code pages (same views, the portal's templates).
PORTAL_PREFIX = "/portal/"


def is_verified(user) -> bool:
    """Signed in with a second factor in this session (django_otp's OTPMiddleware)."""
    check = getattr(user, "is_verified", None)
    return bool(check and check())


def two_factor_required(user) -> bool:
    """Whether the user's roles oblige them to use a second factor."""
    roles = settings.UTILIS_REQUIRE_2FA_ROLES
    return bool(roles) and has_role(user, *roles)


class TwoFactorMiddleware:
    """After django_otp's OTPMiddleware: a signed-in user who has a device but has not given
    its code is sent to the code page; one whose role requires 2FA and who has no device is
    sent to enrol. API calls signed in by session get a 403 JSON instead (token calls are not
    affected: a token is issued only after the code, see core.auth.TokenView)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if user.is_authenticated and not request.path.startswith(EXEMPT_PREFIXES) and not is_verified(user):
            portal = "portal:" if request.path.startswith(PORTAL_PREFIX) else ""
            if user_has_device(user):
                target, why = f"{portal}two-factor-verify", "Enter the code from your authenticator app."
            elif two_factor_required(user):
                target, why = f"{portal}two-factor-setup", "Your role requires two-factor sign-in: set it up first."
            else:
                return self.get_response(request)
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": f"Two-factor sign-in required. {why}"}, status=403)
            return redirect(f"{reverse(target)}?next={quote(request.get_full_path())}")
        return self.get_response(request)


def _safe_next(request: HttpRequest, default: str = "/") -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return default


class LoginView(DjangoLoginView):
    """The hub sign-in: the password first (throttled by django-axes), then the code page when
    the user has a device."""

    def get_success_url(self) -> str:
        url = super().get_success_url()
        if user_has_device(self.request.user):
            return f"{reverse('two-factor-verify')}?next={quote(url)}"
        return url


# Also shown on the portal's pages, so in the customer's language there (core/locale); the
# staff hubs are English.
WRONG_CODE = gettext_lazy("That code is not right (or has been used). Try the current one.")
WRONG_SETUP_CODE = gettext_lazy("That code is not right. Check the time on your phone and try the current one.")
TWO_FACTOR_ON = gettext_lazy("Two-factor sign-in is on: from now on you will be asked for a code.")


class CodeForm(forms.Form):
    otp_token = forms.CharField(
        label="Code", max_length=8, min_length=6,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}),
    )


def _qr_data_uri(data: str) -> str:
    out = io.BytesIO()
    write_qrcode_image(data, out)
    return "data:image/svg+xml;base64," + base64.b64encode(out.getvalue()).decode()


def _count_failure(request: HttpRequest) -> HttpResponse | None:
    """A wrong code counts as a failed sign-in; at the limit the session ends with the lockout."""
    username = request.user.get_username()
    user_login_failed.send(sender=__name__, credentials={"username": username}, request=request)
    if getattr(request, "axes_locked_out", False) or not AxesProxyHandler.is_allowed(request, {"username": username}):
        logout(request)
        return lockout_response(request, credentials={"username": username})
    return None


@login_required
def verify(request: HttpRequest, template_name: str = "registration/two_factor_verify.html") -> HttpResponse:
    """Second step of sign-in: the code of one of the user's devices. `template_name`: the
    page it is shown on (the portal passes its own)."""
    next_url = _safe_next(request)
    if is_verified(request.user):
        return redirect(next_url)
    if not user_has_device(request.user):
        return redirect(next_url)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = next(
            (d for d in TOTPDevice.objects.devices_for_user(request.user, confirmed=True)
             if d.verify_token(form.cleaned_data["otp_token"])),
            None,
        )
        if device is not None:
            otp_login(request, device)
            return redirect(next_url)
        locked = _count_failure(request)
        if locked is not None:
            return locked
        form.add_error("otp_token", WRONG_CODE)
    return render(request, template_name, {"form": form, "next": next_url})


@login_required
def setup(request: HttpRequest, template_name: str = "registration/two_factor_setup.html",
          verify_url_name: str = "two-factor-verify") -> HttpResponse:
    """Enrol a TOTP device: scan the QR code (or type the secret), then confirm with a code.
    `template_name` and `verify_url_name`: the portal's own pages."""
    next_url = _safe_next(request)
    user = request.user
    if user_has_device(user) and not is_verified(request.user):
        return redirect(f"{reverse(verify_url_name)}?next={quote(request.get_full_path())}")
    device, _ = TOTPDevice.objects.get_or_create(
        user=user, confirmed=False, defaults={"name": "Authenticator app"},
    )
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["otp_token"]):
            device.confirmed = True
            device.save()
            TOTPDevice.objects.filter(user=user, confirmed=False).exclude(pk=device.pk).delete()
            otp_login(request, device)
            messages.success(request, TWO_FACTOR_ON)
            return redirect(next_url)
        locked = _count_failure(request)
        if locked is not None:
            return locked
        form.add_error("otp_token", WRONG_SETUP_CODE)
    secret = base64.b32encode(device.bin_key).decode().rstrip("=")
    return render(request, template_name, {
        "form": form, "next": next_url, "secret": secret, "qr": _qr_data_uri(device.config_url),
        "has_device": user_has_device(user), "required": two_factor_required(user),
    })
