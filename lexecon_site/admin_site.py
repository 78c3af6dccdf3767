"""The admin is a staff page like any other: it needs a password AND a verified OTP device.

Unauthenticated or unverified visitors are sent straight to our two-step login (password, then OTP)
instead of the admin's own login form, so there is one login flow to secure and test.
"""

from functools import wraps
from urllib.parse import urlencode

from django.http import HttpResponseRedirect
from django.urls import reverse
from django_otp.admin import OTPAdminSite


def _to_login(request, target: str) -> HttpResponseRedirect:
    if request.user.is_authenticated and not request.user.is_verified():
        url = reverse("accounts:otp")
    else:
        url = reverse("accounts:login")
    return HttpResponseRedirect(f"{url}?{urlencode({'next': target})}")


class LexeconAdminSite(OTPAdminSite):
    """Admin site that requires a verified OTP device for every page."""

    site_header = "Lexecon administration"
    site_title = "Lexecon"
    index_title = "Governance records"

    def login(self, request, extra_context=None):
        return _to_login(request, request.GET.get("next") or reverse("admin:index"))

    def admin_view(self, view, cacheable=False):
        inner = super().admin_view(view, cacheable)

        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not self.has_permission(request):
                return _to_login(request, request.get_full_path())
            return inner(request, *args, **kwargs)

        return wrapper
