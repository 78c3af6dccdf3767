"""django-axes locks the password step after repeated failures; the message does not reveal users."""

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.test import Client
from django.urls import reverse

from tests.conftest import PASSWORD


def attempt(client: Client, username: str, password: str, ip: str = "10.0.0.1"):
    return client.post(
        reverse("accounts:login"), {"username": username, "password": password}, REMOTE_ADDR=ip
    )


@pytest.mark.django_db
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


@pytest.mark.django_db
def test_lockout_by_username_across_many_ips(make_user):
    make_user("spread", "reviewer")
    for index in range(settings.AXES_FAILURE_LIMIT):
        attempt(Client(), "spread", "wrong", ip=f"10.1.0.{index + 1}")
    response = attempt(Client(), "spread", PASSWORD, ip="10.9.9.9")
    assert response.status_code == 429


@pytest.mark.django_db
def test_unknown_and_known_users_get_the_same_failure_message(client, make_user):
    make_user("known", "reviewer")
    known = attempt(client, "known", "wrong", ip="10.2.0.1")
    unknown = attempt(client, "nobody-here", "wrong", ip="10.2.0.2")
    assert known.status_code == unknown.status_code == 200
    assert known.context["form"].non_field_errors() == unknown.context["form"].non_field_errors()


@pytest.mark.django_db
def test_successful_login_below_limit_works(client, make_user):
    make_user("ok_user", "reviewer")
    attempt(client, "ok_user", "wrong")
    response = attempt(client, "ok_user", PASSWORD)
    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:otp"))
