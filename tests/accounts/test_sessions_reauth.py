"""RELIABILITY T30 to T33: one-time codes, backup codes, session hygiene, and re-authentication before
changing how one signs in, with a page that lists one's sessions and ends the others."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django_otp.oath import totp

from apps.accounts import services
from apps.accounts.models import BackupCode, UserSession
from tests.accounts.test_mfa import current_code, password_login
from tests.conftest import PASSWORD, ROOT

pytestmark = pytest.mark.django_db


def code_at(device, steps: int) -> str:
    """The device's code ``steps`` time steps from now."""
    value = totp(
        device.bin_key,
        step=device.step,
        t0=device.t0,
        digits=device.digits,
        drift=steps,
    )
    return f"{value:0{device.digits}d}"


def sign_in(client: Client, user, *, steps: int = 0) -> Client:
    """Both steps, as a person does (password, then the code ``steps`` time steps ahead: each
    code works once, so a second sign-in in the same 30 s uses the next one)."""
    password_login(client, user.username)
    device = user.totpdevice_set.get()
    response = client.post(reverse("accounts:otp"), {"token": code_at(device, steps)})
    assert response.status_code == 302, response.content[:300]
    return client


# --- T30 ------------------------------------------------------------------------------------------


def test_t30_codes_two_steps_away_are_refused_one_step_is_accepted_and_drift_kept(make_user):
    user = make_user("tess", "reviewer")
    device = user.totpdevice_set.get()
    for steps in (-2, 2):
        client = Client()
        password_login(client, "tess")
        assert (
            client.post(reverse("accounts:otp"), {"token": code_at(device, steps)}).status_code
            == 400
        )
        device.refresh_from_db()
        device.throttle_reset()
    client = Client()
    password_login(client, "tess")
    assert client.post(reverse("accounts:otp"), {"token": code_at(device, 1)}).status_code == 302
    device.refresh_from_db()
    assert device.drift == 1  # the clock skew is remembered for next time


def test_t30_ten_wrong_codes_throttle_exponentially(make_user):
    user = make_user("tom", "reviewer")
    device = user.totpdevice_set.get()
    client = Client()
    password_login(client, "tom")
    bad = f"{(int(current_code(device)) + 3) % 1_000_000:06d}"
    for _ in range(10):
        assert client.post(reverse("accounts:otp"), {"token": bad}).status_code == 400
    device.refresh_from_db()
    assert device.throttling_failure_count >= 1
    # While throttled even the right code is refused, and the wait doubles with each failure.
    assert client.post(reverse("accounts:otp"), {"token": current_code(device)}).status_code == 400
    assert client.get("/").status_code == 302


# --- T31 ------------------------------------------------------------------------------------------


def test_t31_backup_codes_hashed_single_use_and_regenerated_only_after_reauthentication(make_user):
    user = make_user("uma", "auditor")
    codes = services.backup_codes_regenerate(user=user)
    assert not BackupCode.objects.filter(code_hash__in=codes).exists()  # no plaintext stored
    client = Client()
    password_login(client, "uma")
    assert client.post(reverse("accounts:otp"), {"token": codes[0]}).status_code == 302
    assert BackupCode.objects.filter(device__user=user, used_at__isnull=False).count() == 1

    # Just signed in: regeneration goes through, and the old set stops working.
    fresh = client.post(reverse("accounts:backup_codes"))
    assert fresh.status_code == 200
    new_codes = fresh.context["codes"]
    assert set(new_codes).isdisjoint(codes)
    other = Client()
    password_login(other, "uma")
    assert other.post(reverse("accounts:otp"), {"token": codes[1]}).status_code == 400

    # Later (re-authentication older than LEXECON_REAUTH_SECONDS) it asks for both factors first.
    session = client.session
    session["lexecon_authenticated_at"] = time.time() - 3600
    session.save()
    hashes = set(BackupCode.objects.filter(device__user=user).values_list("code_hash", flat=True))
    refused = client.post(reverse("accounts:backup_codes"))
    assert refused.status_code == 302
    assert refused.url.startswith(reverse("accounts:reauth"))
    assert (
        set(BackupCode.objects.filter(device__user=user).values_list("code_hash", flat=True))
        == hashes
    )


# --- T32 ------------------------------------------------------------------------------------------


def test_t32_session_key_changes_at_each_step_and_logout_ends_it_on_the_server(make_user):
    user = make_user("vic", "admin")
    client = Client()
    client.get(reverse("accounts:login"))
    anonymous_key = client.session.session_key
    password_login(client, "vic")
    after_password = client.session.session_key
    assert after_password != anonymous_key
    client.post(reverse("accounts:otp"), {"token": current_code(user.totpdevice_set.get())})
    verified_key = client.session.session_key
    assert verified_key != after_password
    assert Session.objects.filter(session_key=verified_key).exists()
    client.post(reverse("accounts:logout"))
    assert not Session.objects.filter(session_key=verified_key).exists()
    # The old cookie is worthless: replaying it gets the login page.
    replay = Client()
    replay.cookies["sessionid"] = verified_key
    response = replay.get("/")
    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:login"))


