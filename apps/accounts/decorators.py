"""Guard for staff pages: password AND a verified OTP device, then an optional role permission."""

from __future__ import annotations

from functools import wraps
from urllib.parse import urlencode

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
