"""Two-step login (password, then one-time code), MFA enrolment and backup codes.

The password step is Django's LoginView, so django-axes sees every attempt and locks out repeated
failures. The code step is throttled per device by django-otp (exponential back-off after failures).
"""

from __future__ import annotations

import base64
from io import BytesIO
from urllib.parse import urlencode

import qrcode
import qrcode.image.svg
from django.contrib import messages
from django.contrib.auth import authenticate, logout
from django.contrib.auth.views import LoginView, PasswordChangeView
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods, require_POST
from django_otp import login as otp_login
from django_otp import match_token

from apps.accounts import selectors, services
from apps.accounts.decorators import (
    mark_recently_authenticated,
    recent_authentication_required,
    recently_authenticated,
    staff_page,
)
from apps.accounts.forms import EnrolForm, OTPForm, ReauthForm
from apps.core.ratelimit.client_ip import client_address


@staff_page()
def home(request):
    """The signed-in home: the dashboard for those who may see it (officers, auditors,
    administrators); for the others (reviewers) a page with their queue and their backup codes."""
    if request.user.has_perm("accounts.view_dashboard"):
        return HttpResponseRedirect(reverse("dashboard:home"))
    return render(
        request,
        "accounts/home.html",
        {"backup_codes_left": selectors.user_unused_backup_code_count(user=request.user)},
    )


def _safe_next(request, default: str = "home") -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse(default)


class PasswordLoginView(LoginView):
    """Step 1. On success the user is authenticated but not verified: every staff page still
    redirects to step 2."""

    template_name = "accounts/login.html"
    redirect_authenticated_user = False
    rate_limit_budget = "login"  # a POST also counts per user name + address (ADR 0025)

    def get_success_url(self) -> str:
        target = _safe_next(self.request)
        step = "accounts:otp"
        if not selectors.user_has_confirmed_device(user=self.request.user):
            step = "accounts:enrol"
        return f"{reverse(step)}?{urlencode({'next': target})}"


@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def otp_step(request):
    """Step 2: verify a TOTP or backup code against the user's confirmed devices."""
    user = request.user
    if not user.is_authenticated:
        return HttpResponseRedirect(reverse("accounts:login"))
    if user.is_verified():
        return HttpResponseRedirect(_safe_next(request))
    if not selectors.user_has_confirmed_device(user=user):
        return HttpResponseRedirect(
            f"{reverse('accounts:enrol')}?{urlencode({'next': _safe_next(request)})}"
        )
    form = OTPForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            device = match_token(user, form.cleaned_data["token"].strip())
            if device is not None:
                otp_login(request, device)
                request.session.cycle_key()
                _session_verified(request)
                return HttpResponseRedirect(_safe_next(request))
        form.add_error(
            None,
            "That code was not accepted. Each code works only once: if you have just used this "
            "one, wait for the next code (a new one every 30 seconds). After several failures you "
            "must wait before trying again.",
        )
        status = 400
    return render(
        request, "accounts/otp.html", {"form": form, "next": _safe_next(request)}, status=status
    )


def _qr_svg(uri: str) -> str:
    image = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    buffer = BytesIO()
    image.save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()


@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def enrol(request):
    """Enrol an authenticator app (QR code), then show the backup codes once."""
    user = request.user
    if not user.is_authenticated:
        return HttpResponseRedirect(reverse("accounts:login"))
    if selectors.user_has_confirmed_device(user=user) and not user.is_verified():
        # Adding a device needs the existing second factor first.
        return HttpResponseRedirect(
            f"{reverse('accounts:otp')}?{urlencode({'next': request.get_full_path()})}"
        )
    if selectors.user_has_confirmed_device(user=user) and not recently_authenticated(request):
        # Changing the device: both factors again first (T33).
        return HttpResponseRedirect(
            f"{reverse('accounts:reauth')}?{urlencode({'next': request.get_full_path()})}"
        )
    device = selectors.user_pending_totp_device(user=user) or services.totp_device_create(
        user=user, confirmed=False
    )
    form = EnrolForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["token"]):
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            otp_login(request, device)
            request.session.cycle_key()
            _session_verified(request)
            codes = services.backup_codes_regenerate(user=user)
            return render(
                request,
                "accounts/backup_codes.html",
                {"codes": codes, "next": _safe_next(request)},
            )
        form.add_error("token", "That code did not match. Check the time on your device.")
    return render(
        request,
        "accounts/enrol.html",
        {
            "form": form,
            "qr": _qr_svg(device.config_url),
            "secret": device.config_url,
            "next": _safe_next(request),
        },
        status=400 if request.method == "POST" else 200,
    )