def test_t32_absolute_lifetime_is_fixed_at_sign_in(make_user, settings):
    user = make_user("wes", "admin")
    client = sign_in(Client(), user)
    expires = Session.objects.get(session_key=client.session.session_key).expire_date
    client.get("/")  # activity does not extend the absolute lifetime
    assert Session.objects.get(session_key=client.session.session_key).expire_date == expires
    assert settings.SESSION_SAVE_EVERY_REQUEST is False


def test_t32_production_cookies_are_host_prefixed_secure_httponly_samesite():
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEXECON_")}
    env.update(
        DJANGO_SETTINGS_MODULE="lexecon_site.settings.prod",
        LEXECON_SECRET_KEY=secrets.token_urlsafe(64),
        LEXECON_MASTER_KEY=secrets.token_urlsafe(32),
    )
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.SESSION_COOKIE_NAME, s.SESSION_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY, "
        "s.SESSION_COOKIE_SAMESITE, s.CSRF_COOKIE_NAME, s.CSRF_COOKIE_SECURE)"
    )
    shown = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert shown.stdout.split() == [
        "__Host-sessionid",
        "True",
        "True",
        "Lax",
        "__Host-csrftoken",
        "True",
    ]


# --- T33 ------------------------------------------------------------------------------------------


def _age_authentication(client: Client) -> None:
    session = client.session
    session["lexecon_authenticated_at"] = time.time() - 3600
    session.save()


def test_t33_password_change_needs_reauthentication_and_ends_other_sessions(make_user):
    user = make_user("xena", "admin")
    laptop = sign_in(Client(), user)
    phone = sign_in(Client(), user, steps=1)
    assert phone.get(reverse("accounts:sessions")).status_code == 200
    _age_authentication(laptop)

    page = laptop.get(reverse("accounts:password_change"))
    assert page.status_code == 302
    assert page.url.startswith(reverse("accounts:reauth"))
    new_password = "An0ther-Long-Passphrase!"
    refused = laptop.post(
        reverse("accounts:password_change"),
        {"old_password": PASSWORD, "new_password1": new_password, "new_password2": new_password},
    )
    assert refused.status_code == 302
    user.refresh_from_db()
    assert user.check_password(PASSWORD)  # nothing changed without re-authentication

    # Both factors again: a wrong password with a good code does not count.
    backup = services.backup_codes_regenerate(user=user)  # the TOTP codes in range are used up
    wrong = laptop.post(reverse("accounts:reauth"), {"password": "nope", "token": backup[0]})
    assert wrong.status_code == 400
    ok = laptop.post(
        reverse("accounts:reauth"),
        {"password": PASSWORD, "token": backup[1], "next": "/accounts/password/"},
    )
    assert ok.status_code == 302, ok.content[:300]
    assert ok.url == "/accounts/password/"
    changed = laptop.post(
        reverse("accounts:password_change"),
        {"old_password": PASSWORD, "new_password1": new_password, "new_password2": new_password},
    )
    assert changed.status_code == 302
    user.refresh_from_db()
    assert user.check_password(new_password)
    assert laptop.get(reverse("accounts:sessions")).status_code == 200  # this session goes on
    ended = phone.get("/")  # the other one is over
    assert ended.status_code == 302
    assert ended.url.startswith(reverse("accounts:login"))
    assert phone.get("/status").status_code == 401


def test_t33_changing_the_authenticator_needs_reauthentication(make_user):
    user = make_user("yara", "admin")
    client = sign_in(Client(), user)
    assert client.get(reverse("accounts:enrol")).status_code == 200  # just signed in: allowed
    _age_authentication(client)
    devices = user.totpdevice_set.count()
    response = client.get(reverse("accounts:enrol"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:reauth"))
    assert user.totpdevice_set.count() == devices  # no new pending device was made


def test_t33_sessions_page_lists_and_ends_other_sessions_but_never_another_users(make_user):
    user = make_user("zoe", "admin")
    stranger = make_user("zak", "admin")
    desk = sign_in(Client(HTTP_USER_AGENT="Desk browser"), user)
    tablet = sign_in(Client(HTTP_USER_AGENT="Tablet browser"), user, steps=1)
    theirs = sign_in(Client(), stranger)
    page = desk.get(reverse("accounts:sessions"))
    assert page.status_code == 200
    listed = page.context["sessions"]
    assert {s.user_agent for s in listed} == {"Desk browser", "Tablet browser"}
    assert tablet.session.session_key.encode() not in page.content  # keys are never shown

    their_row = UserSession.objects.get(user=stranger)
    desk.post(reverse("accounts:sessions"), {"end": str(their_row.pk)})
    assert (
        theirs.get(reverse("accounts:sessions")).status_code == 200
    )  # another user's session is out of reach
    tablet_row = UserSession.objects.get(user=user, user_agent="Tablet browser")
    desk.post(reverse("accounts:sessions"), {"end": str(tablet_row.pk)})
    gone = tablet.get("/status")
    assert gone.status_code == 401  # its next API call is unauthenticated
    assert desk.get(reverse("accounts:sessions")).status_code == 200
    assert [s.user_agent for s in desk.get(reverse("accounts:sessions")).context["sessions"]] == [
        "Desk browser"
    ]
