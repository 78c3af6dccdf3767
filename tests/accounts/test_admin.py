"""Admin: an agent key's own rate limits (ADR 0025), and password lockouts seen and released (T27)."""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt, AccessFailureLog
from django.conf import settings
from django.test import Client
from django.urls import reverse

from apps.accounts.models import AgentKey
from tests.conftest import PASSWORD
from tests.factories import AgentKeyFactory

pytestmark = pytest.mark.django_db


def _change(client, key: AgentKey, **fields):
    return client.post(
        f"/admin/accounts/agentkey/{key.pk}/change/",
        {"name": "renamed", "scopes": ["ledger:read"], **fields},
    )


def test_an_admin_sets_a_keys_own_rate_limits_and_nothing_else(verified_client):
    key = AgentKeyFactory(name="busy-agent", scopes=("decide",))
    response = _change(
        verified_client("admin"), key, decide_rate_limit="50/1", api_rate_limit="off"
    )
    assert response.status_code == 302
    key.refresh_from_db()
    assert (key.decide_rate_limit, key.api_rate_limit) == ("50/1", "off")
    assert (key.name, key.scopes) == ("busy-agent", ["decide"])  # read-only once issued


def test_a_malformed_rate_is_refused_in_the_admin(verified_client):
    key = AgentKeyFactory()
    response = _change(verified_client("admin"), key, decide_rate_limit="fast", api_rate_limit="")
    assert response.status_code == 200
    assert "N/S" in response.content.decode()
    key.refresh_from_db()
    assert key.decide_rate_limit == ""


def test_an_auditor_sees_but_cannot_change_a_keys_rates(verified_client):
    key = AgentKeyFactory()
    client = verified_client("auditor")
    assert client.get(f"/admin/accounts/agentkey/{key.pk}/change/").status_code == 200
    assert _change(client, key, decide_rate_limit="1/60", api_rate_limit="").status_code == 403
    key.refresh_from_db()
    assert key.decide_rate_limit == ""


def _fail(username: str, ip: str, times: int) -> None:
    for _ in range(times):
        Client().post(
            reverse("accounts:login"), {"username": username, "password": "wrong"}, REMOTE_ADDR=ip
        )


def test_an_admin_sees_a_lockout_and_releases_it(verified_client, make_user, settings):
    settings.LEXECON_RATE_LIMIT_AUTH_LOGIN = "off"
    make_user("locked_one", "reviewer")
    _fail("locked_one", "10.6.0.1", settings.AXES_FAILURE_LIMIT)
    admin = verified_client("admin")
    page = admin.get("/admin/axes/accessattempt/")
    assert page.status_code == 200
    assert "locked: user name + address" in page.content.decode()

    attempt = AccessAttempt.objects.get(username="locked_one")
    released = admin.post(
        "/admin/axes/accessattempt/",
        {"action": "release_selected", "_selected_action": [attempt.pk]},
    )
    assert released.status_code == 302
    assert not AccessAttempt.objects.exists()
    assert AccessFailureLog.objects.filter(username="locked_one").count() == 5  # the log stays
    signed_in = Client().post(
        reverse("accounts:login"),
        {"username": "locked_one", "password": PASSWORD},
        REMOTE_ADDR="10.6.0.1",
    )
    assert signed_in.status_code == 302


def test_a_wide_release_clears_an_address_ceiling(verified_client, make_user, settings):
    settings.LEXECON_RATE_LIMIT_AUTH_LOGIN = "off"
    settings.LEXECON_LOGIN_IP_FAILURE_LIMIT = 3
    for name in ("a", "b", "c"):
        _fail(name, "10.7.0.1", 1)
    _fail("elsewhere", "10.7.0.2", 1)
    admin = verified_client("admin")
    assert (
        "locked: address (all user names)"
        in admin.get("/admin/axes/accessattempt/").content.decode()
    )
    one = AccessAttempt.objects.get(username="a")
    admin.post(
        "/admin/axes/accessattempt/",
        {"action": "release_widely", "_selected_action": [one.pk]},
    )
    assert list(AccessAttempt.objects.values_list("username", flat=True)) == ["elsewhere"]


def test_an_auditor_sees_lockouts_but_cannot_release_them(verified_client, make_user):
    _fail("someone", "10.8.0.1", 2)
    auditor = verified_client("auditor")
    page = auditor.get("/admin/axes/accessattempt/")
    assert page.status_code == 200
    assert "release_selected" not in page.content.decode()
    attempt = AccessAttempt.objects.get()
    auditor.post(
        "/admin/axes/accessattempt/",
        {"action": "release_selected", "_selected_action": [attempt.pk]},
    )
    assert AccessAttempt.objects.filter(pk=attempt.pk).exists()
    assert auditor.get("/admin/axes/accessfailurelog/").status_code == 200
    assert verified_client("reviewer").get("/admin/axes/accessattempt/").status_code == 403
    assert settings.AXES_ENABLE_ACCESS_FAILURE_LOG