@require_POST
@staff_page()
@recent_authentication_required
def backup_codes_regenerate(request):
    """Issue a fresh set of backup codes (the old set stops working)."""
    codes = services.backup_codes_regenerate(user=request.user)
    messages.success(request, "New backup codes issued; the previous ones no longer work.")
    return render(request, "accounts/backup_codes.html", {"codes": codes, "next": reverse("home")})


@require_POST
def logout_view(request):
    logout(request)
    return HttpResponseRedirect(reverse("accounts:login"))


def _session_verified(request) -> None:
    """Both factors proved: the session counts as freshly authenticated and is listed among the
    user's sessions."""
    mark_recently_authenticated(request)
    services.user_session_record(
        user=request.user,
        session_key=request.session.session_key,
        ip_address=client_address(request),
        user_agent=request.META.get("HTTP_USER_AGENT", ""),
    )


@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
@staff_page()
def reauth(request):
    """Prove both factors again before changing how one signs in (T33, ASVS 7.5.1). The password
    goes through ``authenticate()``, so the lockout counts failures here as at sign-in."""
    form = ReauthForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            user = authenticate(
                request,
                username=request.user.get_username(),
                password=form.cleaned_data["password"],
            )
            password_ok = user is not None and user.pk == request.user.pk
            token = form.cleaned_data["token"].strip()
            if password_ok and match_token(request.user, token) is not None:
                mark_recently_authenticated(request)
                return HttpResponseRedirect(_safe_next(request))
        form.add_error(None, "The password or the code was not accepted.")
        status = 400
    return render(
        request, "accounts/reauth.html", {"form": form, "next": _safe_next(request)}, status=status
    )


class PasswordChange(PasswordChangeView):
    """Change one's password (after re-authentication). Django keeps this session signed in and
    every other session of the user stops at its next request; their list rows go too."""

    template_name = "accounts/password_change.html"

    def get_success_url(self) -> str:
        return reverse("accounts:sessions")

    def form_valid(self, form):
        response = super().form_valid(form)
        others = [
            session.pk
            for session in selectors.user_sessions_list(user=self.request.user)
            if session.session_key != self.request.session.session_key
        ]
        services.user_sessions_end(user=self.request.user, session_ids=others)
        messages.success(self.request, "Password changed; your other sessions were ended.")
        return response


password_change = staff_page()(recent_authentication_required(PasswordChange.as_view()))


@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
@staff_page()
def sessions(request):
    """List one's signed-in sessions and end the others (one, or all at once)."""
    current = request.session.session_key
    listed = selectors.user_sessions_list(user=request.user)
    if request.method == "POST":
        others = [session.pk for session in listed if session.session_key != current]
        if request.POST.get("end") == "others":
            chosen = others
        else:
            try:
                chosen = [int(request.POST.get("end", ""))]
            except ValueError:
                chosen = []
            chosen = [pk for pk in chosen if pk in others]  # never this one from here
        ended = services.user_sessions_end(user=request.user, session_ids=chosen)
        messages.success(request, f"{ended} session(s) ended.")
        return HttpResponseRedirect(reverse("accounts:sessions"))
    return render(request, "accounts/sessions.html", {"sessions": listed, "current": current})
