"""django-axes locks the password step (RELIABILITY T27, apps.accounts.lockout): per user name +
address, with ceilings per address (spraying) and per user name (a guess from many addresses);
the message never reveals whether a user exists; every attempt is logged; admins see and release.

The sign-in rate limit (ADR 0025) is switched off here unless a test is about both: what these
tests show is the lockout's own behaviour."""

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.conf import settings
from django.test import Client
from django.urls import reverse

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _lockout_only(settings):
    settings.LEXECON_RATE_LIMIT_AUTH_LOGIN = "off"


def attempt(client: Client, username: str, password: str, ip: str = "10.0.0.1"):
    return client.post(
        reverse("accounts:login"), {"username": username, "password": password}, REMOTE_ADDR=ip
    )


def signed_in(response) -> bool:
    return response.status_code == 302 and "_auth_user_id" in response.client.session


def test_lockout_after_failure_limit_even_with_right_password(client, make_user):
    make_user("mallory_target", "reviewer")
    limit = settings.AXES_FAILURE_LIMIT
    for _ in range(limit - 1):
        assert attempt(client, "mallory_target", "wrong").status_code == 200
    locked = attempt(client, "mallory_target", "wrong")
    assert locked.status_code == 429
    assert b"Too many failed sign-in attempts" in locked.content
    # The right password is refused while locked out, and no session is created.
    response = attempt(client, "mallory_target", PASSWORD)
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    assert AccessAttempt.objects.filter(username="mallory_target").exists()


def test_t27_typing_errors_lock_only_that_user_at_that_address(make_user):
    """Five wrong passwords for one user lock that user at that address; a colleague behind the
    same address (a NAT) signs in, and so does the user from elsewhere."""
    make_user("typist", "reviewer")
    make_user("colleague", "reviewer")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt(Client(), "typist", "wrong", ip="10.1.0.1")
    assert attempt(Client(), "typist", PASSWORD, ip="10.1.0.1").status_code == 429
    assert signed_in(attempt(Client(), "colleague", PASSWORD, ip="10.1.0.1"))
    assert signed_in(attempt(Client(), "typist", PASSWORD, ip="10.1.0.2"))


def test_t27_one_user_from_many_addresses_is_locked_everywhere(make_user, settings):
    """20 wrong passwords for one user, one from each of 20 addresses (none reaches the pair
    limit): the user name's ceiling locks that account from every address, even with the right
    password, with the same generic page; other users are unaffected."""
    make_user("target", "reviewer")
    make_user("bystander", "reviewer")
    ceiling = settings.LEXECON_LOGIN_USER_FAILURE_LIMIT
    assert ceiling == 20
    for index in range(ceiling - 1):
        assert attempt(Client(), "target", "wrong", ip=f"10.2.0.{index + 1}").status_code == 200
    locked = attempt(Client(), "target", "wrong", ip="10.2.0.99")
    assert locked.status_code == 429
    refused = attempt(Client(), "target", PASSWORD, ip="10.2.1.1")
    assert refused.status_code == 429
    assert b"Too many failed sign-in attempts" in refused.content
    assert "_auth_user_id" not in refused.client.session
    assert signed_in(attempt(Client(), "bystander", PASSWORD, ip="10.2.0.1"))


def test_t27_one_address_across_many_user_names_is_locked_for_all(make_user, settings):
    """Password spraying: one wrong password for each of many user names from one address, until
    the address's ceiling; then even a real user with the right password is refused there (and
    only there)."""
    settings.LEXECON_LOGIN_IP_FAILURE_LIMIT = 12  # the default (50) behaves the same, slower
    make_user("real", "reviewer")
    for index in range(11):
        assert attempt(Client(), f"guess{index}", "Winter2026!", ip="10.3.0.1").status_code == 200
    assert attempt(Client(), "guess11", "Winter2026!", ip="10.3.0.1").status_code == 429
    refused = attempt(Client(), "real", PASSWORD, ip="10.3.0.1")
    assert refused.status_code == 429
    assert "_auth_user_id" not in refused.client.session
    assert signed_in(attempt(Client(), "real", PASSWORD, ip="10.3.0.2"))


def test_t27_unknown_and_known_users_get_the_same_answers(make_user):
    make_user("known", "reviewer")
    known = attempt(Client(), "known", "wrong", ip="10.2.0.1")
    unknown = attempt(Client(), "nobody-here", "wrong", ip="10.2.0.2")
    assert known.status_code == unknown.status_code == 200
    assert known.context["form"].non_field_errors() == unknown.context["form"].non_field_errors()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        known_locked = attempt(Client(), "known", "wrong", ip="10.2.0.1")
        unknown_locked = attempt(Client(), "nobody-here", "wrong", ip="10.2.0.2")
    assert known_locked.status_code == unknown_locked.status_code == 429
    assert known_locked.content == unknown_locked.content


def test_t27_every_attempt_is_logged(make_user):
    make_user("logged", "reviewer")
    for _ in range(3):
        attempt(Client(), "logged", "wrong", ip="10.4.0.1")
    assert signed_in(attempt(Client(), "logged", PASSWORD, ip="10.4.0.1"))
    failures = AccessFailureLog.objects.filter(username="logged", ip_address="10.4.0.1")
    assert failures.count() == 3
    assert AccessLog.objects.filter(username="logged", ip_address="10.4.0.1").count() == 1


def test_a_success_forgives_only_its_own_pair(make_user, settings):
    """Signing in to one's own account does not wipe what the address collected against others:
    someone spraying from an address cannot reset its ceiling with an account of their own."""
    settings.LEXECON_LOGIN_IP_FAILURE_LIMIT = 6
    make_user("insider", "reviewer")
    for index in range(4):
        attempt(Client(), f"victim{index}", "guess", ip="10.5.0.1")
    attempt(Client(), "insider", "typo", ip="10.5.0.1")
    assert signed_in(attempt(Client(), "insider", PASSWORD, ip="10.5.0.1"))
    assert not AccessAttempt.objects.filter(username="insider").exists()
    assert AccessAttempt.objects.filter(ip_address="10.5.0.1").count() == 4
    attempt(Client(), "victim4", "guess", ip="10.5.0.1")
    assert attempt(Client(), "victim5", "guess", ip="10.5.0.1").status_code == 429


def test_successful_login_below_limit_works(client, make_user):
    make_user("ok_user", "reviewer")
    attempt(client, "ok_user", "wrong")
    response = attempt(client, "ok_user", PASSWORD)
    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:otp"))


def test_the_lockout_and_the_sign_in_rate_limit_agree_on_the_address(make_user, settings):
    """Both count the address the trusted proxy reports, not the proxy's own."""
    settings.LEXECON_TRUSTED_PROXIES = ("10.9.0.1/32",)
    make_user("behind", "reviewer")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        Client().post(
            reverse("accounts:login"),
            {"username": "behind", "password": "wrong"},
            REMOTE_ADDR="10.9.0.1",
            HTTP_X_FORWARDED_FOR="198.51.100.50",
        )
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"198.51.100.50"}
    other_client = Client().post(
        reverse("accounts:login"),
        {"username": "behind", "password": PASSWORD},
        REMOTE_ADDR="10.9.0.1",
        HTTP_X_FORWARDED_FOR="198.51.100.51",
    )
    assert signed_in(other_client)
