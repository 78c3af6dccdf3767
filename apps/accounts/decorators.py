"""Guard for staff pages: password AND a verified OTP device, then an optional role permission."""

from __future__ import annotations

import time
from functools import wraps
from urllib.parse import urlencode

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.urls import reverse


def _redirect(name: str, request) -> HttpResponseRedirect:
    return HttpResponseRedirect(f"{reverse(name)}?{urlencode({'next': request.get_full_path()})}")


def staff_page(*perms: str | None):
    """Decorate a view: anonymous → login, password-only → OTP step, lacking every one of
    ``perms`` → 403 (one permission of the list is enough; none given: any signed-in staff)."""
    wanted = tuple(p for p in perms if p)

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            user = request.user
            if not user.is_authenticated:
                return _redirect("accounts:login", request)
            if not user.is_verified():
                return _redirect("accounts:otp", request)
            if wanted and not any(user.has_perm(p) for p in wanted):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


# Set when the user proves both factors: at sign-in (the one-time code step) and on the
# re-authentication page (RELIABILITY T33, ASVS 7.5.1).
AUTHENTICATED_AT = "lexecon_authenticated_at"


def mark_recently_authenticated(request) -> None:
    request.session[AUTHENTICATED_AT] = time.time()


def recently_authenticated(request) -> bool:
    at = request.session.get(AUTHENTICATED_AT)
    return isinstance(at, int | float) and time.time() - at <= settings.LEXECON_REAUTH_SECONDS


def recent_authentication_required(view):
    """Decorate a staff view that changes how the user signs in (password, one-time code device,
    backup codes): unless both factors were proved within ``LEXECON_REAUTH_SECONDS``, send the
    user to the re-authentication page first (a POST is not replayed: it is asked again)."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not recently_authenticated(request):
            target = request.get_full_path() if request.method == "GET" else reverse("home")
            return HttpResponseRedirect(
                f"{reverse('accounts:reauth')}?{urlencode({'next': target})}"
            )
        return view(request, *args, **kwargs)

    return wrapper
