"""``/auth/*`` of the original (LEXECON_API.md §1.7) over our accounts: the same password check
and lockout (django-axes via ``authenticate``), the same one-time code, our Django sessions.

Where we differ on purpose (docs/compat.md): the one-time code is never skipped. A password alone
answers ``{success: false, mfa_required: true}``; the client repeats the request with
``otp_code`` (an authenticator code or a backup code) and only then gets a session.
"""

from __future__ import annotations

from typing import Annotated

from django.conf import settings
from django.contrib.auth import authenticate, login, logout
from django.core.exceptions import ValidationError as DjangoValidationError
from django_otp import login as otp_login
from django_otp import match_token
from pydantic import BaseModel, ConfigDict, StringConstraints
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.response import Response

from apps.accounts import selectors as account_selectors
from apps.accounts import services as account_services
from apps.compat.auth.authentication import COOKIE, presented_session_key, session_store
from apps.compat.base import CompatApi, compat_schema
from apps.compat.errors import CompatError, parse_or_422
from apps.core.api.permissions import ScopeOrPermission, is_verified_staff

Text = Annotated[str, StringConstraints(min_length=1, max_length=150)]
Secret = Annotated[str, StringConstraints(min_length=1, max_length=4096)]
Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


class LoginInput(BaseModel):
    model_config = ConfigDict(strict=True)

    username: Text
    password: Secret
    otp_code: Code | None = None


class UserCreateInput(BaseModel):
    model_config = ConfigDict(strict=True)

    username: Text
    password: Secret
    role: Text
    email: Annotated[str, StringConstraints(max_length=254)] = ""
    full_name: Annotated[str, StringConstraints(max_length=300)] = ""


class IsVerifiedStaff(BasePermission):
    """A person signed in with password and one-time code (agent keys have no user)."""

    message = "Sign in with password and one-time code (POST /auth/login)."

    def has_permission(self, request, view) -> bool:
        return is_verified_staff(request)


CanManageUsers = ScopeOrPermission.of(None, "accounts.manage_users")


def user_summary(user) -> dict:
    full_name = user.get_full_name()
    return {
        "user_id": str(user.pk),
        "username": user.username,
        "email": user.email,
        "role": ",".join(user.roles) or "staff",
        "full_name": full_name or user.username,
    }


def _failure(message: str, **extra) -> Response:
    return Response({"success": False, "error": message, **extra})


class LoginApi(CompatApi):
    """``POST /auth/login``: password, then the one-time code, then a session."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    rate_limit_budget = "login"  # counted per user name + address like the sign-in page

    @compat_schema
    def post(self, request):
        body = parse_or_422(LoginInput, request.data)
        django_request = request._request
        user = authenticate(django_request, username=body.username, password=body.password)
        if getattr(django_request, "axes_locked_out", False):
            # Answer in the original's shape instead of axes' page; the lock itself stands.
            django_request.axes_locked_out = False
            minutes = max(1, round(settings.AXES_COOLOFF_TIME * 60))
            return _failure(f"Account locked. Try again in {minutes} minutes.", locked=True)
        if user is None:
            return _failure("Invalid username or password")
        if not user.is_active:
            return _failure("Account is disabled")
        if not account_selectors.user_has_confirmed_device(user=user):
            return _failure(
                "Enrol an authenticator first: sign in once at /accounts/login/.",
                mfa_required=True,
                mfa_enrolment_required=True,
            )
        if body.otp_code is None:
            return _failure(
                "One-time code required: send the request again with otp_code.",
                mfa_required=True,
            )
        device = match_token(user, body.otp_code)
        if device is None:
            return _failure("The one-time code was not accepted.", mfa_required=True)
        login(django_request, user)  # a new session key, and axes forgets this pair's failures
        otp_login(django_request, device)
        django_request.session.save()
        session_id = django_request.session.session_key
        response = Response({"success": True, "session_id": session_id, "user": user_summary(user)})
        response.set_cookie(
            COOKIE,
            session_id,
            max_age=settings.SESSION_COOKIE_AGE,
            httponly=True,
            secure=settings.SESSION_COOKIE_SECURE,
            samesite="Strict",  # never sent with a request another site starts
        )
        return response


class LogoutApi(CompatApi):
    """``POST /auth/logout``: ends the presented session (Bearer or cookie) and the browser's."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @compat_schema
    def post(self, request):
        session_key = presented_session_key(request)
        if session_key:
            session_store(session_key).delete(session_key)
        logout(request._request)
        response = Response({"success": True, "message": "Logged out"})
        response.delete_cookie(COOKIE, samesite="Strict")
        return response


class MeApi(CompatApi):
    permission_classes = [IsVerifiedStaff]

    @compat_schema
    def get(self, request):
        user = request.user
        return Response(
            {
                "user": {
                    "id": str(user.pk),
                    **user_summary(user),
                    "last_login": user.last_login.isoformat() if user.last_login else None,
                }
            }
        )


class UsersApi(CompatApi):
    """``GET/POST /auth/users`` (permission ``manage_users``). A user created here signs in at
    ``/accounts/login/`` once to enrol an authenticator before ``/auth/login`` admits them."""

    permission_classes = [CanManageUsers]

    @compat_schema
    def get(self, request):
        users = account_selectors.user_list()
        return Response({"users": [user_summary(user) for user in users], "total": len(users)})

    @compat_schema
    def post(self, request):
        body = parse_or_422(UserCreateInput, request.data)
        try:
            user = account_services.user_create(
                username=body.username,
                password=body.password,
                role=body.role,
                email=body.email,
                full_name=body.full_name,
            )
        except DjangoValidationError as exc:
            raise CompatError(400, "; ".join(exc.messages)) from None
        return Response({"success": True, "user": user_summary(user)}, status=201)


class PasswordPolicyApi(CompatApi):
    """``GET /auth/password-policy``: the rules our password validation applies, read from them."""

    @compat_schema
    def get(self, request):
        return Response(account_selectors.password_policy())
